/**
 * The flow interpreter on the memory engine:
 * (a) per-step overhead of `step` against the same work as plain `Effect.gen` code;
 * (b) 1 000 concurrent flows of 20 steps each, every step a tool call through the gateway to an
 *     in-process fake server: wall time and peak RSS;
 * (c) DAG parallel efficiency: critical path / wall time on a wide DAG of fixed-latency steps.
 *
 * Knobs: BENCH_STEPS (a), BENCH_FLOWS and BENCH_FLOW_STEPS (b), BENCH_DAG_WIDTH, BENCH_DAG_DEPTH
 * and BENCH_DAG_MS (c).
 */
import { Deferred, Effect, Layer, ManagedRuntime, Schema } from "effect"
import { FakeServer } from "../chaos/index.ts"
import { Tool } from "../dsl/index.ts"
import { dag, Flow, FlowEngine, step } from "../dsl/flow/index.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"

const STEPS = Number(process.env.BENCH_STEPS ?? 2_000)
const ROUNDS = 5
const FLOWS = Number(process.env.BENCH_FLOWS ?? 1_000)
const FLOW_STEPS = Number(process.env.BENCH_FLOW_STEPS ?? 20)
const DAG_WIDTH = Number(process.env.BENCH_DAG_WIDTH ?? 20)
const DAG_DEPTH = Number(process.env.BENCH_DAG_DEPTH ?? 10)
const DAG_MS = Number(process.env.BENCH_DAG_MS ?? 20)

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

// --- (a) per-step overhead ------------------------------------------------------------------

/** The work of one step: a little arithmetic, so the baseline is not optimised to nothing. */
const work = (i: number, acc: number) => Effect.sync(() => (acc * 31 + i) % 1_000_003)

const stepsFlow = Flow.make({
  name: "bench-steps",
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Number,
  run: ({ n }) =>
    Effect.gen(function*() {
      let acc = 1
      for (let i = 0; i < n; i++) acc = yield* step(`s${i}`, work(i, acc))
      return acc
    })
})

const plain = (n: number) =>
  Effect.gen(function*() {
    let acc = 1
    for (let i = 0; i < n; i++) acc = yield* work(i, acc)
    return acc
  })

const engine = ManagedRuntime.make(FlowEngine.layerMemory)
const time = async (run: () => Promise<unknown>) => {
  const start = performance.now()
  await run()
  return performance.now() - start
}

await engine.runPromise(Flow.run(stepsFlow, { n: 200 }))
await Effect.runPromise(plain(STEPS))
const flowTimes: Array<number> = []
const plainTimes: Array<number> = []
for (let round = 0; round < ROUNDS; round++) {
  flowTimes.push(await time(() => engine.runPromise(Flow.run(stepsFlow, { n: STEPS }))))
  plainTimes.push(await time(() => Effect.runPromise(plain(STEPS))))
}
const usPerStep = (median(flowTimes) * 1000) / STEPS
const usPerPlain = (median(plainTimes) * 1000) / STEPS
const stepRatio = median(flowTimes) / median(plainTimes)
console.log(`(a) step on the memory engine: ${usPerStep.toFixed(2)} us/step (median of ${ROUNDS} flows of ${STEPS} steps)`)
console.log(`    plain Effect.gen, same work: ${usPerPlain.toFixed(3)} us/step; ratio ${stepRatio.toFixed(1)}x`)
await engine.dispose()

// --- (b) 1 000 concurrent flows against in-process servers ----------------------------------

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
      for (let item = 0; item < FLOW_STEPS; item++) {
        total += (yield* step(`item ${item}`, Orders.process({ order, item }))).total
      }
      return total
    })
})

const gateway = Layer.unwrap(
  Effect.map(
    FakeServer.make("orders", [
      FakeServer.handle(Orders.process, ({ item, order }) => Effect.succeed({ order, item, total: item + 1 }))
    ]),
    (orders) => GatewayLayer.layer({ servers: { orders } })
  )
) as Layer.Layer<McpGateway>

