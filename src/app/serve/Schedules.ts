/**
 * Runs flows on their cron schedules (`Flow.schedule`): one loop per schedule sleeps until the
 * next tick of its `Cron` (Effect's `Cron.next`, on the `Clock`, so virtual time drives it in
 * tests), then starts a run. `mcpflow serve` and `mcpflow worker` start the schedules of the
 * flows they serve.
 *
 * - A tick whose previous run (of the same schedule) is still running is **skipped**, not queued:
 *   it is reported (a `ScheduleTick` with `skipped`) and counted in
 *   `mcpflow_schedule_ticks_skipped_total`.
 * - Ticks missed while nothing ran (the process was down or suspended) are **not back-filled**:
 *   a loop that wakes up late fires once, then waits for the next tick after the present.
 *
 * @example
 * ```ts
 * yield* Schedules.run([checked], { start: (s, runId) => runIt(s, runId), report: (tick) => Console.error(Schedules.tickLine(tick)) })
 * ```
 * @module
 */
import { Clock, Cron, Effect, Metric } from "effect"
import type { CheckedSchedule } from "../../../dsl/flow/FlowSchedule.ts"

/**
 * One tick of a schedule: it started run `runId`, or it was skipped because run `running` (its
 * previous one) had not finished.
 *
 * @example
 * ```ts
 * const tick: ScheduleTick = { _tag: "Fired", flow: "report", schedule: "schedule 0 7 * * *", at: 1_700_000_000_000, runId: "3f2a…" }
 * ```
 */
export type ScheduleTick =
  | { readonly _tag: "Fired"; readonly flow: string; readonly schedule: string; readonly at: number; readonly runId: string }
  | { readonly _tag: "Skipped"; readonly flow: string; readonly schedule: string; readonly at: number; readonly running: string }
  | {
    readonly _tag: "RunEnded"
    readonly flow: string
    readonly schedule: string
    readonly at: number
    readonly runId: string
    readonly ok: boolean
  }

/**
 * What the loops do: `start` runs one run to its end (the loop waits for nothing: it is forked,
 * and its end frees the schedule for the next tick); `report` hears every tick.
 *
 * @example
 * ```ts
 * const hooks: ScheduleHooks = { start: (schedule, runId) => Effect.void, report: (tick) => Effect.log(tickLine(tick)) }
 * ```
 */
export interface ScheduleHooks {
  readonly start: (schedule: CheckedSchedule, runId: string) => Effect.Effect<void, unknown>
  readonly report: (tick: ScheduleTick) => Effect.Effect<void>
  /** A new run id (default `crypto.randomUUID()`). */
  readonly newRunId?: (() => string) | undefined
}

const skipped = Metric.counter("mcpflow_schedule_ticks_skipped_total", {
  description: "Schedule ticks skipped because the schedule's previous run was still running",
  incremental: true
})

const fired = Metric.counter("mcpflow_schedule_runs_started_total", {
  description: "Runs started by a flow's schedule",
  incremental: true
})

/**
 * The next tick of `schedule` strictly after `from` (epoch ms).
 *
 * @example
 * ```ts
 * nextTick(checked, Date.parse("2026-01-01T00:00:00Z")) // => the epoch ms of the next tick
 * ```
 */
export const nextTick = (schedule: CheckedSchedule, from: number): number => Cron.next(schedule.cron, from).getTime()

/**
 * The loop of one schedule: forever, sleep until the next tick, then start a run unless the
 * previous one still runs (then report the skipped tick).
 *
 * @example
 * ```ts
 * yield* Effect.forkScoped(loop(checked, hooks))
 * ```
 */
export const loop = (schedule: CheckedSchedule, hooks: ScheduleHooks): Effect.Effect<never> =>
  Effect.gen(function*() {
    const labels = { flow: schedule.flow, schedule: schedule.expression }
    let running: string | undefined
    let from = yield* Clock.currentTimeMillis
    while (true) {
      const at = nextTick(schedule, from)
      const now = yield* Clock.currentTimeMillis
      if (at > now) yield* Effect.sleep(at - now)
      // Woken late (a suspended machine): fire once for the tick that passed, never back-fill the others.
      from = Math.max(at, yield* Clock.currentTimeMillis)
      const base = { flow: schedule.flow, schedule: schedule.label, at }
      if (running !== undefined) {
        yield* Metric.update(Metric.withAttributes(skipped, labels), 1)
        yield* hooks.report({ _tag: "Skipped", ...base, running })
        continue
      }
      const runId = hooks.newRunId?.() ?? crypto.randomUUID()
      running = runId
      yield* Metric.update(Metric.withAttributes(fired, labels), 1)
      yield* hooks.report({ _tag: "Fired", ...base, runId })
      yield* Effect.forkChild(
        hooks.start(schedule, runId).pipe(
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.flatMap(Clock.currentTimeMillis, (end) =>
              hooks.report({ _tag: "RunEnded", ...base, at: end, runId, ok: exit._tag === "Success" }))
          ),
          Effect.ensuring(Effect.sync(() => void (running = undefined)))
        )
      )
    }
  })

/**
 * Runs every schedule's loop until interrupted (each run it started is interrupted with it).
 *
 * @example
 * ```ts
 * yield* Effect.forkScoped(Schedules.run(loaded.flatMap((l) => l.schedule ?? []), hooks))
 * ```
 */
export const run = (schedules: ReadonlyArray<CheckedSchedule>, hooks: ScheduleHooks): Effect.Effect<void> =>
  schedules.length === 0 ? Effect.void : Effect.asVoid(Effect.all(schedules.map((s) => loop(s, hooks)), { concurrency: "unbounded" }))

/**
 * A tick as one line of text (what `serve` and `worker` print on stderr).
 *
 * @example
 * ```ts
 * tickLine({ _tag: "Skipped", flow: "report", schedule: "schedule 0 7 * * *", at: 0, running: "3f2a9c1e-…" })
 * // => "report (schedule 0 7 * * *): tick 1970-01-01T00:00:00.000Z skipped: run 3f2a9c1e still running"
 * ```
 */
export const tickLine = (tick: ScheduleTick): string => {
  const head = `${tick.flow} (${tick.schedule}): `
  const when = new Date(tick.at).toISOString()
  switch (tick._tag) {
    case "Fired":
      return `${head}tick ${when} started run ${tick.runId}`
    case "Skipped":
      return `${head}tick ${when} skipped: run ${tick.running.slice(0, 8)} still running`
    case "RunEnded":
      return `${head}run ${tick.runId} ${tick.ok ? "finished" : "failed"}`
  }
}
