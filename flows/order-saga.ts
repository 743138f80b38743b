/**
 * The seeds' order-processing saga: reserve inventory → charge payment → schedule delivery →
 * record purchase, each step with its compensation (release the reservation, refund the charge,
 * cancel the shipment, revert the purchase record). When a step fails, the completed steps are
 * undone in reverse order, each at most once, and the flow fails with the step's typed error —
 * or with `CompensationsFailed` naming what could not be undone.
 *
 * Two things make it safe to retry and to undo:
 *
 * - the charge carries an idempotency key derived from the order id (`order:<id>:charge`), so a
 *   retried charge answers the first charge and never moves money twice;
 * - a call that failed after it may have reached its server (a timeout, a lost connection, an
 *   answer that did not fit the contract, or a transient failure after retries) is resolved by asking the server, by business key,
 *   whether it happened (`find_reservation`, `find_charge`, `find_shipment`, `find_purchase`):
 *   if it did, the step succeeded and its compensation is armed; if it did not, the step failed
 *   cleanly; if even the lookup fails, the flow fails with `OutcomeUnknown`, which says what to
 *   reconcile by hand — never silently. A compensation whose own answer was lost is checked the
 *   same way (`get_charge`, `get_shipment`, …): undone is undone, whatever the answer said.
 *
 * Run it on the built-in sandbox servers (in-process fakes, nothing real is touched):
 *
 * ```sh
 * npx tsx flows/order-saga.ts                                            # a sample order, exit 0
 * npx tsx flows/order-saga.ts --input '{"card_token":"tok_declined"}'    # declined: the reservation is released, exit 1
 * npx tsx flows/order-saga.ts --input '{"customer_id":"cus-404"}'        # unknown customer: every step undone, exit 1
 * npx tsx flows/order-saga.ts --input '{"items":[{"sku":"SKU-3","quantity":1}]}'   # out of stock: nothing to undo, exit 1
 * npx tsx flows/order-saga.ts --input @order.json --config .mcp.json     # real servers
 * npx mcpflow plan flows/order-saga.ts                                   # its structure and compensations
 * npx vitest run test/flows/order-saga.test.ts                           # sandbox runs and the chaos suite
 * ```
 * @module
 */
import { Effect, Schema } from "effect"
import { Flow, OutcomeUnknown, resolveByLookup, saga, step, verifiedUndo } from "../dsl/flow/index.ts"
import { main } from "../src/app/run/FlowFile.ts"
import { sandboxServers } from "./sandbox/index.ts"
import { Address, Crm, Currency, Inventory, Logistics, OrderLine, Payment } from "./servers/commerce.ts"
import { PositiveInt } from "./servers/common.ts"

// -----------------------------------------------------------------------------
// Input and output
// -----------------------------------------------------------------------------

const orDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** An order; every field has a sample default so the flow runs with no input. */
const Input = Schema.Struct({
  order_id: orDefault(Schema.String, "ord-1001"),
  customer_id: orDefault(Schema.String, "cus-1"),
  items: orDefault(Schema.Array(OrderLine).check(Schema.isMinLength(1)), [{ sku: "SKU-1", quantity: 2 }, { sku: "SKU-2", quantity: 1 }]),
  amount_cents: orDefault(PositiveInt, 7_498),
  currency: orDefault(Currency, "USD"),
  card_token: orDefault(Schema.String, "tok_visa"),
  address: orDefault(Address, { line1: "1 Main St", city: "Springfield", postal_code: "12345", country: "US" }),
  service_level: orDefault(Schema.Literals(["standard", "express", "overnight"]), "standard")
})
type Order = typeof Input.Type

const Output = Schema.Struct({
  order_id: Schema.String,
  status: Schema.Literal("completed"),
  reservation_id: Schema.String,
  charge_id: Schema.String,
  idempotency_key: Schema.String,
  shipment_id: Schema.String,
  record_id: Schema.String
})

/** Re-exported: a keyed call whose outcome could not be found out (see `resolveByLookup`). */
export { OutcomeUnknown }

// -----------------------------------------------------------------------------
// Policies and the lost-answer resolution
// -----------------------------------------------------------------------------

