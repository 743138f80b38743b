import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Result, Schema } from "effect"
import { drive } from "../support/drive.ts"
import { dag, Flow, FlowEngine, FlowEvents, forEach, parallel, step } from "../../dsl/flow/index.ts"

const run = <A, E>(eff: Effect.Effect<A, E, FlowEngine.FlowEngine | import("effect/workflow/WorkflowEngine").WorkflowEngine>) =>
  eff.pipe(Effect.provide(FlowEngine.layerMemory))

describe("smoke", () => {
  it.effect("steps, saga, events", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const f = Flow.make({
        name: "t1",
        input: Schema.Struct({ n: Schema.Number }),
        output: Schema.Number,
        run: ({ n }) =>
          Effect.gen(function*() {
            const a = yield* step("a", Effect.sync(() => (log.push("a"), n + 1)), { compensate: (v) => Effect.sync(() => log.push(`undo a ${v}`)) })
            const b = yield* step("b", Effect.sync(() => (log.push("b"), a * 2)), { compensate: (v) => Effect.sync(() => log.push(`undo b ${v}`)) })
            yield* step("c", Effect.sleep("1 second"))
            if (b > 0) yield* step("d", Effect.fail("boom"))
            return b
          })
      })
      const sink = FlowEvents.collect()
      const fiber = yield* run(Flow.run(f, { n: 1 })).pipe(Effect.provideService(FlowEvents.FlowEvents, sink), Effect.exit, Effect.forkChild)
      const exit = yield* drive(fiber)
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(log, ["a", "b", "undo b 4", "undo a 2"])
      assert.deepStrictEqual(sink.events.filter((e) => e._tag === "Compensated").map((e) => ("path" in e ? e.path : "")), ["b", "a"])
    }))

  it.effect("parallel, dag, forEach", () =>
    Effect.gen(function*() {
      const f = Flow.make({
        name: "t2",
        input: Schema.Struct({}),
        output: Schema.Unknown,
        run: () =>
          Effect.gen(function*() {
            const p = yield* parallel("p", { x: step("x", Effect.succeed(1)), y: step("y", Effect.fail("no")) }, { mode: "settle" })
            const d = yield* dag("d")
              .node("a", () => step("a", Effect.succeed(1)))
              .node("b", { needs: ["a"] }, ({ a }) => step("b", Effect.succeed(a + 1)))
              .node("c", { needs: ["a", "b"], when: ({ b }) => b > 5 }, ({ b }) => step("c", Effect.succeed(b)))
              .run()
            const e = yield* forEach("items", [1, 2, 3], (i) => step("sq", i === 2 ? Effect.fail("two") : Effect.succeed(i * i)))
            return { p: Result.isSuccess(p.x), d: d.outputs, dc: d.outcomes.c._tag, e: e.map((o) => Result.isSuccess(o.result)) }
          })
      })
      const sink = FlowEvents.collect()
      const out = yield* run(Flow.run(f, {})).pipe(Effect.provideService(FlowEvents.FlowEvents, sink))
      assert.deepStrictEqual(out, { p: true, d: { a: 1, b: 2 }, dc: "Skipped", e: [true, false, true] })
      assert.isTrue(sink.events.some((e) => e._tag === "StepSkipped" && e.path === "d/c"))
    }))

  it.effect("duplicate names and bad input", () =>
    Effect.gen(function*() {
      const f = Flow.make({
        name: "t3",
        input: Schema.Struct({ n: Schema.Number }),
        output: Schema.Number,
        run: () => Effect.gen(function*() {
          yield* step("a", Effect.succeed(1))
          return yield* step("a", Effect.succeed(2))
        })
      })
      const bad = yield* run(Flow.run(f, { n: "x" } as never)).pipe(Effect.exit)
      assert.include(String(bad), "invalid input at n")
      const dup = yield* run(Flow.run(f, { n: 1 })).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(dup))
      assert.include(String(dup), "duplicate step name")
    }))
})
