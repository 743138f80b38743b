/**
 * Flow specs that chaos worker threads load by module (see `Chaos.checkFlow`'s `workerSpec`):
 * an order saga that charges with retries and no idempotency key (a duplicated charge breaks its
 * atomicity — a search finds it and shrinks it), and the same bug as a plain program for `Chaos.check`.
 */
import { Effect } from "effect"
import { Models } from "../../chaos/index.ts"
import { orderAtomic, orderFlow, shopServers } from "./shop.ts"
import { InventoryApi, Payment, sagaServers } from "./support.ts"

export const brokenOrder = {
  flow: orderFlow("order-retries-no-key", { chargeRetries: 2 }),
  input: { orderId: "o1", amount: 25 },
  servers: shopServers,
  invariants: [orderAtomic]
}

/** A plain program for `Chaos.check`: a non-idempotent charge retried on Timeout without an idempotency key. */
export const brokenPayment = {
  servers: sagaServers,
  program: Effect.andThen(
    InventoryApi.reserve({ sku: "widget", quantity: 1, order_id: "o1" }),
    Payment.charge({ order_id: "o1", amount: 25 }, { timeout: "5 seconds" }).pipe(Effect.retry({ times: 3, while: (e) => e.reason._tag === "Timeout" }))
  ),
  invariants: [{
    name: "order o1 charged at most once",
    holds: (run: { readonly snapshots: Readonly<Record<string, unknown>> }) =>
      Models.Ledger.chargesFor(run.snapshots.payment as Models.Ledger.LedgerSnapshot, "o1").length <= 1
  }]
}
