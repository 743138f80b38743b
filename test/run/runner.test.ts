/**
 * The runner's decisions (exit codes, servers, modes, entry point, OTLP endpoint) and the
 * reporter writing a real in-process run (JSON lines, plain lines, quiet, the TTY redraw), plus
 * the OTLP export of a run's spans to a loopback HTTP server.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { pathToFileURL } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, Redacted, Result, Schema } from "effect"
import { Flow, FlowDefinition, FlowError, FlowEvents, InvalidFlowInput, InvalidFlowOutput, step } from "../../dsl/flow/index.ts"
import { McpflowConfigError } from "../../src/runtime/gateway/McpJson.ts"
import * as Engines from "../../src/runtime/engine/Engines.ts"
import { loadFlow } from "../../src/app/run/LoadFlow.ts"
import { exitCodeOfError, exitCodeOfExit } from "../../src/app/run/ExitCode.ts"
import { isEntryPoint } from "../../src/app/run/FlowFile.ts"
import * as Reporter from "../../src/app/run/Reporter.ts"
import { chooseServers, levelOf } from "../../src/app/run/RunFlow.ts"
import { stripAnsi } from "../../src/app/run/Style.ts"
import * as Tracing from "../../src/app/run/Tracing.ts"

describe("exit codes", () => {
  it("0 success, 1 failure, 2 bad input / definition / config, 130 interrupted", () => {
    const flowError = (reason: FlowError["reason"]) => new FlowError({ flow: "f", reason })
    assert.strictEqual(exitCodeOfExit(Exit.succeed(1)), 0)
    assert.strictEqual(exitCodeOfExit(Exit.fail(new Error("boom"))), 1)
    assert.strictEqual(exitCodeOfExit(Exit.fail(flowError(new InvalidFlowInput({ path: "a", issue: "x" })))), 2)
    assert.strictEqual(exitCodeOfExit(Exit.fail(flowError(new FlowDefinition({ detail: "cycle" })))), 2)
    assert.strictEqual(exitCodeOfExit(Exit.fail(flowError(new InvalidFlowOutput({ path: "a", issue: "x" })))), 1)
    assert.strictEqual(exitCodeOfExit(Exit.fail(new McpflowConfigError({ path: ".mcp.json", detail: "file not found" }))), 2)
    assert.strictEqual(exitCodeOfExit(Exit.die("defect")), 1)
    assert.strictEqual(exitCodeOfExit(Exit.interrupt()), 130)
    assert.strictEqual(exitCodeOfError({ _tag: "McpflowToolError" }), 1)
  })
})

describe("choices", () => {
  const none = Option.none<string>()
  it("servers: --config, --sandbox, --dry-run, and the defaults", () => {
    const choose = (config: Option.Option<string>, sandbox: boolean, dryRun: boolean, hasSandbox: boolean) =>
      chooseServers({ config, sandbox, dryRun, hasSandbox })
    assert.deepStrictEqual(choose(none, false, false, true), Result.succeed({ _tag: "Sandbox" }))
    assert.deepStrictEqual(choose(none, false, false, false), Result.succeed({ _tag: "Config", file: "./.mcp.json", implicit: true }))
    assert.deepStrictEqual(choose(Option.some("x.json"), false, false, true), Result.succeed({ _tag: "Config", file: "x.json" }))
    assert.deepStrictEqual(choose(none, false, true, true), Result.succeed({ _tag: "Sandbox" }))
    assert.isTrue(Result.isFailure(choose(Option.some("x.json"), true, false, true)))
    assert.isTrue(Result.isFailure(choose(none, false, true, false)))
  })

  it("mode, colour and level", () => {
    assert.strictEqual(Reporter.detectMode({ json: true, isTTY: true, env: {} }), "json")
    assert.strictEqual(Reporter.detectMode({ json: false, isTTY: true, env: {} }), "tty")
    assert.strictEqual(Reporter.detectMode({ json: false, isTTY: true, env: { CI: "true" } }), "plain")
    assert.strictEqual(Reporter.detectMode({ json: false, isTTY: true, env: { CI: "false" } }), "tty")
    assert.strictEqual(Reporter.detectMode({ json: false, isTTY: false, env: {} }), "plain")
    assert.isFalse(Reporter.useColor({ isTTY: true, env: { NO_COLOR: "1" } }))
    assert.isTrue(Reporter.useColor({ isTTY: true, env: {} }))
    assert.isFalse(Reporter.useColor({ isTTY: false, env: {} }))
    assert.isTrue(Reporter.useColor({ isTTY: false, env: { FORCE_COLOR: "1" } }))
    assert.isTrue(Reporter.useColor({ isTTY: false, env: { FORCE_COLOR: "" } }))
    assert.isFalse(Reporter.useColor({ isTTY: true, env: { FORCE_COLOR: "0" } }))
    assert.isFalse(Reporter.useColor({ isTTY: true, env: { FORCE_COLOR: "false" } }))
    assert.isFalse(Reporter.useColor({ isTTY: false, env: { FORCE_COLOR: "1", NO_COLOR: "1" } }))
    assert.strictEqual(levelOf({ quiet: true, verbose: true }), "quiet")
    assert.strictEqual(levelOf({ quiet: false, verbose: true }), "verbose")
  })

  it("entry point: only the file node was started with", () => {
    const self = new URL(import.meta.url)
    assert.isTrue(isEntryPoint(self.href, self.pathname))
    assert.isTrue(isEntryPoint(self.href, self.pathname.replace(/\.ts$/, "")))
    assert.isFalse(isEntryPoint(self.href, "/usr/lib/node_modules/mcpflow/bin/mcpflow.js"))
    assert.isFalse(isEntryPoint(self.href, undefined))
    assert.isFalse(isEntryPoint(pathToFileURL("/elsewhere/x.ts").href, self.pathname))
  })

  it("OTLP endpoint: the flag, else OTEL_EXPORTER_OTLP_ENDPOINT", () => {
    assert.deepStrictEqual(Tracing.endpointOf(Option.some("http://a:4318"), { OTEL_EXPORTER_OTLP_ENDPOINT: "http://b" }), Option.some("http://a:4318"))
    assert.deepStrictEqual(Tracing.endpointOf(Option.none(), { OTEL_EXPORTER_OTLP_ENDPOINT: "http://b" }), Option.some("http://b"))
    assert.deepStrictEqual(Tracing.endpointOf(Option.none(), {}), Option.none())
    assert.strictEqual(Tracing.tracesUrl("http://a:4318/"), "http://a:4318/v1/traces")
    assert.strictEqual(Tracing.tracesUrl("http://a:4318/v1/traces"), "http://a:4318/v1/traces")
  })
})

class Declined extends Schema.TaggedError<Declined>()("Declined", { card: Schema.String }) {
  override get message(): string {
    return `card ${this.card} declined`
  }
}

/** A flow with a compensated step, a failing step, and input that must be a number. */
const orders = Flow.make({
  name: "orders",
  input: Schema.Struct({ fail: Schema.Boolean }),
  output: Schema.Struct({ n: Schema.Number, secret: Schema.Redacted(Schema.String) }),
  run: ({ fail }) =>
    Effect.gen(function*() {
      const n = yield* step("reserve", Effect.as(Effect.sleep("30 millis"), 1), { compensate: () => Effect.void })
      if (fail) yield* step("charge", Effect.fail(new Declined({ card: "4242" })))
      return { n, secret: Redacted.make("hunter2") }
    })
})

