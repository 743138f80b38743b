/**
 * mcpflow's metrics, as Effect `Metric`s: tool calls, retries, breakers, bulkheads, rate limits,
 * caches, steps and runs. They are fed from what the runtime already reports — the gateway's
 * calls (`CurrentTelemetry.toolCall`) and a run's `FlowEvents` / `PolicyEvents` — so flows need
 * no change. Exported by `PrometheusEndpoint` (pull) and `OtlpMetrics` (push); with neither,
 * {@link layer} is not installed and nothing is counted.
 *
 * Label values are names only (server, tool, step path with `[item]` keys folded to `[*]`,
 * reason tags); never arguments, results or cache keys.
 *
 * @example
 * ```ts
 * Flow.run(myFlow, input).pipe(Metrics.instrument, Effect.provide(Metrics.layer))
 * ```
 * @module
 */
import { Context, Effect, Layer, Metric } from "effect"
import type { FlowEvent } from "../../../dsl/flow/FlowEvents.ts"
import { FlowEvents } from "../../../dsl/flow/FlowEvents.ts"
import type { Bulkhead } from "../../../dsl/policy/Bulkhead.ts"
import { type PolicyEvent, PolicyEvents } from "../../../dsl/policy/PolicyEvents.ts"
import { CurrentTelemetry, type Telemetry } from "./Telemetry.ts"

/** Latency buckets in seconds (5 ms … 5 min). */
const seconds = Metric.boundariesFromIterable([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300])

/**
 * Every metric mcpflow exports, by name. Counters end in `_total`; durations are histograms in
 * seconds; the breaker state gauge is 0 closed, 1 half-open, 2 open.
 *
 * @example
 * ```ts
 * Object.keys(Metrics.names) // ["mcpflow_tool_calls_total", …]
 * ```
 */
export const names = {
  mcpflow_tool_calls_total: "Tool calls sent to MCP servers, by server, tool and outcome (ok or the failure reason)",
  mcpflow_tool_call_duration_seconds: "Tool call latency, by server, tool and outcome",
  mcpflow_retries_total: "Retries scheduled by a retry policy (of a call or a step), by policy and reason",
  mcpflow_timeouts_total: "Timeouts fired by a timeout policy, by policy",
  mcpflow_breaker_state: "Circuit breaker state per circuit: 0 closed, 1 half-open, 2 open",
  mcpflow_breaker_transitions_total: "Circuit breaker transitions, by circuit, from and to",
  mcpflow_breaker_rejections_total: "Calls rejected by an open circuit, by circuit",
  mcpflow_bulkhead_in_use: "Calls holding a bulkhead slot, by pool",
  mcpflow_bulkhead_queued: "Calls waiting for a bulkhead slot, by pool",
  mcpflow_bulkhead_rejections_total: "Calls rejected by a bulkhead, by pool and why (queue-full, wait-expired)",
  mcpflow_rate_limit_rejections_total: "Calls rejected by a rate limiter, by limiter key",
  mcpflow_rate_limit_delays_total: "Calls delayed by a rate limiter, by limiter key",
  mcpflow_cache_hits_total: "Cache hits, by cache policy and tool",
  mcpflow_cache_misses_total: "Cache misses, by cache policy and tool",
  mcpflow_fallbacks_total: "Fallbacks used, by policy",
  mcpflow_step_duration_seconds: "Step durations, by flow, step path, kind and outcome (succeeded, failed, interrupted, replayed)",
  mcpflow_runs_total: "Finished runs, by flow and status (succeeded, failed, interrupted)",
  mcpflow_run_duration_seconds: "Run durations, by flow and status",
  mcpflow_runs_active: "Runs in progress in this process, by flow"
} as const

type Name = keyof typeof names
type NumberMetric = Metric.Metric<number, unknown>

const breakerLevel = (state: string): number => state === "half-open" ? 1 : state === "open" || state === "forced-open" ? 2 : 0

/** A step path with its `[item]` keys folded, so a batch of 10 000 items is one series. */
const stepLabel = (path: string): string => path.replace(/\[[^\]/]*\]/g, "[*]")

/**
 * A {@link Telemetry} that updates the metrics in the registry of `context` (its
 * `Metric.MetricRegistry`).
 *
 * @example
 * ```ts
 * const telemetry = Metrics.make(yield* Effect.context<never>())
 * telemetry.toolCall("fs", "read_file", "ok", 0.012)
 * ```
 */
