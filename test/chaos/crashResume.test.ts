/**
 * Crash and resume as a chaos property: a `Crash` fault kills the process running a flow at a
 * tool call, on a temporary SQLite journal; the run is resumed against the same servers. The
 * order saga (`flows/order-saga.ts`) keeps its invariants through any crash — completed steps
 * never re-run, compensations exactly once, nothing charged twice — while a saga whose forward
 * step has no idempotency key is caught charging twice.
 *
 * Replay with the printed seed: `FC_SEED=<seed> npx vitest run test/chaos/crashResume.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import fc from "fast-check"
import { Arbitraries, Chaos, Fault, FlowFacts } from "../../chaos/index.ts"
import * as FlowCrash from "../../chaos/FlowCrash.ts"
import * as ChaosRunner from "../../chaos/Runner.ts"
import { chaosSeed } from "../../chaos/vitest.ts"
import type { FlowEvent } from "../../dsl/flow/FlowEvents.ts"
import orderSaga from "../../flows/order-saga.ts"
import { type CommerceState, makeSandbox } from "../../flows/sandbox/index.ts"
import { orderAtomic, orderFlow, shopServers } from "./shop.ts"

const SERVERS = ["inventory_server", "payment_server", "logistics_server", "crm_server"] as const
const definitions = Effect.flatMap(makeSandbox(), (sandbox) =>
  FlowFacts.definitions(sandbox.servers, SERVERS, { inventory_server: Ref.get(sandbox.state.commerce) }))
/** A charge carrying an idempotency key is deduplicated by the server (see test/flows/order-saga.test.ts). */
const requestKey = FlowFacts.requestKeyWhere((c, args) => c.tool === "charge_card" && args.idempotency_key !== undefined)

type Run = Omit<Chaos.FlowRunResult<unknown, unknown>, "violations">
const stateOf = (run: Run) => run.snapshots.inventory_server as CommerceState
const INITIAL: Readonly<Record<string, number>> = { "SKU-1": 100, "SKU-2": 25, "SKU-3": 0, "SKU-4": 3 }
const orderId = "ord-1001"

const sagaInvariants: ReadonlyArray<Chaos.FlowInvariant<unknown, unknown>> = [
  { name: "never charged twice", holds: (run) => [...stateOf(run).charges.values()].filter((c) => c.order_id === orderId).length <= 1 },
  { name: "stock conserved", holds: (run) => [...stateOf(run).stock].every(([sku, l]) => l.available + l.reserved === INITIAL[sku]) },
  {
    name: "one reservation, shipment and purchase at most",
    holds: (run) => {
      const s = stateOf(run)
      return [s.reservations, s.shipments, s.purchases].every((m) => [...m.values()].filter((v) => v.order_id === orderId).length <= 1)
    }
  },
  {
    name: "a failed order leaves nothing live behind",
    holds: (run) => {
      if (run.outcome._tag === "Success") return true
      const s = stateOf(run)
      return [...s.reservations.values()].every((r) => r.released) && [...s.charges.values()].every((c) => c.refund !== undefined) &&
        [...s.shipments.values()].every((x) => x.status === "cancelled") && [...s.purchases.values()].every((p) => p.reverted)
    }
  }
]

const sagaTargets = orderSaga.uses.map((c) => ({ server: c.server, tool: c.tool }))
/** The undo calls a failed order makes (the `get_*` checks and the purchase revert only run when something else went wrong). */
const undoTools = ["release_reservation", "refund_charge", "cancel_shipment"]
const lookups = ["get_charge", "get_shipment", "revert_purchase_record"]

/** Plans with one crash (before or after a call of one of `crashAt`) and maybe one more fault anywhere. */
const crashPlans = (crashAt: ReadonlyArray<Arbitraries.Target>) =>
  fc.record({
    seed: fc.nat({ max: 2 ** 31 - 1 }),
    faults: fc.tuple(
      Arbitraries.fault({ targets: crashAt, kinds: ["Crash"], rate: 1, windows: false, onlyTools: true }),
      fc.array(Arbitraries.fault({ targets: sagaTargets, kinds: ["LostResponse", "ToolError", "Latency"], windows: false, onlyTools: true }), { maxLength: 1 })
    ).map(([crash, more]) => [crash, ...more])
  })

