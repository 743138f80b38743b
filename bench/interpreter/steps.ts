/**
 * Child process of `bench/interpreter.ts`, case (a): the per-step cost of one way of running
 * `STEPS` steps of the same work, each side in a process of its own (so one side's garbage or
 * retained state does not slow the other down).
 *
 * `steps.ts flow STEPS ROUNDS`: a flow of `step`s on the memory engine (`FlowEngine.layerMemory`);
 * `steps.ts activity STEPS ROUNDS`: a bare `effect/workflow` workflow, one `Activity` per step,
 * on `WorkflowEngine.layerMemory`;
 * `steps.ts plain STEPS ROUNDS`: plain `Effect.gen` code.
 *
 * Prints `{ mode, usPerStep, cpuUsPerStep }`: the medians (wall, CPU time) over `ROUNDS` runs, after a warm-up.
 */
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { Activity, Workflow, WorkflowEngine } from "effect/workflow"
import { Flow, FlowEngine, step } from "../../dsl/flow/index.ts"
import { median, time } from "./child.ts"

const [mode = "flow", stepsArg = "2000", roundsArg = "5"] = process.argv.slice(2)
const STEPS = Number(stepsArg)
const ROUNDS = Number(roundsArg)

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

/** The same work as a bare `effect/workflow` workflow: one Activity per step, made where it runs. */
const BareSteps = Workflow.make("BenchBareSteps", {
  payload: { n: Schema.Number, run: Schema.Number },
  success: Schema.Number,
  idempotencyKey: ({ run }) => String(run)
})
const BareStepsLive = BareSteps.toLayer(({ n }) =>
  Effect.gen(function*() {
    let acc = 1
    for (let i = 0; i < n; i++) {
      acc = yield* Activity.make({ name: `s${i}`, success: Schema.Number, execute: work(i, acc) })
    }
    return acc
  })
)

const plain = (n: number) =>
  Effect.gen(function*() {
    let acc = 1
    for (let i = 0; i < n; i++) acc = yield* work(i, acc)
    return acc
  })

const sides: Record<string, () => { readonly run: (n: number) => Promise<unknown>; readonly dispose: () => Promise<void> }> = {
  flow: () => {
    const runtime = ManagedRuntime.make(FlowEngine.layerMemory)
    return { run: (n) => runtime.runPromise(Flow.run(stepsFlow, { n })), dispose: () => runtime.dispose() }
  },
  activity: () => {
    const runtime = ManagedRuntime.make(BareStepsLive.pipe(Layer.provideMerge(WorkflowEngine.layerMemory)))
    let run = 0
    return { run: (n) => runtime.runPromise(BareSteps.execute({ n, run: run++ })), dispose: () => runtime.dispose() }
  },
  plain: () => ({ run: (n) => Effect.runPromise(plain(n)), dispose: async () => {} })
}

const side = sides[mode]!()
// Warm-up: until the JIT has settled (plain code needs many runs to get optimised).
const warmUntil = performance.now() + 300
for (let i = 0; i < 3 || performance.now() < warmUntil; i++) await side.run(STEPS)
const times: Array<number> = []
// CPU time too: on a shared machine a run's wall time includes the time other processes held the core.
const cpuTimes: Array<number> = []
for (let round = 0; round < ROUNDS; round++) {
  const before = process.cpuUsage()
  times.push(await time(() => side.run(STEPS)))
  const used = process.cpuUsage(before)
  cpuTimes.push((used.user + used.system) / 1000)
}
await side.dispose()
console.log(JSON.stringify({ mode, usPerStep: (median(times) * 1000) / STEPS, cpuUsPerStep: (median(cpuTimes) * 1000) / STEPS }))
