/**
 * Test fixtures for flow chaos: the contracts and model-backed fakes of a small shop (inventory,
 * payment, shipping, status) and an order flow built from them, in a correct version and in
 * deliberately broken ones.
 */
import { Effect, Ref, Schedule, Schema } from "effect"
import { FakeServer, Models } from "../../chaos/index.ts"
import { Tool } from "../../dsl/index.ts"
import { Flow, forEach, resolveByLookup, saga, step } from "../../dsl/flow/index.ts"

export const Stock = Tool.server("stock", {
  reserve: Tool.define({
    description: "Hold items for an order (again the same reservation for an idempotency key seen before)",
    input: Schema.Struct({ sku: Schema.String, quantity: Schema.Int, order_id: Schema.String, idempotency_key: Schema.optionalKey(Schema.String) }),
    output: Schema.Struct({ reservation_id: Schema.String, remaining: Schema.Number }),
    annotations: { idempotent: false }
  }),
  find: Tool.define({
    description: "The reservation made with an idempotency key, if any",
    input: Schema.Struct({ idempotency_key: Schema.String }),
    output: Schema.Struct({ reservation_id: Schema.NullOr(Schema.String) }),
    annotations: { readOnly: true, idempotent: true }
  }),
  release: Tool.define({
    description: "Release a reservation",
    input: Schema.Struct({ reservation_id: Schema.String }),
    output: Schema.Struct({ released: Schema.Boolean }),
    annotations: { idempotent: true }
  }),
  level: Tool.define({
    description: "Available stock",
    input: Schema.Struct({ sku: Schema.String }),
    output: Schema.Struct({ sku: Schema.String, available: Schema.Number }),
    annotations: { readOnly: true, idempotent: true }
  })
})

export const Pay = Tool.server("pay", {
  charge: Tool.define({
    description: "Charge a card",
    input: Schema.Struct({ order_id: Schema.String, amount: Schema.Number, idempotency_key: Schema.optionalKey(Schema.String) }),
    output: Schema.Struct({ charge_id: Schema.String, amount: Schema.Number }),
    annotations: { idempotent: false }
  }),
  refund: Tool.define({
    description: "Refund a charge (a second refund of the same charge refunds nothing)",
    input: Schema.Struct({ charge_id: Schema.String }),
    output: Schema.Struct({ refunded: Schema.Number }),
    annotations: { idempotent: true }
  }),
  find: Tool.define({
    description: "The charge made with an idempotency key, if any",
    input: Schema.Struct({ idempotency_key: Schema.String }),
    output: Schema.Struct({ charge_id: Schema.NullOr(Schema.String) }),
    annotations: { readOnly: true, idempotent: true }
  })
})

export const Ship = Tool.server("ship", {
  schedule: Tool.define({
    description: "Schedule a delivery",
    input: Schema.Struct({ order_id: Schema.String }),
    output: Schema.Struct({ shipment_id: Schema.String }),
    annotations: { idempotent: true }
  })
})

export const Status = Tool.server("status", {
  get: Tool.define({
    description: "A service's status",
    input: Schema.Struct({ service: Schema.String }),
    output: Schema.Struct({ service: Schema.String, healthy: Schema.Boolean }),
    annotations: { readOnly: true, idempotent: true }
  })
})

