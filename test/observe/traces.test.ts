/**
 * Traces: a run exported to an in-process OTLP/HTTP receiver (loopback, port 0). Each tool call
 * is a client span under its step's span (server, tool, attempt, outcome; arguments only where
 * the contract marks them safe), and the server received the call's span as a W3C `traceparent`
 * in the request's `_meta`.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Flow, FlowEngine } from "../../dsl/flow/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import * as Tracing from "../../src/app/run/Tracing.ts"
import { flow, makeServer, type ServerLog, TOKEN } from "./support.ts"

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string | undefined
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>
}

/** An OTLP/HTTP JSON receiver on a free loopback port: every span posted to /v1/traces. */
const receiver = Effect.acquireRelease(
  Effect.callback<{ readonly url: string; readonly spans: Array<OtlpSpan>; readonly close: () => void }>((resume) => {
    const spans: Array<OtlpSpan> = []
    const server = createServer((req, res) => {
      let body = ""
      req.on("data", (chunk) => (body += chunk))
      req.on("end", () => {
        if (req.url === "/v1/traces") {
          const data = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<OtlpSpan> }> }> }
          for (const r of data.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans)
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        spans,
        close: () => server.close()
      })))
  }),
  (r) => Effect.sync(r.close)
)

const attr = (span: OtlpSpan, key: string): unknown => {
  const value = span.attributes.find((a) => a.key === key)?.value
  return value === undefined ? undefined : Object.values(value)[0]
}

describe("traces", () => {
  it.live("a span per tool call under its step; the server gets its traceparent", () =>
    Effect.scoped(Effect.gen(function*() {
      const otlp = yield* receiver
      const log: ServerLog = { calls: [] }
      // Two runs: one sampled, one not (MCPFLOW_TRACE_SAMPLE decides this on the run's root span).
      yield* Effect.gen(function*() {
        yield* Flow.run(flow, {}).pipe(Effect.withSpan("flow observed"))
        yield* Flow.run(flow, {}).pipe(Effect.withSpan("flow unsampled", { sampled: false }))
      }).pipe(
        Effect.provide(FlowEngine.layerMemory),
        Effect.provide(GatewayLayer.layer({ servers: { obs: { type: "in-process", make: makeServer(log) } } })),
        // Closing the tracer's layer flushes the spans.
        Effect.provide(Tracing.layer(Option.some(otlp.url), { serviceName: "mcpflow-test" }))
      )
      const spans = otlp.spans
      const byId = new Map(spans.map((s) => [s.spanId, s]))
      const parentOf = (s: OtlpSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined)
      const root = spans.find((s) => s.name === "flow observed")
      assert.isDefined(root)
      assert.isUndefined(spans.find((s) => s.name === "flow unsampled"), "an unsampled run exports nothing")
      assert.isTrue(spans.every((s) => s.traceId === root!.traceId), "every exported span is in the sampled run's trace")

      const tools = spans.filter((s) => s.name.startsWith("tool "))
      // ok (once: the second is a cache hit), flaky twice (attempts 1 and 2), down once (then the circuit is open).
      assert.deepStrictEqual(
        tools.map((s) => [s.name, parentOf(s)?.name, attr(s, "mcpflow.attempt"), attr(s, "mcpflow.outcome")]).sort(),
        [
          ["tool obs.down", "step down", 1, "ToolFailed"],
          ["tool obs.flaky", "step flaky", 1, "RateLimited"],
          ["tool obs.flaky", "step flaky", 2, "ok"],
          ["tool obs.ok", "step fetch", 1, "ok"]
        ].sort()
      )
      const ancestry = (s: OtlpSpan): Array<string> => {
        const chain: Array<string> = []
        for (let p = parentOf(s); p !== undefined; p = parentOf(p)) chain.push(p.name)
        return chain
      }
      if (process.env["SHOW_SPANS"]) console.log(tools.map((s) => [s.name, ...ancestry(s)].join(" <- ")))
      for (const s of tools) {
        assert.strictEqual(ancestry(s).at(-1), "flow observed", `${s.name}: under the run's span`)
        assert.strictEqual(attr(s, "mcpflow.server"), "obs")
        assert.strictEqual(s.kind, 3, "a client span")
      }
      // Arguments stay out of spans, except the field the contract marks safe.
      const flaky = tools.filter((s) => s.name === "tool obs.flaky")
      assert.isTrue(flaky.every((s) => attr(s, "mcpflow.arg.env") === "prod"))
      assert.notInclude(JSON.stringify(spans), TOKEN)
      assert.isUndefined(attr(tools.find((s) => s.name === "tool obs.ok")!, "mcpflow.arg.n"))

      // The server saw each request's own span as its traceparent.
      const sampledCalls = log.calls.slice(0, 4)
      assert.deepStrictEqual(sampledCalls.map((c) => c.tool), ["ok", "flaky", "flaky", "down"])
      const inOrder = [...tools].sort((a, b) => spans.indexOf(a) - spans.indexOf(b))
      for (const call of sampledCalls) {
        const tp = String(call.meta?.["traceparent"])
        const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(tp)
        assert.isNotNull(m, `a W3C traceparent: ${tp}`)
        const span = byId.get(m![2]!)
        assert.isDefined(span, `the traceparent names an exported span (${tp})`)
        assert.strictEqual(span!.traceId, m![1])
        assert.strictEqual(span!.name, `tool obs.${call.tool}`)
      }
      assert.strictEqual(new Set(sampledCalls.map((c) => c.meta?.["traceparent"])).size, 4, "one span per request")
      assert.isAtLeast(inOrder.length, 4)
      // The unsampled run still propagates its context, flagged not sampled.
      const unsampled = log.calls.slice(4)
      assert.isAbove(unsampled.length, 0)
      for (const call of unsampled) assert.match(String(call.meta?.["traceparent"]), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/)
    })))

  it.live("without a tracer, no traceparent is sent", () =>
    Effect.gen(function*() {
      const log: ServerLog = { calls: [] }
      yield* Flow.run(flow, {}).pipe(
        Effect.provide(FlowEngine.layerMemory),
        Effect.provide(GatewayLayer.layer({ servers: { obs: { type: "in-process", make: makeServer(log) } } }))
      )
      assert.isAbove(log.calls.length, 0)
      assert.isTrue(log.calls.every((c) => c.meta?.["traceparent"] === undefined))
    }))
})
