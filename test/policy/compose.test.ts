import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Ref, Schema } from "effect"
import { TestClock } from "effect/testing"
import { FakeServer } from "../../chaos/index.ts"
import { Tool } from "../../dsl/index.ts"
import * as Bulkhead from "../../dsl/policy/Bulkhead.ts"
import { seedPools } from "../../flows/servers/pools.ts"
import * as CircuitBreaker from "../../dsl/policy/CircuitBreaker.ts"
import * as Fallback from "../../dsl/policy/Fallback.ts"
import * as Policy from "../../dsl/policy/Policy.ts"
import * as Retry from "../../dsl/policy/Retry.ts"
import * as Timeout from "../../dsl/policy/Timeout.ts"
import { McpflowToolError, ToolFailed, toolError } from "../../dsl/ToolError.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { decodeMcpJson, McpflowConfigError } from "../../src/runtime/gateway/McpJson.ts"
import type { GatewayConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { errors, recorder, scripted } from "./support.ts"

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const found = Cause.findErrorOption(exit.cause)
  return found._tag === "Some" ? found.value : undefined
}

/** Lets in-process MCP messages flow (event-loop turns, no timers). */
const settle = Effect.promise(async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r))
})

/** Advances the TestClock in steps, letting I/O flow between them. */
const advance = (totalMs: number, stepMs = 100) =>
  Effect.gen(function*() {
    yield* settle
    for (let t = 0; t < totalMs; t += stepMs) {
      yield* TestClock.adjust(stepMs)
      yield* settle
    }
  })

const constantRetry = (maxAttempts: number, delay = "1 second") =>
  ({ maxAttempts, backoff: { kind: "constant", initial: delay }, jitter: "none" }) as const

