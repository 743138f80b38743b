import { Effect, Schema } from "effect"
import { FakeServer, Models } from "../../chaos/index.ts"
import { Tool } from "../../dsl/index.ts"

/** Contracts of the order saga's payment and inventory servers (test-local). */
export const Payment = Tool.server("payment", {
  charge: Tool.define({
    description: "Charge a card",
    input: Schema.Struct({ order_id: Schema.String, amount: Schema.Number, idempotency_key: Schema.optionalKey(Schema.String) }),
    output: Schema.Struct({ charge_id: Schema.String, amount: Schema.Number }),
    annotations: { idempotent: false }
  }),
  refund: Tool.define({
    description: "Refund a charge",
    input: Schema.Struct({ charge_id: Schema.String }),
    output: Schema.Struct({ refunded: Schema.Number }),
    annotations: { idempotent: false }
  })
})

export const InventoryApi = Tool.server("inventory", {
  reserve: Tool.define({
    description: "Reserve items",
    input: Schema.Struct({ sku: Schema.String, quantity: Schema.Int, order_id: Schema.String }),
    output: Schema.Struct({ reservation_id: Schema.String, remaining: Schema.Number }),
    annotations: { idempotent: false }
  }),
  stock: Tool.define({
    description: "Available stock",
    input: Schema.Struct({ sku: Schema.String }),
    output: Schema.Struct({ sku: Schema.String, available: Schema.Number }),
    annotations: { readOnly: true, idempotent: true }
  })
})

/** Fresh payment (ledger) and inventory servers, with realistic latencies. */
export const sagaServers = Effect.gen(function*() {
  const ledger = yield* Models.Ledger.make()
  const inventory = yield* Models.Inventory.make({ widget: 10 })
  return [
    Models.Model.server("payment", ledger, [
      FakeServer.handle(Payment.charge, ({ amount, idempotency_key, order_id }) =>
        Effect.sleep("30 millis").pipe(
          Effect.andThen(ledger.charge({ amount, orderId: order_id, idempotencyKey: idempotency_key })),
          Effect.map((c) => ({ charge_id: c.chargeId, amount: c.amount }))
        )),
      FakeServer.handle(Payment.refund, ({ charge_id }) =>
        Effect.map(ledger.refund({ chargeId: charge_id }), (r) => ({ refunded: r.refundedAmount })))
    ]),
    Models.Model.server("inventory", inventory, [
      FakeServer.handle(InventoryApi.reserve, ({ order_id, quantity, sku }) =>
        Effect.sleep("10 millis").pipe(
          Effect.andThen(inventory.reserve({ sku, quantity, orderId: order_id })),
          Effect.map((r) => ({ reservation_id: r.reservationId, remaining: r.remaining }))
        )),
      FakeServer.handle(InventoryApi.stock, ({ sku }) => inventory.available({ sku }))
    ])
  ] as ReadonlyArray<FakeServer.Definition>
})

/** The fast-check seed of a suite: FC_SEED or now, printed so a failure can be replayed. */
export const suiteSeed = (suite: string): number => {
  const seed = Number(process.env.FC_SEED ?? Date.now())
  console.log(`[${suite}] seed ${seed} (replay with FC_SEED=${seed})`)
  return seed
}
