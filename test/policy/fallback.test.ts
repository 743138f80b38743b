import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Schema } from "effect"
import { FakeServer, ToolRefusal } from "../../chaos/index.ts"
import * as Bulkhead from "../../dsl/policy/Bulkhead.ts"
import * as CircuitBreaker from "../../dsl/policy/CircuitBreaker.ts"
import * as Fallback from "../../dsl/policy/Fallback.ts"
import * as RateLimit from "../../dsl/policy/RateLimit.ts"
import { Tool } from "../../dsl/index.ts"
import type { McpflowToolError } from "../../dsl/ToolError.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { errors, failureOf, recorder, scripted, settle } from "./support.ts"

describe("Fallback: alternative effect", () => {
  it.effect("a successful primary is served as such; the alternative never runs", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const alternative = scripted<string, never>([{ succeed: "cached" }])
      const served = yield* Fallback.orElse(Effect.succeed("fresh"), { name: "cache", alternative: alternative.effect }).pipe(rec.provide)
      assert.deepStrictEqual(served, { value: "fresh", servedBy: "primary" })
      assert.strictEqual(alternative.state.calls, 0)
      assert.deepStrictEqual(rec.events, [])
    }))

  it.effect("a failed primary is served by the alternative, which says so", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const primary = scripted<string, McpflowToolError>([{ fail: errors.unavailable() }])
      const served = yield* Fallback.orElse(primary.effect, { name: "cache", alternative: Effect.succeed(42) }).pipe(rec.provide)
      assert.deepStrictEqual(served, { value: 42, servedBy: "fallback:cache" })
      assert.deepStrictEqual(rec.events, [
        { _tag: "FallbackUsed", policy: "cache", served: "fallback:cache", primaryFailure: "ServerUnavailable" }
      ])
    }))

  it.effect("orElse and orElseValue are data-first and data-last", () =>
    Effect.gen(function*() {
      const options = { name: "cache", alternative: Effect.succeed(42) }
      const primary = Effect.fail(errors.unavailable())
      assert.deepStrictEqual(yield* Fallback.orElse(primary, options), { value: 42, servedBy: "fallback:cache" })
      assert.deepStrictEqual(yield* primary.pipe(Fallback.orElse(options)), { value: 42, servedBy: "fallback:cache" })
      assert.strictEqual(yield* Fallback.orElseValue(primary, options), 42)
      assert.strictEqual(yield* primary.pipe(Fallback.orElseValue(options)), 42)
      // In the data-last form the primary's error type is kept, so catchTag sees it.
      const unmatched = yield* Effect.fail(errors.failed()).pipe(
        Fallback.orElseValue({ name: "only-transient", alternative: Effect.succeed(0), when: "transient" }),
        Effect.catchTag("McpflowToolError", (e) => Effect.succeed(e.reason._tag))
      )
      assert.strictEqual(unmatched, "ToolFailed")
    }))

  it.effect("the alternative can be built from the primary's failure", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const value = yield* Fallback.orElseValue(Effect.fail(errors.rateLimited(1500)), {
        name: "degraded",
        alternative: (e: McpflowToolError) => {
          seen.push(e.reason._tag)
          return Effect.succeed(`degraded after ${e.reason._tag}`)
        }
      })
      assert.strictEqual(value, "degraded after RateLimited")
      assert.deepStrictEqual(seen, ["RateLimited"])
    }))

  it.effect("when both fail, both failures are kept in a typed FallbackFailed", () =>
    Effect.gen(function*() {
      const primaryError = errors.unavailable()
      const exit = yield* Effect.exit(
        Fallback.orElse(Effect.fail(primaryError), { name: "mirror", alternative: Effect.fail({ _tag: "MirrorDown", code: 503 } as const) })
      )
      const error = failureOf(exit)
      assert.instanceOf(error, Fallback.PolicyFallbackFailed)
      if (error instanceof Fallback.PolicyFallbackFailed) {
        // the types say what each side failed with
        const typed: Fallback.PolicyFallbackFailed.Of<McpflowToolError, { readonly _tag: "MirrorDown"; readonly code: number }> = error
        assert.strictEqual(typed.primary, primaryError)
        assert.deepStrictEqual(typed.fallback, { _tag: "MirrorDown", code: 503 })
        assert.strictEqual(typed.policy, "mirror")
        assert.strictEqual(
          typed.message,
          "fallback 'mirror': the primary failed (ServerUnavailable) and so did the fallback (MirrorDown)"
        )
      }
    }))

  it.effect("defects and interruptions are not caught", () =>
    Effect.gen(function*() {
      const alternative = scripted<string, never>([{ succeed: "alt" }])
      const died = yield* Effect.exit(Fallback.orElse(Effect.die("boom"), { name: "x", alternative: alternative.effect }))
      assert.isTrue(Exit.isFailure(died) && Cause.hasDies(died.cause))
      const fiber = yield* Effect.forkChild(Fallback.orElse(Effect.never, { name: "x", alternative: alternative.effect }))
      yield* settle
      yield* Fiber.interrupt(fiber)
      const interrupted = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(interrupted) && Cause.hasInterrupts(interrupted.cause))
      assert.strictEqual(alternative.state.calls, 0)
    }))
})