describe("Policy: the fixed order", () => {
  it.effect("describe lists the layers outermost first, whatever order they were written in", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({
        timeout: "5s",
        retry: constantRetry(3),
        hedge: { delay: "200 millis" },
        totalTimeout: "30s",
        rateLimit: { limit: 10, window: "1s" },
        bulkhead: { maxConcurrent: 4 },
        breaker: { trip: { kind: "consecutive", failures: 5 }, openDuration: "30s" },
        fallback: Fallback.make({ name: "canned", alternative: Effect.succeed("x") }),
        cache: { ttl: "1 minute", capacity: 10 }
      })
      const descriptors = Policy.describe(policy)
      assert.deepStrictEqual(descriptors.map((d) => d.kind), [
        "cache",
        "fallback",
        "breaker",
        "bulkhead",
        "rate-limit",
        "timeout",
        "retry",
        "hedge",
        "timeout"
      ])
      assert.strictEqual(descriptors[5]!.settings.scope, "overall")
      assert.strictEqual(descriptors[8]!.settings.scope, "attempt")
      assert.strictEqual(descriptors[2]!.settings.per, "server")
      assert.strictEqual(descriptors[6]!.settings.maxAttempts, 3)
    }))

  it.effect("retries happen inside the breaker: one breaker outcome per call, and a rejection is not retried", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ name: "svc", trip: CircuitBreaker.consecutive(2), openDuration: "1 minute" })
      const policy = yield* Policy.make({ breaker, retry: constantRetry(3, "10 millis") })
      const s = scripted<string, McpflowToolError>([{ fail: errors.unavailable() }])
      const rec = recorder()
      const run = Effect.exit(Policy.apply(s.effect, policy, { server: "svc" })).pipe(rec.provide)

      const first = yield* Effect.forkChild(run)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(first)
      assert.strictEqual(s.state.calls, 3)
      const afterOne = yield* breaker.metrics("svc")
      assert.strictEqual(afterOne.calls, 1)
      assert.strictEqual(afterOne.failedCalls, 1)
      assert.strictEqual(afterOne.state, "closed")

      const second = yield* Effect.forkChild(run)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(second)
      assert.strictEqual(s.state.calls, 6)
      assert.strictEqual(yield* breaker.state("svc"), "open")

      const third = yield* run
      assert.instanceOf(failureOf(third), CircuitBreaker.BreakerRejected)
      assert.strictEqual(s.state.calls, 6, "a rejected call runs nothing and is not retried")
      assert.deepStrictEqual(rec.of("BreakerTransition").map((e) => [e.from, e.to]), [["closed", "open"]])
      assert.strictEqual(rec.of("BreakerRejected").length, 1)
    }))

  it.effect("the bulkhead holds its permit across retries and their backoff", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ name: "one", maxConcurrent: 1 })
      const policy = yield* Policy.make({ bulkhead, retry: constantRetry(2, "1 second") })
      const a = scripted<string, McpflowToolError>([{ fail: errors.unavailable() }, { succeed: "a" }])
      const fiberA = yield* Effect.forkChild(Policy.apply(a.effect, policy, {}), { startImmediately: true })
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(a.state.calls, 1)
      assert.strictEqual(bulkhead.inFlight, 1, "the call in backoff keeps its slot")
      const b = yield* Effect.exit(Policy.apply(Effect.succeed("b"), policy, {}))
      assert.instanceOf(failureOf(b), Bulkhead.BulkheadRejected)
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(yield* Fiber.join(fiberA), "a")
      assert.strictEqual(bulkhead.inFlight, 0)
    }))

  it.effect("a bulkhead or rate-limit rejection inside the breaker is not a breaker failure", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ name: "svc", trip: CircuitBreaker.consecutive(1), openDuration: "1 minute" })
      const policy = yield* Policy.make({ breaker, rateLimit: { limit: 1, window: "1 minute", onExceeded: "fail" } })
      assert.strictEqual(yield* Policy.apply(Effect.succeed(1), policy, { server: "svc" }), 1)
      const rejected = yield* Effect.exit(Policy.apply(Effect.succeed(2), policy, { server: "svc" }))
      assert.strictEqual((failureOf(rejected) as { readonly _tag: string })._tag, "RateLimitRejected")
      assert.strictEqual(yield* breaker.state("svc"), "closed")
    }))

  it.effect("Policy.apply is data-first and data-last: both forms run the same layers with the same context", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({ cache: { ttl: "1 minute", capacity: 10 } })
      const ctx: Policy.CallContext = { readOnly: true, server: "svc", cacheKey: "svc.get {}" }
      const s = scripted<string, never>([{ succeed: "v1" }, { succeed: "v2" }, { succeed: "v3" }])
      assert.strictEqual(yield* Policy.apply(s.effect, policy, ctx), "v1")
      assert.strictEqual(yield* s.effect.pipe(Policy.apply(policy, ctx)), "v1")
      assert.strictEqual(s.state.calls, 1)
      // Without a repeatable context the cache is bypassed, in either form.
      assert.strictEqual(yield* s.effect.pipe(Policy.apply(policy)), "v2")
      assert.strictEqual(yield* Policy.apply(s.effect, policy), "v3")
      const fallback = yield* Policy.make({ fallback: Fallback.make({ name: "canned", alternative: Effect.succeed("degraded") }) })
      assert.strictEqual(yield* Effect.fail(errors.unavailable()).pipe(Policy.apply(fallback)), "degraded")
      assert.strictEqual(yield* Policy.apply(Effect.fail(errors.unavailable()), fallback), "degraded")
    }))

  it.effect("a cache hit skips every other layer", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ name: "b", maxConcurrent: 2 })
      const breaker = yield* CircuitBreaker.make({ name: "svc", trip: CircuitBreaker.consecutive(3), openDuration: "1 minute" })
      const policy = yield* Policy.make({ cache: { ttl: "1 minute", capacity: 10 }, breaker, bulkhead, retry: constantRetry(3), timeout: "1s" })
      const s = scripted<string, never>([{ succeed: "v1" }, { succeed: "v2" }])
      const ctx: Policy.CallContext = { readOnly: true, server: "svc", cacheKey: "svc.get {}" }
      const rec = recorder()
      assert.strictEqual(yield* Policy.apply(s.effect, policy, ctx).pipe(rec.provide), "v1")
      assert.strictEqual(yield* Policy.apply(s.effect, policy, ctx).pipe(rec.provide), "v1")
      assert.strictEqual(s.state.calls, 1)
      assert.strictEqual(bulkhead.stats.admitted, 1)
      assert.strictEqual((yield* breaker.metrics("svc")).calls, 1)
      assert.deepStrictEqual(rec.tags(), ["CacheMiss", "CacheHit"])
    }))

  it.effect("the fallback sees a breaker rejection", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ name: "svc", trip: CircuitBreaker.consecutive(1), openDuration: "1 minute" })
      yield* breaker.isolate("svc")
      const policy = yield* Policy.make({
        breaker,
        fallback: Fallback.make({ name: "canned", alternative: Effect.succeed("degraded"), when: "breaker-rejected" })
      })
      const rec = recorder()
      assert.strictEqual(yield* Policy.apply(Effect.succeed("live"), policy, { server: "svc" }).pipe(rec.provide), "degraded")
      assert.deepStrictEqual(rec.tags(), ["BreakerRejected", "FallbackUsed"])
    }))

  it.effect("a non-idempotent call is not retried after a per-attempt timeout; an idempotent one is", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({ timeout: "1s", retry: constantRetry(3, "100 millis") })
      const runs = yield* Ref.make(0)
      const hang = Effect.andThen(Ref.update(runs, (n) => n + 1), Effect.never)

      const payment = yield* Effect.forkChild(Effect.exit(Policy.apply(hang, policy, { idempotent: false })))
      yield* TestClock.adjust("10 seconds")
      const paid = yield* Fiber.join(payment)
      assert.strictEqual((failureOf(paid) as { readonly _tag: string })._tag, "PolicyTimeout")
      assert.strictEqual(yield* Ref.get(runs), 1)

      yield* Ref.set(runs, 0)
      const read = yield* Effect.forkChild(Effect.exit(Policy.apply(hang, policy, { idempotent: true })))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(read)
      assert.strictEqual(yield* Ref.get(runs), 3)
    }))

  it.effect("the total timeout covers every attempt and delay, and emits through PolicyEvents", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({ totalTimeout: "2500 millis", retry: constantRetry(10, "1 second") })
      const s = scripted<string, McpflowToolError>([{ fail: errors.unavailable() }])
      const rec = recorder()
      const fiber = yield* Effect.forkChild(Effect.exit(Policy.apply(s.effect, policy, {})).pipe(rec.provide))
      yield* TestClock.adjust("10 seconds")
      const exit = yield* Fiber.join(fiber)
      const error = failureOf(exit) as { readonly _tag: string; readonly scope: string; readonly afterMs: number }
      assert.strictEqual(error._tag, "PolicyTimeout")
      assert.strictEqual(error.scope, "overall")
      assert.strictEqual(error.afterMs, 2500)
      assert.strictEqual(s.state.calls, 3)
      assert.deepStrictEqual(rec.of("TimedOut").map((e) => e.policy), ["totalTimeout"])
      assert.strictEqual(rec.of("RetryScheduled").length, 3)
    }))

  it.effect("merge: per kind, the later level wins; false switches a kind off", () =>
    Effect.gen(function*() {
      const server: Policy.PolicySpec = { retry: constantRetry(5), timeout: "10s", bulkhead: { pool: "standard" } }
      const tool: Policy.PolicySpec = { timeout: "3s" }
      const callSite: Policy.PolicySpec = { retry: false }
      const merged = Policy.merge(server, tool, callSite)
      assert.deepStrictEqual(merged, { retry: false, timeout: "3s", bulkhead: { pool: "standard" } })
      const built = yield* Policy.make(merged, { registry: Policy.registry({ pools: seedPools }) })
      assert.deepStrictEqual(Policy.describe(built).map((d) => d.kind), ["bulkhead", "timeout"])
      assert.strictEqual(built.bulkhead?.maxConcurrent, seedPools.standard.maxConcurrent)
    }))

  it.effect("stateful layers built from data are shared through a registry; malformed data is a PolicyConfigError", () =>
    Effect.gen(function*() {
      const registry = Policy.registry({ pools: seedPools })
      const settings = { breaker: { openDuration: "30s" }, bulkhead: { pool: "critical" } } as const
      const a = yield* Policy.make(settings, { registry, owner: "docker" })
      const b = yield* Policy.make(settings, { registry, owner: "docker" })
      assert.strictEqual(a.breaker?.breaker, b.breaker?.breaker)
      assert.strictEqual(a.bulkhead, b.bulkhead)
      const bad = yield* Effect.flip(Policy.make({ retry: { maxAttempts: 0 } }))
      assert.instanceOf(bad, Policy.PolicyConfigError)
      assert.strictEqual(bad.path, "retry.maxAttempts")
      const typo = yield* Effect.flip(Policy.make({ breaker: { halfOpen: { permittedCalls: 1, successThreshold: 2 } } }))
      assert.strictEqual(typo.path, "breaker.halfOpen.successThreshold")
    }))

  it.effect("prebuilt instances are used as they are, with a breaker keyed per tool", () =>
    Effect.gen(function*() {
      const shared = yield* CircuitBreaker.make({ name: "shared", trip: CircuitBreaker.consecutive(1), openDuration: "1 minute" })
      const policy = yield* Policy.make({
        retry: Retry.make({ maxAttempts: 2, jitter: "none" }),
        timeout: Timeout.make({ after: "1 second" }),
        breaker: Policy.breaker(shared, "tool")
      })
      assert.strictEqual(policy.breaker?.breaker, shared)
      yield* Effect.exit(Policy.apply(Effect.fail(errors.failed()), policy, { server: "svc", key: "svc.a" }))
      assert.deepStrictEqual(yield* shared.keys(), ["svc.a"])
      assert.strictEqual(yield* shared.state("svc.a"), "open")
      assert.strictEqual(yield* Policy.apply(Effect.succeed("b"), policy, { server: "svc", key: "svc.b" }), "b")
    }))

  it.effect("an empty policy returns the effect itself", () =>
    Effect.sync(() => {
      const effect = Effect.succeed(1)
      assert.strictEqual(Policy.apply(effect, Policy.empty), effect)
    }))
})

