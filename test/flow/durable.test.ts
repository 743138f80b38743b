import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Flow, FlowEngine, FlowEvents, step } from "../../dsl/flow/index.ts"

const Approval = Flow.signal("approval", Schema.Struct({ approvedBy: Schema.String }))

const release = Flow.make({
  name: "approved-release",
  input: Schema.Struct({}),
  output: Schema.String,
  run: () =>
    Effect.gen(function*() {
      yield* step("build", Effect.succeed("app:1"))
      yield* Flow.sleep("soak", "1 day")
      const { approvedBy } = yield* Flow.waitFor(Approval)
      return yield* step("deploy", Effect.succeed(`deployed, approved by ${approvedBy}`))
    })
})

describe("durable waiting (memory engine, TestClock)", () => {
  it.effect("a day-long sleep takes no real time; a signal from outside continues the run", () =>
    Effect.gen(function*() {
      const sink = FlowEvents.collect()
      const fiber = yield* Flow.run(release, {}, { runId: "rel-1" }).pipe(
        Effect.provideService(FlowEvents.FlowEvents, sink),
        Effect.forkChild
      )
      for (let i = 0; i < 30 && !sink.events.some((e) => e._tag === "StepStarted" && e.path === "wait:approval"); i++) {
        yield* TestClock.adjust("1 hour")
      }
      assert.isTrue(sink.events.some((e) => e._tag === "StepSucceeded" && e.path === "soak"), "slept a virtual day")
      assert.isUndefined(fiber.pollUnsafe(), "waits for the approval")
      yield* Flow.sendSignal(release, "rel-1", Approval, { approvedBy: "ana" })
      for (let i = 0; i < 50 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), "deployed, approved by ana")
    }).pipe(Effect.provide(FlowEngine.layerMemory)))
})