const backoff = { kind: "exponential", initial: "200 millis", max: "5 seconds" } as const

/** Keyed actions (by order id or idempotency key): safe to retry, even after a lost answer. */
const actionPolicy = { retry: { maxAttempts: 3, backoff, jitter: "full" }, timeout: "15 seconds" } as const

/** The charge: not idempotent by contract, made safe by its idempotency key. */
const chargePolicy = { retry: { maxAttempts: 3, backoff, jitter: "full", retryNonIdempotent: true }, timeout: "30 seconds" } as const

/** Lookups and compensations: idempotent, worth more patience. */
const patientPolicy = { retry: { maxAttempts: 5, backoff, jitter: "full" }, timeout: "15 seconds" } as const



// -----------------------------------------------------------------------------
// The saga's steps
// -----------------------------------------------------------------------------

const reserve = (order: Order) =>
  step(
    "reserve inventory",
    resolveByLookup(
      Inventory.reserve_items({ order_id: order.order_id, items: order.items }, { policy: actionPolicy }).pipe(
        Effect.map((r) => ({ reservation_id: r.reservation_id }))
      ),
      Inventory.find_reservation({ order_id: order.order_id }, { policy: patientPolicy }).pipe(
        Effect.map((f) => (f.found && f.status === "reserved" && f.reservation_id !== undefined ? { reservation_id: f.reservation_id } : undefined))
      ),
      { action: "inventory_server.reserve_items", key: order.order_id }
    ),
    {
      description: "inventory_server.reserve_items, keyed by order id",
      compensate: ({ reservation_id }) =>
        verifiedUndo(
          Inventory.release_reservation({ reservation_id }, { policy: patientPolicy }),
          Inventory.find_reservation({ order_id: order.order_id }, { policy: patientPolicy }).pipe(
            Effect.map((f) => f.reservation_id === reservation_id && f.status === "released")
          )
        )
    }
  )

const charge = (order: Order, idempotency_key: string) =>
  step(
    "charge payment",
    resolveByLookup(
      Payment.charge_card({
        order_id: order.order_id,
        amount_cents: order.amount_cents,
        currency: order.currency,
        card_token: order.card_token,
        idempotency_key
      }, { policy: chargePolicy }).pipe(Effect.map((c) => ({ charge_id: c.charge_id }))),
      Payment.find_charge({ idempotency_key }, { policy: patientPolicy }).pipe(
        Effect.map((f) => (f.found && f.status === "succeeded" && f.charge_id !== undefined ? { charge_id: f.charge_id } : undefined))
      ),
      { action: "payment_server.charge_card", key: idempotency_key }
    ),
    {
      description: `payment_server.charge_card with idempotency key order:<order_id>:charge`,
      compensate: ({ charge_id }) =>
        verifiedUndo(
          Payment.refund_charge({ charge_id, reason: "order_failed" }, { policy: patientPolicy }),
          Payment.get_charge({ charge_id }, { policy: patientPolicy }).pipe(Effect.map((c) => c.status === "refunded"))
        )
    }
  )

const schedule = (order: Order) =>
  step(
    "schedule delivery",
    resolveByLookup(
      Logistics.schedule_delivery({
        order_id: order.order_id,
        address: order.address,
        items: order.items,
        service_level: order.service_level
      }, { policy: actionPolicy }).pipe(Effect.map((s) => ({ shipment_id: s.shipment_id }))),
      Logistics.find_shipment({ order_id: order.order_id }, { policy: patientPolicy }).pipe(
        Effect.map((f) => (f.found && f.status !== "cancelled" && f.shipment_id !== undefined ? { shipment_id: f.shipment_id } : undefined))
      ),
      { action: "logistics_server.schedule_delivery", key: order.order_id }
    ),
    {
      description: "logistics_server.schedule_delivery, keyed by order id",
      compensate: ({ shipment_id }) =>
        verifiedUndo(
          Logistics.cancel_shipment({ shipment_id, reason: "order_failed" }, { policy: patientPolicy }),
          Logistics.get_shipment({ shipment_id }, { policy: patientPolicy }).pipe(Effect.map((x) => x.status === "cancelled"))
        )
    }
  )