/** This process's temporary journals still on disk (other processes share the temporary directory). */
const crashDirs = () => FlowCrash.liveJournals()

describe("crash and resume on the order saga", () => {
  for (const [label, input, crashAt, offset] of [
    ["an order that completes", {}, sagaTargets.filter((t) => !undoTools.includes(t.tool) && !lookups.includes(t.tool)), 0],
    ["an order that fails at its last step (crashes among the compensations)", { customer_id: "cus-404" }, sagaTargets.filter((t) => undoTools.includes(t.tool)), 1]
  ] as const) {
    it.effect(`${label}: resumed after any crash, no step re-run, compensations once, never charged twice`, () =>
      Effect.gen(function*() {
        const seed = chaosSeed("order-saga crash", offset)
        const dirs = crashDirs()
        const { observe, summary } = ChaosRunner.collector()
        let crashed = 0
        const report = yield* Chaos.checkFlow(orderSaga, {
          input,
          servers: definitions,
          requestKey,
          invariants: sagaInvariants,
          runs: 5,
          seed,
          faults: crashPlans(crashAt),
          observe: (run) => {
            observe(run)
            if (run.log.some((i) => i.kind === "Crash")) crashed++
          }
        })
        assert.isTrue(report.ok, Chaos.formatFlow(report as Chaos.FlowCheckReport<unknown, unknown>))
        assert.isAtLeast(crashed, 3, `most runs crashed (${crashed} of ${summary.runs})`)
        assert.strictEqual(crashDirs(), dirs, "every temporary journal was removed")
      }), 120_000)
  }

  it.effect("a crash after the charge answered: the resumed run replays the completed steps and charges once (same key)", () =>
    Effect.gen(function*() {
      const spec = { flow: orderSaga, input: {}, servers: definitions, requestKey, invariants: sagaInvariants }
      const plan = Fault.plan(1, [Fault.crash("payment_server.charge_card", "after")])
      const run = yield* Chaos.runFlowOnce(spec, plan)
      assert.deepStrictEqual(run.violations, [], Chaos.formatFlowRun(run as Chaos.FlowRunResult<unknown, unknown>))
      assert.strictEqual(run.outcome._tag, "Success")
      const resumed = run.events.filter((e): e is FlowEvent.FlowStarted => e._tag === "FlowStarted")
      assert.deepStrictEqual(resumed.map((e) => [e.engine, e.resumed ?? false, e.inFlight ?? []]), [["sqlite", false, []], ["sqlite", true, ["order/charge payment"]]])
      const replayed = run.events.flatMap((e) => (e._tag === "StepSucceeded" && e.replayed ? [e.path] : []))
      assert.deepStrictEqual(replayed, ["order/check order", "order/reserve inventory"])
      assert.deepStrictEqual(run.sent.filter((c) => c.tool === "charge_card").map((c) => c.end), ["closed", "answered"])
      assert.strictEqual([...stateOf(run).charges.values()].length, 1)
      // The same plan gives the same run, byte for byte.
      const again = yield* Chaos.runFlowOnce(spec, plan)
      assert.strictEqual(ChaosRunner.eventTrace(again.events), ChaosRunner.eventTrace(run.events))
      assert.deepStrictEqual(again.log, run.log)
    }), 60_000)

  it.effect("a crash during the compensations: the resumed run replays the done ones and finishes the rest, each once", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runFlowOnce(
        { flow: orderSaga, input: { customer_id: "cus-404" }, servers: definitions, requestKey, invariants: sagaInvariants },
        Fault.plan(1, [Fault.crash("payment_server.refund_charge", "after")])
      )
      assert.deepStrictEqual(run.violations, [], Chaos.formatFlowRun(run as Chaos.FlowRunResult<unknown, unknown>))
      const compensated = run.events.flatMap((e) => (e._tag === "Compensated" ? [`${e.path}${e.replayed ? " (replayed)" : ""}`] : []))
      assert.deepStrictEqual(compensated, [
        "order/schedule delivery", // before the crash
        "order/schedule delivery (replayed)",
        "order/charge payment", // the one in flight at the crash: its refund is sent again (refunds are idempotent)
        "order/reserve inventory"
      ])
    }), 60_000)
})

