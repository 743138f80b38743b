/**
 * Sandbox fakes of the order saga's servers: `inventory_server`, `payment_server`,
 * `logistics_server` and `crm_server`, with their state in one `Ref` so a chaos suite can
 * check the saga's invariants after a run (a charge implies a delivery or a refund; a failed
 * order's stock is released).
 *
 * Stock: SKU-1 100, SKU-2 25, SKU-3 0 (out of stock), SKU-4 3. Customers: cus-1, cus-2, cus-3.
 * Cards `tok_declined` and `tok_insufficient_funds` are declined.
 *
 * @example
 * ```ts
 * const { servers, state } = yield* makeCommerceSandbox
 * const { charges } = yield* Ref.get(state)
 * ```
 * @module
 */
import { Effect, Ref } from "effect"
import { FakeServer, FakeState } from "../../chaos/index.ts"
import type { InProcessServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { Crm, type Customer, Inventory, Logistics, type OrderLine, Payment } from "../servers/commerce.ts"
import { hash, Ids, isoIn, latency, nowIso, refuse, sandboxServer } from "./support.ts"

type Line = typeof OrderLine.Type

/**
 * Everything the commerce fakes know.
 *
 * @example
 * ```ts
 * const s: CommerceState = yield* Ref.get(state)
 * s.stock.get("SKU-1") // => { available: 100, reserved: 0 }
 * ```
 */
export interface CommerceState {
  readonly stock: ReadonlyMap<string, { readonly available: number; readonly reserved: number }>
  readonly reservations: ReadonlyMap<string, { readonly order_id: string; readonly items: ReadonlyArray<Line>; readonly released: boolean }>
  readonly charges: ReadonlyMap<string, {
    readonly order_id: string
    readonly amount_cents: number
    readonly currency: "USD" | "EUR" | "GBP"
    readonly created_at: string
    readonly refund: { readonly refund_id: string; readonly amount_cents: number } | undefined
  }>
  readonly idempotencyKeys: ReadonlyMap<string, string>
  readonly shipments: ReadonlyMap<string, { readonly order_id: string; readonly carrier: string; readonly status: "scheduled" | "cancelled"; readonly estimated_delivery: string }>
  readonly customers: ReadonlyMap<string, typeof Customer.Type>
  readonly purchases: ReadonlyMap<string, { readonly customer_id: string; readonly order_id: string; readonly amount_cents: number; readonly reverted: boolean }>
}

const customer = (id: string, name: string, email: string, tier: "standard" | "gold" | "platinum", ltv: number, count: number): typeof Customer.Type => ({
  id,
  name,
  email,
  tier,
  lifetime_value_cents: ltv,
  purchase_count: count,
  created_at: "2021-03-04T09:30:00.000Z"
})

const initial: CommerceState = {
  stock: new Map([
    ["SKU-1", { available: 100, reserved: 0 }],
    ["SKU-2", { available: 25, reserved: 0 }],
    ["SKU-3", { available: 0, reserved: 0 }],
    ["SKU-4", { available: 3, reserved: 0 }]
  ]),
  reservations: new Map(),
  charges: new Map(),
  idempotencyKeys: new Map(),
  shipments: new Map(),
  customers: new Map([
    ["cus-1", customer("cus-1", "Ada Lovelace", "ada@example.com", "gold", 125_000, 12)],
    ["cus-2", customer("cus-2", "Grace Hopper", "grace@example.com", "platinum", 982_500, 57)],
    ["cus-3", customer("cus-3", "Alan Turing", "alan@example.com", "standard", 4_999, 1)]
  ]),
  purchases: new Map()
}

const firstKey = <V>(m: ReadonlyMap<string, V>, p: (v: V) => boolean) => [...m].find(([, v]) => p(v))?.[0]

/**
 * The commerce fakes and their state.
 *
 * @example
 * ```ts
 * const { servers, state } = yield* makeCommerceSandbox
 * GatewayLayer.layer({ servers })
 * ```
 */
export const makeCommerceSandbox: Effect.Effect<{
  readonly servers: Record<string, InProcessServerConfig>
  readonly state: Ref.Ref<CommerceState>
}> = Effect.gen(function*() {
  const state = yield* FakeState.ref("commerce", initial)
  const reservationIds = yield* Ids.make("rsv_")
  const chargeIds = yield* Ids.make("ch_")
  const refundIds = yield* Ids.make("re_")
  const shipmentIds = yield* Ids.make("shp_")
  const recordIds = yield* Ids.make("pur_")

  const inventory = yield* sandboxServer("inventory_server", [
    FakeServer.handle(Inventory.reserve_items, ({ order_id, items }) =>
      Effect.gen(function*() {
        yield* latency(180)
        const expires_at = yield* isoIn(15 * 60_000)
        const s = yield* Ref.get(state)
        const existing = firstKey(s.reservations, (r) => r.order_id === order_id && !r.released)
        if (existing !== undefined) {
          return { reservation_id: existing, order_id, items: s.reservations.get(existing)!.items, status: "reserved" as const, expires_at }
        }
        for (const { sku, quantity } of items) {
          const level = s.stock.get(sku)
          if (level === undefined) return yield* refuse(`unknown SKU ${sku}`)
          if (level.available < quantity) return yield* refuse(`insufficient stock for ${sku}: requested ${quantity}, available ${level.available}`)
        }
        const reservation_id = yield* reservationIds.next
        yield* Ref.update(state, (st) => {
          const stock = new Map(st.stock)
          for (const { sku, quantity } of items) {
            const level = stock.get(sku)!
            stock.set(sku, { available: level.available - quantity, reserved: level.reserved + quantity })
          }
          return { ...st, stock, reservations: new Map(st.reservations).set(reservation_id, { order_id, items, released: false }) }
        })
        return { reservation_id, order_id, items, status: "reserved" as const, expires_at }
      })),
    FakeServer.handle(Inventory.release_reservation, ({ reservation_id }) =>
      Effect.gen(function*() {
        yield* latency(120)
        return yield* Ref.modify(state, (st): readonly [typeof Inventory.release_reservation.output.Type, CommerceState] => {
          const r = st.reservations.get(reservation_id)
          if (r === undefined) return [{ reservation_id, released: false, items_returned: 0 }, st]
          const items_returned = r.items.reduce((n, l) => n + l.quantity, 0)
          if (r.released) return [{ reservation_id, released: true, items_returned }, st]
          const stock = new Map(st.stock)
          for (const { sku, quantity } of r.items) {
            const level = stock.get(sku)!
            stock.set(sku, { available: level.available + quantity, reserved: level.reserved - quantity })
          }
          return [
            { reservation_id, released: true, items_returned },
            { ...st, stock, reservations: new Map(st.reservations).set(reservation_id, { ...r, released: true }) }
          ]
        })
      })),
    FakeServer.handle(Inventory.find_reservation, ({ order_id }) =>
      Effect.gen(function*() {
        yield* latency(50)
        const s = yield* Ref.get(state)
        const id = firstKey(s.reservations, (r) => r.order_id === order_id && !r.released) ??
          firstKey(s.reservations, (r) => r.order_id === order_id)
        if (id === undefined) return { order_id, found: false }
        return { order_id, found: true, reservation_id: id, status: s.reservations.get(id)!.released ? "released" as const : "reserved" as const }
      })),
    FakeServer.handle(Inventory.check_stock, ({ sku }) =>
      Effect.gen(function*() {
        yield* latency(40)
        const level = (yield* Ref.get(state)).stock.get(sku)
        if (level === undefined) return yield* refuse(`unknown SKU ${sku}`)
        return { sku, ...level }
      }))
  ])

  const payment = yield* sandboxServer("payment_server", [
    FakeServer.handle(Payment.charge_card, ({ order_id, amount_cents, currency, card_token, idempotency_key }) =>
      Effect.gen(function*() {
        yield* latency(650)
        const s = yield* Ref.get(state)
        const keyed = idempotency_key === undefined ? undefined : s.idempotencyKeys.get(idempotency_key)
        if (keyed !== undefined) {
          const c = s.charges.get(keyed)!
          return { charge_id: keyed, order_id: c.order_id, status: "succeeded" as const, amount_cents: c.amount_cents, currency: c.currency, created_at: c.created_at }
        }
        if (card_token === "tok_declined") return yield* refuse("card declined (do_not_honor)")
        if (card_token === "tok_insufficient_funds") return yield* refuse("card declined (insufficient_funds)")
        const charge_id = yield* chargeIds.next
        const created_at = yield* nowIso
        yield* Ref.update(state, (st) => ({
          ...st,
          charges: new Map(st.charges).set(charge_id, { order_id, amount_cents, currency, created_at, refund: undefined }),
          idempotencyKeys: idempotency_key === undefined ? st.idempotencyKeys : new Map(st.idempotencyKeys).set(idempotency_key, charge_id)
        }))
        return { charge_id, order_id, status: "succeeded" as const, amount_cents, currency, created_at }
      })),
    FakeServer.handle(Payment.refund_charge, ({ charge_id, amount_cents }) =>
      Effect.gen(function*() {
        yield* latency(500)
        const c = (yield* Ref.get(state)).charges.get(charge_id)
        if (c === undefined) return yield* refuse(`No such charge: '${charge_id}'`)
        if (c.refund !== undefined) return { refund_id: c.refund.refund_id, charge_id, status: "succeeded" as const, amount_cents: c.refund.amount_cents }
        const amount = Math.min(amount_cents ?? c.amount_cents, c.amount_cents)
        const refund_id = yield* refundIds.next
        yield* Ref.update(state, (st) => ({
          ...st,
          charges: new Map(st.charges).set(charge_id, { ...c, refund: { refund_id, amount_cents: amount } })
        }))
        return { refund_id, charge_id, status: "succeeded" as const, amount_cents: amount }
      })),
    FakeServer.handle(Payment.find_charge, ({ idempotency_key }) =>
      Effect.gen(function*() {
        yield* latency(80)
        const s = yield* Ref.get(state)
        const charge_id = s.idempotencyKeys.get(idempotency_key)
        const c = charge_id === undefined ? undefined : s.charges.get(charge_id)
        if (charge_id === undefined || c === undefined) return { idempotency_key, found: false }
        const refunded = c.refund?.amount_cents ?? 0
        const status = refunded === 0 ? "succeeded" as const : refunded >= c.amount_cents ? "refunded" as const : "partially_refunded" as const
        return { idempotency_key, found: true, charge_id, status }
      })),
    FakeServer.handle(Payment.get_charge, ({ charge_id }) =>
      Effect.gen(function*() {
        yield* latency(80)
        const c = (yield* Ref.get(state)).charges.get(charge_id)
        if (c === undefined) return yield* refuse(`No such charge: '${charge_id}'`)
        const refunded_cents = c.refund?.amount_cents ?? 0
        return {
          charge_id,
          order_id: c.order_id,
          status: refunded_cents === 0 ? "succeeded" as const : refunded_cents >= c.amount_cents ? "refunded" as const : "partially_refunded" as const,
          amount_cents: c.amount_cents,
          refunded_cents
        }
      }))
  ])

  const CARRIERS = ["UPS", "FedEx", "DHL"] as const
  const DAYS = { standard: 5, express: 2, overnight: 1 } as const
  const logistics = yield* sandboxServer("logistics_server", [
    FakeServer.handle(Logistics.schedule_delivery, ({ order_id, service_level = "standard" }) =>
      Effect.gen(function*() {
        yield* latency(420)
        const s = yield* Ref.get(state)
        const existing = firstKey(s.shipments, (sh) => sh.order_id === order_id && sh.status !== "cancelled")
        if (existing !== undefined) {
          const sh = s.shipments.get(existing)!
          return { shipment_id: existing, order_id, carrier: sh.carrier, status: sh.status, estimated_delivery: sh.estimated_delivery }
        }
        const shipment_id = yield* shipmentIds.next
        const carrier = CARRIERS[hash(order_id) % CARRIERS.length]!
        const estimated_delivery = yield* isoIn(DAYS[service_level] * 86_400_000)
        yield* Ref.update(state, (st) => ({
          ...st,
          shipments: new Map(st.shipments).set(shipment_id, { order_id, carrier, status: "scheduled" as const, estimated_delivery })
        }))
        return { shipment_id, order_id, carrier, status: "scheduled" as const, estimated_delivery }
      })),
    FakeServer.handle(Logistics.cancel_shipment, ({ shipment_id }) =>
      Effect.gen(function*() {
        yield* latency(300)
        const sh = (yield* Ref.get(state)).shipments.get(shipment_id)
        if (sh === undefined) return yield* refuse(`No such shipment: '${shipment_id}'`)
        yield* Ref.update(state, (st) => ({ ...st, shipments: new Map(st.shipments).set(shipment_id, { ...sh, status: "cancelled" as const }) }))
        return { shipment_id, status: "cancelled" as const }
      })),
    FakeServer.handle(Logistics.find_shipment, ({ order_id }) =>
      Effect.gen(function*() {
        yield* latency(60)
        const s = yield* Ref.get(state)
        const id = firstKey(s.shipments, (sh) => sh.order_id === order_id && sh.status !== "cancelled") ??
          firstKey(s.shipments, (sh) => sh.order_id === order_id)
        if (id === undefined) return { order_id, found: false }
        return { order_id, found: true, shipment_id: id, status: s.shipments.get(id)!.status }
      })),
    FakeServer.handle(Logistics.get_shipment, ({ shipment_id }) =>
      Effect.gen(function*() {
        yield* latency(60)
        const sh = (yield* Ref.get(state)).shipments.get(shipment_id)
        if (sh === undefined) return yield* refuse(`No such shipment: '${shipment_id}'`)
        return { shipment_id, order_id: sh.order_id, status: sh.status, carrier: sh.carrier }
      }))
  ])

  const crm = yield* sandboxServer("crm_server", [
    FakeServer.handle(Crm.record_purchase, ({ customer_id, order_id, amount_cents }) =>
      Effect.gen(function*() {
        yield* latency(200)
        const s = yield* Ref.get(state)
        const c = s.customers.get(customer_id)
        if (c === undefined) return yield* refuse(`No such customer: '${customer_id}'`)
        const existing = firstKey(s.purchases, (p) => p.order_id === order_id && !p.reverted)
        if (existing !== undefined) {
          return { record_id: existing, customer_id, lifetime_value_cents: c.lifetime_value_cents, purchase_count: c.purchase_count }
        }
        const record_id = yield* recordIds.next
        const updated = { ...c, lifetime_value_cents: c.lifetime_value_cents + amount_cents, purchase_count: c.purchase_count + 1 }
        yield* Ref.update(state, (st) => ({
          ...st,
          customers: new Map(st.customers).set(customer_id, updated),
          purchases: new Map(st.purchases).set(record_id, { customer_id, order_id, amount_cents, reverted: false })
        }))
        return { record_id, customer_id, lifetime_value_cents: updated.lifetime_value_cents, purchase_count: updated.purchase_count }
      })),
    FakeServer.handle(Crm.revert_purchase_record, ({ record_id }) =>
      Effect.gen(function*() {
        yield* latency(180)
        const s = yield* Ref.get(state)
        const p = s.purchases.get(record_id)
        if (p === undefined) return yield* refuse(`No such purchase record: '${record_id}'`)
        const c = s.customers.get(p.customer_id)!
        if (p.reverted) return { record_id, reverted: true, lifetime_value_cents: c.lifetime_value_cents }
        const updated = { ...c, lifetime_value_cents: c.lifetime_value_cents - p.amount_cents, purchase_count: c.purchase_count - 1 }
        yield* Ref.update(state, (st) => ({
          ...st,
          customers: new Map(st.customers).set(c.id, updated),
          purchases: new Map(st.purchases).set(record_id, { ...p, reverted: true })
        }))
        return { record_id, reverted: true, lifetime_value_cents: updated.lifetime_value_cents }
      })),
    FakeServer.handle(Crm.find_purchase, ({ order_id }) =>
      Effect.gen(function*() {
        yield* latency(60)
        const s = yield* Ref.get(state)
        const id = firstKey(s.purchases, (p) => p.order_id === order_id && !p.reverted) ?? firstKey(s.purchases, (p) => p.order_id === order_id)
        if (id === undefined) return { order_id, found: false }
        return { order_id, found: true, record_id: id, reverted: s.purchases.get(id)!.reverted }
      })),
    FakeServer.handle(Crm.get_customer, ({ id }) =>
      Effect.gen(function*() {
        yield* latency(70)
        const c = (yield* Ref.get(state)).customers.get(id)
        if (c === undefined) return yield* refuse(`No such customer: '${id}'`)
        return c
      }))
  ])

  return {
    servers: { inventory_server: inventory, payment_server: payment, logistics_server: logistics, crm_server: crm },
    state
  }
})