const capture = () => {
  const out: Array<string> = []
  const err: Array<string> = []
  return { out, err, writers: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) } }
}

const report = (options: Omit<Reporter.ReporterOptions, "writers">, input: { readonly fail: boolean }) =>
  Effect.scoped(Effect.gen(function*() {
    const io = capture()
    const reporter = yield* Reporter.make({ ...options, writers: io.writers, refreshMs: 5, columns: 80, rows: 24 })
    const exit = yield* Flow.run(orders, input, { sandbox: true }).pipe(
      Effect.provideService(FlowEvents.FlowEvents, reporter.sink),
      Effect.provide(Engines.memory),
      Effect.exit
    )
    const summary = yield* reporter.finish(exit, { flow: orders.name, durationMs: 1, sandbox: true })
    return { ...io, summary, code: exitCodeOfExit(exit) }
  }))

describe("reporter", () => {
  it.live("--json: one event per line on stdout, then the summary with the result; nothing on stderr", () =>
    Effect.gen(function*() {
      const { code, err, out } = yield* report({ mode: "json", level: "normal", color: false, dryRun: false }, { fail: false })
      assert.strictEqual(code, 0)
      assert.deepStrictEqual(err, [])
      const lines = out.join("").trimEnd().split("\n").map((l) => JSON.parse(l) as { _tag: string; [k: string]: unknown })
      assert.deepStrictEqual(lines.map((l) => l._tag), ["FlowStarted", "StepStarted", "StepSucceeded", "FlowFinished", "RunSummary"])
      assert.deepStrictEqual(lines.at(-1)?.["output"], { n: 1, secret: "<redacted>" })
    }))

  it.live("plain: event lines and the summary on stderr; a failure names the step and its typed cause", () =>
    Effect.gen(function*() {
      const { code, err, out, summary } = yield* report({ mode: "plain", level: "normal", color: false, dryRun: true }, { fail: true })
      assert.strictEqual(code, 1)
      assert.deepStrictEqual(out, [])
      const text = err.join("")
      assert.match(text, /^mcpflow · orders · run \w{8} · memory engine · sandbox/)
      assert.include(text, "✗ charge")
      assert.include(text, "⟲ reserve compensated")
      assert.include(text, "path taken:\n  ✓ reserve (compensated)\n  ✗ charge\n")
      assert.match(text, /✗ orders failed in \d+(?:\.\d)?m?s \(sandbox\)\n {2}steps: 1 succeeded, 1 failed, 1 compensated/)
      assert.include(text, "  failed step: charge\n  cause: Declined: card 4242 declined")
      assert.deepInclude(summary, { outcome: "failure", failedStep: "charge" })
    }))

  it.live("quiet: only the summary; bad input: one line, exit 2", () =>
    Effect.gen(function*() {
      const quiet = yield* report({ mode: "plain", level: "quiet", color: false, dryRun: false }, { fail: false })
      assert.match(quiet.err.join(""), /^✓ orders succeeded in \d+(?:\.\d)?m?s \(sandbox\)\n {2}steps: 1 succeeded · 0 retries · compensations: 0\n$/)
      assert.deepStrictEqual(JSON.parse(quiet.out.join("")), { n: 1, secret: "<redacted>" })
      const bad = yield* report({ mode: "plain", level: "normal", color: false, dryRun: false }, { fail: "yes" } as never)
      assert.strictEqual(bad.code, 2)
      assert.match(bad.err.join(""), /^✗ orders: invalid input at fail: Expected boolean\n$/)
    }))

  it.effect("plain: a server's health change (from its background probes) is a line; quiet: not", () =>
    Effect.scoped(Effect.gen(function*() {
      const lines = (level: "normal" | "quiet") =>
        Effect.gen(function*() {
          const io = capture()
          const reporter = yield* Reporter.make({ mode: "plain", level, color: false, dryRun: false, writers: io.writers })
          reporter.gateway.emit({ _tag: "HealthChanged", server: "store", from: "healthy", to: "unhealthy", detail: "no answer within 500 ms" })
          return io.err.join("")
        })
      assert.strictEqual(yield* lines("normal"), "  ! [store] healthy → unhealthy: no answer within 500 ms\n")
      assert.strictEqual(yield* lines("quiet"), "")
    })))

  it.live("tty: redraws the tree in place, hides then restores the cursor", () =>
    Effect.gen(function*() {
      const { err } = yield* report({ mode: "tty", level: "normal", color: true, dryRun: false }, { fail: false })
      const text = err.join("")
      assert.isTrue(text.startsWith("\x1b[?25l"))
      assert.isTrue(text.endsWith("\x1b[?25h"))
      assert.match(text, /\x1b\[\d+A\x1b\[J/)
      assert.include(stripAnsi(text), "✓ reserve")
      assert.include(stripAnsi(text), "✓ orders succeeded")
    }))
})

describe("tracing", () => {
  it.live("--otlp exports a span per flow and per step to an OTLP/HTTP endpoint", () =>
    Effect.gen(function*() {
      const bodies: Array<{ url: string; body: string }> = []
      const server = createServer((req, res) => {
        let body = ""
        req.setEncoding("utf8").on("data", (c: string) => (body += c)).on("end", () => {
          bodies.push({ url: req.url ?? "", body })
          res.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      yield* Effect.acquireRelease(
        Effect.callback<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => server.close())
      )
      const { port } = server.address() as AddressInfo
      yield* Flow.run(orders, { fail: false }).pipe(
        Effect.withSpan("flow orders"),
        Effect.provide(Engines.memory),
        Effect.provide(Tracing.layer(Option.some(`http://127.0.0.1:${port}`), { serviceName: "mcpflow-test" }))
      )
      assert.isAbove(bodies.length, 0)
      assert.strictEqual(bodies[0]?.url, "/v1/traces")
      type Span = { name: string; spanId: string; parentSpanId?: string; traceId: string }
      const spans = bodies.flatMap((b) =>
        (JSON.parse(b.body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Span> }> }> }).resourceSpans
          .flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))
      )
      const flowSpan = spans.find((s) => s.name === "flow orders")
      const stepSpan = spans.find((s) => s.name === "step reserve")
      assert.isDefined(flowSpan)
      assert.isDefined(stepSpan)
      assert.strictEqual(stepSpan?.traceId, flowSpan?.traceId)
      // The step's span is under the flow's (through the workflow engine's execute span).
      const byId = new Map(spans.map((s) => [s.spanId, s]))
      const ancestors: Array<string> = []
      let parent = stepSpan?.parentSpanId
      while (typeof parent === "string") {
        const span = byId.get(parent)
        if (span === undefined) break
        ancestors.push(span.name)
        parent = span.parentSpanId
      }
      assert.include(ancestors, "flow orders")
    }).pipe(Effect.scoped))
})

describe("loading a flow file", () => {
  it.effect("its default export is the flow, its exported sandbox the sandbox; its main does not run", () =>
    Effect.gen(function*() {
      const loaded = yield* loadFlow("test/e2e/fixtures/orders.ts")
      assert.strictEqual(loaded.flow.name, "orders")
      assert.isTrue(Effect.isEffect(loaded.sandbox))
      const missing = yield* Effect.flip(loadFlow("test/e2e/fixtures/no-such-flow.ts"))
      assert.strictEqual(missing.message, "test/e2e/fixtures/no-such-flow.ts: file not found")
      const notAFlow = yield* Effect.flip(loadFlow("src/app/run/Style.ts"))
      assert.include(notAFlow.message, "src/app/run/Style.ts: its default export is not a flow")
    }))
})
