import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Flow, FlowEngine, FlowEvents, parallel, step } from "../../dsl/flow/index.ts"

describe("interrupting a run", () => {
  it.effect("stops in-flight steps, compensates the completed ones in reverse, reports interrupted", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const flow = Flow.make({
        name: "interruptible",
        input: Schema.Struct({}),
        output: Schema.Number,
        run: () =>
          Effect.gen(function*() {
            yield* step("a", Effect.sync(() => log.push("a")), { compensate: () => Effect.sync(() => log.push("undo a")) })
            yield* step("b", Effect.sync(() => log.push("b")), { compensate: () => Effect.sync(() => log.push("undo b")) })
            yield* parallel("slow", {
              x: step("x", Effect.sleep("1 hour").pipe(Effect.onInterrupt(() => Effect.sync(() => log.push("x interrupted"))))),
              y: step("y", Effect.sleep("1 hour"))
            })
            return 1
          })
      })
      const sink = FlowEvents.collect()
      const fiber = yield* Flow.run(flow, {}).pipe(
        Effect.provide(FlowEngine.layerMemory),
        Effect.provideService(FlowEvents.FlowEvents, sink),
        Effect.forkChild
      )
      for (let i = 0; i < 20 && log.length < 2; i++) yield* TestClock.adjust("10 millis")
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(log, ["a", "b", "x interrupted", "undo b", "undo a"])
      const finished = sink.events.find((e) => e._tag === "FlowFinished")
      assert.strictEqual(finished?._tag === "FlowFinished" ? finished.outcome : undefined, "interrupted")
      assert.strictEqual(sink.events.filter((e) => e._tag === "Compensated").length, 2)
    }))
})
