/**
 * Child process of `bench/interpreter.ts`, case (d), run with `--expose-gc`: the heap of one long
 * run, sampled after a full GC every tenth of the run from inside the flow's body.
 *
 * `longRun.ts memory STEPS`: the memory engine (`FlowEngine.layerMemory`);
 * `longRun.ts durable STEPS`: the SQLite engine and run journal (`Engines.durable`) in a temp dir.
 *
 * Prints `{ engine, steps, beforeMb, samplesMb, growthMb, bytesPerStep, secondHalfBytesPerStep, usPerStep }`:
 * growth from the heap before the run to the last sample (the run's last step, its state still
 * alive), and the growth per step over the run's second half.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { Flow, step } from "../../dsl/flow/index.ts"
import * as Engines from "../../src/runtime/engine/Engines.ts"

const [engine = "memory", stepsArg = "100000"] = process.argv.slice(2)
const STEPS = Number(stepsArg)
const SAMPLES = 10
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with --expose-gc")

const heapAfterGc = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const samples: Array<number> = []
const work = (i: number, acc: number) => Effect.sync(() => (acc * 31 + i) % 1_000_003)

const longFlow = Flow.make({
  name: "bench-long-run",
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Number,
  run: ({ n }) =>
    Effect.gen(function*() {
      let acc = 1
      for (let i = 0; i < n; i++) {
        acc = yield* step(`s${i}`, work(i, acc))
        if ((i + 1) % (n / SAMPLES) === 0) samples.push(heapAfterGc())
      }
      return acc
    })
})

const dir = mkdtempSync(join(tmpdir(), "mcpflow-bench-long-"))
try {
  const layer = engine === "durable" ? Engines.durable(dir) : Engines.memory
  const runtime = ManagedRuntime.make(layer as Layer.Layer<never>)
  // Warm-up run (engine start, JIT), then the measured one.
  await runtime.runPromise(Flow.run(longFlow, { n: SAMPLES * 10 }) as Effect.Effect<number>)
  samples.length = 0
  const before = heapAfterGc()
  const started = performance.now()
  await runtime.runPromise(Flow.run(longFlow, { n: STEPS }) as Effect.Effect<number>)
  const ms = performance.now() - started
  await runtime.dispose()
  const growth = samples.at(-1)! - before
  console.log(JSON.stringify({
    engine,
    steps: STEPS,
    beforeMb: Number((before / 1024 / 1024).toFixed(1)),
    samplesMb: samples.map((s) => Number((s / 1024 / 1024).toFixed(1))),
    growthMb: Number((growth / 1024 / 1024).toFixed(1)),
    bytesPerStep: Math.round(growth / STEPS),
    // Over the run's second half: what each further step keeps (0 for a flat heap).
    secondHalfBytesPerStep: Math.round((samples.at(-1)! - samples[SAMPLES / 2 - 1]!) / (STEPS / 2)),
    usPerStep: Number(((ms * 1000) / STEPS).toFixed(1))
  }))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
