/**
 * `Flow.pollUntil`: a long-running job polled until done, failed, or out of time — each poll a
 * step, each wait a durable sleep on the run's (virtual) clock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Flow, FlowEngine, FlowEvents, PollTimedOut } from "../../dsl/flow/index.ts"
import { waitsOf } from "../../dsl/flow/Poll.ts"

class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", { at: Schema.Int }) {}

/** A job whose status check answers `statuses` in order (then the last one), or fails where `null`. */
const pollingFlow = (statuses: ReadonlyArray<string | null>, options: { every?: string; timeout?: string; backoff?: number; maxEvery?: string } = {}) => {
  let calls = 0
  const check = Effect.suspend(() => {
    const status = statuses[Math.min(calls++, statuses.length - 1)]
    return status === null ? Effect.fail("status server down") : Effect.succeed({ status: status!, call: calls })
  })
  const flow = Flow.make({
    name: "poll-job",
    input: Schema.Struct({}),
    output: Schema.Unknown,
    run: () =>
      Flow.pollUntil("job", check, {
        done: (s) => s.status === "done",
        failed: (s) => (s.status === "failed" ? new JobFailed({ at: s.call }) : undefined),
        every: (options.every ?? "10 seconds") as "10 seconds",
        timeout: (options.timeout ?? "1 minute") as "1 minute",
        backoff: options.backoff,
        maxEvery: options.maxEvery as "1 minute" | undefined
      })
  })
  return { flow, calls: () => calls }
}

const runToEnd = <A, E>(flow: Flow.Flow<Schema.Struct<{}>, Schema.Codec<A>, E, never>) =>
  Effect.gen(function*() {
    const sink = FlowEvents.collect()
    const fiber = yield* Flow.run(flow, {}).pipe(Effect.provideService(FlowEvents.FlowEvents, sink), Effect.forkChild)
    let virtualMs = 0
    for (let i = 0; i < 1_000 && fiber.pollUnsafe() === undefined; i++) {
      yield* TestClock.adjust("1 second")
      virtualMs += 1_000
    }
    return { exit: yield* Fiber.await(fiber), events: sink.events, virtualMs }
  }).pipe(Effect.provide(FlowEngine.layerMemory))

describe("Flow.pollUntil", () => {
  it("spaces waits by every × backoff up to maxEvery, the last cut to the budget", () => {
    assert.deepStrictEqual(waitsOf({ every: "10 seconds", timeout: "30 seconds" }), [10_000, 10_000, 10_000])
    assert.deepStrictEqual(waitsOf({ every: "10 seconds", backoff: 2, maxEvery: "30 seconds", timeout: "2 minutes" }), [10_000, 20_000, 30_000, 30_000, 30_000])
    assert.deepStrictEqual(waitsOf({ every: "40 seconds", timeout: "1 minute" }), [40_000, 20_000])
    assert.deepStrictEqual(waitsOf({ every: "1 second", timeout: "0 seconds" }), [])
  })

  it.effect("ends with the value once done, after waiting between polls on the clock", () =>
    Effect.gen(function*() {
      const { flow, calls } = pollingFlow(["running", "running", "done"])
      const { exit, events, virtualMs } = yield* runToEnd(flow)
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) assert.deepInclude(exit.value as object, { polls: 3, waitedMs: 20_000 })
      assert.strictEqual(calls(), 3)
      assert.isAtLeast(virtualMs, 20_000)
      const started = events.filter((e) => e._tag === "StepStarted").map((e) => e._tag === "StepStarted" ? `${e.path} (${e.kind})` : "")
      assert.deepStrictEqual(started, ["job (poll)", "job/poll 1 (step)", "job/wait 1 (wait)", "job/poll 2 (step)", "job/wait 2 (wait)", "job/poll 3 (step)"])
    }))

  it.effect("fails with the flow's own error when the check says the job failed", () =>
    Effect.gen(function*() {
      const { flow } = pollingFlow(["running", "failed"])
      const { exit } = yield* runToEnd(flow)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      assert.deepInclude((error as { error: unknown } | undefined)?.error as object, { _tag: "JobFailed", at: 2 })
    }))

  it.effect("runs out of time with PollTimedOut: polls and time waited", () =>
    Effect.gen(function*() {
      const { flow, calls } = pollingFlow(["running"], { every: "20 seconds", timeout: "1 minute" })
      const { exit } = yield* runToEnd(flow)
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const timedOut = (error as { error: unknown } | undefined)?.error
      assert.instanceOf(timedOut, PollTimedOut)
      assert.deepInclude(timedOut as PollTimedOut, { poll: "job", polls: 4, waitedMs: 60_000 })
      assert.strictEqual(calls(), 4, "polls at 0, 20, 40 and 60 s")
      assert.strictEqual((timedOut as PollTimedOut).message, "\"job\" was not done after 4 polls (waited 1m)")
    }))

  it.effect("tolerates failed checks until three in a row", () =>
    Effect.gen(function*() {
      const { exit: recovers } = yield* runToEnd(pollingFlow([null, null, "running", null, "done"]).flow)
      assert.isTrue(Exit.isSuccess(recovers), "two failures, a success, a failure, done")
      const { exit } = yield* runToEnd(pollingFlow(["running", null, null, null]).flow)
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      assert.strictEqual((error as { error: unknown } | undefined)?.error, "status server down")
    }))

  it.effect("a plan shows the poll group with one poll and one wait", () =>
    Effect.gen(function*() {
      const plan = yield* Flow.plan(pollingFlow(["running"]).flow)
      const nodes = plan.nodes.map((n) => `${n.path} (${n.kind})`)
      assert.includeMembers(nodes, ["job (poll)", "job/poll 1 (step)", "job/wait 1 (wait)"])
      assert.notInclude(nodes, "job/poll 2 (step)")
    }))
})
