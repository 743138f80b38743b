/**
 * Minimal counterexamples: a fault's decisions are keyed by its identity (an id drawn with it),
 * not its place in the plan, so dropping a fault that never fired leaves the others as they
 * were; shrinking can drop any fault, trailing ones included; the reported plan is checked
 * 1-minimal (without any one of its faults, the run violates nothing) and says so.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { Arbitraries, Chaos, Fault } from "../../chaos/index.ts"
import * as ChaosRunner from "../../chaos/Runner.ts"
import { chaosSeed } from "../../chaos/vitest.ts"
import { orderAtomic, orderFlow, shopServers } from "./shop.ts"

const order = { input: { orderId: "o1", amount: 25 }, servers: shopServers, invariants: [orderAtomic] } as const
const broken = { flow: orderFlow("order-no-refund", { refund: false }), ...order }

/** Fails the shipment: the unrefunded charge stays (the planted bug). */
const needed = { ...Fault.toolError("ship.schedule"), id: 11 }
/** Never fires: its window is long after the run. */
const inert = { ...Fault.hang("stock.reserve", { window: { fromMs: 500_000, toMs: 600_000 } }), id: 22 }

describe("decisions keyed by a fault's identity", () => {
  it("dropping a fault that never fired changes nothing about the others", async () => {
    const flaky = { ...Fault.connectionDrop("pay.charge", { rate: 0.5 }), id: 33 }
    const spec = { flow: orderFlow("order-retrying", { chargeRetries: 6 }), ...order }
    const runOf = (faults: ReadonlyArray<Fault.Fault>) => Effect.runPromise(Chaos.runFlowOnce(spec, Fault.plan(4, faults)))
    const both = await runOf([inert, flaky])
    const alone = await runOf([flaky])
    const fired = (r: typeof both) => r.log.map((i) => `${i.tool}#${i.call} ${i.kind}`)
    assert.isAbove(fired(alone).length, 0, "the flaky fault fired")
    assert.isBelow(fired(alone).length, alone.sent.filter((c) => c.tool === "charge").length, "and not on every call")
    assert.deepStrictEqual(fired(both), fired(alone))
    assert.strictEqual(JSON.stringify(both.events), JSON.stringify(alone.events))
    // Without ids, a fault's key is its position: the same plan shifted draws differently.
    const positional = await Effect.runPromise(Chaos.runFlowOnce(spec, Fault.plan(4, [Fault.hang("stock.reserve", { window: inert.window }), Fault.connectionDrop("pay.charge", { rate: 0.5 })])))
    const positionalAlone = await Effect.runPromise(Chaos.runFlowOnce(spec, Fault.plan(4, [Fault.connectionDrop("pay.charge", { rate: 0.5 })])))
    assert.notDeepEqual(fired(positional), fired(positionalAlone), "(the reason for ids)")
  })

  it("drawn plans give every fault an id that shrinking leaves alone, and may be empty", () => {
    const seed = chaosSeed("fault ids")
    const plans = fc.sample(Arbitraries.faultPlan({ targets: [{ server: "pay", tool: "charge" }, { server: "ship", tool: "schedule" }] }), { seed, numRuns: 300 })
    assert.isTrue(plans.every((p) => p.faults.every((f) => typeof f.id === "number")))
    assert.isTrue(plans.some((p) => p.faults.length === 0), "no minimum length")
    assert.isTrue(plans.every((p) => new Set(p.faults.map((f) => f.id)).size === p.faults.length), "ids are unique within a plan")
  })

  it("drawn faults end (a fault at rate 1 lasts the horizon) unless permanent faults are asked for", () => {
    const seed = chaosSeed("fault ends")
    const targets = [{ server: "pay", tool: "refund" }]
    const ends = (f: Fault.Fault) => f.rate < 1 || (f.window !== undefined && f.window.toMs <= 120_000)
    const drawn = fc.sample(Arbitraries.faultPlan({ targets }), { seed, numRuns: 300 }).flatMap((p) => p.faults)
    assert.isTrue(drawn.every(ends))
    assert.isTrue(drawn.some((f) => f.rate === 1 && f.window?.fromMs === 0 && f.window.toMs === 60_000), "rate 1, for the horizon")
    const lasting = fc.sample(Arbitraries.faultPlan({ targets, permanent: true }), { seed, numRuns: 300 }).flatMap((p) => p.faults)
    assert.isTrue(lasting.some((f) => !ends(f)), "permanent: true draws faults that never end")
  })
})

describe("1-minimal counterexamples", () => {
  it("an inert trailing fault is dropped after shrinking, and the plan is reported 1-minimal", async () => {
    // A plan fast-check cannot shrink (a constant): only the 1-minimality pass can drop the inert fault.
    const report = await Effect.runPromise(
      Chaos.checkFlow(broken.flow, { ...order, runs: 5, seed: 1, faults: fc.constant(Fault.plan(9, [needed, inert])) })
    )
    assert.isFalse(report.ok)
    assert.deepStrictEqual(report.counterexample?.plan.faults, [needed], Chaos.formatFlow(report))
    assert.strictEqual(Chaos.planOf(report.token!).faults.length, 1, "the token is the reduced plan")
    assert.isTrue(report.minimal)
    assert.include(Chaos.formatFlow(report), "1-minimal: yes")
  })

  it("minimize drops any fault the violation does not need, trailing or not, and checks each that stays", async () => {
    const runOne = (plan: Fault.FaultPlan) => Chaos.runFlowOnce(broken, plan)
    for (const faults of [[needed, inert], [inert, needed], [inert, needed, { ...inert, id: 23 }]]) {
      const r = await Effect.runPromise(Chaos.minimize(Fault.plan(9, faults), runOne))
      assert.deepStrictEqual(r.plan.faults, [needed])
      assert.strictEqual(r.removed, faults.length - 1)
      assert.isTrue(r.minimal)
      assert.deepStrictEqual(r.run.violations.map((v) => v.invariant), ["atomic: order"])
    }
  })

  it("a plan that needs two faults keeps both; one that needs none is emptied", async () => {
    // A failed shipment and a failed refund: the compensation fails (saga-atomicity) only with both.
    const twoNeeded = await Effect.runPromise(Chaos.minimize(
      Fault.plan(9, [{ ...Fault.toolError("ship.schedule"), id: 1 }, { ...Fault.toolError("pay.refund"), id: 2 }, inert]),
      (plan) => Chaos.runFlowOnce({ flow: orderFlow("order-bad-refund"), ...order }, plan)
    ))
    assert.deepStrictEqual(twoNeeded.plan.faults.map((f) => f.id), [1, 2])
    assert.isTrue(twoNeeded.minimal)
    const none = await Effect.runPromise(Chaos.minimize(Fault.plan(9, [inert]), (plan) => Chaos.runFlowOnce({ flow: orderFlow("order-bad"), ...order, maxConcurrency: { stock: 0 } }, plan)))
    assert.deepStrictEqual(none.plan.faults, [])
    assert.isTrue(none.minimal)
  })

  it("the runner's table and JSON say whether the counterexample is 1-minimal", async () => {
    const { names, report, summary } = await Effect.runPromise(
      ChaosRunner.run(broken.flow as never, { ...order, faults: { kinds: ["ToolError"], targets: [{ server: "ship", tool: "schedule" }] } }, { input: order.input, runs: 50, seed: 3 })
    )
    assert.isFalse(report.ok)
    assert.include(ChaosRunner.table(report, summary, names), "1-minimal: yes")
    assert.strictEqual(ChaosRunner.toJson(report, summary, names, "flows/order.ts").counterexample?.minimal, true)
  })
})
