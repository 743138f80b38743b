/**
 * Flow schedules on virtual time (TestClock): the ticks fall where the cron expression says (in
 * UTC and in a time zone), a tick whose previous run still runs is skipped and reported (not
 * queued), and a schedule with a bad expression, time zone or input is refused when its file is
 * loaded — naming the file, a usage error (exit 2).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Exit, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Flow } from "../../dsl/flow/index.ts"
import { type CheckedSchedule, checkSchedule } from "../../dsl/flow/FlowSchedule.ts"
import { load } from "../../src/app/cli/commands/internal/run.ts"
import * as Schedules from "../../src/app/serve/Schedules.ts"

const report = Flow.make({
  name: "report",
  input: Schema.Struct({ team: Schema.String }),
  output: Schema.String,
  run: ({ team }) => Effect.succeed(team)
})

const checked = (cron: string, timeZone?: string) =>
  checkSchedule(report, Flow.schedule(report, { cron, input: { team: "platform" }, ...(timeZone === undefined ? {} : { timeZone }) }))

const iso = (ms: number) => new Date(ms).toISOString()

/** Runs the schedules' loops from `start` for `span`, each run taking `runFor`; returns the ticks. */
const drive = (schedules: ReadonlyArray<CheckedSchedule>, start: string, span: Duration.Input, runFor: Duration.Input = 0) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(Date.parse(start))
    const ticks: Array<Schedules.ScheduleTick> = []
    const started: Array<{ readonly runId: string; readonly input: unknown }> = []
    let n = 0
    const fiber = yield* Effect.forkChild(Schedules.run(schedules, {
      start: (schedule, runId) => Effect.andThen(Effect.sync(() => void started.push({ runId, input: schedule.input })), Effect.sleep(runFor)),
      report: (tick) => Effect.sync(() => void ticks.push(tick)),
      newRunId: () => `run-${++n}`
    }))
    yield* TestClock.adjust(span)
    yield* Fiber.interrupt(fiber)
    return { ticks, started }
  })

