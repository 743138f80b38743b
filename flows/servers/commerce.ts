/**
 * Contracts of the order-processing saga's servers (seed 001): `inventory_server`,
 * `payment_server`, `logistics_server` and `crm_server`, each action with its compensation
 * (`reserve_items`/`release_reservation`, `charge_card`/`refund_charge`,
 * `schedule_delivery`/`cancel_shipment`, `record_purchase`/`revert_purchase_record`), a
 * read-only lookup that chaos invariants can check, and a read-only `find_*` by business key
 * (order id, idempotency key) that resolves an action whose answer was lost: did it happen?
 *
 * Amounts are integers in minor units (`amount_cents`). Compensations are idempotent: a second
 * release, refund, cancel or revert answers the first one's result and changes nothing.
 *
 * @example
 * ```ts
 * import { Inventory, Payment } from "./commerce.ts"
 * const reserved = Inventory.reserve_items({ order_id: "ord-1", items: [{ sku: "SKU-1", quantity: 2 }] })
 * ```
 * @module
 */
import { Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import { Count, PositiveInt, Timestamp } from "./common.ts"

/**
 * An order line.
 *
 * @example
 * ```ts
 * const l: typeof OrderLine.Type = { sku: "SKU-1", quantity: 2 }
 * ```
 */
export const OrderLine = Schema.Struct({ sku: Schema.String, quantity: PositiveInt })

/**
 * Currencies the payment server accepts.
 *
 * @example
 * ```ts
 * const c: typeof Currency.Type = "EUR"
 * ```
 */
export const Currency = Schema.Literals(["USD", "EUR", "GBP"])

/**
 * The inventory server. `reserve_items` is keyed by `order_id`: reserving again for the same
 * order answers the existing reservation (idempotent). It fails when stock is short.
 *
 * @example
 * ```ts
 * const { reservation_id } = yield* Inventory.reserve_items({ order_id: "ord-1", items: [{ sku: "SKU-1", quantity: 2 }] })
 * yield* Inventory.release_reservation({ reservation_id }) // compensation
 * ```
 */
export const Inventory = Tool.server("inventory_server", {
  reserve_items: Tool.define({
    description: "Reserve stock for an order (keyed by order_id: repeating it answers the same reservation); fails when stock is short",
    input: Schema.Struct({ order_id: Schema.String, items: Schema.Array(OrderLine) }),
    output: Schema.Struct({
      reservation_id: Schema.String,
      order_id: Schema.String,
      items: Schema.Array(OrderLine),
      status: Schema.Literals(["reserved"]),
      expires_at: Timestamp
    }),
    annotations: { idempotent: true, destructive: false }
  }),
  release_reservation: Tool.define({
    description: "Compensation of reserve_items: return a reservation's stock (idempotent; unknown or released ids change nothing)",
    input: Schema.Struct({ reservation_id: Schema.String }),
    output: Schema.Struct({ reservation_id: Schema.String, released: Schema.Boolean, items_returned: Count }),
    annotations: { idempotent: true, destructive: true }
  }),
  find_reservation: Tool.define({
    description: "The reservation of an order, if any (the active one first): resolves a reserve_items call whose answer was lost",
    input: Schema.Struct({ order_id: Schema.String }),
    output: Schema.Struct({
      order_id: Schema.String,
      found: Schema.Boolean,
      reservation_id: Schema.optionalKey(Schema.String),
      status: Schema.optionalKey(Schema.Literals(["reserved", "released"]))
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  check_stock: Tool.define({
    description: "Available and reserved stock of a SKU",
    input: Schema.Struct({ sku: Schema.String }),
    output: Schema.Struct({ sku: Schema.String, available: Count, reserved: Count }),
    annotations: { readOnly: true, idempotent: true }
  })
})

const ChargeStatus = Schema.Literals(["succeeded", "refunded", "partially_refunded"])

/**
 * The payment server. `charge_card` is NOT idempotent: a retry without `idempotency_key` may
 * charge twice. With a key, a repeated charge answers the first charge and moves no money.
 * `refund_charge` is idempotent per charge: refunding a refunded charge answers the same refund.
 *
 * @example
 * ```ts
 * const { charge_id } = yield* Payment.charge_card({ order_id: "ord-1", amount_cents: 4999, currency: "USD", card_token: "tok_visa", idempotency_key: "ord-1" })
 * yield* Payment.refund_charge({ charge_id, reason: "order_failed" }) // compensation
 * ```
 */
export const Payment = Tool.server("payment_server", {
  charge_card: Tool.define({
    description:
      "Charge a card. Not idempotent: retrying without idempotency_key may charge twice; with the same idempotency_key the first charge is answered and no money moves. Fails with 'card declined' (card_token tok_declined, tok_insufficient_funds)",
    input: Schema.Struct({
      order_id: Schema.String,
      amount_cents: PositiveInt,
      currency: Currency,
      card_token: Schema.String,
      idempotency_key: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({
      charge_id: Schema.String,
      order_id: Schema.String,
      status: Schema.Literals(["succeeded"]),
      amount_cents: PositiveInt,
      currency: Currency,
      created_at: Timestamp
    }),
    annotations: { idempotent: false, destructive: false, openWorld: true }
  }),
  refund_charge: Tool.define({
    description: "Compensation of charge_card: refund a charge in full (or `amount_cents` of it); idempotent per charge (a refunded charge answers its refund)",
    input: Schema.Struct({
      charge_id: Schema.String,
      amount_cents: Schema.optionalKey(PositiveInt),
      reason: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({
      refund_id: Schema.String,
      charge_id: Schema.String,
      status: Schema.Literals(["succeeded"]),
      amount_cents: PositiveInt
    }),
    annotations: { idempotent: true, destructive: true, openWorld: true }
  }),
  find_charge: Tool.define({
    description: "The charge made under an idempotency key, if any: resolves a charge_card call whose answer was lost",
    input: Schema.Struct({ idempotency_key: Schema.String }),
    output: Schema.Struct({
      idempotency_key: Schema.String,
      found: Schema.Boolean,
      charge_id: Schema.optionalKey(Schema.String),
      status: Schema.optionalKey(ChargeStatus)
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  get_charge: Tool.define({
    description: "A charge's current status and refunded amount",
    input: Schema.Struct({ charge_id: Schema.String }),
    output: Schema.Struct({
      charge_id: Schema.String,
      order_id: Schema.String,
      status: ChargeStatus,
      amount_cents: PositiveInt,
      refunded_cents: Count
    }),
    annotations: { readOnly: true, idempotent: true }
  })
})

/**
 * A delivery address.
 *
 * @example
 * ```ts
 * const a: typeof Address.Type = { line1: "1 Main St", city: "Springfield", postal_code: "12345", country: "US" }
 * ```
 */
export const Address = Schema.Struct({
  line1: Schema.String,
  city: Schema.String,
  postal_code: Schema.String,
  country: Schema.String
})

const ShipmentStatus = Schema.Literals(["scheduled", "in_transit", "delivered", "cancelled"])

/**
 * The logistics server. `schedule_delivery` is keyed by `order_id` (repeating it answers the
 * same shipment); `cancel_shipment` is idempotent.
 *
 * @example
 * ```ts
 * const { shipment_id } = yield* Logistics.schedule_delivery({ order_id: "ord-1", address: { line1: "1 Main St", city: "Springfield", postal_code: "12345", country: "US" } })
 * yield* Logistics.cancel_shipment({ shipment_id }) // compensation
 * ```
 */
export const Logistics = Tool.server("logistics_server", {
  schedule_delivery: Tool.define({
    description: "Schedule a delivery for an order (keyed by order_id: repeating it answers the same shipment)",
    input: Schema.Struct({
      order_id: Schema.String,
      address: Address,
      items: Schema.optionalKey(Schema.Array(OrderLine)),
      service_level: Schema.optionalKey(Schema.Literals(["standard", "express", "overnight"]))
    }),
    output: Schema.Struct({
      shipment_id: Schema.String,
      order_id: Schema.String,
      carrier: Schema.String,
      status: ShipmentStatus,
      estimated_delivery: Timestamp
    }),
    annotations: { idempotent: true }
  }),
  cancel_shipment: Tool.define({
    description: "Compensation of schedule_delivery: cancel a shipment (idempotent); fails once it is in transit",
    input: Schema.Struct({ shipment_id: Schema.String, reason: Schema.optionalKey(Schema.String) }),
    output: Schema.Struct({ shipment_id: Schema.String, status: Schema.Literals(["cancelled"]) }),
    annotations: { idempotent: true, destructive: true }
  }),
  find_shipment: Tool.define({
    description: "The shipment of an order, if any (the live one first): resolves a schedule_delivery call whose answer was lost",
    input: Schema.Struct({ order_id: Schema.String }),
    output: Schema.Struct({
      order_id: Schema.String,
      found: Schema.Boolean,
      shipment_id: Schema.optionalKey(Schema.String),
      status: Schema.optionalKey(ShipmentStatus)
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  get_shipment: Tool.define({
    description: "A shipment's status",
    input: Schema.Struct({ shipment_id: Schema.String }),
    output: Schema.Struct({ shipment_id: Schema.String, order_id: Schema.String, status: ShipmentStatus, carrier: Schema.String }),
    annotations: { readOnly: true, idempotent: true }
  })
})

/**
 * A customer profile as the CRM keeps it.
 *
 * @example
 * ```ts
 * const c: typeof Customer.Type = { id: "cus-1", name: "Ada Lovelace", email: "ada@example.com", tier: "gold", lifetime_value_cents: 125000, purchase_count: 12, created_at: "2021-03-04T00:00:00.000Z" }
 * ```
 */
export const Customer = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  email: Schema.String,
  tier: Schema.Literals(["standard", "gold", "platinum"]),
  lifetime_value_cents: Count,
  purchase_count: Count,
  created_at: Timestamp
})

/**
 * The CRM server. `record_purchase` is keyed by `order_id`; `revert_purchase_record` is
 * idempotent.
 *
 * @example
 * ```ts
 * const { record_id } = yield* Crm.record_purchase({ customer_id: "cus-1", order_id: "ord-1", amount_cents: 4999 })
 * yield* Crm.revert_purchase_record({ record_id }) // compensation
 * const customer = yield* Crm.get_customer({ id: "cus-1" })
 * ```
 */
export const Crm = Tool.server("crm_server", {
  record_purchase: Tool.define({
    description: "Record a purchase on a customer's history (keyed by order_id: repeating it answers the same record)",
    input: Schema.Struct({
      customer_id: Schema.String,
      order_id: Schema.String,
      amount_cents: PositiveInt,
      items: Schema.optionalKey(Schema.Array(OrderLine))
    }),
    output: Schema.Struct({
      record_id: Schema.String,
      customer_id: Schema.String,
      lifetime_value_cents: Count,
      purchase_count: Count
    }),
    annotations: { idempotent: true }
  }),
  revert_purchase_record: Tool.define({
    description: "Compensation of record_purchase: remove the record from the customer's history (idempotent)",
    input: Schema.Struct({ record_id: Schema.String }),
    output: Schema.Struct({ record_id: Schema.String, reverted: Schema.Boolean, lifetime_value_cents: Count }),
    annotations: { idempotent: true, destructive: true }
  }),
  find_purchase: Tool.define({
    description: "The purchase record of an order, if any (the live one first): resolves a record_purchase call whose answer was lost",
    input: Schema.Struct({ order_id: Schema.String }),
    output: Schema.Struct({
      order_id: Schema.String,
      found: Schema.Boolean,
      record_id: Schema.optionalKey(Schema.String),
      reverted: Schema.optionalKey(Schema.Boolean)
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  get_customer: Tool.define({
    description: "A customer's profile; fails when the id is unknown",
    input: Schema.Struct({ id: Schema.String }),
    output: Customer,
    annotations: { readOnly: true, idempotent: true }
  })
})