export const make = (context: Context.Context<never>): Telemetry => {
  const series = new Map<string, NumberMetric>()
  /** The metric `name` with these labels (created once per label set). */
  const of = (name: Name, labels: Record<string, string>): NumberMetric => {
    let key = name as string
    for (const k in labels) key += "\u0000" + labels[k]
    let metric = series.get(key)
    if (metric === undefined) {
      const description = names[name]
      const base: NumberMetric = name.endsWith("_seconds")
        ? Metric.histogram(name, { description, boundaries: seconds })
        : name.endsWith("_total")
        ? Metric.counter(name, { description, incremental: true })
        : Metric.gauge(name, { description })
      metric = Metric.withAttributes(base, labels)
      series.set(key, metric)
    }
    return metric
  }
  const add = (name: Name, labels: Record<string, string>, value = 1) => of(name, labels).updateUnsafe(value, context)
  const set = (name: Name, labels: Record<string, string>, value: number) => of(name, labels).updateUnsafe(value, context)
  const shift = (name: Name, labels: Record<string, string>, by: number) => of(name, labels).modifyUnsafe(by, context)

  const pools: Array<ReadonlyMap<string, Bulkhead>> = []
  const refresh = () => {
    for (const map of pools) {
      for (const [pool, bulkhead] of map) {
        set("mcpflow_bulkhead_in_use", { pool }, bulkhead.inFlight)
        set("mcpflow_bulkhead_queued", { pool }, bulkhead.queued)
      }
    }
  }

  const policy = (event: PolicyEvent): void => {
    switch (event._tag) {
      case "RetryScheduled":
        return add("mcpflow_retries_total", { policy: event.policy, reason: event.reason })
      case "TimedOut":
        return add("mcpflow_timeouts_total", { policy: event.policy })
      case "BreakerTransition":
        set("mcpflow_breaker_state", { key: event.key }, breakerLevel(event.to))
        return add("mcpflow_breaker_transitions_total", { key: event.key, from: event.from, to: event.to })
      case "BreakerRejected":
        return add("mcpflow_breaker_rejections_total", { key: event.key })
      case "BulkheadQueued":
        set("mcpflow_bulkhead_in_use", { pool: event.pool }, event.inFlight)
        return set("mcpflow_bulkhead_queued", { pool: event.pool }, event.queued)
      case "BulkheadRejected":
        return add("mcpflow_bulkhead_rejections_total", { pool: event.pool, why: event.why })
      case "RateLimited":
        return add(event.rejected ? "mcpflow_rate_limit_rejections_total" : "mcpflow_rate_limit_delays_total", { key: event.key })
      case "CacheHit":
      case "CacheMiss": {
        // The cache key is `server.tool <canonical args>`: only the tool is a label.
        const space = event.key.indexOf(" ")
        const tool = space < 0 ? event.key : event.key.slice(0, space)
        return add(event._tag === "CacheHit" ? "mcpflow_cache_hits_total" : "mcpflow_cache_misses_total", { policy: event.policy, tool })
      }
      case "FallbackUsed":
        return add("mcpflow_fallbacks_total", { policy: event.policy })
      default:
        return
    }
  }

  /** The flow of each run in progress (step events carry the run id only). */
  const flows = new Map<string, string>()
  const step = (runId: string, path: string, kind: string, outcome: string, durationMs: number) =>
    add("mcpflow_step_duration_seconds", { flow: flows.get(runId) ?? "", step: stepLabel(path), kind, outcome }, durationMs / 1000)

  const flow = (event: FlowEvent): void => {
    switch (event._tag) {
      case "FlowStarted":
        flows.set(event.runId, event.flow)
        return shift("mcpflow_runs_active", { flow: event.flow }, 1)
      case "FlowFinished": {
        const status = event.outcome === "success" ? "succeeded" : event.outcome === "failure" ? "failed" : "interrupted"
        if (flows.delete(event.runId)) shift("mcpflow_runs_active", { flow: event.flow }, -1)
        add("mcpflow_runs_total", { flow: event.flow, status })
        return add("mcpflow_run_duration_seconds", { flow: event.flow, status }, event.durationMs / 1000)
      }
      case "StepSucceeded":
        return step(event.runId, event.path, event.kind, event.replayed ? "replayed" : "succeeded", event.durationMs)
      case "StepFailed":
        return step(event.runId, event.path, event.kind, event.interrupted ? "interrupted" : "failed", event.durationMs)
      case "Policy":
        return policy(event.event)
      default:
        return
    }
  }

  return {
    toolCall: (server, tool, outcome, secs) => {
      const labels = { server, tool, outcome }
      add("mcpflow_tool_calls_total", labels)
      add("mcpflow_tool_call_duration_seconds", labels, secs)
    },
    flow,
    policy,
    watchPools: (map) => {
      if (!pools.includes(map)) pools.push(map)
    },
    refresh
  }
}

/**
 * Installs a {@link Telemetry} over the current metric registry, and sends it the events of
 * runs and policies that nobody else listens to (an app that provides its own `FlowEvents`
 * sink wraps its run in {@link instrument} instead).
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(Metrics.layer))
 * ```
 */
export const layer: Layer.Layer<never> = Layer.effectContext(
  Effect.gen(function*() {
    const context = yield* Effect.context<never>()
    const telemetry = make(context)
    const flowSink = Context.get(context, FlowEvents)
    const policySink = Context.get(context, PolicyEvents)
    return Context.make(CurrentTelemetry, telemetry).pipe(
      Context.add(FlowEvents, { emit: (e) => (flowSink.emit(e), telemetry.flow(e)) }),
      Context.add(PolicyEvents, { emit: (e) => (policySink.emit(e), telemetry.policy(e)) })
    )
  })
) as Layer.Layer<never>

/**
 * Tees the `FlowEvents` and `PolicyEvents` sinks of `effect` into the current
 * {@link Telemetry}; without one, `effect` as it is. Apply it inside the `provideService` of the
 * sinks it should tee.
 *
 * @example
 * ```ts
 * Flow.run(myFlow, input).pipe(Metrics.instrument, Effect.provideService(FlowEvents, reporter.sink))
 * ```
 */
export const instrument = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) => {
    const telemetry = fiber.getRef(CurrentTelemetry)
    if (telemetry === undefined) return effect
    return Effect.updateContext(effect, (context: Context.Context<R>) => {
      const flowSink = Context.get(context as Context.Context<never>, FlowEvents)
      const policySink = Context.get(context as Context.Context<never>, PolicyEvents)
      return Context.add(
        Context.add(context, FlowEvents, { emit: (e) => (flowSink.emit(e), telemetry.flow(e)) }),
        PolicyEvents,
        { emit: (e) => (policySink.emit(e), telemetry.policy(e)) }
      )
    })
  })