// -----------------------------------------------------------------------------
// Through a real gateway
// -----------------------------------------------------------------------------

const Svc = Tool.server("svc", {
  read: Tool.define({
    description: "Idempotent read, slow on its first two calls",
    input: Schema.Struct({ id: Schema.String }),
    output: Schema.Struct({ id: Schema.String, n: Schema.Number }),
    annotations: { idempotent: true, readOnly: true }
  }),
  charge: Tool.define({
    description: "Not idempotent, always hangs",
    input: Schema.Struct({ amount: Schema.Number }),
    output: Schema.Struct({ ok: Schema.Boolean }),
    annotations: { idempotent: false }
  }),
  hang: Tool.define({ description: "Never answers", input: Schema.Struct({}), output: Schema.String }),
  hang2: Tool.define({
    description: "Never answers (has its own policy)",
    input: Schema.Struct({}),
    output: Schema.String,
    policy: { timeout: "3s" }
  })
})

const makeGateway = (policies: GatewayConfig["policies"]) =>
  Effect.gen(function*() {
    const counts = { read: 0, charge: 0, hang: 0 }
    const svc = yield* FakeServer.make("svc", [
      FakeServer.handle(Svc.read, ({ id }) =>
        Effect.suspend(() => {
          const n = ++counts.read
          return n <= 2 ? Effect.as(Effect.sleep("1 hour"), { id, n }) : Effect.succeed({ id, n })
        })),
      FakeServer.handle(Svc.charge, () => Effect.andThen(Effect.sync(() => counts.charge++), Effect.never)),
      FakeServer.handle(Svc.hang, () => Effect.andThen(Effect.sync(() => counts.hang++), Effect.never)),
      FakeServer.handle(Svc.hang2, () => Effect.never)
    ])
    return { counts, layer: GatewayLayer.layer({ servers: { svc }, policies }) }
  })

