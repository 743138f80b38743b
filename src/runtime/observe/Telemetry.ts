/**
 * The telemetry hook of the runtime: what the gateway and a run's event streams report to when
 * someone exports metrics. Absent (the default), nothing is counted and the gateway's hot path
 * pays nothing for it; `Metrics.layer` installs one.
 *
 * @module
 */
import { Context } from "effect"
import type { Bulkhead } from "../../../dsl/policy/Bulkhead.ts"
import type { FlowEvent } from "../../../dsl/flow/FlowEvents.ts"
import type { PolicyEvent } from "../../../dsl/policy/PolicyEvents.ts"

/**
 * Where measurements go. Every method is synchronous and must not throw.
 *
 * @example
 * ```ts
 * const t: Telemetry = { toolCall: () => {}, flow: () => {}, policy: () => {}, watchPools: () => {}, refresh: () => {} }
 * ```
 */
export interface Telemetry {
  /** One request sent to a server ended: `outcome` is `ok` or the failure's reason tag. */
  readonly toolCall: (server: string, tool: string, outcome: string, seconds: number) => void
  /** A run's event (steps, runs, and the policy events raised inside steps). */
  readonly flow: (event: FlowEvent) => void
  /** A policy event raised outside any step. */
  readonly policy: (event: PolicyEvent) => void
  /** A gateway's bulkhead pools, read for the in-use and queue gauges. */
  readonly watchPools: (pools: ReadonlyMap<string, Bulkhead>) => void
  /** Brings the gauges read from live state (bulkheads) up to date (before a scrape). */
  readonly refresh: () => void
}

/**
 * The current {@link Telemetry}, `undefined` (the default) when nobody exports metrics.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provideService(CurrentTelemetry, telemetry))
 * ```
 */
export const CurrentTelemetry = Context.Reference<Telemetry | undefined>("mcpflow/runtime/observe/Telemetry", {
  defaultValue: () => undefined
})
