/**
 * The cost of durability: one workflow of 1 000 trivial activities (each returns a small
 * string), on the durable SQLite engine (`src/runtime/engine/SqliteEngine.ts`, WAL, `synchronous =
 * NORMAL`) versus `WorkflowEngine.layerMemory`, each after a 20-step warm-up on the same engine.
 * Prints steps per second for both, the journal's bytes per step (file size once closed, over
 * all steps run, warm-up included; the empty schema is included), and as its last line the JSON summary
 * `{bench, value, unit, baseline, ratio}` with ratio = durable / memory.
 *
 * `BENCH_STEPS` changes the number of steps.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, Schema } from "effect"
import { Activity, Workflow, WorkflowEngine } from "effect/workflow"
import * as SqliteEngine from "../src/runtime/engine/SqliteEngine.ts"

const STEPS = Number(process.env.BENCH_STEPS ?? 1_000)

const Trivial = Workflow.make("JournalBench", {
  payload: { run: Schema.String },
  success: Schema.Number,
  idempotencyKey: ({ run }) => run
})

const steps = Array.from({ length: STEPS }, (_, i) =>
  Activity.make({ name: `step-${i}`, success: Schema.String, execute: Effect.succeed(`output of step ${i}`) }))

const TrivialLive = Trivial.toLayer(Effect.fnUntraced(function*() {
  let count = 0
  for (const step of steps) {
    yield* step
    count++
  }
  return count
}))

const Warmup = Workflow.make("JournalBenchWarmup", { payload: {}, idempotencyKey: () => "warmup" })
const WarmupLive = Warmup.toLayer(Effect.fnUntraced(function*() {
  for (const step of steps.slice(0, 20)) yield* step
}))

/**
 * Builds `engine`, runs a 20-step warm-up workflow on it (engine start-up, JIT, schema
 * compilation), then times the 1 000-step workflow.
 */
const measure = async (engine: Layer.Layer<WorkflowEngine.WorkflowEngine, unknown>) => {
  const started = performance.now()
  const program = Effect.gen(function*() {
    yield* Warmup.execute({})
    const warm = performance.now()
    const done = yield* Trivial.execute({ run: "bench" })
    const ms = performance.now() - warm
    if (done !== STEPS) throw new Error(`expected ${STEPS} steps, got ${done}`)
    return { ms, startupMs: warm - started }
  }).pipe(Effect.provide(Layer.mergeAll(TrivialLive, WarmupLive).pipe(Layer.provideMerge(engine))))
  const { ms, startupMs } = await Effect.runPromise(Effect.scoped(program))
  return { ms, startupMs, perSecond: (STEPS / ms) * 1000 }
}

const dir = mkdtempSync(join(tmpdir(), "mcpflow-bench-journal-"))
try {
  await measure(WorkflowEngine.layerMemory)
  const memory = await measure(WorkflowEngine.layerMemory)

  const file = join(dir, "journal.db")
  const durable = await measure(SqliteEngine.layer({ filename: file }))
  const size = (path: string) => {
    try {
      return statSync(path).size
    } catch {
      return 0
    }
  }
  const bytes = size(file) + size(`${file}-wal`)

  const ratio = durable.perSecond / memory.perSecond
  console.log(`journal: ${STEPS} trivial steps in one workflow`)
  console.log(`  memory engine:  ${memory.ms.toFixed(0)} ms, ${memory.perSecond.toFixed(0)} steps/s`)
  console.log(`  SQLite engine:  ${durable.ms.toFixed(0)} ms, ${durable.perSecond.toFixed(0)} steps/s`)
  console.log(`  durable step:   ${(durable.ms / STEPS).toFixed(2)} ms (memory ${(memory.ms / STEPS).toFixed(3)} ms)`)
  console.log(`  engine start:   ${durable.startupMs.toFixed(0)} ms to open, migrate and run a 20-step warm-up`)
  console.log(`  journal size:   ${bytes} bytes after ${STEPS + 20} steps, ${(bytes / (STEPS + 20)).toFixed(0)} bytes/step`)
  console.log(JSON.stringify({
    bench: "journal",
    value: Math.round(durable.perSecond),
    unit: "steps/s",
    baseline: "memory-engine",
    ratio: Number(ratio.toFixed(4))
  }))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
