import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Ref, Schema } from "effect"
import { TestClock } from "effect/testing"
import { FakeServer, ToolRefusal } from "../chaos/index.ts"
import { Tool } from "../dsl/index.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
import { McpGateway } from "../dsl/ports/McpGateway.ts"

const Inventory = Tool.server("inventory", {
  reserve: Tool.define({
    description: "Reserve items",
    input: Schema.Struct({ sku: Schema.String, quantity: Schema.Int.check(Schema.isGreaterThan(0)) }),
    output: Schema.Struct({ reservationId: Schema.String, remaining: Schema.Number }),
    annotations: { idempotent: false }
  }),
  version: Tool.define({ description: "Server version", input: Schema.Struct({}), output: Schema.String })
})

const fakeInventory = Effect.gen(function*() {
  const stock = yield* Ref.make(10)
  return yield* FakeServer.make("inventory", [
    FakeServer.handle(Inventory.reserve, ({ quantity }) =>
      Effect.gen(function*() {
        yield* Effect.sleep("200 millis")
        const left = yield* Ref.get(stock)
        if (left < quantity) return yield* new ToolRefusal({ text: `only ${left} left` })
        yield* Ref.set(stock, left - quantity)
        return { reservationId: `r-${left}`, remaining: left - quantity }
      })),
    FakeServer.handle(Inventory.version, () => Effect.succeed("1.2.3"))
  ])
})

const gateway = Layer.unwrap(Effect.map(fakeInventory, (inventory) => GatewayLayer.layer({ servers: { inventory } })))

describe("fake servers from contracts", () => {
  it.effect("answers typed calls, with handler latency on virtual time", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Inventory.reserve({ sku: "a", quantity: 4 }))
      yield* TestClock.adjust("200 millis")
      assert.deepStrictEqual(yield* Fiber.join(fiber), { reservationId: "r-10", remaining: 6 })
      assert.strictEqual(yield* Inventory.version({}), "1.2.3")
    }).pipe(Effect.provide(gateway)))

  it.effect("a refusal is ToolFailed with the handler's text; state is kept per server", () =>
    Effect.gen(function*() {
      const first = yield* Effect.forkChild(Inventory.reserve({ sku: "a", quantity: 8 }))
      yield* TestClock.adjust("200 millis")
      yield* Fiber.join(first)
      const second = yield* Effect.forkChild(Effect.exit(Inventory.reserve({ sku: "a", quantity: 8 })))
      yield* TestClock.adjust("200 millis")
      const exit = yield* Fiber.join(second)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      assert.strictEqual(error?._tag === "Fail" ? error.error.message : "", "inventory.reserve failed: only 2 left")
    }).pipe(Effect.provide(gateway)))

  it.effect("arguments are checked on the server side too, naming the path", () =>
    Effect.gen(function*() {
      const g = yield* McpGateway
      const exit = yield* Effect.exit(g.callRaw("inventory", "reserve", { sku: "a", quantity: -1 }))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      assert.include(error?._tag === "Fail" ? error.error.message : "", "at quantity")
    }).pipe(Effect.provide(gateway)))

  it.effect("publishes its contracts, so discovery finds no mismatch", () =>
    Effect.gen(function*() {
      const g = yield* McpGateway
      assert.deepStrictEqual(yield* g.checkContracts(Tool.contractsOf(Inventory)), [])
      const tools = yield* g.listTools("inventory")
      assert.deepStrictEqual(tools.map((t) => [t.name, t.outputSchema !== undefined, t.annotations?.idempotentHint]), [
        ["reserve", true, false],
        ["version", false, undefined]
      ])
    }).pipe(Effect.provide(gateway)))
})
