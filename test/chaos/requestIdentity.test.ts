/**
 * No false alarms, no silent passes: `no-duplicate-request` tells one request sent twice from two
 * requests with equal arguments by the step that sent them and the call's index in the step (a
 * retry keeps the index); built-in invariants can be switched off with a reason the report shows;
 * the report lists the tools with no idempotency annotation (what a green run assumed).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Chaos, FakeServer, Fault } from "../../chaos/index.ts"
import * as ChaosRunner from "../../chaos/Runner.ts"
import { Flow, step } from "../../dsl/flow/index.ts"
import { type McpflowToolError, type McpGateway, Tool } from "../../dsl/index.ts"

const Shop = Tool.server("shop", {
  buy: Tool.define({
    description: "Buy an item (each call is a purchase)",
    input: Schema.Struct({ item: Schema.String }),
    output: Schema.Struct({ order: Schema.Number }),
    annotations: { idempotent: false }
  }),
  note: Tool.define({
    description: "Write a note (annotations say nothing about repeating it)",
    input: Schema.Struct({ text: Schema.String }),
    output: Schema.Struct({ ok: Schema.Boolean })
  })
})

const servers = Effect.sync(() => {
  let orders = 0
  return [{
    key: "shop",
    handlers: [
      FakeServer.handle(Shop.buy, () => Effect.sync(() => ({ order: ++orders }))),
      FakeServer.handle(Shop.note, () => Effect.succeed({ ok: true }))
    ],
    snapshot: Effect.sync(() => orders)
  }] as ReadonlyArray<FakeServer.Definition>
})

const flowOf = (name: string, run: () => Effect.Effect<unknown, McpflowToolError, McpGateway>, uses: ReadonlyArray<Tool.ToolContract<any, any>> = [Shop.buy]) =>
  Flow.make({ name, input: Schema.Struct({}), output: Schema.Unknown, uses, run })

/** Two books, bought by two steps with equal arguments: two purchases. */
const twoSteps = flowOf("two-steps", () =>
  Effect.gen(function*() {
    yield* step("first book", Shop.buy({ item: "book" }, { timeout: "5 seconds" }))
    yield* step("second book", Shop.buy({ item: "book" }, { timeout: "5 seconds" }))
  }))

/** Two books bought in one step: the first purchase was answered before the second one was made. */
const oneStepTwice = flowOf("one-step-twice", () =>
  step(
    "books",
    Effect.gen(function*() {
      yield* Shop.buy({ item: "book" }, { timeout: "5 seconds" })
      yield* Shop.buy({ item: "book" }, { timeout: "5 seconds" })
    })
  ))

/** The bug: `Effect.retry` around a purchase whose answer may have been lost. */
const retried = flowOf("retried", () =>
  step("book", Shop.buy({ item: "book" }, { timeout: "5 seconds" }).pipe(Effect.retry({ times: 2 }))))

/** The same bug, with the retry around more than the call (a new input object each time). */
const retriedAround = flowOf("retried-around", () =>
  step(
    "book",
    Effect.suspend(() => Shop.buy({ item: "book" }, { timeout: "5 seconds" })).pipe(Effect.retry({ times: 2 }))
  ))

const lostFirst = Fault.plan(1, [Fault.lostResponse("shop.buy", { window: { fromMs: 0, toMs: 1 } })])

const run = (flow: ReturnType<typeof flowOf>, plan: Fault.FaultPlan, extra: Partial<Chaos.FlowSpec<any, any, unknown, any>> = {}) =>
  Effect.runPromise(Chaos.runFlowOnce({ flow, input: {}, servers, ...extra }, plan))

