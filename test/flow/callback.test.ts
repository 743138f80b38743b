/**
 * `Flow.awaitCallback`: a job's end delivered by its webhook as a signal, with a timeout and a
 * poll fallback — whichever ends first wins (memory engine, virtual time).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { CallbackTimedOut, Flow, FlowEngine, FlowEvents } from "../../dsl/flow/index.ts"

class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", { at: Schema.Int }) {}

const Done = Flow.signal("job done", Schema.Struct({ status: Schema.String, accuracy: Schema.Number }))

/** A flow waiting for the job's callback; with `statuses`, polling them meanwhile (then the last one). */
const waiting = (statuses?: ReadonlyArray<string>, name = "await-job") => {
  let polls = 0
  const check = Effect.sync(() => statuses![Math.min(polls++, statuses!.length - 1)]!)
  const flow = Flow.make({
    name,
    input: Schema.Struct({}),
    output: Schema.Unknown,
    run: () =>
      Flow.awaitCallback("job", {
        signal: Done,
        timeout: "10 minutes",
        poll: statuses === undefined ? undefined : {
          check,
          done: (s) => s === "done",
          failed: (s) => (s === "failed" ? new JobFailed({ at: polls }) : undefined),
          every: "1 minute"
        }
      })
  })
  return { flow, polls: () => polls }
}

const start = (flow: ReturnType<typeof waiting>["flow"], runId: string) =>
  Effect.gen(function*() {
    const sink = FlowEvents.collect()
    const fiber = yield* Flow.run(flow, {}, { runId }).pipe(Effect.provideService(FlowEvents.FlowEvents, sink), Effect.forkChild)
    return { fiber, sink }
  })

const advance = (fiber: Fiber.Fiber<unknown, unknown>, minutes: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < minutes * 6 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("10 seconds")
  })

const failureOf = (exit: Exit.Exit<unknown, unknown>) => {
  const reason = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  return reason?._tag === "Fail" ? reason.error : undefined
}

describe("Flow.awaitCallback", () => {
  it.effect("the callback ends the wait with its payload, and the polling stops", () =>
    Effect.gen(function*() {
      const { flow, polls } = waiting(["running"])
      const { fiber } = yield* start(flow, "cb-1")
      yield* advance(fiber, 2)
      assert.isUndefined(fiber.pollUnsafe(), "still waiting after 2 minutes")
      yield* Flow.sendSignal(flow, "cb-1", Done, { status: "completed", accuracy: 0.9 })
      yield* advance(fiber, 1)
      assert.deepStrictEqual(yield* Fiber.join(fiber), { by: "callback", value: { status: "completed", accuracy: 0.9 } })
      const seen = polls()
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(polls(), seen, "no poll after the callback")
      assert.isAtMost(seen, 4)
    }).pipe(Effect.provide(FlowEngine.layerMemory)))

  it.effect("no callback: the poll fallback ends it", () =>
    Effect.gen(function*() {
      const { flow } = waiting(["running", "running", "done"])
      const { fiber } = yield* start(flow, "cb-2")
      yield* advance(fiber, 5)
      assert.deepStrictEqual(yield* Fiber.join(fiber), { by: "poll", value: "done", polls: 3, waitedMs: 120_000 })
    }).pipe(Effect.provide(FlowEngine.layerMemory)))

  it.effect("a poll that says the job failed ends the wait with that failure", () =>
    Effect.gen(function*() {
      const { flow } = waiting(["running", "failed"])
      const { fiber } = yield* start(flow, "cb-3")
      yield* advance(fiber, 5)
      const exit = yield* Fiber.await(fiber)
      assert.deepInclude(failureOf(exit) as object, { _tag: "JobFailed", at: 2 })
    }).pipe(Effect.provide(FlowEngine.layerMemory)))

  it.effect("nothing within the timeout: CallbackTimedOut (with and without the poll), never a hang", () =>
    Effect.gen(function*() {
      for (const [statuses, polls] of [[["running"], 11], [undefined, 0]] as const) {
        const { flow } = waiting(statuses, `await-job-${polls}`) // one flow per name on an engine
        const { fiber } = yield* start(flow, `cb-4-${polls}`)
        yield* advance(fiber, 11)
        const exit = yield* Fiber.await(fiber)
        const error = failureOf(exit)
        assert.instanceOf(error, CallbackTimedOut)
        assert.deepInclude(error as CallbackTimedOut, { wait: "job", signal: "job done", waitedMs: 600_000, polls })
      }
    }).pipe(Effect.provide(FlowEngine.layerMemory)))

  it.effect("a plan shows the wait for the callback and the poll fallback", () =>
    Effect.gen(function*() {
      const plan = yield* Flow.plan(waiting(["running"]).flow)
      assert.includeMembers(plan.nodes.map((n) => `${n.path} (${n.kind})`), ["job (wait)", "job/wait:job done (wait)", "job/poll (poll)", "job/poll/poll 1 (step)"])
    }))
})