const concurrent = ManagedRuntime.make(Layer.merge(FlowEngine.layerMemory, gateway))
await concurrent.runPromise(Effect.forEach([0, 1, 2], (order) => Flow.run(orderFlow, { order }), { concurrency: "unbounded" }))
globalThis.gc?.()
const rssBefore = process.memoryUsage().rss
let peakRss = rssBefore
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
}, 10)
const started = performance.now()
const totals = await concurrent.runPromise(
  Effect.forEach(Array.from({ length: FLOWS }, (_, i) => i), (order) => Flow.run(orderFlow, { order }), {
    concurrency: "unbounded"
  })
)
const wallMs = performance.now() - started
clearInterval(sampler)
peakRss = Math.max(peakRss, process.memoryUsage().rss)
const expectedTotal = (FLOW_STEPS * (FLOW_STEPS + 1)) / 2
if (totals.some((t) => t !== expectedTotal)) throw new Error("a concurrent flow returned a wrong total")
await concurrent.dispose()
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)
console.log(
  `(b) ${FLOWS} concurrent flows x ${FLOW_STEPS} steps (${FLOWS * FLOW_STEPS} tool calls via the gateway): ` +
    `wall ${wallMs.toFixed(0)} ms (${((FLOWS * FLOW_STEPS) / (wallMs / 1000)).toFixed(0)} steps/s), ` +
    `peak RSS ${mb(peakRss)} MB (${mb(rssBefore)} MB before)`
)

// --- (c) DAG parallel efficiency ------------------------------------------------------------

const wideDag = Flow.make({
  name: "bench-dag",
  input: Schema.Struct({}),
  output: Schema.Number,
  run: () => {
    // Layer l's node j needs nodes j and j+1 (mod width) of layer l-1.
    let d: any = dag("wide")
    for (let l = 0; l < DAG_DEPTH; l++) {
      for (let j = 0; j < DAG_WIDTH; j++) {
        const needs = l === 0 ? [] : [...new Set([`l${l - 1}n${j}`, `l${l - 1}n${(j + 1) % DAG_WIDTH}`])]
        d = d.node(`l${l}n${j}`, { needs }, () => step("work", Effect.sleep(DAG_MS)))
      }
    }
    return Effect.map((d as ReturnType<typeof dag>).run(), (r) => Object.keys(r.outcomes).length)
  }
})

const dagEngine = ManagedRuntime.make(FlowEngine.layerMemory)
await dagEngine.runPromise(Flow.run(wideDag, {}))
const criticalMs = DAG_DEPTH * DAG_MS
const efficiencies: Array<number> = []
for (let round = 0; round < ROUNDS; round++) {
  const ms = await time(() => dagEngine.runPromise(Flow.run(wideDag, {})))
  efficiencies.push(criticalMs / ms)
}
await dagEngine.dispose()
const efficiency = median(efficiencies)
// The floor set by timers and the event loop: the same DAG as plain Effect code (Deferreds and sleeps).
const plainDag = Effect.gen(function*() {
  const done = new Map<string, Deferred.Deferred<void>>()
  const nodes: Array<{ readonly id: string; readonly needs: ReadonlyArray<string> }> = []
  for (let l = 0; l < DAG_DEPTH; l++) {
    for (let j = 0; j < DAG_WIDTH; j++) {
      const id = `l${l}n${j}`
      done.set(id, Deferred.makeUnsafe<void>())
      nodes.push({ id, needs: l === 0 ? [] : [...new Set([`l${l - 1}n${j}`, `l${l - 1}n${(j + 1) % DAG_WIDTH}`])] })
    }
  }
  yield* Effect.forEach(nodes, (n) =>
    Effect.gen(function*() {
      for (const need of n.needs) yield* Deferred.await(done.get(need)!)
      yield* Effect.sleep(DAG_MS)
      yield* Deferred.succeed(done.get(n.id)!, undefined)
    }), { concurrency: "unbounded", discard: true })
})
const plainEfficiencies: Array<number> = []
for (let round = 0; round < ROUNDS; round++) {
  plainEfficiencies.push(criticalMs / (await time(() => Effect.runPromise(plainDag))))
}
const plainEfficiency = median(plainEfficiencies)
console.log(
  `(c) DAG ${DAG_WIDTH} wide x ${DAG_DEPTH} deep, ${DAG_MS} ms steps: critical path ${criticalMs} ms, ` +
    `efficiency ${efficiency.toFixed(3)} (median of ${ROUNDS}; target >= 0.95) ${efficiency >= 0.95 ? "ok" : "BELOW TARGET"}; ` +
    `the same DAG as plain Effect code: ${plainEfficiency.toFixed(3)} (timers and the event loop set that floor)`
)

console.log(JSON.stringify({
  bench: "interpreter",
  value: Number(usPerStep.toFixed(2)),
  unit: "us/step",
  baseline: "effect-gen",
  ratio: Number(stepRatio.toFixed(1)),
  concurrentFlows: { flows: FLOWS, steps: FLOW_STEPS, wallMs: Math.round(wallMs), peakRssMb: Number(mb(peakRss)) },
  dagEfficiency: Number(efficiency.toFixed(3)),
  dagEfficiencyPlainEffect: Number(plainEfficiency.toFixed(3))
}))
