import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { Arbitraries, Chaos, Fault, Models } from "../../chaos/index.ts"
import type { McpflowToolError } from "../../dsl/index.ts"
import { InventoryApi, Payment, sagaServers, suiteSeed } from "./support.ts"

const seed = suiteSeed("chaos check")

const ledgerOf = (run: { readonly snapshots: Readonly<Record<string, unknown>> }) => run.snapshots.payment as Models.Ledger.LedgerSnapshot

const chargedAtMostOnce: Chaos.Invariant<unknown, McpflowToolError> = {
  name: "order o1 charged at most once",
  holds: (run) => Models.Ledger.chargesFor(ledgerOf(run), "o1").length <= 1,
  detail: (run) => `order o1 has ${Models.Ledger.chargesFor(ledgerOf(run), "o1").length} charges`
}

const order = (charge: Effect.Effect<unknown, McpflowToolError, Payment>) =>
  Effect.gen(function*() {
    yield* InventoryApi.reserve({ sku: "widget", quantity: 1, order_id: "o1" })
    return yield* charge
  })
type Payment = Effect.Services<ReturnType<typeof Payment.charge>>

/** The bug: a non-idempotent charge retried on Timeout, without an idempotency key. */
const broken = order(
  Payment.charge({ order_id: "o1", amount: 25 }, { timeout: "5 seconds" }).pipe(
    Effect.retry({ times: 3, while: (e) => e.reason._tag === "Timeout" })
  )
)

/**
 * The fix: an idempotency key, and retries only of transient errors whose request surely did not
 * arrive. (`!mayHaveReachedServer` alone is not enough: it is false for `InvalidOutput`, whose
 * call did run — the harness found that; see the report.)
 */
const fixed = order(
  Payment.charge({ order_id: "o1", amount: 25, idempotency_key: "o1-charge" }, { timeout: "5 seconds" }).pipe(
    Effect.retry({ times: 3, while: (e) => e.transient && !e.mayHaveReachedServer })
  )
)

