/**
 * Child process of `bench/interpreter.ts`, case (c): DAG parallel efficiency (critical path /
 * wall time) of a `WIDTH` × `DEPTH` DAG of `MS` ms steps as a flow on the memory engine, against
 * the same DAG as plain Effect code (Deferreds and sleeps), `ROUNDS` rounds alternating which
 * side goes first.
 *
 * `dag.ts WIDTH DEPTH MS ROUNDS` prints `{ ours: [efficiency…], floor: [efficiency…], cpuMs: { ours, floor } }`
 * (CPU time per DAG run).
 */
import { Deferred, Effect, ManagedRuntime, Schema } from "effect"
import { dag, Flow, FlowEngine, step } from "../../dsl/flow/index.ts"
import { time } from "./child.ts"

const [widthArg = "20", depthArg = "10", msArg = "20", roundsArg = "7"] = process.argv.slice(2)
const WIDTH = Number(widthArg)
const DEPTH = Number(depthArg)
const MS = Number(msArg)
const ROUNDS = Number(roundsArg)

/** Layer l's node j needs nodes j and j+1 (mod width) of layer l-1. */
const needsOf = (l: number, j: number) => (l === 0 ? [] : [...new Set([`l${l - 1}n${j}`, `l${l - 1}n${(j + 1) % WIDTH}`])])

const wideDag = Flow.make({
  name: "bench-dag",
  input: Schema.Struct({}),
  output: Schema.Number,
  run: () => {
    let d: any = dag("wide")
    for (let l = 0; l < DEPTH; l++) {
      for (let j = 0; j < WIDTH; j++) {
        d = d.node(`l${l}n${j}`, { needs: needsOf(l, j) }, () => step("work", Effect.sleep(MS)))
      }
    }
    return Effect.map((d as ReturnType<typeof dag>).run(), (r) => Object.keys(r.outcomes).length)
  }
})

// The floor set by timers and the event loop: the same DAG as plain Effect code (Deferreds and sleeps).
const plainDag = Effect.gen(function*() {
  const done = new Map<string, Deferred.Deferred<void>>()
  const nodes: Array<{ readonly id: string; readonly needs: ReadonlyArray<string> }> = []
  for (let l = 0; l < DEPTH; l++) {
    for (let j = 0; j < WIDTH; j++) {
      const id = `l${l}n${j}`
      done.set(id, Deferred.makeUnsafe<void>())
      nodes.push({ id, needs: needsOf(l, j) })
    }
  }
  yield* Effect.forEach(nodes, (n) =>
    Effect.gen(function*() {
      for (const need of n.needs) yield* Deferred.await(done.get(need)!)
      yield* Effect.sleep(MS)
      yield* Deferred.succeed(done.get(n.id)!, undefined)
    }), { concurrency: "unbounded", discard: true })
})

const WARM_UP = Number(process.env.BENCH_DAG_WARM_UP ?? 2)
const engine = ManagedRuntime.make(FlowEngine.layerMemory)
// Warm-up: both sides, WARM_UP times each.
for (let i = 0; i < WARM_UP; i++) {
  await engine.runPromise(Flow.run(wideDag, {}))
  await Effect.runPromise(plainDag)
}
const criticalMs = DEPTH * MS
const ours: Array<number> = []
const floor: Array<number> = []
// CPU time per DAG run (ms): on a loaded machine, CPU spent is what turns into waiting for a core.
const cpu = { ours: 0, floor: 0 }
const cpuOf = async (side: keyof typeof cpu, run: () => Promise<number>) => {
  const before = process.cpuUsage()
  const efficiency = await run()
  const used = process.cpuUsage(before)
  cpu[side] += (used.user + used.system) / 1000 / ROUNDS
  return efficiency
}
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which side goes first, so neither always inherits the other's garbage.
  const runOurs = async () =>
    ours.push(await cpuOf("ours", async () => criticalMs / (await time(() => engine.runPromise(Flow.run(wideDag, {}))))))
  const runFloor = async () =>
    floor.push(await cpuOf("floor", async () => criticalMs / (await time(() => Effect.runPromise(plainDag)))))
  if (round % 2 === 0) await runOurs().then(runFloor)
  else await runFloor().then(runOurs)
}
await engine.dispose()
console.log(JSON.stringify({ ours, floor, cpuMs: { ours: Number(cpu.ours.toFixed(1)), floor: Number(cpu.floor.toFixed(1)) } }))
