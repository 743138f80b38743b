/**
 * Flow specs that chaos worker threads load by module (see `Chaos.checkFlow`'s `workerSpec`):
 * an order saga that charges with retries and no idempotency key (a duplicated charge breaks its
 * atomicity — a search finds it and shrinks it).
 */
import { orderAtomic, orderFlow, shopServers } from "./shop.ts"

export const brokenOrder = {
  flow: orderFlow("order-retries-no-key", { chargeRetries: 2 }),
  input: { orderId: "o1", amount: 25 },
  servers: shopServers,
  invariants: [orderAtomic]
}
