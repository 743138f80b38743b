/**
 * Gates and the failure hook on the memory engine, on the TestClock: a closed gate stops the run
 * with a typed GateClosed and is the run's failed step; the hook reads the run's step results.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Result, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Flow, FlowEngine, type FlowEvent, FlowEvents, type FlowFailure, GateClosed, Plan, type StepResults, step, when } from "../../dsl/flow/index.ts"

type Engine = FlowEngine.FlowEngine | import("effect/workflow/WorkflowEngine").WorkflowEngine

const runFlow = <A, E>(effect: Effect.Effect<A, E, Engine>) =>
  Effect.gen(function*() {
    const sink = FlowEvents.collect()
    const fiber = yield* effect.pipe(
      Effect.provide(FlowEngine.layerMemory),
      Effect.provideService(FlowEvents.FlowEvents, sink),
      Effect.exit,
      Effect.forkChild
    )
    for (let i = 0; i < 1_000 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("10 millis")
    return { exit: yield* Fiber.join(fiber), events: sink.events as ReadonlyArray<FlowEvent> }
  })

const release = (testsPass: boolean, seen: { failure?: FlowFailure<unknown>; results?: StepResults; deployed: number }) =>
  Flow.make({
    name: "release",
    input: Schema.Struct({}),
    output: Schema.String,
    run: () =>
      Flow.onFailure(
        Effect.gen(function*() {
          const build = yield* step("build", Effect.succeed({ image: "app:1" }))
          const tests = yield* step("tests", Effect.succeed({ passed: testsPass ? 12 : 9, failed: testsPass ? 0 : 3 }))
          yield* Flow.gate("tests pass", tests.failed === 0, () => `${tests.failed} tests failed`)
          yield* step("deploy", Effect.sync(() => ++seen.deployed))
          return build.image
        }),
        (failure, results) =>
          step("alert", Effect.sync(() => {
            seen.failure = failure
            seen.results = results
          })),
        { description: "a step failed or a gate closed" }
      )
  })

describe("Flow.gate", () => {
  it.effect("a closed gate stops the run with GateClosed naming the gate and its reason; nothing after it runs", () =>
    Effect.gen(function*() {
      const seen = { deployed: 0 }
      const { events, exit } = yield* runFlow(Flow.run(release(false, seen), {}))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isSuccess(exit)) return
      const error = Cause.squash(exit.cause)
      assert.instanceOf(error, GateClosed)
      assert.strictEqual((error as GateClosed).gate, "tests pass")
      assert.strictEqual((error as GateClosed).reason, "3 tests failed")
      assert.strictEqual((error as GateClosed).message, "stopped at the gate \"tests pass\": 3 tests failed")
      assert.strictEqual(seen.deployed, 0, "nothing after the gate ran")
      const failed = events.find((e) => e._tag === "StepFailed" && e.path === "tests pass")
      assert.deepInclude(failed, { kind: "gate", errorTag: "GateClosed", error: "stopped at the gate \"tests pass\": 3 tests failed" })
      const finished = events.find((e) => e._tag === "FlowFinished")
      assert.deepInclude(finished, { outcome: "failure", failedStep: "tests pass", errorTag: "GateClosed" })
    }))

  it.effect("an open gate is reported as passed and the run goes on", () =>
    Effect.gen(function*() {
      const seen = { deployed: 0 }
      const { events, exit } = yield* runFlow(Flow.run(release(true, seen), {}))
      assert.deepStrictEqual(exit, Exit.succeed("app:1"))
      assert.strictEqual(seen.deployed, 1)
      assert.isTrue(events.some((e) => e._tag === "StepSucceeded" && e.path === "tests pass" && e.kind === "gate"))
      assert.isTrue(events.some((e) => e._tag === "StepSkipped" && e.path === "on failure"), "the hook is skipped")
    }))

  it.effect("plans show the gate, and walk past it to what follows", () =>
    Effect.gen(function*() {
      const plan = yield* Flow.plan(release(false, { deployed: 0 }))
      const nodes = plan.nodes.map((n) => `${n.path}:${n.kind}`)
      assert.deepStrictEqual(nodes, ["build:step", "tests:step", "tests pass:gate", "deploy:step", "on failure:when", "on failure/alert:step"])
      assert.include(Plan.toText(plan), "▣ tests pass [gate]")
      assert.include(Plan.toMermaid(plan), `{{"gate: tests pass"}}`) // drawn as a decision, not a step
    }))
})

describe("Flow.onFailure", () => {
  it.effect("the hook reads each ended step's status and output by path, and the run still fails with the body's failure", () =>
    Effect.gen(function*() {
      const seen: { failure?: FlowFailure<unknown>; results?: StepResults; deployed: number } = { deployed: 0 }
      const { exit } = yield* runFlow(Flow.run(release(false, seen), {}))
      assert.instanceOf(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause), GateClosed)
      assert.strictEqual(seen.failure?.failedStep, "tests pass")
      assert.strictEqual(seen.failure?.errorTag, "GateClosed")
      assert.strictEqual(seen.failure?.message, "stopped at the gate \"tests pass\": 3 tests failed")
      const results = seen.results!
      assert.deepStrictEqual(results.get("build"), { status: "succeeded", output: { image: "app:1" } })
      assert.deepStrictEqual(results.get("tests"), { status: "succeeded", output: { passed: 9, failed: 3 } })
      assert.deepStrictEqual(results.get("tests pass"), { status: "failed", error: "stopped at the gate \"tests pass\": 3 tests failed" })
      assert.isUndefined(results.get("deploy"), "a step that never ran has no result")
      assert.deepStrictEqual(results.entries.map(([path]) => path), ["build", "tests", "tests pass"])
      assert.deepStrictEqual(results.toJson()["tests"], { status: "succeeded", output: { passed: 9, failed: 3 } })
    }))

  it.effect("failed and skipped steps are in the results; a failing hook does not replace the body's failure", () =>
    Effect.gen(function*() {
      let hooked: StepResults | undefined
      const flow = Flow.make({
        name: "hooked",
        input: Schema.Struct({}),
        output: Schema.Number,
        run: () =>
          Flow.onFailure(
            Effect.gen(function*() {
              yield* when("optional", false, step("never", Effect.succeed(1)), { description: "wanted" })
              return yield* step("boom", Effect.fail(new Error("disk full")))
            }),
            (_failure, results) => Effect.andThen(Effect.sync(() => void (hooked = results)), step("alert", Effect.fail(new Error("hub down"))))
          )
      })
      const { events, exit } = yield* runFlow(Flow.run(flow, {}))
      assert.strictEqual((Cause.squash((exit as Exit.Failure<unknown, unknown>).cause) as Error).message, "disk full")
      assert.deepStrictEqual(hooked?.get("optional"), { status: "skipped", why: "not (wanted)" })
      assert.deepStrictEqual(hooked?.get("boom"), { status: "failed", error: "disk full" })
      assert.isTrue(events.some((e) => e._tag === "StepFailed" && e.path === "on failure/alert"), "the hook's failure is reported")
      assert.deepInclude(events.find((e) => e._tag === "FlowFinished"), { failedStep: "boom", error: "disk full" })
    }))

  it.effect("Flow.attempt: the value, or what failed and the first step inside it that failed (not a step that failed before it)", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const flow = Flow.make({
        name: "attempted",
        input: Schema.Struct({}),
        output: Schema.Number,
        run: () =>
          Effect.gen(function*() {
            yield* step("earlier", Effect.fail(new Error("ignored"))).pipe(Effect.ignore)
            const ok = yield* Flow.attempt(step("fine", Effect.succeed(1)))
            const failed = yield* Flow.attempt(Effect.gen(function*() {
              yield* step("build", Effect.succeed("app:1"))
              yield* Flow.gate("tests pass", false, "3 tests failed")
              return 2
            }))
            seen.push(ok, failed._tag === "Failure" ? { ...failed.failure, cause: undefined } : failed)
            return 0
          })
      })
      const { exit } = yield* runFlow(Flow.run(flow, {}))
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(seen[0], Result.succeed(1))
      assert.deepStrictEqual(seen[1], {
        cause: undefined,
        message: "stopped at the gate \"tests pass\": 3 tests failed",
        errorTag: "GateClosed",
        failedStep: "tests pass"
      })
    }))

  it.effect("Flow.attempt does not catch an interruption", () =>
    Effect.gen(function*() {
      const flow = Flow.make({
        name: "interrupted",
        input: Schema.Struct({}),
        output: Schema.Number,
        run: () => Effect.map(Flow.attempt(Effect.interrupt), () => 1)
      })
      const { exit } = yield* runFlow(Flow.run(flow, {}))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
    }))

  it.effect("Flow.messageOf renders an error's message, else its JSON form", () =>
    Effect.sync(() => {
      assert.strictEqual(Flow.messageOf(new Error("disk full")), "disk full")
      assert.strictEqual(Flow.messageOf({ code: 7 }), "{\"code\":7}")
      assert.strictEqual(Flow.messageOf("plain"), "plain")
    }))
})