/** Fresh shop servers: inventory and ledger models, a shipping fake that counts shipments, a status fake. */
export const shopServers = Effect.gen(function*() {
  const inventory = yield* Models.Inventory.make({ widget: 100 })
  const ledger = yield* Models.Ledger.make()
  const shipments = yield* Ref.make(0)
  return [
    Models.Model.server("stock", inventory, [
      FakeServer.handle(Stock.reserve, ({ idempotency_key, order_id, quantity, sku }) =>
        Effect.sleep("10 millis").pipe(
          Effect.andThen(inventory.reserve({ sku, quantity, orderId: order_id, idempotencyKey: idempotency_key })),
          Effect.map((r) => ({ reservation_id: r.reservationId, remaining: r.remaining }))
        )),
      FakeServer.handle(Stock.find, ({ idempotency_key }) =>
        Effect.map(inventory.snapshot, (s) => ({ reservation_id: s.reservations.find((r) => r.idempotencyKey === idempotency_key)?.id ?? null }))),
      FakeServer.handle(Stock.release, ({ reservation_id }) => inventory.release({ reservationId: reservation_id })),
      FakeServer.handle(Stock.level, ({ sku }) => inventory.available({ sku }))
    ]),
    Models.Model.server("pay", ledger, [
      FakeServer.handle(Pay.charge, ({ amount, idempotency_key, order_id }) =>
        Effect.sleep("30 millis").pipe(
          Effect.andThen(ledger.charge({ amount, orderId: order_id, idempotencyKey: idempotency_key })),
          Effect.map((c) => ({ charge_id: c.chargeId, amount: c.amount }))
        )),
      FakeServer.handle(Pay.refund, ({ charge_id }) =>
        Effect.map(ledger.refund({ chargeId: charge_id }), (r) => ({ refunded: r.refundedAmount }))),
      FakeServer.handle(Pay.find, ({ idempotency_key }) =>
        Effect.map(ledger.snapshot, (s) => ({ charge_id: s.charges.find((c) => c.idempotencyKey === idempotency_key)?.id ?? null })))
    ]),
    {
      key: "ship",
      handlers: [
        FakeServer.handle(Ship.schedule, ({ order_id }) =>
          Effect.sleep("20 millis").pipe(Effect.andThen(Ref.updateAndGet(shipments, (n) => n + 1)), Effect.map((n) => ({ shipment_id: `${order_id}-s${n}` }))))
      ],
      snapshot: Ref.get(shipments)
    },
    {
      key: "status",
      handlers: [FakeServer.handle(Status.get, ({ service }) => Effect.sleep("5 millis").pipe(Effect.as({ service, healthy: true })))]
    }
  ] as ReadonlyArray<FakeServer.Definition>
})

export const OrderInput = Schema.Struct({ orderId: Schema.String, amount: Schema.Number })
export const OrderOutput = Schema.Struct({ chargeId: Schema.String, shipmentId: Schema.String })

const ledgerOf = (run: { readonly snapshots: Readonly<Record<string, unknown>> }) => run.snapshots.pay as Models.Ledger.LedgerSnapshot
const stockOf = (run: { readonly snapshots: Readonly<Record<string, unknown>> }) => run.snapshots.stock as Models.Inventory.InventorySnapshot

/** The order's net charge and held reservations. */
export const orderState = (run: { readonly snapshots: Readonly<Record<string, unknown>> }, orderId = "o1") => ({
  net: Models.Ledger.netFor(ledgerOf(run), orderId),
  held: Models.Inventory.heldFor(stockOf(run), orderId).length,
  shipments: run.snapshots.ship as number
})

/**
 * Patient retries: exponential from 1 s to 20 s with equal jitter, 16 attempts — at least about two
 * minutes, longer than any outage the default fault mix draws (a window or a down server ends
 * within two horizons, 120 s).
 */
const patient = { retry: { maxAttempts: 16, backoff: { kind: "exponential", initial: "1 second", max: "20 seconds" }, jitter: "equal" } } as const

/**
 * A lookup that settles an unknown outcome asks again on any failure, a drifted answer included
 * (which no retry policy repeats): every 15 s, for five minutes.
 */
const settle = <A, E, R>(lookup: Effect.Effect<A, E, R>) => lookup.pipe(Effect.retry({ times: 20, schedule: Schedule.spaced("15 seconds") }))

/** The same for a call made safe to repeat by its idempotency key (the tool itself is not idempotent). */
const keyed = { retry: { ...patient.retry, retryNonIdempotent: true } } as const

/**
 * An order saga: reserve (undo: release), charge (undo: refund, when `refund` is true), ship.
 * The correct version keys the reservation and the charge by the step's idempotency key (a
 * retried or duplicated request holds or charges once), retries patiently, and settles a call
 * whose outcome stayed unknown by looking it up (`resolveByLookup`); its compensations retry
 * patiently too. The bugs: `chargeRetries` retries the charge on transient errors with no
 * idempotency key; `noKey` charges once with no idempotency key (a step re-run after a crash
 * charges again); `swallow` turns a failed charge into a fake success; `refund: false` leaves
 * the charge without compensation.
 */