describe("Fallback: conditions", () => {
  it.effect("'any' (the default) switches on every typed failure", () =>
    Effect.gen(function*() {
      for (const e of [errors.failed(), errors.invalid(), errors.unavailable(), "plain string"]) {
        const r = yield* Fallback.orElse(Effect.fail(e), { name: "alt", alternative: Effect.succeed(1) })
        assert.strictEqual(r.servedBy, "fallback:alt")
      }
    }))

  it.effect("'transient' switches only on failures that say retrying can help", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const alternative = scripted<string, never>([{ succeed: "alt" }])
      const options = { name: "alt", alternative: alternative.effect, when: "transient" } as const
      for (const e of [errors.unavailable(), errors.lost(), errors.callTimeout(), errors.rateLimited(10)]) {
        assert.strictEqual((yield* Fallback.orElse(Effect.fail(e), options)).servedBy, "fallback:alt")
      }
      for (const e of [errors.failed(), errors.invalid()]) {
        const exit = yield* Effect.exit(Fallback.orElse(Effect.fail(e), options).pipe(rec.provide))
        // the primary's own error, not wrapped
        assert.strictEqual(failureOf(exit), e)
      }
      assert.strictEqual(alternative.state.calls, 4)
      assert.deepStrictEqual(rec.events, [])
    }))

  it.effect("'breaker-rejected' switches only when the breaker refused the call", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ name: "scanner", trip: CircuitBreaker.consecutive(2), openDuration: "30 seconds" })
      const primary = scripted<string, McpflowToolError>([{ fail: errors.callTimeout() }])
      const call = Fallback.orElse(breaker.execute(primary.effect), {
        name: "canned",
        alternative: Effect.succeed("canned response"),
        when: "breaker-rejected"
      })
      // closed: the call's own failures pass through (and trip the breaker)
      for (let i = 0; i < 2; i++) {
        const exit = yield* Effect.exit(call)
        assert.strictEqual((failureOf(exit) as McpflowToolError | undefined)?.reason._tag, "Timeout")
      }
      assert.strictEqual(yield* breaker.state(), "open")
      // open: the fallback serves, and the primary is not called
      assert.deepStrictEqual(yield* call, { value: "canned response", servedBy: "fallback:canned" })
      assert.strictEqual(primary.state.calls, 2)
      // isolated by hand: still a breaker rejection
      yield* breaker.isolate()
      assert.strictEqual((yield* call).servedBy, "fallback:canned")
    }))

  it.effect("'rejected' switches when a breaker, bulkhead or rate limit sent nothing", () =>
    Effect.gen(function*() {
      const options = { name: "later", alternative: Effect.succeed("queued for later"), when: "rejected" } as const
      const breaker = yield* CircuitBreaker.make({ name: "b", trip: CircuitBreaker.consecutive(1), openDuration: "1 minute" })
      yield* breaker.isolate()
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
      const holder = yield* Effect.forkChild(bulkhead.apply(Effect.never))
      yield* settle
      const limit = yield* RateLimit.make({ limit: 1, window: "1 minute", onExceeded: "fail" })
      yield* limit.apply(Effect.void)
      const rejections: ReadonlyArray<Effect.Effect<string, unknown>> = [
        breaker.execute(Effect.succeed("x")),
        bulkhead.apply(Effect.succeed("x")),
        limit.apply(Effect.succeed("x"))
      ]
      for (const rejected of rejections) {
        assert.deepStrictEqual(yield* Fallback.orElse(rejected, options), { value: "queued for later", servedBy: "fallback:later" })
      }
      const sent = yield* Effect.exit(Fallback.orElse(Effect.fail(errors.unavailable()), options))
      assert.strictEqual((failureOf(sent) as McpflowToolError | undefined)?.reason._tag, "ServerUnavailable")
      yield* Fiber.interrupt(holder)
    }))

  it.effect("a predicate sees the typed failure", () =>
    Effect.gen(function*() {
      const when = (e: McpflowToolError) => e.reason._tag === "ToolFailed"
      const ok = yield* Fallback.orElse(Effect.fail(errors.failed()), { name: "p", alternative: Effect.succeed(0), when })
      assert.strictEqual(ok.servedBy, "fallback:p")
      const exit = yield* Effect.exit(Fallback.orElse(Effect.fail(errors.unavailable()), { name: "p", alternative: Effect.succeed(0), when }))
      assert.isTrue(Exit.isFailure(exit))
    }))
})