describe("crash and resume catches what it should", () => {
  it.effect("a saga whose charge has no idempotency key re-sends it after a crash, and charges twice when the first went through", () =>
    Effect.gen(function*() {
      const seed = chaosSeed("crash-unsafe saga")
      const spec = {
        input: { orderId: "o1", amount: 25 },
        servers: shopServers,
        invariants: [orderAtomic, { name: "charged once", holds: (run: Run) => (run.snapshots.pay as { charges: ReadonlyArray<unknown> }).charges.length <= 1 }]
      }
      const report = yield* Chaos.checkFlow(orderFlow("crash-unsafe", { noKey: true }), { ...spec, runs: 10, seed, faults: { perTarget: [{ target: "pay.charge", kinds: ["Crash"] }], maxFaults: 2 } })
      assert.isFalse(report.ok, "the re-sent charge was found")
      const cx = report.counterexample!
      assert.deepStrictEqual(cx.plan.faults.map((f) => [f._tag, f.target]), [["Crash", "pay.charge"]], "shrunk to the one crash")
      assert.include(cx.violations.map((v) => v.invariant), "no-duplicate-request")
      // The crash after the charge answered: the resumed run charges again.
      const after = yield* Chaos.runFlowOnce({ ...spec, flow: orderFlow("crash-unsafe", { noKey: true }) }, Fault.plan(0, [Fault.crash("pay.charge", "after")]))
      assert.includeMembers(after.violations.map((v) => v.invariant), ["no-duplicate-request", "charged once"], Chaos.formatFlowRun(after as Chaos.FlowRunResult<unknown, unknown>))
    }), 60_000)

  it("crash-resume: a completed step run again, a compensation run twice, a run that could not be resumed", () => {
    const at = { runId: "r", at: 0 }
    const crash = [{ atMs: 0, server: "s", tool: "t", call: 0, kind: "Crash", fault: 0, detail: "after" }]
    const started = (resumed: boolean, inFlight: ReadonlyArray<string> = []): FlowEvent => ({ _tag: "FlowStarted", ...at, flow: "f", engine: "sqlite", resumed, inFlight })
    const ok = (path: string, replayed: boolean): FlowEvent => ({ _tag: "StepSucceeded", ...at, path, kind: "step", durationMs: 0, replayed })
    const undone = (path: string, replayed?: boolean): FlowEvent => ({ _tag: "Compensated", ...at, path, durationMs: 0, ...(replayed ? { replayed } : {}) })
    const success = { _tag: "Success", value: 1 } as const
    const good = [started(false), ok("a", false), ok("b/inner", false), started(true, ["b"]), ok("a", true), ok("b/inner", false), ok("b", false), undone("a"), undone("a", true)]
    assert.deepStrictEqual(FlowCrash.violations(good, success, crash), [])
    assert.deepStrictEqual(FlowCrash.violations([...good, ok("a", false), undone("a")], success, []), [], "no crash fired: not checked")
    assert.deepStrictEqual(FlowCrash.violations([...good, ok("a", false), undone("a")], success, crash).map((v) => v.detail), [
      "completed step(s) ran again after a crash: a",
      "compensated more than once: a"
    ])
    const refused = { _tag: "Failure", error: { _tag: "FlowError", reason: { _tag: "NotResumable", message: "run r cannot be resumed: it already succeeded" } } } as const
    assert.deepStrictEqual(FlowCrash.violations(good, refused, crash).map((v) => v.invariant), ["crash-resume"])
  })
})