describe("Chaos.check", () => {
  it.effect("catches a retried non-idempotent payment within 200 runs, shrunk to ≤ 3 faults, and replays it", () =>
    Effect.gen(function*() {
      const report = yield* Chaos.check({ servers: sagaServers, program: broken, invariants: [chargedAtMostOnce], runs: 200, seed })
      console.log(Chaos.format(report))
      assert.isFalse(report.ok)
      const cx = report.counterexample!
      assert.isAtMost(cx.plan.faults.length, 3)
      assert.isAtLeast(cx.log.length, 1)
      // Two minimal counterexamples exist: a lost response the program retries (its resend breaks
      // no-duplicate-request and the ledger) and, on some seeds, a request duplicated on the wire
      // (no resend by the program: only the ledger invariant breaks; the fixed twin's key survives it).
      const names = cx.violations.map((v) => v.invariant)
      if (cx.plan.faults.some((f) => f._tag === "DuplicateMessage")) assert.include(names, chargedAtMostOnce.name, Chaos.formatRun(cx))
      else assert.include(names, "no-duplicate-request", Chaos.formatRun(cx))
      const again = yield* Chaos.replay({ servers: sagaServers, program: broken, invariants: [chargedAtMostOnce] }, report.token!)
      assert.deepStrictEqual(again.violations, cx.violations)
      assert.strictEqual(JSON.stringify(again.log), JSON.stringify(cx.log))
    }))

  it.effect("the lost response alone shows the double charge on the ledger", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runOnce(
        { servers: sagaServers, program: broken, invariants: [chargedAtMostOnce] },
        Fault.plan(0, [Fault.lostResponse("payment.charge", { burst: 1 })])
      )
      assert.deepStrictEqual(run.violations.map((v) => v.invariant).sort(), ["no-duplicate-request", "order o1 charged at most once"])
      assert.strictEqual(Models.Ledger.chargesFor(ledgerOf(run), "o1").length, 4)
    }))

  it.effect("the fixed program holds every invariant", () =>
    Effect.gen(function*() {
      const report = yield* Chaos.check({
        servers: sagaServers,
        program: fixed,
        invariants: [chargedAtMostOnce, { name: "ledger consistent", holds: (run) => Models.Ledger.check(ledgerOf(run)).length === 0 }],
        runs: 100,
        seed,
        faults: { rate: 0.2 }
      })
      assert.isTrue(report.ok, Chaos.format(report))
    }))

  it.effect("same seed → byte-identical injection logs and reports", () =>
    Effect.gen(function*() {
      const program = Effect.forEach(
        [1, 2, 3, 4, 5, 6],
        (i) => Effect.exit(InventoryApi.reserve({ sku: "widget", quantity: 1, order_id: `o${i}` }, { timeout: "2 seconds" })),
        { concurrency: 3 }
      )
      const spec = { servers: sagaServers, program }
      const [plan] = fc.sample(Arbitraries.faultPlan({ targets: [{ server: "inventory", tool: "reserve" }], rate: 0.5, minFaults: 3, maxFaults: 4 }), { seed, numRuns: 1 })
      const runs = yield* Effect.forEach([1, 2], () => Chaos.runOnce(spec, plan!))
      const text = runs.map((r) => JSON.stringify({ log: r.log, sent: r.sent, stats: r.stats, snapshots: r.snapshots, durationMs: r.durationMs }))
      assert.strictEqual(text[0], text[1])
      const reports = yield* Effect.forEach([1, 2], () => Chaos.check({ servers: sagaServers, program: broken, runs: 50, seed, faults: { rate: 0.5, kinds: ["LostResponse", "Hang", "Latency"] } }))
      assert.strictEqual(reports[0]!.token, reports[1]!.token)
      assert.strictEqual(JSON.stringify(reports[0]!.counterexample?.log), JSON.stringify(reports[1]!.counterexample?.log))
    }))

  it.effect("built-in invariants: concurrency bound, allowlist, hang, defect", () =>
    Effect.gen(function*() {
      const fanOut = Effect.forEach([1, 2, 3, 4, 5, 6], (i) => InventoryApi.reserve({ sku: "widget", quantity: 1, order_id: `o${i}` }), { concurrency: 3 })
      const run = yield* Chaos.runOnce(
        { servers: sagaServers, program: Effect.andThen(InventoryApi.stock({ sku: "widget" }), fanOut), maxConcurrency: { "inventory.reserve": 2, inventory: 3 }, allow: ["inventory.reserve"] },
        Fault.none
      )
      assert.deepStrictEqual(run.stats.map((s) => [s.tool, s.sent, s.executed, s.peakInFlight]), [["reserve", 6, 6, 3], ["stock", 1, 1, 1]])
      assert.deepStrictEqual(run.violations.map((v) => v.invariant), ["allowlist", "concurrency"])
      const hung = yield* Chaos.runOnce({ servers: sagaServers, program: InventoryApi.stock({ sku: "w" }), deadline: "30 seconds" }, Fault.plan(0, [Fault.hang("inventory.stock")]))
      assert.deepStrictEqual(hung.violations.map((v) => v.invariant), ["never-hangs"])
      assert.strictEqual(hung.outcome._tag, "Hang")
      const died = yield* Chaos.runOnce({ servers: sagaServers, program: Effect.die("boom") }, Fault.none)
      assert.deepStrictEqual(died.violations.map((v) => v.invariant), ["typed-outcome"])
    }))

  it.effect("a correct program holds every invariant over 200 runs at a 20 % fault rate", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        yield* InventoryApi.stock({ sku: "widget" })
        yield* InventoryApi.reserve({ sku: "widget", quantity: 1, order_id: "o1" })
        return yield* Payment.charge({ order_id: "o1", amount: 25, idempotency_key: "k" }, { timeout: "5 seconds" })
      })
      const report = yield* Chaos.check({ servers: sagaServers, program, runs: 200, seed, faults: { rate: 0.2, maxFaults: 3 } })
      assert.strictEqual(report.runs, 200)
      assert.isTrue(report.ok, Chaos.format(report))
    }))
})