describe("Fallback: as a policy value", () => {
  it.effect("apply gives the plain value, served says which path; describes itself", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const f = Fallback.make({ name: "empty", alternative: Effect.succeed<ReadonlyArray<string>>([]), when: "transient" })
      assert.deepStrictEqual(yield* f.apply(Effect.fail(errors.unavailable())).pipe(rec.provide), [])
      assert.deepStrictEqual(yield* f.served(Effect.succeed(["a"])), { value: ["a"], servedBy: "primary" })
      assert.deepStrictEqual(yield* f.served(Effect.fail(errors.lost())), { value: [], servedBy: "fallback:empty" })
      assert.deepStrictEqual(rec.tags(), ["FallbackUsed"])
      assert.deepStrictEqual(f.descriptor, { kind: "fallback", settings: { name: "empty", when: "transient" } })
      assert.deepStrictEqual(Fallback.make({ name: "p", alternative: Effect.void, when: () => true }).descriptor.settings, {
        name: "p",
        when: "custom"
      })
      assert.deepStrictEqual(Fallback.make({ name: "d", alternative: Effect.void }).descriptor.settings, { name: "d", when: "any" })
    }))
})

// -----------------------------------------------------------------------------
// another server's tool, with an input mapping (the seeds' security-scanner → desktop-commander)
// -----------------------------------------------------------------------------

const SecurityScanner = Tool.server("security-scanner", {
  bandit_scan: Tool.define({
    description: "Scan Python sources with bandit",
    input: Schema.Struct({ path: Schema.String, severity: Schema.Literals(["low", "medium", "high"]) }),
    output: Schema.Struct({ issues: Schema.Array(Schema.String) }),
    annotations: { readOnly: true }
  })
})

const DesktopCommander = Tool.server("desktop-commander", {
  execute_command: Tool.define({
    description: "Run a shell command",
    input: Schema.Struct({ command: Schema.String }),
    output: Schema.Struct({ exit_code: Schema.Number, output: Schema.String }),
    annotations: { destructive: true }
  })
})

type ScanInput = typeof SecurityScanner.bandit_scan.input.Type
type ScanOutput = typeof SecurityScanner.bandit_scan.output.Type

/** The compatibility map: the scanner's input as a command, and the command's output as a scan result. */
const viaDesktopCommander = (input: ScanInput) =>
  DesktopCommander.execute_command({ command: `bandit -r ${input.path} --severity-level ${input.severity} -f txt` }).pipe(
    Effect.map((r): ScanOutput => ({ issues: r.output.split("\n").filter((line) => line.length > 0) }))
  )

