/**
 * The harness must be able to fail: deliberately broken flows, each caught within 200 runs and
 * shrunk to at most 3 faults; their fixed versions hold; the same seed gives a byte-identical
 * event stream. Seeds are printed; `FC_SEED=<n>` replays them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { Chaos, Fault } from "../../chaos/index.ts"
import { chaosIt, chaosSeed, expectChaos, runChaos } from "../../chaos/vitest.ts"
import { fanOutFlow, orderAtomic, orderFlow, shopServers, statusFlow } from "./shop.ts"

const order = { input: { orderId: "o1", amount: 25 }, servers: shopServers, runs: 200 } as const
/**
 * The correct twins run with the default fault mix — every kind, on every tool the flow may call
 * (compensations and lookups included), windows and bursts — and hold: they key their side
 * effects, retry patiently and settle unknown outcomes by lookup. Two broken cases aim their
 * search at the faults that expose their bug (a refused shipment or charge: what makes a saga
 * compensate or a fallback swallow); the default mix finds them too, only less surely in 200 runs.
 */
const refusals = {
  kinds: ["ToolError", "JsonRpcError", "RateLimited", "ConnectionDrop"] as Array<Fault.FaultKind>,
  targets: [{ server: "stock", tool: "reserve" }, { server: "pay", tool: "charge" }, { server: "ship", tool: "schedule" }],
  wildcards: false
}
describe("broken flows are caught within 200 runs, shrunk to ≤ 3 faults", () => {
  it("a saga step without compensation leaves the charge behind", async () => {
    const report = await runChaos("saga without compensation", {
      flow: orderFlow("order-no-refund", { refund: false }),
      ...order,
      invariants: [orderAtomic],
      faults: refusals
    })
    expectChaos(report, { violates: "atomic: order", maxFaults: 3 })
    // The same plan on the flow with the compensation holds: the missing undo is the bug.
    const fixed = await Effect.runPromise(
      Chaos.replayFlow({ flow: orderFlow("order-fixed"), ...order, invariants: [orderAtomic] }, report.token!)
    )
    assert.deepStrictEqual(fixed.violations, [], Chaos.formatFlowRun(fixed))
  })

  chaosIt("a retry around a non-idempotent payment charges twice", () => ({
    flow: orderFlow("order-retried-charge", { chargeRetries: 3 }),
    ...order,
    expect: { violates: "no-duplicate-request", maxFaults: 3 }
  }))

  chaosIt("a missing timeout with a hanging server blows the flow's 30 s budget", () => ({
    flow: statusFlow("status-no-timeout", false),
    input: { service: "api" },
    servers: shopServers,
    runs: 200,
    deadline: "30 seconds",
    limits: { connectTimeoutMs: 5_000 },
    expect: { violates: "never-hangs", maxFaults: 3 }
  }))

  chaosIt("an unbounded fan-out exceeds the server's bulkhead", () => ({
    flow: fanOutFlow("fanout-unbounded", undefined),
    input: { orders: 8 },
    servers: shopServers,
    runs: 200,
    maxConcurrency: { stock: 3 },
    expect: { violates: "concurrency", maxFaults: 3 }
  }))

  chaosIt("a fallback that swallows a failed charge reports a success that was never paid", () => ({
    flow: orderFlow("order-swallowed-charge", { swallow: true }),
    ...order,
    invariants: [orderAtomic],
    faults: refusals,
    expect: { violates: "atomic: order", maxFaults: 3 }
  }))
})

describe("the fixed flows hold", () => {
  chaosIt("the order saga is atomic under the default fault mix", () => ({
    flow: orderFlow("order-ok"),
    ...order,
    invariants: [orderAtomic]
  }))

  chaosIt("a status check with a timeout and a fallback ends within budget", () => ({
    flow: statusFlow("status-ok", true),
    input: { service: "api" },
    servers: shopServers,
    runs: 200,
    deadline: "30 seconds",
    limits: { connectTimeoutMs: 5_000 }
  }))

  chaosIt("a fan-out bounded at 3 stays within the bulkhead", () => ({
    flow: fanOutFlow("fanout-ok", 3),
    input: { orders: 8 },
    servers: shopServers,
    runs: 200,
    maxConcurrency: { stock: 3 }
  }))
})

describe("flow invariants on the event stream", () => {
  it("a compensation that fails breaks saga atomicity", async () => {
    const run = await Effect.runPromise(Chaos.runFlowOnce(
      { flow: orderFlow("order-bad-refund"), ...order },
      Fault.plan(0, [Fault.toolError("ship.schedule"), Fault.toolError("pay.refund")])
    ))
    assert.deepStrictEqual(run.violations.map((v) => v.invariant), ["saga-atomicity"], Chaos.formatFlowRun(run))
    assert.include(run.violations[0]!.detail, "order/charge")
    assert.include(Chaos.stepTree(run.events), "compensation FAILED")
  })

  it("same seed → byte-identical event stream, injection log and report", async () => {
    const seed = chaosSeed("determinism")
    const spec = { flow: orderFlow("order-det", { chargeRetries: 2 }), ...order, invariants: [orderAtomic] }
    const targets = [{ server: "stock", tool: "reserve" }, { server: "pay", tool: "charge" }, { server: "ship", tool: "schedule" }, { server: "pay", tool: "refund" }, { server: "stock", tool: "release" }]
    const arbitrary = await Effect.runPromise(Chaos.planArbitrary({ ...spec, program: Effect.void, tools: spec.flow.uses }, { rate: 0.5, minFaults: 2, targets }))
    const plans = fc.sample(arbitrary, { seed, numRuns: 5 })
    for (const plan of plans) {
      const [a, b] = await Promise.all([1, 2].map(() => Effect.runPromise(Chaos.runFlowOnce(spec, plan))))
      assert.strictEqual(JSON.stringify(a!.events), JSON.stringify(b!.events))
      assert.strictEqual(JSON.stringify([a!.log, a!.sent, a!.snapshots, a!.durationMs]), JSON.stringify([b!.log, b!.sent, b!.snapshots, b!.durationMs]))
    }
    const [r1, r2] = await Promise.all([1, 2].map(() => runChaos("determinism", { ...spec, runs: 100, seed })))
    assert.strictEqual(r1!.token, r2!.token)
    assert.strictEqual(JSON.stringify(r1!.counterexample?.events), JSON.stringify(r2!.counterexample?.events))
  })
})
