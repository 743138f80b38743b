/**
 * `flows/order-saga.ts` on its sandbox, on the TestClock: a completed order and the sandbox's
 * state after it; a declined card, an unknown customer, no stock and an order id charged before
 * (each failure undoes exactly what was done); lost answers resolved by the `find_*` lookups;
 * then a chaos suite over the saga's invariants.
 *
 * Replay a chaos failure with the printed seed: `FC_SEED=<seed> npx vitest run test/flows/order-saga.test.ts`.
 */
import { chaosSeed } from "../../chaos/vitest.ts"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"
import { Chaos, Fault, FlowFacts } from "../../chaos/index.ts"
import { Flow, FlowEngine, GateClosed } from "../../dsl/flow/index.ts"
import orderSaga, { chargeKey, OutcomeUnknown } from "../../flows/order-saga.ts"
import { type CommerceState, makeSandbox } from "../../flows/sandbox/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"

const SERVERS = ["inventory_server", "payment_server", "logistics_server", "crm_server"] as const
type Done = typeof orderSaga.output.Type
type Input = typeof orderSaga.input.Encoded

/** Runs the saga on a fresh sandbox, advancing the TestClock until it ends; `before` runs first on the same sandbox. */
const order = (input: Input, before: ReadonlyArray<Input> = []) =>
  Effect.gen(function*() {
    const sandbox = yield* makeSandbox()
    const run = (i: Input) =>
      Effect.gen(function*() {
        const fiber = yield* Flow.run(orderSaga, i).pipe(
          Effect.provide(FlowEngine.layerMemory),
          Effect.provide(GatewayLayer.layer({ servers: sandbox.servers })),
          Effect.exit,
          Effect.forkChild
        )
        for (let n = 0; n < 5_000 && fiber.pollUnsafe() === undefined; n++) {
          yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
          yield* TestClock.adjust("100 millis")
        }
        return yield* Fiber.join(fiber)
      })
    for (const i of before) yield* run(i)
    const exit = yield* run(input)
    return { exit, state: yield* Ref.get(sandbox.state.commerce) }
  })

const failureOf = <A>(exit: Exit.Exit<A, unknown>): unknown => {
  if (Exit.isSuccess(exit)) return assert.fail("expected the order to fail")
  const f = exit.cause.reasons.find((r) => r._tag === "Fail")
  return f?._tag === "Fail" ? f.error : assert.fail(`no typed failure: ${String(exit.cause)}`)
}

const stockOf = (s: CommerceState, sku: string) => s.stock.get(sku)
const charges = (s: CommerceState, orderId: string) => [...s.charges.values()].filter((c) => c.order_id === orderId)
const liveReservations = (s: CommerceState, orderId: string) => [...s.reservations.values()].filter((r) => r.order_id === orderId && !r.released)
const scheduled = (s: CommerceState, orderId: string) => [...s.shipments.values()].filter((x) => x.order_id === orderId && x.status === "scheduled")
const livePurchases = (s: CommerceState, orderId: string) => [...s.purchases.values()].filter((p) => p.order_id === orderId && !p.reverted)

/** Nothing of the order is left: stock back, charges refunded, shipments cancelled, purchases reverted. */
const undone = (s: CommerceState, orderId: string) =>
  liveReservations(s, orderId).length === 0 && charges(s, orderId).every((c) => c.refund !== undefined) &&
  scheduled(s, orderId).length === 0 && livePurchases(s, orderId).length === 0

