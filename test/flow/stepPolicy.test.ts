import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Schema } from "effect"
import { Flow, FlowEngine, forEach, step } from "../../dsl/flow/index.ts"

describe("step policies", () => {
  it.effect("a breaker given as settings lives as long as the engine: it trips across the step's executions", () =>
    Effect.gen(function*() {
      let calls = 0
      const flaky = Effect.suspend(() => {
        calls++
        return Effect.fail("down")
      })
      const flow = Flow.make({
        name: "breaker-across-items",
        input: Schema.Struct({}),
        output: Schema.Array(Schema.String),
        run: () =>
          Effect.map(
            forEach("items", [1, 2, 3, 4, 5], () =>
              step("call", flaky, { policy: { breaker: { trip: { kind: "consecutive", failures: 2 }, openDuration: "1 minute" } } })),
            (outcomes) =>
              outcomes.map((o) =>
                Result.isSuccess(o.result) ? "ok" : typeof o.result.failure === "string" ? o.result.failure : (o.result.failure as { _tag: string })._tag
              )
          )
      })
      const outcome = yield* Flow.run(flow, {})
      assert.deepStrictEqual(outcome, ["down", "down", "BreakerRejected", "BreakerRejected", "BreakerRejected"])
      assert.strictEqual(calls, 2, "an open breaker sends nothing")
      // A second run on the same engine meets the same (still open) breaker.
      assert.deepStrictEqual(yield* Flow.run(flow, {}), Array(5).fill("BreakerRejected"))
      assert.strictEqual(calls, 2)
    }).pipe(Effect.provide(FlowEngine.layerMemory)))
})
