/**
 * Not a test: measures how reliably the harness catches the deliberately broken programs and
 * flows of `check.test.ts` and `brokenFlows.test.ts` (default fault mix) — for N seeds, each
 * check (200 runs) must fail, on the expected invariant, shrunk to ≤ 3 faults.
 *
 * ```sh
 * npx tsx test/chaos/seedSweep.ts 100 1    # seeds 1..100
 * ```
 */
import { Effect } from "effect"
import { Chaos, Fault, Models } from "../../chaos/index.ts"
import { fanOutFlow, orderAtomic, orderFlow, shopServers, statusFlow } from "./shop.ts"
import { InventoryApi, Payment, sagaServers } from "./support.ts"

const N = Number(process.argv[2] ?? 100)
const first = Number(process.argv[3] ?? 1)

const ledgerOf = (run: { readonly snapshots: Readonly<Record<string, unknown>> }) => run.snapshots.payment as Models.Ledger.LedgerSnapshot
const retriedCharge = Effect.gen(function*() {
  yield* InventoryApi.reserve({ sku: "widget", quantity: 1, order_id: "o1" })
  return yield* Payment.charge({ order_id: "o1", amount: 25 }, { timeout: "5 seconds" }).pipe(
    Effect.retry({ times: 3, while: (e) => e.reason._tag === "Timeout" })
  )
})

const order = { input: { orderId: "o1", amount: 25 }, servers: shopServers, runs: 200 } as const
const refusals = {
  kinds: ["ToolError", "JsonRpcError", "RateLimited", "ConnectionDrop"] as Array<Fault.FaultKind>,
  targets: [{ server: "stock", tool: "reserve" }, { server: "pay", tool: "charge" }, { server: "ship", tool: "schedule" }],
  wildcards: false
}

type Found = { readonly ok: boolean; readonly runs: number; readonly violations: ReadonlyArray<string>; readonly faults: number }
const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, (seed: number) => Effect.Effect<Found>]> = [
  ["check.test: retried charge", ["no-duplicate-request", "charged at most once"], (seed) =>
    Effect.map(
      Chaos.check({
        servers: sagaServers,
        program: retriedCharge,
        invariants: [{ name: "charged at most once", holds: (run) => Models.Ledger.chargesFor(ledgerOf(run), "o1").length <= 1 }],
        runs: 200,
        seed
      }),
      (r) => ({ ok: r.ok, runs: r.runs, violations: r.counterexample?.violations.map((v) => v.invariant) ?? [], faults: r.counterexample?.plan.faults.length ?? 0 })
    )],
  ...([
    ["saga without compensation", "atomic: order", orderFlow("a", { refund: false }), { ...order, invariants: [orderAtomic], faults: refusals }],
    ["retry around a payment", "no-duplicate-request", orderFlow("b", { chargeRetries: 3 }), order],
    ["missing timeout", "never-hangs", statusFlow("c", false), { input: { service: "api" }, servers: shopServers, runs: 200, deadline: "30 seconds", limits: { connectTimeoutMs: 5_000 } }],
    ["unbounded fan-out", "concurrency", fanOutFlow("d", undefined), { input: { orders: 8 }, servers: shopServers, runs: 200, maxConcurrency: { stock: 3 } }],
    ["swallowing fallback", "atomic: order", orderFlow("e", { swallow: true }), { ...order, invariants: [orderAtomic], faults: refusals }]
  ] as const).map(([name, invariant, flow, options]) =>
    [name, [invariant], (seed: number) =>
      Effect.map(
        Chaos.checkFlow(flow as never, { ...(options as object), seed } as never),
        (r: Chaos.FlowCheckReport<unknown, unknown>) => ({ ok: r.ok, runs: r.runs, violations: r.counterexample?.violations.map((v) => v.invariant) ?? [], faults: r.counterexample?.plan.faults.length ?? 0 })
      )] as const
  )
]

const started = performance.now()
for (const [name, expected, check] of cases) {
  let missed = 0
  let wrong = 0
  let big = 0
  let maxRuns = 0
  for (let seed = first; seed < first + N; seed++) {
    const found = await Effect.runPromise(check(seed))
    if (found.ok) {
      missed++
      console.log(`  missed: ${name}, seed ${seed}`)
      continue
    }
    maxRuns = Math.max(maxRuns, found.runs)
    if (!found.violations.some((v) => expected.includes(v))) wrong++
    if (found.faults > 3) big++
  }
  console.log(`${name}: missed ${missed}/${N}, other invariant ${wrong}, > 3 faults ${big}, caught by run ${maxRuns} at worst`)
}
console.log(`seeds ${first}..${first + N - 1} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