describe("order-saga on the sandbox", () => {
  it.effect("a completed order: stock held, one charge under the order's idempotency key, a delivery, a purchase on record", () =>
    Effect.gen(function*() {
      const { exit, state } = yield* order({})
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const done = (exit as Exit.Success<Done>).value
      assert.strictEqual(done.idempotency_key, "order:ord-1001:charge")
      assert.deepStrictEqual(stockOf(state, "SKU-1"), { available: 98, reserved: 2 })
      assert.deepStrictEqual(stockOf(state, "SKU-2"), { available: 24, reserved: 1 })
      assert.deepStrictEqual(charges(state, "ord-1001").map((c) => [c.amount_cents, c.refund]), [[7_498, undefined]])
      assert.strictEqual(state.idempotencyKeys.get(chargeKey("ord-1001")), done.charge_id)
      assert.strictEqual(scheduled(state, "ord-1001").length, 1)
      assert.strictEqual(livePurchases(state, "ord-1001").length, 1)
      assert.deepStrictEqual([state.customers.get("cus-1")?.lifetime_value_cents, state.customers.get("cus-1")?.purchase_count], [132_498, 13])
    }))

  it.effect("a declined card: the reservation is released, nothing else happened", () =>
    Effect.gen(function*() {
      const { exit, state } = yield* order({ card_token: "tok_declined" })
      const error = failureOf(exit)
      assert.match(String((error as Error).message), /card declined/)
      assert.deepStrictEqual(stockOf(state, "SKU-1"), { available: 100, reserved: 0 })
      assert.strictEqual([...state.reservations.values()].filter((r) => r.released).length, 1)
      assert.strictEqual(state.charges.size, 0)
      assert.strictEqual(state.shipments.size, 0)
    }))

  it.effect("an unknown customer fails the last step: delivery cancelled, charge refunded, stock released — in reverse order", () =>
    Effect.gen(function*() {
      const { exit, state } = yield* order({ customer_id: "cus-404" })
      assert.match(String((failureOf(exit) as Error).message), /No such customer/)
      assert.isTrue(undone(state, "ord-1001"))
      assert.strictEqual(charges(state, "ord-1001")[0]?.refund?.amount_cents, 7_498)
      assert.deepStrictEqual([...state.shipments.values()].map((x) => x.status), ["cancelled"])
      assert.deepStrictEqual(stockOf(state, "SKU-2"), { available: 25, reserved: 0 })
    }))

  it.effect("no stock: fails at the first step, nothing to undo", () =>
    Effect.gen(function*() {
      const { exit, state } = yield* order({ items: [{ sku: "SKU-3", quantity: 1 }] })
      assert.match(String((failureOf(exit) as Error).message), /insufficient stock for SKU-3/)
      assert.strictEqual(state.reservations.size + state.charges.size + state.shipments.size, 0)
    }))

  it.effect("an order id charged before (and refunded) is refused: it would not be charged again", () =>
    Effect.gen(function*() {
      const { exit, state } = yield* order({}, [{ customer_id: "cus-404" }])
      const error = failureOf(exit)
      assert.instanceOf(error, GateClosed)
      assert.strictEqual((error as GateClosed).gate, "not charged before")
      assert.match((error as GateClosed).reason, /^order ord-1001 was already charged \(\S+, refunded\): submit it as a new order$/)
      assert.strictEqual(charges(state, "ord-1001").length, 1)
      assert.isTrue(undone(state, "ord-1001"))
    }))

  it.effect("the charge's answer is lost every time: find_charge finds it, the order completes with one charge", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runOnce(chaosSpec({}), Fault.plan(7, [Fault.lostResponse("payment_server.charge_card", {}, "close")]))
      assert.strictEqual(run.outcome._tag, "Success", Chaos.formatRun(run))
      const s = stateOf(run)
      assert.strictEqual(charges(s, "ord-1001").length, 1)
      assert.strictEqual(run.sent.filter((c) => c.tool === "charge_card").length, 3, "three attempts, one key")
      assert.isTrue(run.sent.some((c) => c.tool === "find_charge" && c.end === "answered"))
    }))

  it.effect("lost answers on a later failure: what the lookups found is undone too", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runOnce(
        chaosSpec({ customer_id: "cus-404" }),
        Fault.plan(7, [Fault.lostResponse("inventory_server.reserve_items"), Fault.lostResponse("logistics_server.schedule_delivery")])
      )
      assert.strictEqual(run.outcome._tag, "Failure")
      assert.isTrue(undone(stateOf(run), "ord-1001"), Chaos.formatRun(run))
    }))

  it.effect("a compensation whose answer does not fit the contract is checked by reading the state back: undone, no CompensationsFailed", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runOnce(
        chaosSpec({ customer_id: "cus-404" }),
        Fault.plan(7, [Fault.invalidOutput("inventory_server.release_reservation", "missing-field"), Fault.lostResponse("payment_server.refund_charge")])
      )
      const error = run.outcome._tag === "Failure" ? run.outcome.error : undefined
      assert.match(String((error as Error | undefined)?.message), /No such customer/, Chaos.formatRun(run))
      assert.isFalse(reported(run))
      assert.isTrue(undone(stateOf(run), "ord-1001"))
      assert.isTrue(run.sent.some((c) => c.tool === "get_charge") && run.sent.some((c) => c.tool === "find_reservation"))
    }))

  it.effect("the charge's answer is lost and so is the lookup's: the outcome is unknown and the flow says so; the stock is released", () =>
    Effect.gen(function*() {
      // From 250 ms on (after the order check, before the charge): every payment answer is lost.
      const run = yield* Chaos.runOnce(
        chaosSpec({}),
        Fault.plan(7, [Fault.lostResponse("payment_server.*", { window: { fromMs: 250, toMs: 3_600_000 } }, "close")])
      )
      const error = run.outcome._tag === "Failure" ? run.outcome.error : undefined
      assert.instanceOf(error, OutcomeUnknown, Chaos.formatRun(run))
      assert.match((error as OutcomeUnknown).message, /charge_card for order:ord-1001:charge: unknown whether it happened .*reconcile by hand/)
      const s = stateOf(run)
      assert.strictEqual(liveReservations(s, "ord-1001").length, 0)
      assert.strictEqual(charges(s, "ord-1001").length, 1, "it did happen: reported, never charged twice")
    }))
})