const toolErrorOf = (exit: Exit.Exit<unknown, McpflowToolError>) => {
  const error = failureOf(exit)
  assert.isDefined(error, "expected a typed failure")
  return error!.reason
}

/** Runs `effect` to its end while the clock advances. */
const runFor = <A, E, R>(effect: Effect.Effect<A, E, R>, ms: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.exit(effect))
    yield* advance(ms)
    return yield* Fiber.join(fiber)
  })

describe("Policy on contract calls", () => {
  it.effect("config-driven: a server's policy retries an idempotent tool after per-attempt timeouts", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* makeGateway({ svc: { timeout: "1s", retry: constantRetry(3, "100 millis") } })
      const rec = recorder()
      const exit = yield* runFor(Svc.read({ id: "a" }).pipe(rec.provide), 3_000).pipe(Effect.provide(layer))
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(Exit.isSuccess(exit) ? exit.value : undefined, { id: "a", n: 3 })
      assert.strictEqual(counts.read, 3)
      assert.deepStrictEqual(rec.tags().filter((t) => t !== "AttemptFailed"), ["TimedOut", "RetryScheduled", "TimedOut", "RetryScheduled"])
    }))

  it.effect("a non-idempotent contract is not retried after a timeout; the error is a tool Timeout", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* makeGateway({ svc: { timeout: "1s", retry: constantRetry(3, "100 millis") } })
      const exit = yield* runFor(Svc.charge({ amount: 10 }), 5_000).pipe(Effect.provide(layer))
      const reason = toolErrorOf(exit)
      assert.strictEqual(reason._tag, "Timeout")
      if (reason._tag === "Timeout") {
        assert.strictEqual(reason.phase, "call")
        assert.strictEqual(reason.afterMs, 1000)
        assert.strictEqual(reason.policy, "policy 'timeout'")
      }
      assert.strictEqual(counts.charge, 1)
    }))

  it.effect("a call site may declare one call of a non-idempotent tool safe to repeat", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* makeGateway({ svc: { timeout: "1s", retry: constantRetry(3, "100 millis") } })
      const exit = yield* runFor(Svc.charge({ amount: 10 }, { idempotent: true }), 5_000).pipe(Effect.provide(layer))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(counts.charge, 3, "retried as if the tool were idempotent")
    }))

  it.effect("precedence: call site > config server.tool > contract > config server", () =>
    Effect.gen(function*() {
      const { layer } = yield* makeGateway({ svc: { timeout: "1s" }, "svc.hang": { timeout: "500 millis" } })
      const afterMs = (exit: Exit.Exit<unknown, McpflowToolError>) => {
        const reason = toolErrorOf(exit)
        return reason._tag === "Timeout" ? reason.afterMs : -1
      }
      yield* Effect.gen(function*() {
        // server level only
        assert.strictEqual(afterMs(yield* runFor(Svc.charge({ amount: 1 }), 2_000)), 1000)
        // the contract's own policy beats the server's
        assert.strictEqual(afterMs(yield* runFor(Svc.hang2({}), 4_000)), 3000)
        // Tool.withPolicy overrides the contract's policy, per kind
        assert.strictEqual(afterMs(yield* runFor(Tool.withPolicy(Svc.hang2, { timeout: "2s" })({}), 4_000)), 2000)
        // the config's server.tool entry beats the contract's policy
        const withOwn = Tool.withPolicy(Svc.hang, { timeout: "3s" })
        assert.strictEqual(afterMs(yield* runFor(withOwn({}), 4_000)), 500)
        // the call site beats everything
        assert.strictEqual(afterMs(yield* runFor(withOwn({}, { policy: { timeout: "4s" } }), 5_000)), 4000)
        // false at the call site switches the kind off: the gateway's own call timeout remains
        const off = yield* Effect.forkChild(Effect.exit(Svc.hang({}, { policy: { timeout: false }, timeout: "6 seconds" })))
        yield* advance(7_000, 500)
        const reason = toolErrorOf(yield* Fiber.join(off))
        assert.isTrue(reason._tag === "Timeout" && reason.policy === "the call's options")
      }).pipe(Effect.provide(layer))
    }))

  it.effect("a breaker from config is made once per layer and keyed per server: one tool's failures open it for all", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* makeGateway({
        svc: { timeout: "1s", breaker: { trip: { kind: "consecutive", failures: 2 }, openDuration: "1 minute" } }
      })
      yield* Effect.gen(function*() {
        yield* runFor(Svc.hang({}), 2_000)
        yield* runFor(Svc.hang({}), 2_000)
        assert.strictEqual(counts.hang, 2)
        const exit = yield* runFor(Svc.read({ id: "x" }), 100)
        const error = failureOf(exit)!
        const reason = error.reason
        assert.strictEqual(reason._tag, "Rejected")
        if (reason._tag === "Rejected") {
          assert.strictEqual(reason.by, "breaker")
          assert.strictEqual(reason.policy, "svc")
          assert.isDefined(reason.retryAfterMs)
          assert.isTrue(reason.retryAfterMs! > 0 && reason.retryAfterMs! <= 60_000, `retryAfterMs ${reason.retryAfterMs}`)
        }
        assert.include(reason.message, "circuit 'svc' is open")
        assert.strictEqual(error.retryAfterMs, reason._tag === "Rejected" ? reason.retryAfterMs : -1, "a retry waits at least this long")
        assert.isTrue(error.transient)
        assert.isFalse(error.mayHaveReachedServer)
        assert.strictEqual(counts.read, 0, "nothing was sent")
      }).pipe(Effect.provide(layer))
    }))

  it.effect("a full bulkhead is Rejected by the bulkhead, naming its pool; nothing is sent", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* makeGateway({ svc: { bulkhead: { pool: "svc-pool", maxConcurrent: 1, maxQueue: 0 } } })
      yield* Effect.gen(function*() {
        const holder = yield* Effect.forkChild(Svc.hang({}))
        yield* settle
        assert.strictEqual(counts.hang, 1)
        const error = failureOf(yield* Effect.exit(Svc.read({ id: "x" })))!
        const reason = error.reason
        assert.strictEqual(reason._tag, "Rejected")
        if (reason._tag === "Rejected") {
          assert.strictEqual(reason.by, "bulkhead")
          assert.strictEqual(reason.policy, "svc-pool")
          assert.include(reason.detail, "the wait queue is full")
        }
        assert.strictEqual(reason.server, "svc")
        assert.strictEqual(reason.tool, "read")
        assert.isTrue(error.transient)
        assert.isFalse(error.mayHaveReachedServer)
        assert.strictEqual(counts.read, 0, "nothing was sent")
        yield* Fiber.interrupt(holder)
      }).pipe(Effect.provide(layer))
    }))

  it.effect("the local rate limiter's refusal is Rejected by the rate limit with retryAfterMs (RateLimited stays the server's)", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* makeGateway({ svc: { rateLimit: { limit: 1, window: "1 minute", onExceeded: "fail" } } })
      yield* Effect.gen(function*() {
        const holder = yield* Effect.forkChild(Svc.hang({}))
        yield* settle
        const error = failureOf(yield* Effect.exit(Svc.read({ id: "x" })))!
        const reason = error.reason
        assert.strictEqual(reason._tag, "Rejected")
        if (reason._tag === "Rejected") {
          assert.strictEqual(reason.by, "rate-limit")
          assert.strictEqual(reason.policy, "svc")
          assert.isDefined(reason.retryAfterMs)
          assert.strictEqual(error.retryAfterMs, reason.retryAfterMs)
        }
        assert.isTrue(error.transient)
        assert.strictEqual(counts.read, 0, "nothing was sent")
        yield* Fiber.interrupt(holder)
      }).pipe(Effect.provide(layer))
    }))

  it.effect("a Rejected tool error is not a failure for a breaker around the call", () =>
    Effect.gen(function*() {
      const { layer } = yield* makeGateway({ svc: { bulkhead: { pool: "one", maxConcurrent: 1, maxQueue: 0 } } })
      const outer = yield* CircuitBreaker.make({ name: "flow", trip: CircuitBreaker.consecutive(1), openDuration: "1 minute" })
      yield* Effect.gen(function*() {
        const holder = yield* Effect.forkChild(Svc.hang({}))
        yield* settle
        const error = failureOf(yield* Effect.exit(outer.execute(Svc.read({ id: "x" }))))
        assert.instanceOf(error, McpflowToolError)
        assert.strictEqual((error as McpflowToolError).reason._tag, "Rejected")
        assert.strictEqual(yield* outer.state("flow"), "closed")
        yield* Fiber.interrupt(holder)
      }).pipe(Effect.provide(layer))
    }))

  it.effect("when the primary and the fallback both fail, FallbackFailed keeps both typed reasons", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* makeGateway({ svc: { timeout: "1s" } })
      yield* Effect.gen(function*() {
        // the fallback is another server.tool (its output mapped) that times out too: both transient
        const other = Effect.map(Svc.hang({}), (id) => ({ id, n: 0 }))
        const viaTool = yield* runFor(
          Svc.read({ id: "p" }, { policy: { fallback: Fallback.make({ name: "other-tool", alternative: other }) } }),
          3_000
        )
        const error = failureOf(viaTool)!
        const reason = error.reason
        assert.strictEqual(reason._tag, "FallbackFailed")
        if (reason._tag === "FallbackFailed") {
          assert.strictEqual(reason.policy, "other-tool")
          assert.strictEqual(`${reason.server}.${reason.tool}`, "svc.read")
          assert.strictEqual(reason.primary._tag, "Timeout")
          assert.strictEqual(`${reason.primary.server}.${reason.primary.tool}`, "svc.read")
          assert.strictEqual(reason.fallback._tag, "Timeout")
          assert.strictEqual(`${reason.fallback.server}.${reason.fallback.tool}`, "svc.hang")
          assert.include(reason.message, reason.primary.message)
          assert.include(reason.message, reason.fallback.message)
        }
        assert.isTrue(error.transient, "transient because the fallback's failure is")
        assert.isTrue(error.mayHaveReachedServer)
        assert.strictEqual(counts.hang, 1)

        // the fallback fails permanently: not transient
        const failing = yield* runFor(
          Svc.read({ id: "q" }, {
            policy: {
              fallback: Fallback.make({
                name: "mirror",
                alternative: Effect.fail(toolError(new ToolFailed({ server: "mirror", tool: "read", text: "mirror is down" })))
              })
            }
          }),
          2_000
        )
        const second = failureOf(failing)!
        assert.strictEqual(second.reason._tag, "FallbackFailed")
        if (second.reason._tag === "FallbackFailed") {
          assert.strictEqual(second.reason.primary._tag, "Timeout")
          assert.deepStrictEqual(second.reason.fallback, new ToolFailed({ server: "mirror", tool: "read", text: "mirror is down" }))
        }
        assert.isFalse(second.transient)
      }).pipe(Effect.provide(layer))
    }))

  it.effect("an open breaker then a failing fallback: FallbackFailed of Rejected{breaker} and the fallback's failure", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* makeGateway({
        svc: { timeout: "1s", breaker: { trip: { kind: "consecutive", failures: 1 }, openDuration: "30s" } }
      })
      yield* Effect.gen(function*() {
        yield* runFor(Svc.hang({}), 2_000)
        const exit = yield* runFor(
          Svc.read({ id: "p" }, {
            policy: {
              fallback: Fallback.make({
                name: "degraded",
                alternative: Effect.fail(new Error("no cached answer")),
                when: "breaker-rejected"
              })
            }
          }),
          100
        )
        const reason = toolErrorOf(exit)
        assert.strictEqual(reason._tag, "FallbackFailed")
        if (reason._tag === "FallbackFailed") {
          const primary = reason.primary
          assert.strictEqual(primary._tag, "Rejected")
          if (primary._tag === "Rejected") {
            assert.strictEqual(primary.by, "breaker")
            assert.isTrue(primary.retryAfterMs !== undefined && primary.retryAfterMs > 0 && primary.retryAfterMs <= 30_000)
          }
          assert.strictEqual(reason.fallback._tag, "ToolFailed")
          assert.include(reason.fallback.message, "no cached answer")
        }
        assert.strictEqual(counts.read, 0, "nothing was sent")
      }).pipe(Effect.provide(layer))
    }))

  it.effect("a call-site fallback may call another tool and is typed by the contract's output", () =>
    Effect.gen(function*() {
      const { layer } = yield* makeGateway({ svc: { timeout: "1s" } })
      const exit = yield* runFor(
        Svc.read({ id: "p" }, {
          policy: {
            fallback: Fallback.make({ name: "mirror", alternative: Effect.succeed({ id: "mirror", n: 0 }), when: "transient" })
          }
        }),
        2_000
      ).pipe(Effect.provide(layer))
      assert.deepStrictEqual(Exit.isSuccess(exit) ? exit.value : undefined, { id: "mirror", n: 0 })
    }))

  it.effect("malformed call-site data is InvalidInput naming the policy path; nothing is sent", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* makeGateway(undefined)
      const exit = yield* Effect.exit(Svc.hang({}, { policy: { retry: { maxAttempts: -1 } } })).pipe(Effect.provide(layer))
      const reason = toolErrorOf(exit)
      assert.strictEqual(reason._tag, "InvalidInput")
      if (reason._tag === "InvalidInput") assert.strictEqual(reason.path, "policy.retry.maxAttempts")
      assert.strictEqual(counts.hang, 0)
    }))
})

