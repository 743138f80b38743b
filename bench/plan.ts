/**
 * `Flow.plan` in process: a 100-node DAG (10 wide × 10 deep, every node a step calling a tool,
 * answered by a sample of its output Schema) against the 50 ms target, then every seed flow in
 * `flows/`. Each plan's first run (cold: Schema arbitraries and JSON Schemas built on first
 * use) and the median of the warm runs.
 *
 * The last line is `{bench, value, unit, baseline, ratio}` with value = the 100-node DAG's warm
 * median and ratio = value / 50 ms. Knobs: BENCH_PLAN_ROUNDS.
 */
import { readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Effect, Schema } from "effect"
import { Tool } from "../dsl/index.ts"
import { type AnyFlow, dag, Flow, step } from "../dsl/flow/index.ts"
import { median, time } from "./interpreter/child.ts"

const ROUNDS = Number(process.env.BENCH_PLAN_ROUNDS ?? 9)
const TARGET_MS = 50
const WIDTH = 10
const DEPTH = 10

const Build = Tool.server("builds", {
  compile: Tool.define({
    description: "Compile one target",
    input: Schema.Struct({ target: Schema.String }),
    output: Schema.Struct({ artifact: Schema.String, ok: Schema.Boolean, durationMs: Schema.Number })
  })
})

const hundredNodes = Flow.make({
  name: "bench-plan-dag",
  input: Schema.Struct({}),
  output: Schema.Number,
  uses: [Build],
  run: () => {
    let d: any = dag("builds")
    for (let l = 0; l < DEPTH; l++) {
      for (let j = 0; j < WIDTH; j++) {
        const needs = l === 0 ? [] : [...new Set([`l${l - 1}n${j}`, `l${l - 1}n${(j + 1) % WIDTH}`])]
        d = d.node(`l${l}n${j}`, { needs }, () => step("compile", Build.compile({ target: `l${l}n${j}` })))
      }
    }
    return Effect.map((d as ReturnType<typeof dag>).run(), (r) => Object.keys(r.outcomes).length)
  }
})

/** Plans `flow` once cold and `ROUNDS` times warm; returns both and the plan's node count. */
const measure = async (flow: AnyFlow) => {
  let nodes = 0
  const once = () => Effect.runPromise(Effect.map(Flow.plan(flow as never), (p) => (nodes = p.nodes.length)))
  const cold = await time(once)
  const warm: Array<number> = []
  for (let i = 0; i < ROUNDS; i++) warm.push(await time(once))
  return { cold, warm: median(warm), nodes }
}

const dagPlan = await measure(hundredNodes as AnyFlow)
console.log(
  `plan of a ${WIDTH * DEPTH}-node DAG: ${dagPlan.warm.toFixed(1)} ms (median of ${ROUNDS}; first ${dagPlan.cold.toFixed(1)} ms; ` +
    `${dagPlan.nodes} plan nodes); target < ${TARGET_MS} ms ${dagPlan.warm < TARGET_MS ? "ok" : "ABOVE TARGET"}`
)

const flowsDir = fileURLToPath(new URL("../flows/", import.meta.url))
const seeds = readdirSync(flowsDir).filter((f) => f.endsWith(".ts") && !f.endsWith(".chaos.ts")).sort()
const seedTimes: Record<string, number> = {}
for (const file of seeds) {
  const flow = (await import(new URL(`../flows/${file}`, import.meta.url).href)).default as AnyFlow
  const r = await measure(flow)
  seedTimes[file] = Number(r.warm.toFixed(1))
  console.log(`  ${file.padEnd(26)} ${r.warm.toFixed(1).padStart(7)} ms (first ${r.cold.toFixed(1)} ms, ${r.nodes} nodes)`)
}

console.log(JSON.stringify({
  bench: "plan",
  value: Number(dagPlan.warm.toFixed(1)),
  unit: "ms",
  baseline: "target-50ms",
  ratio: Number((dagPlan.warm / TARGET_MS).toFixed(3)),
  firstMs: Number(dagPlan.cold.toFixed(1)),
  seeds: seedTimes
}))