describe("no-duplicate-request: a request is the step and call that sent it", () => {
  it("two steps sending equal arguments to a non-idempotent tool are two requests (no false alarm)", async () => {
    const r = await run(twoSteps, Fault.none)
    assert.strictEqual(r.snapshots.shop, 2, Chaos.formatFlowRun(r))
    assert.deepStrictEqual(r.sent.map((c) => [c.step, c.stepCall]), [["first book", 0], ["second book", 0]])
    assert.deepStrictEqual(r.violations, [], Chaos.formatFlowRun(r))
  })

  it("two calls of one step with equal arguments, the first one answered, are two requests", async () => {
    const r = await run(oneStepTwice, Fault.none)
    assert.deepStrictEqual(r.sent.map((c) => [c.step, c.stepCall]), [["books", 0], ["books", 1]])
    assert.deepStrictEqual(r.violations, [], Chaos.formatFlowRun(r))
  })

  it("a call retried after its answer was lost is one request sent twice, caught with the step that sent it", async () => {
    const r = await run(retried, lostFirst)
    assert.deepStrictEqual(r.sent.map((c) => [c.step, c.stepCall, c.end]), [["book", 0, "cancelled"], ["book", 0, "answered"]])
    assert.deepStrictEqual(r.violations.map((v) => v.invariant), ["no-duplicate-request"], Chaos.formatFlowRun(r))
    assert.include(r.violations[0]!.detail, `shop.buy (not known to be idempotent) was sent again (#1) by step "book" (call 0 of the step) for one request after #0 ended cancelled`)
  })

  it("a retry around more than the call is caught too: an equal call of the same step after one whose fate was unknown", async () => {
    const r = await run(retriedAround, lostFirst)
    assert.deepStrictEqual(r.sent.map((c) => [c.step, c.stepCall]), [["book", 0], ["book", 1]])
    assert.deepStrictEqual(r.violations.map((v) => v.invariant), ["no-duplicate-request"], Chaos.formatFlowRun(r))
  })

  it("the search finds the retry bug, and holds on the two legitimate purchases", async () => {
    const bug = await Effect.runPromise(Chaos.checkFlow(retried, { input: {}, servers, runs: 100, seed: 5 }))
    assert.isFalse(bug.ok)
    assert.deepStrictEqual(bug.counterexample?.violations.map((v) => v.invariant), ["no-duplicate-request"])
    for (const flow of [twoSteps, oneStepTwice]) {
      const ok = await Effect.runPromise(Chaos.checkFlow(flow, { input: {}, servers, runs: 100, seed: 5, faults: { kinds: ["ToolError", "JsonRpcError", "ConnectionDrop"] } }))
      assert.isTrue(ok.ok, Chaos.formatFlow(ok))
    }
  })
})

describe("built-in invariants can be switched off, with a reason the report shows", () => {
  const off = { "no-duplicate-request": { off: "the shop deduplicates purchases by basket" } } as const

  it("the switched-off invariant is not checked; the others are", async () => {
    const r = await run(retried, lostFirst, { builtIn: off })
    assert.deepStrictEqual(r.violations, [], Chaos.formatFlowRun(r))
    const hang = await run(retried, Fault.plan(1, [Fault.lostResponse("shop.buy", { window: { fromMs: 0, toMs: 1 } })]), {
      builtIn: { "never-hangs": { off: "not this one" } }
    })
    assert.deepStrictEqual(hang.violations.map((v) => v.invariant), ["no-duplicate-request"])
  })

  it("the report (text, JSON, table, JUnit) names it and says why", async () => {
    const suite = { servers, builtIn: off }
    const { names, report, summary } = await Effect.runPromise(ChaosRunner.run(retried as never, suite, { input: {}, runs: 30, seed: 5 }))
    assert.isTrue(report.ok, Chaos.formatFlow(report))
    assert.deepStrictEqual(report.off, { "no-duplicate-request": "the shop deduplicates purchases by basket" })
    assert.include(Chaos.formatFlow(report), "invariant off: no-duplicate-request (the shop deduplicates purchases by basket)")
    const json = ChaosRunner.toJson(report, summary, names, "flows/shop.ts")
    assert.strictEqual(json.invariants["no-duplicate-request"], "off")
    assert.deepStrictEqual(json.invariantsOff, { "no-duplicate-request": "the shop deduplicates purchases by basket" })
    assert.include(ChaosRunner.table(report, summary, names), "– no-duplicate-request (off: the shop deduplicates purchases by basket)")
    assert.include(ChaosRunner.junit(report, names, "flows/shop.ts", 10, summary), `<skipped message="off: the shop deduplicates purchases by basket"/>`)
  })
})

describe("no silent pass: the report lists the tools with no idempotency annotation", () => {
  const noting = flowOf("noting", () => step("note", Shop.note({ text: "hello" }, { timeout: "5 seconds" })), [Shop.buy, Shop.note])

  it("an un-annotated tool the flow may call is listed (counted as non-idempotent); annotated ones are not", async () => {
    const { names, report, summary } = await Effect.runPromise(ChaosRunner.run(noting as never, { servers }, { input: {}, runs: 20, seed: 5 }))
    assert.deepStrictEqual(report.unannotated, ["shop.note"])
    assert.include(Chaos.formatFlow(report), "not annotated (counted as non-idempotent): shop.note")
    assert.deepStrictEqual(ChaosRunner.toJson(report, summary, names, "flows/noting.ts").unannotatedTools, ["shop.note"])
    assert.include(ChaosRunner.table(report, summary, names), "not annotated     shop.note (counted as non-idempotent)")
    const buying = await Effect.runPromise(Chaos.checkFlow(twoSteps, { input: {}, servers, runs: 1, seed: 5, faults: { kinds: ["ToolError"] } }))
    assert.deepStrictEqual(buying.unannotated, [])
  })

  it("Chaos.check lists them too", async () => {
    const report = await Effect.runPromise(Chaos.check({ servers, program: Effect.void, runs: 1, seed: 1 }))
    assert.deepStrictEqual(report.unannotated, ["shop.note"])
    assert.include(Chaos.format(report), "not annotated (counted as non-idempotent): shop.note")
  })
})
