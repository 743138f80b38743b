/**
 * Metrics: a known run over an in-process server, then a scrape of the Prometheus endpoint
 * (loopback, port 0), parsed as the text exposition format.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, Option, Result } from "effect"
import { Flow, FlowEngine, FlowEvents } from "../../dsl/flow/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { parseAddress } from "../../src/runtime/observe/Address.ts"
import * as Metrics from "../../src/runtime/observe/Metrics.ts"
import * as PrometheusEndpoint from "../../src/runtime/observe/PrometheusEndpoint.ts"
import { sampleRate } from "../../src/runtime/observe/Sampling.ts"
import { CurrentTelemetry } from "../../src/runtime/observe/Telemetry.ts"
import * as Observe from "../../src/app/run/Observe.ts"
import * as Public from "../../src/index.ts"
import { drive } from "../support/drive.ts"
import { flow, makeServer, parseExposition, type ServerLog, valueOf } from "./support.ts"

const scrape = (url: string) => Effect.promise(() => fetch(url).then(async (r) => ({ status: r.status, type: r.headers.get("content-type"), text: await r.text() })))

/** Runs the flow once under metrics (`instrument` tees the run's own sink), then scrapes. */
const runAndScrape = (registry: Metric.MetricRegistry) =>
  Effect.gen(function*() {
    const { url } = yield* PrometheusEndpoint.MetricsEndpoint
    const sink = FlowEvents.collect()
    const fiber = yield* Flow.run(flow, {}).pipe(
      Metrics.instrument,
      Effect.provideService(FlowEvents.FlowEvents, sink),
      Effect.provide(FlowEngine.layerMemory),
      Effect.forkChild
    )
    const out = yield* drive(fiber)
    assert.strictEqual(out, "done")
    assert.isTrue(sink.events.some((e) => e._tag === "FlowFinished"), "the run's own sink still gets its events")
    return yield* scrape(url)
  }).pipe(
    Effect.provide(GatewayLayer.layer({ servers: { obs: { type: "in-process", make: makeServer({ calls: [] } satisfies ServerLog) } } })),
    Effect.provide(Layer.provideMerge(PrometheusEndpoint.layer({ host: "127.0.0.1", port: 0 }), Metrics.layer)),
    Effect.provideService(Metric.MetricRegistry, registry)
  )