const record = (order: Order) =>
  step(
    "record purchase",
    resolveByLookup(
      Crm.record_purchase({
        customer_id: order.customer_id,
        order_id: order.order_id,
        amount_cents: order.amount_cents,
        items: order.items
      }, { policy: actionPolicy }).pipe(Effect.map((p) => ({ record_id: p.record_id }))),
      Crm.find_purchase({ order_id: order.order_id }, { policy: patientPolicy }).pipe(
        Effect.map((f) => (f.found && f.reverted !== true && f.record_id !== undefined ? { record_id: f.record_id } : undefined))
      ),
      { action: "crm_server.record_purchase", key: order.order_id }
    ),
    {
      description: "crm_server.record_purchase, keyed by order id",
      compensate: ({ record_id }) =>
        verifiedUndo(
          Crm.revert_purchase_record({ record_id }, { policy: patientPolicy }),
          Crm.find_purchase({ order_id: order.order_id }, { policy: patientPolicy }).pipe(
            Effect.map((f) => f.record_id === record_id && f.reverted === true)
          )
        )
    }
  )

// -----------------------------------------------------------------------------
// The flow
// -----------------------------------------------------------------------------

/**
 * The idempotency key of an order's charge: the same for every attempt and every re-run of the
 * order, so the payment server never charges it twice.
 *
 * @example
 * ```ts
 * chargeKey("ord-1001") // => "order:ord-1001:charge"
 * ```
 */
export const chargeKey = (orderId: string): string => `order:${orderId}:charge`

/**
 * The saga.
 *
 * @example
 * ```ts
 * const done = yield* Flow.run(orderSaga, { order_id: "ord-7", card_token: "tok_visa" })
 * done.charge_id
 * ```
 */
const orderSaga = Flow.make({
  name: "order-saga",
  description: "Reserve inventory, charge payment, schedule delivery and record the purchase; undo the completed steps when one fails",
  input: Input,
  output: Output,
  uses: [
    Inventory.reserve_items,
    Inventory.find_reservation,
    Inventory.release_reservation,
    Payment.charge_card,
    Payment.find_charge,
    Payment.refund_charge,
    Payment.get_charge,
    Logistics.schedule_delivery,
    Logistics.find_shipment,
    Logistics.cancel_shipment,
    Logistics.get_shipment,
    Crm.record_purchase,
    Crm.find_purchase,
    Crm.revert_purchase_record
  ],
  run: (order) =>
    saga(
      "order",
      Effect.gen(function*() {
        const idempotency_key = chargeKey(order.order_id)
        // A new run of an order that was charged before (and maybe refunded) must not "succeed"
        // on the old charge. A resumed run replays this step from its journal.
        const earlier = yield* step("check order", Payment.find_charge({ idempotency_key }, { policy: patientPolicy }), {
          description: "payment_server.find_charge: refuse an order id that was charged before"
        })
        // It would answer that charge again under the same key, moving no money: resubmit as a new order.
        yield* Flow.gate(
          "not charged before",
          !earlier.found,
          () => `order ${order.order_id} was already charged (${earlier.charge_id ?? "?"}, ${earlier.status ?? "?"}): submit it as a new order`
        )
        const { reservation_id } = yield* reserve(order)
        const { charge_id } = yield* charge(order, idempotency_key)
        const { shipment_id } = yield* schedule(order)
        const { record_id } = yield* record(order)
        return { order_id: order.order_id, status: "completed" as const, reservation_id, charge_id, idempotency_key, shipment_id, record_id }
      })
    )
})

export default orderSaga

/** The built-in sandbox: fake inventory, payment, logistics and CRM servers (stock, cards and customers in `flows/sandbox/commerce.ts`). */
export const sandbox = Effect.map(sandboxServers(), (all) => ({
  inventory_server: all.inventory_server!,
  payment_server: all.payment_server!,
  logistics_server: all.logistics_server!,
  crm_server: all.crm_server!
}))

main(import.meta, orderSaga, { sandbox })
