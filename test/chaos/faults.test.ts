import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Chaos, FakeServer, Fault, Injector, Models } from "../../chaos/index.ts"
import * as ChaosRunner from "../../chaos/Runner.ts"
import type { McpflowToolError } from "../../dsl/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { InventoryApi, Payment, sagaServers } from "./support.ts"

/** Charges once (after a stock read) with a 5 s call timeout; fails with the call's error. */
const chargeOnce = Effect.gen(function*() {
  yield* InventoryApi.stock({ sku: "widget" })
  return yield* Payment.charge({ order_id: "o1", amount: 25 }, { timeout: "5 seconds" })
})

const spec: Chaos.Spec<unknown, McpflowToolError> = { servers: sagaServers, program: chargeOnce }

const runWith = (...faults: ReadonlyArray<Fault.Fault>) => Chaos.runOnce(spec, Fault.plan(1, faults))

const reasonOf = (run: Chaos.RunResult<unknown, McpflowToolError>) => {
  if (run.outcome._tag !== "Failure") return run.outcome._tag
  return run.outcome.error.reason._tag
}

const charges = (run: Chaos.RunResult<unknown, McpflowToolError>) =>
  (run.snapshots.payment as Models.Ledger.LedgerSnapshot).charges.length

describe("each fault kind, as the caller sees it through the real gateway", () => {
  const cases: ReadonlyArray<readonly [string, Fault.Fault, string, number]> = [
    ["hang with a call timeout", Fault.hang("payment.charge"), "Timeout", 0],
    ["connection drop", Fault.connectionDrop("payment.charge"), "ConnectionLost", 0],
    ["JSON-RPC error", Fault.jsonRpcError("payment.charge", -32603, "boom"), "Protocol", 0],
    ["tool error result", Fault.toolError("payment.charge", "card declined"), "ToolFailed", 0],
    ["drift: missing field", Fault.invalidOutput("payment.charge", "missing-field"), "InvalidOutput", 1],
    ["drift: wrong type", Fault.invalidOutput("payment.charge", "wrong-type"), "InvalidOutput", 1],
    ["drift: extra field (tolerated by a Struct contract)", Fault.invalidOutput("payment.charge", "extra-field"), "Success", 1],
    ["rate limited", Fault.rateLimited("payment.charge", 1500), "RateLimited", 0],
    ["lost response, then silence", Fault.lostResponse("payment.charge"), "Timeout", 1],
    ["lost response, then close", Fault.lostResponse("payment.charge", {}, "close"), "ConnectionLost", 1],
    ["corrupt response", Fault.corruptMessage("payment.charge", "response"), "Timeout", 1],
    ["corrupt request", Fault.corruptMessage("payment.charge", "request"), "Timeout", 0],
    ["duplicate response", Fault.duplicateMessage("payment.charge", "response"), "Success", 1],
    ["latency past the timeout", Fault.latency("payment.charge", Fault.fixed(6_000)), "Timeout", 0],
    ["latency after the side effect", Fault.latency("payment.charge", Fault.fixed(6_000), {}, "after"), "Timeout", 1],
    ["server down", Fault.serverDown("payment", 0, 60_000), "ServerUnavailable", 0],
    ["flapping (down first)", Fault.flapping("payment", 10_000, 5_000), "ServerUnavailable", 0],
    ["slow start past the connect timeout", Fault.slowStart("payment", 40_000), "ServerUnavailable", 0],
    ["progress stall on a handler that reports no progress (it answers as usual)", Fault.progressStall("payment.charge"), "Success", 1],
    ["crash as the charge is sent (a program without a journal starts over)", Fault.crash("payment.charge", "before"), "Success", 1],
    ["crash once the charge answered (starting over charges again)", Fault.crash("payment.charge", "after"), "Success", 2]
  ]
  for (const [name, fault, reason, sideEffects] of cases) {
    it.effect(`${name} → ${reason}`, () =>
      Effect.gen(function*() {
        const run = yield* runWith(fault)
        assert.strictEqual(reasonOf(run), reason, Chaos.formatRun(run))
        assert.strictEqual(charges(run), sideEffects, "side effects on the ledger")
        assert.deepStrictEqual(run.log.map((i) => i.kind), [fault._tag])
      }))
  }

  it("every kind of the catalogue has one description (Fault.byKind) and a case above", () => {
    const tags = Fault.Fault.members.map((m) => m.fields._tag.schema.literal as string)
    assert.deepStrictEqual([...Fault.kinds].sort(), [...tags].sort(), "Fault.kinds lists every kind of the Fault schema")
    assert.deepStrictEqual([...new Set(cases.map(([, f]) => f._tag))].sort(), [...Fault.kinds].sort(), "a gateway case per kind")
    const flags = new Set<string>()
    for (const kind of Fault.kinds) {
      const d = Fault.byKind[kind]
      assert.isNotEmpty(d.does, kind)
      assert.isNotEmpty(d.callerSees, kind)
      assert.include(["handler", "transport", "connection"], d.injectedAt, kind)
      for (const name of [d.flag, ...d.aliases]) {
        assert.isFalse(flags.has(name), `${name} names one kind`)
        flags.add(name)
        assert.deepStrictEqual(ChaosRunner.parseKinds(name), { ok: true, kinds: [kind] }, name)
      }
    }
    for (const [, fault] of cases) {
      const line = Fault.describe(fault)
      assert.isTrue(line.startsWith(`${fault._tag}`) && line.includes(Fault.paramsOf(fault)), line)
    }
    assert.strictEqual(Fault.describe(Fault.serverDown("payment", 1_000, 5_000)), "ServerDown(down [1000ms, 6000ms)) @ payment rate 1")
  })

  it.effect("RateLimited carries retryAfterMs parsed by the gateway", () =>
    Effect.gen(function*() {
      const run = yield* runWith(Fault.rateLimited("payment.charge", 1500))
      assert.strictEqual(run.outcome._tag === "Failure" ? run.outcome.error.retryAfterMs : undefined, 1500)
    }))

  it.effect("a duplicated request runs the handler twice (at-least-once delivery)", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runOnce(
        { ...spec, program: Effect.tap(chargeOnce, () => Effect.sleep("1 second")) },
        Fault.plan(1, [Fault.duplicateMessage("payment.charge", "request")])
      )
      const stats = run.stats.find((s) => s.tool === "charge")
      assert.deepStrictEqual([stats?.sent, stats?.executed, charges(run)], [1, 2, 2])
    }))

  it.effect("a server down for a window is back after it (the gateway reconnects)", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        yield* InventoryApi.stock({ sku: "widget" })
        yield* Effect.sleep("2 seconds")
        const first = yield* Effect.exit(Payment.charge({ order_id: "o1", amount: 5 }))
        yield* Effect.sleep("10 seconds")
        const second = yield* Effect.exit(Payment.charge({ order_id: "o2", amount: 5 }))
        return [Exit.isSuccess(first), Exit.isSuccess(second)]
      })
      const run = yield* Chaos.runOnce({ servers: sagaServers, program }, Fault.plan(1, [Fault.serverDown("payment", 1_000, 5_000)]))
      assert.deepStrictEqual(run.outcome, { _tag: "Success", value: [false, true] }, Chaos.formatRun(run))
      assert.strictEqual(charges(run), 1)
    }))

  it.effect("windows and rates gate faults; heavy-tailed latency is drawn from the seed", () =>
    Effect.gen(function*() {
      const program = Effect.forEach([1, 2, 3, 4, 5, 6, 7, 8], (i) => Effect.exit(InventoryApi.stock({ sku: `s${i}` })))
      const run = yield* Chaos.runOnce(
        { servers: sagaServers, program },
        Fault.plan(3, [Fault.toolError("inventory.stock", "x", { window: { fromMs: 0, toMs: 1 } }), Fault.latency("inventory.*", Fault.pareto(20, 1.5, 60_000), { rate: 0.5 })])
      )
      const errors = run.log.filter((i) => i.kind === "ToolError")
      assert.isTrue(errors.length > 0 && errors.every((i) => i.atMs < 1), Injector.formatLog(run.log))
      assert.isTrue(run.sent.some((c) => c.atMs >= 1), "calls after the window get no ToolError")
      const latencies = run.log.filter((i) => i.kind === "Latency")
      assert.isTrue(latencies.length > 0 && latencies.length < 8, Injector.formatLog(run.log))
      assert.isTrue(latencies.every((i) => Number.parseInt(i.detail) >= 20))
    }))

  it.effect("a fake with an injector on the plain TestClock: latency is virtual", () =>
    Effect.gen(function*() {
      const injector = Injector.make(Fault.plan(1, [Fault.latency("inventory.stock", Fault.fixed(10_000))]))
      const inventory = yield* Models.Inventory.make({ widget: 3 })
      const config = yield* FakeServer.make("inventory", [FakeServer.handle(InventoryApi.stock, ({ sku }) => inventory.available({ sku }))], { injector })
      const fiber = yield* Effect.forkChild(InventoryApi.stock({ sku: "widget" }).pipe(Effect.provide(GatewayLayer.layer({ servers: { inventory: config } }))))
      yield* TestClock.adjust("9 seconds")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(fiber), { sku: "widget", available: 3 })
      assert.strictEqual(Injector.formatLog(injector.log), "t=0ms inventory.stock#0 Latency [0] 10000ms before")
    }))
})