const scanWithFallback = (input: ScanInput) =>
  Fallback.orElse(SecurityScanner.bandit_scan(input), {
    name: "desktop-commander",
    alternative: viaDesktopCommander(input),
    when: "transient"
  })

const gatewayWith = (options: { readonly scanner: "up" | "down" | "refuses"; readonly commander: "up" | "down" }) => {
  const commands: Array<string> = []
  const commander = FakeServer.make("desktop-commander", [
    FakeServer.handle(DesktopCommander.execute_command, ({ command }) =>
      Effect.sync(() => {
        commands.push(command)
        return { exit_code: 0, output: "B101 assert used\nB602 shell=True\n" }
      }))
  ])
  const scanner = FakeServer.make("security-scanner", [
    FakeServer.handle(SecurityScanner.bandit_scan, () =>
      options.scanner === "refuses" ? Effect.fail(new ToolRefusal({ text: "no such path" })) : Effect.succeed({ issues: ["B101"] }))
  ])
  const down = {
    type: "in-process" as const,
    make: (): never => {
      throw new Error("the process exited")
    }
  }
  const layer = Layer.unwrap(Effect.gen(function*() {
    return GatewayLayer.layer({
      servers: {
        "security-scanner": options.scanner === "down" ? down : yield* scanner,
        "desktop-commander": options.commander === "down" ? down : yield* commander
      }
    })
  }))
  return { commands, layer }
}

describe("Fallback: another server's tool, with an input mapping", () => {
  it.effect("the scanner is down: desktop-commander serves the scan with the mapped input", () => {
    const { commands, layer } = gatewayWith({ scanner: "down", commander: "up" })
    const rec = recorder()
    return Effect.gen(function*() {
      const result = yield* scanWithFallback({ path: "src/", severity: "high" }).pipe(rec.provide)
      assert.deepStrictEqual(result, { value: { issues: ["B101 assert used", "B602 shell=True"] }, servedBy: "fallback:desktop-commander" })
      assert.deepStrictEqual(commands, ["bandit -r src/ --severity-level high -f txt"])
      assert.deepStrictEqual(rec.events, [
        { _tag: "FallbackUsed", policy: "desktop-commander", served: "fallback:desktop-commander", primaryFailure: "ServerUnavailable" }
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("the scanner answers: the primary serves and the commander is never called", () => {
    const { commands, layer } = gatewayWith({ scanner: "up", commander: "up" })
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* scanWithFallback({ path: "src/", severity: "low" }), { value: { issues: ["B101"] }, servedBy: "primary" })
      assert.deepStrictEqual(commands, [])
    }).pipe(Effect.provide(layer))
  })

  it.effect("the scanner refuses the input (not transient): no fallback, its ToolFailed surfaces", () => {
    const { commands, layer } = gatewayWith({ scanner: "refuses", commander: "up" })
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(scanWithFallback({ path: "nope/", severity: "low" }))
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "McpflowToolError")
      if (error?._tag === "McpflowToolError") assert.strictEqual(error.reason._tag, "ToolFailed")
      assert.deepStrictEqual(commands, [])
    }).pipe(Effect.provide(layer))
  })

  it.effect("both servers down: both tool errors are kept", () => {
    const { layer } = gatewayWith({ scanner: "down", commander: "down" })
    return Effect.gen(function*() {
      const error = failureOf(yield* Effect.exit(scanWithFallback({ path: "src/", severity: "high" })))
      assert.instanceOf(error, Fallback.PolicyFallbackFailed)
      if (error instanceof Fallback.PolicyFallbackFailed) {
        const both: Fallback.PolicyFallbackFailed.Of<McpflowToolError, McpflowToolError> = error
        assert.strictEqual(both.primary.reason._tag, "ServerUnavailable")
        assert.strictEqual(both.primary.reason.server, "security-scanner")
        assert.strictEqual(both.fallback.reason._tag, "ServerUnavailable")
        assert.strictEqual(both.fallback.reason.server, "desktop-commander")
      }
    }).pipe(Effect.provide(layer))
  })
})