describe("metrics", () => {
  it.effect("a known run, scraped from the Prometheus endpoint", () =>
    Effect.gen(function*() {
      const res = yield* runAndScrape(new Map())
      assert.strictEqual(res.status, 200)
      assert.include(res.type ?? "", "text/plain; version=0.0.4")
      const { samples, types } = parseExposition(res.text)
      if (process.env["SHOW_EXPOSITION"]) console.log(res.text)
      const v = (name: string, labels: Record<string, string>) => valueOf(samples, name, labels)

      assert.strictEqual(types.get("mcpflow_tool_calls_total"), "counter")
      assert.strictEqual(types.get("mcpflow_tool_call_duration_seconds"), "histogram")
      // Two `ok` calls, the second served by the cache: one request.
      assert.strictEqual(v("mcpflow_tool_calls_total", { server: "obs", tool: "ok", outcome: "ok" }), 1)
      assert.strictEqual(v("mcpflow_cache_hits_total", { policy: "cache", tool: "obs.ok" }), 1)
      assert.strictEqual(v("mcpflow_cache_misses_total", { policy: "cache", tool: "obs.ok" }), 1)
      // `flaky`: rate-limited once, retried, then ok.
      assert.strictEqual(v("mcpflow_tool_calls_total", { server: "obs", tool: "flaky", outcome: "RateLimited" }), 1)
      assert.strictEqual(v("mcpflow_tool_calls_total", { server: "obs", tool: "flaky", outcome: "ok" }), 1)
      assert.strictEqual(v("mcpflow_retries_total", { reason: "RateLimited" }), 1)
      assert.strictEqual(v("mcpflow_tool_call_duration_seconds_count", { server: "obs", tool: "flaky", outcome: "ok" }), 1)
      assert.strictEqual(v("mcpflow_tool_call_duration_seconds_bucket", { server: "obs", tool: "flaky", outcome: "ok", le: "+Inf" }), 1)
      // `down`: one failed request opens the circuit; the second call is rejected without one.
      assert.strictEqual(v("mcpflow_tool_calls_total", { server: "obs", tool: "down", outcome: "ToolFailed" }), 1)
      assert.strictEqual(v("mcpflow_breaker_transitions_total", { from: "closed", to: "open" }), 1)
      assert.strictEqual(v("mcpflow_breaker_state", {}), 2)
      assert.strictEqual(v("mcpflow_breaker_rejections_total", {}), 1)
      // The bulkhead's gauges, read from the pool at the scrape.
      assert.strictEqual(types.get("mcpflow_bulkhead_in_use"), "gauge")
      assert.strictEqual(v("mcpflow_bulkhead_in_use", { pool: "obs.ok" }), 0)
      assert.strictEqual(v("mcpflow_bulkhead_queued", { pool: "obs.ok" }), 0)
      // Steps and runs.
      assert.strictEqual(types.get("mcpflow_step_duration_seconds"), "histogram")
      for (const s of ["fetch", "flaky", "down"]) {
        assert.strictEqual(v("mcpflow_step_duration_seconds_count", { flow: "observed", step: s, kind: "step", outcome: "succeeded" }), 1, s)
      }
      assert.strictEqual(v("mcpflow_runs_total", { flow: "observed", status: "succeeded" }), 1)
      assert.strictEqual(v("mcpflow_run_duration_seconds_count", { flow: "observed", status: "succeeded" }), 1)
      assert.strictEqual(v("mcpflow_runs_active", { flow: "observed" }), 0)
      // No label carries an argument.
      assert.notInclude(res.text, "s3cret")
      assert.notInclude(res.text, "prod")
    }))

  it.effect("other paths answer 404; a second run adds up", () =>
    Effect.gen(function*() {
      const registry: Metric.MetricRegistry = new Map()
      yield* runAndScrape(registry)
      const res = yield* runAndScrape(registry)
      const { samples } = parseExposition(res.text)
      assert.strictEqual(valueOf(samples, "mcpflow_runs_total", { flow: "observed", status: "succeeded" }), 2)
      const missing = yield* Effect.gen(function*() {
        const { url } = yield* PrometheusEndpoint.MetricsEndpoint
        return yield* scrape(url.replace("/metrics", "/other"))
      }).pipe(Effect.provide(PrometheusEndpoint.layer({ host: "127.0.0.1", port: 0 })))
      assert.strictEqual(missing.status, 404)
    }))

  it("addresses, sampling and the environment", () => {
    assert.deepStrictEqual(parseAddress(":9464"), Result.succeed({ host: "127.0.0.1", port: 9464 }))
    assert.deepStrictEqual(parseAddress("9464"), Result.succeed({ host: "127.0.0.1", port: 9464 }))
    assert.deepStrictEqual(parseAddress("0.0.0.0:80"), Result.succeed({ host: "0.0.0.0", port: 80 }))
    assert.deepStrictEqual(parseAddress("[::1]:9464"), Result.succeed({ host: "::1", port: 9464 }))
    assert.isTrue(Result.isFailure(parseAddress("metrics")))
    assert.isTrue(Result.isFailure(parseAddress(":70000")))
    assert.deepStrictEqual(sampleRate({ MCPFLOW_TRACE_SAMPLE: "0.25" }), Result.succeed(0.25))
    assert.deepStrictEqual(sampleRate({}), Result.succeed(1))
    assert.isTrue(Result.isFailure(sampleRate({ MCPFLOW_TRACE_SAMPLE: "2" })))
    assert.strictEqual(Observe.metricsUrl("http://c:4318/"), "http://c:4318/v1/metrics")
    assert.strictEqual(Observe.metricsUrl("http://c:4318/v1/traces"), "http://c:4318/v1/metrics")
  })

  it.effect("a bad MCPFLOW_METRICS is a usage error; nothing asked, nothing installed", () =>
    Effect.gen(function*() {
      const bad = yield* Effect.void.pipe(Effect.provide(Observe.layer({ metrics: Option.none(), env: { MCPFLOW_METRICS: "x:y" } })), Effect.flip)
      assert.strictEqual(bad.code, 2)
      assert.include(bad.message, "MCPFLOW_METRICS")
      const none = yield* Effect.gen(function*() {
        return yield* Effect.withFiber((fiber) => Effect.succeed(fiber.getRef(CurrentTelemetry)))
      }).pipe(Effect.provide(Observe.layer({ metrics: Option.none(), env: {} })))
      assert.isUndefined(none)
    }))

  it.effect("the public entry: Observe.metrics serves Metrics.names for an embedding app's runs", () =>
    Effect.gen(function*() {
      const urls: Array<string> = []
      const res = yield* Effect.gen(function*() {
        const fiber = yield* Public.Flow.run(flow, {}).pipe(Effect.provide(FlowEngine.layerMemory), Effect.forkChild)
        assert.strictEqual(yield* drive(fiber), "done")
        return yield* scrape(urls[0]!)
      }).pipe(
        Effect.provide(GatewayLayer.layer({ servers: { obs: { type: "in-process", make: makeServer({ calls: [] } satisfies ServerLog) } } })),
        Effect.provide(Public.Observe.metrics({ prometheus: "127.0.0.1:0", env: {}, onListening: (url) => Effect.sync(() => void urls.push(url)) })),
        Effect.provideService(Metric.MetricRegistry, new Map())
      )
      const { samples, types } = parseExposition(res.text)
      assert.strictEqual(valueOf(samples, "mcpflow_runs_total", { flow: "observed", status: "succeeded" }), 1)
      for (const name of types.keys()) assert.property(Public.Metrics.names, name, `${name} is in Metrics.names`)
      const bad = yield* Effect.void.pipe(Effect.provide(Public.Observe.metrics({ prometheus: "nowhere", env: {} })), Effect.flip)
      assert.instanceOf(bad, Public.PrometheusEndpoint.MetricsEndpointError)
      assert.include(bad.message, "expected [host]:port")
      const nothing = yield* Effect.withFiber((fiber) => Effect.succeed(fiber.getRef(CurrentTelemetry))).pipe(
        Effect.provide(Public.Observe.metrics({ env: {} }))
      )
      assert.isUndefined(nothing, "nothing asked, nothing installed")
    }))
})
