/**
 * The flow and spec of `npm run bench -- chaos` (a module of its own, so worker threads can load it):
 * 15 tool calls — a saga of 2 steps with compensations, 3 parallel branches of 3 calls, then 4 more
 * calls — against the shop's model-backed fakes.
 *
 * @example
 * ```ts
 * const run = yield* Chaos.runFlowOnce(spec, Fault.none)
 * ```
 */
import { Effect, Schema } from "effect"
import { Flow, parallel, saga, step } from "../dsl/flow/index.ts"
import { Pay, Ship, shopServers, Status, Stock } from "../test/chaos/shop.ts"

const check = (name: string) => step(name, Status.get({ service: name }, { timeout: "5 seconds" }))
const level = (name: string) => step(name, Stock.level({ sku: "widget" }, { timeout: "5 seconds" }))

/** 15 tool calls: saga (reserve, charge) · parallel 3 × 3 · ship, level, 2 status checks. */
export const benchFlow = Flow.make({
  name: "chaos-bench",
  input: Schema.Struct({ orderId: Schema.String }),
  output: Schema.Struct({ shipment: Schema.String }),
  uses: [Stock, Pay, Ship, Status],
  run: ({ orderId }) =>
    Effect.gen(function*() {
      const paid = yield* saga(
        "order",
        Effect.gen(function*() {
          yield* step("reserve", Stock.reserve({ sku: "widget", quantity: 1, order_id: orderId }, { timeout: "5 seconds" }), {
            compensate: (r) => Stock.release({ reservation_id: r.reservation_id }, { timeout: "5 seconds" })
          })
          return yield* step("charge", Pay.charge({ order_id: orderId, amount: 25, idempotency_key: orderId }, { timeout: "5 seconds" }), {
            compensate: (c) => Pay.refund({ charge_id: c.charge_id }, { timeout: "5 seconds" })
          })
        })
      )
      yield* parallel("checks", {
        api: Effect.all([check("api"), check("db"), check("cache")]),
        stock: Effect.all([level("level 1"), level("level 2"), level("level 3")]),
        ops: Effect.all([check("queue"), check("search"), check("mail")])
      }, { mode: "settle" })
      const shipped = yield* step("ship", Ship.schedule({ order_id: orderId }, { timeout: "5 seconds" }))
      yield* level("final level")
      yield* check("billing")
      yield* check("notify")
      return { shipment: `${shipped.shipment_id}/${paid.charge_id}` }
    })
})

export const spec = { flow: benchFlow, input: { orderId: "o1" }, servers: shopServers }
