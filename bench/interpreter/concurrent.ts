/**
 * Child process of `bench/interpreter.ts`, case (b): `FLOWS` concurrent flows of `STEPS` steps,
 * every step a tool call through the gateway to an in-process fake server.
 *
 * `concurrent.ts flow FLOWS STEPS`: each flow is a `Flow.run` on the memory engine, each call a `step`;
 * `concurrent.ts plain FLOWS STEPS`: the same calls as plain Effect code over the same gateway (the floor).
 *
 * Prints `{ wallMs, cpuMs, peakRssMb, rssBeforeMb }`: the OS's peak resident set (`maxRSS`) of this process.
 */
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { FakeServer } from "../../chaos/index.ts"
import { Tool } from "../../dsl/index.ts"
import { Flow, FlowEngine, step } from "../../dsl/flow/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import type { McpGateway } from "../../dsl/ports/McpGateway.ts"

const [mode = "flow", flowsArg = "10000", stepsArg = "20"] = process.argv.slice(2)
const FLOWS = Number(flowsArg)
const STEPS = Number(stepsArg)

const Orders = Tool.server("orders", {
  process: Tool.define({
    description: "Process one order item",
    input: Schema.Struct({ order: Schema.Number, item: Schema.Number }),
    output: Schema.Struct({ order: Schema.Number, item: Schema.Number, total: Schema.Number })
  })
})

const orderFlow = Flow.make({
  name: "bench-orders",
  input: Schema.Struct({ order: Schema.Number }),
  output: Schema.Number,
  uses: [Orders],
  run: ({ order }) =>
    Effect.gen(function*() {
      let total = 0
      for (let item = 0; item < STEPS; item++) {
        total += (yield* step(`item ${item}`, Orders.process({ order, item }))).total
      }
      return total
    })
})

/** The floor: the same calls, in the same order, as plain Effect code over the same gateway. */
const plainOrder = (order: number) =>
  Effect.gen(function*() {
    let total = 0
    for (let item = 0; item < STEPS; item++) total += (yield* Orders.process({ order, item })).total
    return total
  })

const gateway = Layer.unwrap(
  Effect.map(
    FakeServer.make("orders", [
      FakeServer.handle(Orders.process, ({ item, order }) => Effect.succeed({ order, item, total: item + 1 }))
    ]),
    (orders) => GatewayLayer.layer({ servers: { orders } })
  )
) as Layer.Layer<McpGateway>

const one = mode === "plain" ? plainOrder : (order: number) => Flow.run(orderFlow, { order })
const runtime = ManagedRuntime.make(Layer.merge(FlowEngine.layerMemory, gateway))
// Warm-up: connects the server, compiles the codecs, JITs the path.
await runtime.runPromise(Effect.forEach(Array.from({ length: 200 }, (_, i) => i), one, { concurrency: 50 }))
const rssBefore = process.memoryUsage().rss
const started = performance.now()
const cpuBefore = process.cpuUsage()
const totals = await runtime.runPromise(
  Effect.forEach(Array.from({ length: FLOWS }, (_, i) => i), one, { concurrency: "unbounded" })
)
const wallMs = performance.now() - started
const cpu = process.cpuUsage(cpuBefore)
const peakRss = process.resourceUsage().maxRSS * 1024
const expected = (STEPS * (STEPS + 1)) / 2
if (totals.some((t) => t !== expected)) throw new Error("a concurrent flow returned a wrong total")
await runtime.dispose()
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024)
console.log(JSON.stringify({ mode, wallMs: Math.round(wallMs), cpuMs: Math.round((cpu.user + cpu.system) / 1000), peakRssMb: mb(peakRss), rssBeforeMb: mb(rssBefore) }))
