/**
 * Flow chaos plumbing: sandbox configs get their faults through `FakeServer.CurrentInjector`,
 * the plan arbitrary's shape (rare windows, focus on non-idempotent tools), the virtual clock
 * reaching fractional wake times, and the runner's renderings (kinds, table, JSON, JUnit).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { Arbitraries, Chaos, FakeServer, Fault } from "../../chaos/index.ts"
import * as ChaosRunner from "../../chaos/Runner.ts"
import { chaosSeed } from "../../chaos/vitest.ts"
import { orderAtomic, orderFlow, shopServers, Status, statusFlow } from "./shop.ts"
import { InventoryApi, Payment, sagaServers } from "./support.ts"

const seed = chaosSeed("flow check plumbing")

/** A flow file's sandbox: ready configs made by `FakeServer.make` with no injector of their own. */
const sandbox = Effect.map(
  FakeServer.make("status", [FakeServer.handle(Status.get, ({ service }) => Effect.succeed({ service, healthy: true }))]),
  (status) => ({ status })
)

describe("Chaos.checkFlow", () => {
  it("injects faults into a sandbox's configs (FakeServer.CurrentInjector) and targets the flow's tools", async () => {
    const flow = statusFlow("status-sandbox", false)
    const run = await Effect.runPromise(Chaos.runFlowOnce({ flow, input: { service: "api" }, servers: sandbox }, Fault.plan(0, [Fault.toolError("status.get")])))
    assert.deepStrictEqual(run.log.map((i) => `${i.server}.${i.tool} ${i.kind}`), ["status.get ToolError"])
    assert.strictEqual(run.outcome._tag, "Failure")
    const report = await Effect.runPromise(Chaos.checkFlow(flow, { input: { service: "api" }, servers: sandbox, runs: 30, seed, deadline: "10 minutes" }))
    assert.isTrue(report.ok, Chaos.formatFlow(report))
    assert.isAbove(Object.values(report.faultsFired).reduce((a, b) => a + b, 0), 0)
  })

  it("reports the step tree of a run, with compensations", async () => {
    const run = await Effect.runPromise(Chaos.runFlowOnce(
      { flow: orderFlow("order-tree"), input: { orderId: "o1", amount: 25 }, servers: shopServers, invariants: [orderAtomic] },
      Fault.plan(0, [Fault.toolError("ship.schedule")])
    ))
    assert.deepStrictEqual(run.violations, [])
    const [head, ...steps] = Chaos.stepTree(run.events).split("\n")
    assert.match(head!, /^flow order-tree \(memory engine\) → failure in 40ms McpflowToolError\S*: ship\.schedule failed: injected tool failure$/)
    assert.strictEqual(
      steps.join("\n"),
      [
        "  ✗ order (saga) 40ms McpflowToolError.ToolFailed: ship.schedule failed: injected tool failure",
        "    ✓ reserve 10ms ↩ compensated (0ms)",
        "    ✓ charge 30ms ↩ compensated (0ms)",
        "    ✗ ship 0ms McpflowToolError.ToolFailed: ship.schedule failed: injected tool failure"
      ].join("\n")
    )
  })
})

describe("the plan arbitrary", () => {
  it("draws windows and bursts for a minority of faults, and half the faults as ambiguous ones on focused tools", () => {
    const targets = [{ server: "pay", tool: "charge" }, { server: "pay", tool: "refund" }, { server: "stock", tool: "level" }]
    const faults = fc.sample(Arbitraries.faultPlan({ targets, focus: [targets[0]!] }), { seed, numRuns: 2_000 }).flatMap((p) => p.faults)
    const share = (p: (f: Fault.Fault) => boolean) => faults.filter(p).length / faults.length
    // Drawn windows: a fault at rate 1 without one gets the horizon as its window (it must end), which is not drawn.
    const horizonOnly = (f: Fault.Fault) => f.rate === 1 && f.window?.fromMs === 0 && f.window.toMs === 60_000
    assert.isBelow(share((f) => f.window !== undefined && !horizonOnly(f)), 0.4)
    assert.isBelow(share((f) => f.burst !== undefined), 0.4)
    assert.isAbove(share((f) => f.target === "pay.charge" && Arbitraries.ambiguousKinds.includes(f._tag)), 0.45)
    const plain = fc.sample(Arbitraries.faultPlan({ targets, wildcards: false }), { seed, numRuns: 200 }).flatMap((p) => p.faults)
    assert.isTrue(plain.every((f) => !f.target.endsWith(".*")))
  })
})

describe("virtual time", () => {
  it("reaches a fractional wake time (a uniform latency) instead of spinning short of it", async () => {
    const program = Effect.gen(function*() {
      yield* InventoryApi.reserve({ sku: "widget", quantity: 1, order_id: "o1" })
      return yield* Payment.charge({ order_id: "o1", amount: 25 }, { timeout: "5 seconds" }).pipe(Effect.retry({ times: 3, while: (e) => e.reason._tag === "Timeout" }))
    })
    const run = await Effect.runPromise(Chaos.runOnce(
      { servers: sagaServers, program },
      Fault.plan(0, [Fault.corruptMessage("payment.charge", "response"), Fault.latency("payment.charge", Fault.fixed(3461.704903209582), undefined, "after")])
    ))
    assert.strictEqual(run.outcome._tag, "Failure")
    assert.strictEqual(run.sent.filter((c) => c.tool === "charge").length, 4)
  })
})

describe("the chaos runner", () => {
  it("reads --faults names", () => {
    assert.deepStrictEqual(ChaosRunner.parseKinds("latency,drop,lost-response,LostResponse"), { ok: true, kinds: ["Latency", "ConnectionDrop", "LostResponse"] })
    assert.deepStrictEqual(ChaosRunner.parseKinds("hang,gremlins"), { ok: false, unknown: ["gremlins"] })
    for (const name of ChaosRunner.kindFlagNames) assert.isTrue(ChaosRunner.parseKinds(name).ok, name)
  })

  it("summarises a failing check as a table, JSON and JUnit XML", async () => {
    const suite = { servers: shopServers, invariants: [orderAtomic], faults: { kinds: ["ToolError"] as Array<Fault.FaultKind>, targets: [{ server: "ship", tool: "schedule" }] } }
    const { names, report, summary } = await Effect.runPromise(
      ChaosRunner.run(orderFlow("order-runner", { refund: false }) as never, suite, { input: { orderId: "o1", amount: 25 }, runs: 50, seed })
    )
    assert.isFalse(report.ok)
    const table = ChaosRunner.table(report, summary, names)
    assert.include(table, "✗ atomic: order")
    assert.include(table, "faults injected   ToolError")
    const json = ChaosRunner.toJson(report, summary, names, "flows/order.ts")
    assert.strictEqual(json.invariants["atomic: order"], "violated")
    assert.strictEqual(json.invariants["typed-outcome"], "held")
    assert.include(json.counterexample!.replay, `npx mcpflow chaos flows/order.ts --input '{"orderId":"o1","amount":25}' --replay '`)
    const xml = ChaosRunner.junit(report, names, "flows/order.ts", 1234, summary)
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="mcpflow chaos" tests="\d+" failures="1" errors="0" time="1.234">/)
    assert.include(xml, `name="atomic: order" time="0">\n      <failure message="outcome Failure, net charge 25, reservations held 0"`)
    assert.notInclude(xml.replace(/<failure[\s\S]*?<\/failure>/g, ""), "&lt;") // escaped text only inside failures
    assert.strictEqual(ChaosRunner.quantile([5, 1, 3, 2, 4], 0.5), 3)
  })
})