export const orderFlow = (
  name: string,
  bugs: { readonly refund?: boolean; readonly chargeRetries?: number; readonly swallow?: boolean; readonly noKey?: boolean } = {}
) =>
  Flow.make({
    name,
    input: OrderInput,
    output: OrderOutput,
    uses: [Stock, Pay, Ship],
    run: ({ amount, orderId }) =>
      saga(
        "order",
        Effect.gen(function*() {
          yield* step(
            "reserve",
            Effect.flatMap(Flow.idempotencyKey, (key) =>
              resolveByLookup(
                Stock.reserve({ sku: "widget", quantity: 1, order_id: orderId, idempotency_key: key }, { timeout: "5 seconds", policy: keyed }),
                settle(Stock.find({ idempotency_key: key }, { timeout: "5 seconds", policy: patient })).pipe(
                  Effect.map((r) => (r.reservation_id === null ? undefined : { reservation_id: r.reservation_id, remaining: -1 }))
                ),
                { action: "stock.reserve", key, lookupAfter: "any-failure" }
              )),
            { compensate: (r) => Stock.release({ reservation_id: r.reservation_id }, { timeout: "5 seconds", policy: patient }) }
          )
          const charge = (bugs.chargeRetries ?? 0) > 0
            ? Pay.charge({ order_id: orderId, amount }, { timeout: "5 seconds" }).pipe(Effect.retry({ times: bugs.chargeRetries!, while: (e) => e.transient }))
            : bugs.noKey === true
            ? Pay.charge({ order_id: orderId, amount }, { timeout: "5 seconds" })
            : Effect.flatMap(Flow.idempotencyKey, (key) =>
              resolveByLookup(
                Pay.charge({ order_id: orderId, amount, idempotency_key: key }, { timeout: "5 seconds", policy: keyed }),
                settle(Pay.find({ idempotency_key: key }, { timeout: "5 seconds", policy: patient })).pipe(
                  Effect.map((r) => (r.charge_id === null ? undefined : { charge_id: r.charge_id, amount }))
                ),
                { action: "pay.charge", key, lookupAfter: "any-failure" }
              ))
          const paid = yield* step(
            "charge",
            bugs.swallow === true ? charge.pipe(Effect.catch(() => Effect.succeed({ charge_id: "pending", amount }))) : charge,
            {
              compensate: bugs.refund === false
                ? undefined
                : (c) =>
                  c.charge_id === "pending"
                    ? Effect.void // nothing was charged (as far as the swallowing fallback knows)
                    : Pay.refund({ charge_id: c.charge_id }, { timeout: "5 seconds", policy: patient })
            }
          )
          const shipped = yield* step("ship", Ship.schedule({ order_id: orderId }, { timeout: "5 seconds", policy: patient }))
          return { chargeId: paid.charge_id, shipmentId: shipped.shipment_id }
        })
      )
  })

/** The order is all-or-nothing on the models: shipped and paid, or nothing charged nor held. */
export const orderAtomic = {
  name: "atomic: order",
  holds: (run: { readonly outcome: { readonly _tag: string }; readonly snapshots: Readonly<Record<string, unknown>> }) => {
    const s = orderState(run)
    return run.outcome._tag === "Success" ? s.net === 25 && s.held === 1 : s.net === 0 && s.held === 0
  },
  detail: (run: { readonly outcome: { readonly _tag: string }; readonly snapshots: Readonly<Record<string, unknown>> }) =>
    `outcome ${run.outcome._tag}, net charge ${orderState(run).net}, reservations held ${orderState(run).held}`
}

/** A status check with no timeout of its own (the bug) or with one and a fallback. */
export const statusFlow = (name: string, timeout: boolean) =>
  Flow.make({
    name,
    input: Schema.Struct({ service: Schema.String }),
    output: Schema.Struct({ healthy: Schema.Boolean }),
    uses: [Status],
    run: ({ service }) =>
      Effect.gen(function*() {
        const status = timeout
          ? yield* step("status", Status.get({ service }, { timeout: "5 seconds" }).pipe(Effect.orElseSucceed(() => ({ service, healthy: false }))))
          : yield* step("status", Status.get({ service }))
        return { healthy: status.healthy }
      })
  })

/** Reserves stock for many orders at once: unbounded (the bug) or `concurrency` at a time. */
export const fanOutFlow = (name: string, concurrency: number | undefined) =>
  Flow.make({
    name,
    input: Schema.Struct({ orders: Schema.Int }),
    output: Schema.Struct({ reserved: Schema.Int }),
    uses: [Stock],
    run: ({ orders }) =>
      Effect.gen(function*() {
        const ids = Array.from({ length: orders }, (_, i) => `f${i}`)
        const outcomes = yield* forEach(
          "reserve all",
          ids,
          (id) => step("reserve", Stock.reserve({ sku: "widget", quantity: 1, order_id: id }, { timeout: "5 seconds" })),
          { concurrency: concurrency ?? ids.length, key: (id) => id }
        )
        return { reserved: outcomes.filter((o) => o.result._tag === "Success").length }
      })
  })