describe("policies in .mcp.json", () => {
  const base = { mcpServers: { fs: { command: "fs-server" } } }

  it.effect("decodes mcpflow.policies per server and server.tool", () =>
    Effect.gen(function*() {
      const config = yield* decodeMcpJson({
        ...base,
        mcpflow: {
          policies: {
            fs: { retry: { maxAttempts: 3, backoff: { kind: "exponential", initial: "200 millis", max: "5 seconds" }, jitter: "full" }, timeout: "5s" },
            "fs.read_file": { bulkhead: { pool: "critical" }, timeout: false }
          },
          pools: seedPools
        }
      }, { env: {} })
      assert.deepStrictEqual(Object.keys(config.policies ?? {}), ["fs", "fs.read_file"])
      const layer = GatewayLayer.layer(config)
      yield* Effect.provide(Effect.void, Layer.fresh(layer))
    }))

  it.effect("a bulkhead can name a pool declared under mcpflow.pools; an undeclared one needs numbers", () =>
    Effect.gen(function*() {
      const config = yield* decodeMcpJson({
        ...base,
        mcpflow: { pools: { mine: { maxConcurrent: 2, maxWait: "1s" } }, policies: { fs: { bulkhead: { pool: "mine" } } } }
      }, { env: {} })
      assert.deepStrictEqual(config.pools, { mine: { maxConcurrent: 2, maxWait: 1000 } })
      const built = yield* Policy.make(config.policies!.fs!, { registry: Policy.registry({ pools: config.pools }) })
      assert.strictEqual(built.bulkhead?.maxConcurrent, 2)
      const missing = yield* Effect.flip(Policy.make({ bulkhead: { pool: "mine" } }, { registry: Policy.registry() }))
      assert.strictEqual(missing.path, "bulkhead.maxConcurrent")
    }))

  const rejects = (policies: unknown, path: string, detail?: string) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decodeMcpJson({ ...base, mcpflow: { policies } }, { env: {}, file: ".mcp.json" }))
      assert.instanceOf(error, McpflowConfigError)
      assert.strictEqual(error.path, path)
      if (detail !== undefined) assert.include(error.detail, detail)
      assert.include(error.message, ".mcp.json")
    })

  it.effect("policies decode into plain data only: tags, data fallbacks and unknown fields are config errors", () =>
    Effect.gen(function*() {
      yield* rejects({ fs: { breaker: { _tag: "x" } } }, "mcpflow.policies.fs.breaker._tag", "Unknown setting \"_tag\"")
      yield* rejects({ fs: { _tag: "Policy" } }, "mcpflow.policies.fs._tag", "Unknown setting")
      yield* rejects({ fs: { _tag: "Policy", isEmpty: false, spec: {} } }, "mcpflow.policies.fs._tag", "Unknown setting")
      yield* rejects({ fs: { timeout: { _tag: "Timeout", afterMs: 5 } } }, "mcpflow.policies.fs.timeout")
      yield* rejects({ fs: { fallback: 1 } }, "mcpflow.policies.fs.fallback", "Fallback.make")
      yield* rejects({ fs: { retry: { maxAttempts: "3" } } }, "mcpflow.policies.fs.retry.maxAttempts", "Expected number")
      yield* rejects({ fs: { cache: { ttl: "1s", capacity: 1, stale: true } } }, "mcpflow.policies.fs.cache.stale", "Unknown setting \"stale\"")
    }))

  it.effect("a config error quotes at most a short excerpt of a long value or key", () =>
    Effect.gen(function*() {
      const long = "z".repeat(500)
      const timeout = yield* Effect.flip(decodeMcpJson({ ...base, mcpflow: { policies: { fs: { timeout: long } } } }, { env: {} }))
      assert.include(timeout.detail, "zzzz…")
      assert.isBelow(timeout.message.length, 200)
      const key = yield* Effect.flip(decodeMcpJson({ ...base, mcpflow: { policies: { fs: { cache: { [long]: 1 } } } } }, { env: {} }))
      assert.isBelow(key.message.length, 200)
      assert.include(key.path, "zzzz…")
    }))

  it.effect("a server named __proto__ keeps its policy", () =>
    Effect.gen(function*() {
      const json: unknown = JSON.parse('{"mcpServers":{"__proto__":{"command":"p"}},"mcpflow":{"policies":{"__proto__":{"timeout":"1s"}}}}')
      const config = yield* decodeMcpJson(json, { env: {} })
      assert.deepStrictEqual(Object.keys(config.servers), ["__proto__"])
      assert.deepStrictEqual(Object.keys(config.policies ?? {}), ["__proto__"])
      assert.isTrue(Object.hasOwn(config.policies ?? {}, "__proto__"))
    }))

  it.effect("Policy.make in code: a look-alike of a built policy or instance is data, refused as such", () =>
    Effect.gen(function*() {
      const forged = yield* Effect.flip(Policy.make({ _tag: "Policy", isEmpty: true, spec: {} } as unknown as Policy.PolicySpec))
      assert.strictEqual(forged.path, "_tag")
      assert.isFalse(Policy.isPolicy({ _tag: "Policy" }))
      assert.isTrue(Policy.isPolicy(Policy.empty))
      const breaker = yield* Effect.flip(Policy.make({ breaker: { _tag: "x" } } as unknown as Policy.PolicySpec))
      assert.strictEqual(breaker.path, "breaker._tag")
      const fallback = yield* Effect.flip(Policy.make({ fallback: 1 } as unknown as Policy.PolicySpec))
      assert.strictEqual(fallback.path, "fallback")
    }))

  it.effect("a malformed entry is a McpflowConfigError naming the path", () =>
    Effect.gen(function*() {
      yield* rejects({ fs: { retry: { maxAttempts: 0 } } }, "mcpflow.policies.fs.retry.maxAttempts")
      yield* rejects({ fs: { timeout: "soon" } }, "mcpflow.policies.fs.timeout", "Expected a duration")
      yield* rejects({ fs: { retyr: { maxAttempts: 2 } } }, "mcpflow.policies.fs.retyr")
      yield* rejects({ fs: { bulkhead: { pool: "mine" } } }, "mcpflow.policies.fs.bulkhead.maxConcurrent")
      yield* rejects({ fs: { breaker: { halfOpen: { permittedCalls: 1, successThreshold: 3 } } } }, "mcpflow.policies.fs.breaker.halfOpen.successThreshold")
      yield* rejects({ git: { timeout: "1s" } }, "mcpflow.policies.git", "No server 'git'")
      yield* rejects({ fs: 42 }, "mcpflow.policies.fs")
      const notObject = yield* Effect.flip(decodeMcpJson({ ...base, mcpflow: { policies: [] } }, { env: {} }))
      assert.strictEqual(notObject.path, "mcpflow.policies")
    }))
})