describe("flow schedules", () => {
  it.effect("fire at the cron expression's ticks, in UTC and in a time zone", () =>
    Effect.gen(function*() {
      const every5 = yield* checked("*/5 * * * *")
      const { started, ticks } = yield* drive([every5], "2026-03-02T10:01:30Z", "16 minutes")
      assert.deepStrictEqual(
        ticks.filter((t) => t._tag === "Fired").map((t) => iso(t.at)),
        ["2026-03-02T10:05:00.000Z", "2026-03-02T10:10:00.000Z", "2026-03-02T10:15:00.000Z"]
      )
      assert.deepStrictEqual(started.map((s) => s.input), [{ team: "platform" }, { team: "platform" }, { team: "platform" }])
      assert.strictEqual(ticks[0]!.schedule, "schedule */5 * * * *")

      // 09:00 in Lisbon is 08:00 UTC in summer (WEST) and 09:00 UTC in winter; in New York 13:00 UTC in summer.
      const lisbon = yield* checked("0 9 * * *", "Europe/Lisbon")
      const newYork = yield* checked("0 9 * * *", "America/New_York")
      const summer = yield* drive([lisbon, newYork], "2026-07-01T00:00:00Z", "1 day")
      assert.deepStrictEqual(
        summer.ticks.filter((t) => t._tag === "Fired").map((t) => `${t.schedule} ${iso(t.at)}`).sort(),
        [
          "schedule 0 9 * * * (America/New_York) 2026-07-01T13:00:00.000Z",
          "schedule 0 9 * * * (Europe/Lisbon) 2026-07-01T08:00:00.000Z"
        ]
      )
      const winter = yield* drive([lisbon], "2026-12-01T00:00:00Z", "1 day")
      assert.deepStrictEqual(winter.ticks.filter((t) => t._tag === "Fired").map((t) => iso(t.at)), ["2026-12-01T09:00:00.000Z"])
    }))

  it.effect("skip (and report) a tick whose previous run still runs, never queueing it", () =>
    Effect.gen(function*() {
      const everyMinute = yield* checked("* * * * *")
      // Each run takes 2.5 minutes: the run of 00:01 is still running at 00:02 and 00:03.
      const { started, ticks } = yield* drive([everyMinute], "2026-01-01T00:00:00Z", "310 seconds", "150 seconds")
      const shown = ticks.map((t) =>
        `${t._tag} ${iso(t.at).slice(11, 19)}${t._tag === "Skipped" ? ` (${t.running})` : t._tag === "RunEnded" ? ` ${t.runId}` : ""}`
      )
      assert.deepStrictEqual(shown, [
        "Fired 00:01:00",
        "Skipped 00:02:00 (run-1)",
        "Skipped 00:03:00 (run-1)",
        "RunEnded 00:03:30 run-1",
        "Fired 00:04:00",
        "Skipped 00:05:00 (run-2)"
      ])
      assert.strictEqual(started.length, 2, "skipped ticks are not queued")
      assert.include(Schedules.tickLine(ticks[1]!), "skipped: run run-1 still running")
    }))

  it.effect("a failed run frees its schedule like a finished one", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-01-01T00:00:00Z"))
      const everyMinute = yield* checked("* * * * *")
      const ticks: Array<Schedules.ScheduleTick> = []
      const fiber = yield* Effect.forkChild(Schedules.run([everyMinute], {
        start: () => Effect.fail("boom"),
        report: (tick) => Effect.sync(() => void ticks.push(tick))
      }))
      yield* TestClock.adjust("3 minutes")
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(ticks.map((t) => t._tag), ["Fired", "RunEnded", "Fired", "RunEnded", "Fired", "RunEnded"])
      assert.isFalse(ticks.some((t) => t._tag === "RunEnded" && t.ok))
    }))

  it.effect("refuse a bad expression, time zone or input, naming what is wrong", () =>
    Effect.gen(function*() {
      const refused = (value: unknown) => Effect.map(Effect.flip(checkSchedule(report, value)), (e) => e.message)
      assert.include(yield* refused({ cron: "61 * * * *", input: { team: "a" } }), "cron \"61 * * * *\"")
      assert.include(yield* refused({ cron: "* * *", input: { team: "a" } }), "Invalid number of segments")
      assert.include(yield* refused({ cron: "0 0 30 2 *", input: { team: "a" } }), "never fires")
      assert.include(yield* refused({ cron: "0 9 * * *", timeZone: "Mars/Olympus", input: { team: "a" } }), "time zone \"Mars/Olympus\"")
      const input = yield* refused({ cron: "0 9 * * *", input: { team: 7 } })
      assert.include(input, "the schedule of flow report: input:")
      assert.include(input, "team")
      assert.include(yield* refused("0 9 * * *"), "must be an object with a `cron` expression")
      // Seconds are a sixth field, first.
      const everySecond = yield* checked("* * * * * *")
      assert.strictEqual(Schedules.nextTick(everySecond, Date.parse("2026-01-01T00:00:00.200Z")), Date.parse("2026-01-01T00:00:01Z"))
    }))

  it("a flow file whose schedule is bad does not load: the error names the file and is a usage error (exit 2)", async () => {
    const dir = mkdtempSync(join(resolve(import.meta.dirname), "fixtures", "sched-"))
    try {
      const file = join(dir, "nightly.ts")
      const dsl = resolve(import.meta.dirname, "../../dsl/flow/index.ts")
      writeFileSync(
        file,
        `import { Effect, Schema } from "effect"
import { Flow } from ${JSON.stringify(dsl)}
const nightly = Flow.make({ name: "nightly", input: Schema.Struct({ env: Schema.String }), output: Schema.String, run: ({ env }) => Effect.succeed(env) })
export default nightly
export const schedule = { cron: "0 25 * * *", input: { env: "prod" } }
`
      )
      const exit = await Effect.runPromiseExit(load(file))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      const failure = error?._tag === "Fail" ? error.error : undefined
      assert.strictEqual(failure?.code, 2)
      assert.include(failure?.message, file)
      assert.include(failure?.message, "the schedule of flow nightly: cron \"0 25 * * *\"")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

