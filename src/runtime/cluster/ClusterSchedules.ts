/**
 * Flows' cron schedules on a cluster (`mcpflow worker --database` with flow files that export
 * `schedule = Flow.schedule(flow, { cron, input })`): one Effect `ClusterCron` job per schedule,
 * so a tick fires once across all runners, however many serve the flow.
 *
 * `ClusterCron` keeps the job's next tick as a persisted message in Postgres, delivered at the
 * tick's time to whichever runner owns its shard; that runner submits the run and schedules the
 * next tick. Each tick's run has the id `<flow>@<tick, ISO 8601>`, so a tick whose runner died
 * while submitting is submitted again under the same id and still starts one run. Unlike the
 * single-process worker, a tick does not wait for (or skip because of) the previous tick's run:
 * runs of consecutive ticks may overlap. Ticks missed while no runner was up are not
 * back-filled (one run, for the first tick after a runner joins).
 *
 * @example
 * ```ts
 * yield* Layer.build(ClusterSchedules.layer(report, checked, { report: (line) => Console.error(line) }))
 * ```
 * @module
 */
import { DateTime, Effect, Layer } from "effect"
import { ClusterCron, type Sharding } from "effect/cluster"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import { Flow } from "../../../dsl/flow/index.ts"
import type { CheckedSchedule } from "../../../dsl/flow/FlowSchedule.ts"

/**
 * The run id of a scheduled tick: the flow's name and the tick's time.
 *
 * @example
 * ```ts
 * tickRunId("report", Date.parse("2026-01-01T07:00:00Z")) // => "report@2026-01-01T07:00:00.000Z"
 * ```
 */
export const tickRunId = (flow: string, at: number): string => `${flow}@${new Date(at).toISOString()}`

/**
 * The `ClusterCron` job of `flow`'s schedule: at each tick, on one runner, the run is submitted
 * (and `report` hears a line about it).
 *
 * @example
 * ```ts
 * const job = layer(report, checked, { report: (line) => Console.error(line) })
 * ```
 */
export const layer = (
  flow: Parameters<typeof Flow.submit>[0],
  schedule: CheckedSchedule,
  hooks?: { readonly report?: ((line: string) => Effect.Effect<void>) | undefined }
): Layer.Layer<never, never, Sharding.Sharding | WorkflowEngine> =>
  ClusterCron.make({
    name: `mcpflow/${flow.name}`,
    cron: schedule.cron,
    // A tick the cluster could not deliver within a minute (no runner up) is dropped, not back-filled.
    skipIfOlderThan: "1 minute",
    execute: Effect.gen(function*() {
      const at = DateTime.toEpochMillis(yield* ClusterCron.CurrentScheduledTime)
      const runId = tickRunId(flow.name, at)
      const submitted = yield* Effect.exit(Flow.submit(flow, schedule.input as never, { runId }))
      const line = submitted._tag === "Success"
        ? `${flow.name} (${schedule.label}): tick ${new Date(at).toISOString()} started run ${runId}`
        : `${flow.name} (${schedule.label}): tick ${new Date(at).toISOString()} could not start a run: ${String(submitted.cause)}`
      yield* hooks?.report?.(line) ?? Effect.void
    })
  })