// -----------------------------------------------------------------------------
// Chaos
// -----------------------------------------------------------------------------

/** The saga's sandbox servers as fake-server definitions, with the commerce state as a snapshot. */
const definitions = Effect.flatMap(makeSandbox(), (sandbox) =>
  FlowFacts.definitions(sandbox.servers, SERVERS, { inventory_server: Ref.get(sandbox.state.commerce) }))

/** A charge carrying an idempotency key is deduplicated by the server: each send is its own request for `no-duplicate-request`. */
const requestKey = FlowFacts.requestKeyWhere((c, args) => c.tool === "charge_card" && args.idempotency_key !== undefined)

const chaosSpec = (input: Input): Chaos.Spec<Done, unknown> => ({
  servers: definitions,
  program: Flow.run(orderSaga, input).pipe(Effect.provide(FlowEngine.layerMemory)),
  requestKey
})

type Run = Omit<Chaos.RunResult<Done, unknown>, "violations">
const stateOf = (run: Run): CommerceState => run.snapshots.inventory_server as CommerceState

/** The run said it left something to reconcile: compensations that failed, or an outcome it could not learn. */
const reported = (run: Run): boolean => {
  if (run.outcome._tag !== "Failure") return false
  const e = run.outcome.error
  return e instanceof OutcomeUnknown ||
    (typeof e === "object" && e !== null && "_tag" in e && e._tag === "FlowError" && "reason" in e &&
      typeof e.reason === "object" && e.reason !== null && "_tag" in e.reason && e.reason._tag === "CompensationsFailed")
}

const INITIAL: Readonly<Record<string, number>> = { "SKU-1": 100, "SKU-2": 25, "SKU-3": 0, "SKU-4": 3 }

const invariants = (orderId: string): ReadonlyArray<Chaos.Invariant<Done, unknown>> => [
  {
    name: "a payment is never charged twice for one order",
    holds: (run) => charges(stateOf(run), orderId).length <= 1,
    detail: (run) => `${charges(stateOf(run), orderId).length} charges`
  },
  {
    name: "stock is conserved (available + reserved)",
    holds: (run) => [...stateOf(run).stock].every(([sku, l]) => l.available + l.reserved === INITIAL[sku] && l.available >= 0 && l.reserved >= 0)
  },
  {
    name: "a completed order holds its stock, one live charge, one scheduled delivery and one purchase record",
    holds: (run) => {
      if (run.outcome._tag !== "Success") return true
      const s = stateOf(run)
      const done = run.outcome.value
      return liveReservations(s, orderId).length === 1 && charges(s, orderId).filter((c) => c.refund === undefined).length === 1 &&
        s.idempotencyKeys.get(chargeKey(orderId)) === done.charge_id && scheduled(s, orderId).length === 1 &&
        livePurchases(s, orderId).length === 1
    }
  },
  {
    name: "a charged payment implies a scheduled delivery, or a refund — or the run reported what is left",
    holds: (run) => {
      const s = stateOf(run)
      const unpaidFor = charges(s, orderId).some((c) => c.refund === undefined) && scheduled(s, orderId).length === 0
      return !unpaidFor || reported(run)
    },
    detail: (run) => `outcome: ${run.outcome._tag === "Failure" ? String(run.outcome.error) : run.outcome._tag}`
  },
  {
    name: "reserved inventory is released when the order fails — or the run reported what is left",
    holds: (run) => run.outcome._tag === "Success" || liveReservations(stateOf(run), orderId).length === 0 || reported(run),
    detail: (run) => `outcome: ${run.outcome._tag === "Failure" ? String(run.outcome.error) : run.outcome._tag}`
  },
  {
    name: "a failed order leaves nothing behind — or the run reported what is left",
    holds: (run) => run.outcome._tag === "Success" || undone(stateOf(run), orderId) || reported(run),
    detail: (run) => `outcome: ${run.outcome._tag === "Failure" ? String(run.outcome.error) : run.outcome._tag}`
  }
]

const seedOf = (offset: number) => chaosSeed("order-saga chaos", offset)

describe("order-saga chaos", () => {
  for (const [label, input, runs, offset] of [
    ["an order that completes", {}, 200, 0],
    ["an order that fails at its last step (unknown customer)", { customer_id: "cus-404" }, 100, 1]
  ] as const) {
    it.effect(`${label}: never charged twice, charged implies delivered or refunded, stock released on failure`, () =>
      Effect.gen(function*() {
        const seed = seedOf(offset)
        const report = yield* Chaos.check({ ...chaosSpec(input), invariants: invariants("ord-1001"), runs, seed })
        console.log(`order-saga chaos (${label}): seed ${seed} — replay with FC_SEED=${seed}\n${Chaos.format(report)}`)
        assert.isTrue(report.ok, Chaos.format(report))
      }), 60_000)
  }
})
