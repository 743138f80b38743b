/**
 * The cost of durability: workflows of 1 000 trivial activities (each returns a small string),
 * on the durable SQLite engine (`src/runtime/engine/SqliteEngine.ts`, WAL, `synchronous =
 * NORMAL`) versus `WorkflowEngine.layerMemory`, each after a 20-step warm-up on the same engine;
 * three workflows per engine, one after the other, and the median counts (the machine is shared:
 * one run is noisy). Prints steps per second for both, the journal's bytes per step (file size
 * once closed, over all steps run, warm-up included; the empty schema is included), and as its
 * last line the JSON summary `{bench, value, unit, baseline, ratio}` with ratio = durable / memory.
 *
 * It measures in a child process under Node's own type transform (see `interpreter/child.ts`:
 * tsx's `keepNames` makes closures dearer than in the compiled package).
 *
 * `BENCH_STEPS` changes the number of steps, `BENCH_ROUNDS` the number of workflows per engine.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, Schema } from "effect"
import { Activity, Workflow, WorkflowEngine } from "effect/workflow"
import * as SqliteEngine from "../src/runtime/engine/SqliteEngine.ts"
import { nodeTypeScript } from "./interpreter/child.ts"

const inChild = process.env.MCPFLOW_BENCH_JOURNAL_CHILD === "1"
if (!inChild) {
  const child = spawnSync(process.execPath, [...nodeTypeScript, new URL(import.meta.url).pathname], {
    stdio: "inherit",
    env: { ...process.env, MCPFLOW_BENCH_JOURNAL_CHILD: "1" }
  })
  if (child.status !== 0) throw new Error(`bench/journal.ts child exited with ${child.status}`)
}

const STEPS = Number(process.env.BENCH_STEPS ?? 1_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

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
 * compilation), then times `ROUNDS` workflows of `STEPS` steps, one after the other; the
 * median counts.
 */
const measure = async (engine: Layer.Layer<WorkflowEngine.WorkflowEngine, unknown>) => {
  const started = performance.now()
  const program = Effect.gen(function*() {
    yield* Warmup.execute({})
    const warm = performance.now()
    const rounds: Array<number> = []
    const cpu = process.cpuUsage()
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now()
      const done = yield* Trivial.execute({ run: `bench-${round}` })
      rounds.push(performance.now() - start)
      if (done !== STEPS) throw new Error(`expected ${STEPS} steps, got ${done}`)
    }
    const used = process.cpuUsage(cpu)
    return { rounds, startupMs: warm - started, cpuUsPerStep: (used.user + used.system) / (STEPS * ROUNDS) }
  }).pipe(Effect.provide(Layer.mergeAll(TrivialLive, WarmupLive).pipe(Layer.provideMerge(engine))))
  const { cpuUsPerStep, rounds, startupMs } = await Effect.runPromise(Effect.scoped(program))
  const ms = [...rounds].sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!
  return { ms, rounds, startupMs, cpuUsPerStep, perSecond: (STEPS / ms) * 1000 }
}

const dir = inChild ? mkdtempSync(join(tmpdir(), "mcpflow-bench-journal-")) : undefined
if (dir !== undefined) try {
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
  const each = (rounds: ReadonlyArray<number>) => rounds.map((ms) => ms.toFixed(0)).join(", ")
  console.log(`journal: ${STEPS} trivial steps per workflow, median of ${ROUNDS} workflows`)
  console.log(`  memory engine:  ${memory.ms.toFixed(0)} ms, ${memory.perSecond.toFixed(0)} steps/s (${each(memory.rounds)} ms)`)
  console.log(`  SQLite engine:  ${durable.ms.toFixed(0)} ms, ${durable.perSecond.toFixed(0)} steps/s (${each(durable.rounds)} ms)`)
  console.log(`  load average:   ${loadavg().map((l) => l.toFixed(1)).join(", ")} (${availableParallelism()} cores)`)
  console.log(`  durable step:   ${(durable.ms / STEPS).toFixed(2)} ms (memory ${(memory.ms / STEPS).toFixed(3)} ms)`)
  console.log(
    `  CPU per step:   ${durable.cpuUsPerStep.toFixed(0)} µs (memory ${memory.cpuUsPerStep.toFixed(1)} µs; ` +
      `follows the machine's load less than wall time)`
  )
  console.log(`  engine start:   ${durable.startupMs.toFixed(0)} ms to open, migrate and run a 20-step warm-up`)
  const total = STEPS * ROUNDS + 20
  console.log(`  journal size:   ${bytes} bytes after ${total} steps, ${(bytes / total).toFixed(0)} bytes/step`)
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
