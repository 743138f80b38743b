/**
 * `npm run bench -- chaos`: chaos runs per second of a 15-tool-call flow (a saga of 2 steps with
 * compensations, 3 parallel branches of 3 calls, then 4 more calls) against model-backed fakes,
 * under a 20 % fault rate (every fault kind, 1–3 faults per plan) on the TestClock (virtual
 * time), and the time per run against a fault-free run of the same flow (ratio). Each run is
 * `Chaos.runFlowOnce`: fresh servers and models (on SDK connections kept across runs, see
 * `chaos/ConnectionPool.ts`), the in-memory flow engine, the event stream, every invariant
 * checked. It also compares the CPU per run with a connection per run (the pool switched off),
 * and runs/s on 1 thread, on one thread per core (the main one and worker threads: what `mcpflow
 * chaos` does by default) and on 2 workers with an idle main thread.
 *
 * Last line: `{"bench":"chaos","value":N,"unit":"runs/s","baseline":"fault-free","ratio":R,…}`:
 * N is runs/s with the default thread count (one per core), warm; R is in process, chaos vs
 * fault-free time per run.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { Chaos, Fault } from "../chaos/index.ts"
import * as ConnectionPool from "../chaos/ConnectionPool.ts"
import * as WorkerPool from "../chaos/internal/WorkerPool.ts"
import { spec } from "./chaosSpec.ts"

const RUNS = Number(process.env.CHAOS_BENCH_RUNS ?? 1000)
const SEED = Number(process.env.FC_SEED ?? 42)

const arbitrary = await Effect.runPromise(Chaos.flowPlans(spec, { rate: 0.2, maxFaults: 3 }))
const plans = fc.sample(arbitrary, { seed: SEED, numRuns: RUNS })

const timeRuns = async (list: ReadonlyArray<Fault.FaultPlan>) => {
  let calls = 0
  let faults = 0
  const outcomes: Record<string, number> = {}
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  for (const plan of list) {
    const run = await Effect.runPromise(Chaos.runFlowOnce(spec, plan))
    calls += run.sent.length
    faults += run.log.length
    const k = Chaos.outcomeKind(run.outcome as Chaos.Outcome<unknown, unknown>)
    outcomes[k] = (outcomes[k] ?? 0) + 1
  }
  const ms = performance.now() - start
  const cpu = process.cpuUsage(cpu0)
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, calls, faults, outcomes }
}

// Warm up (JIT, module caches, the flow's plan, the connection pool): the JIT needs a few hundred runs.
const WARMUP = Number(process.env.CHAOS_BENCH_WARMUP ?? 400)
await timeRuns(plans.slice(0, WARMUP))
await timeRuns(Array.from({ length: Math.min(WARMUP, 100) }, () => Fault.none))

// Interleaved rounds (the machine is shared: a burst of load should hit both sides alike).
const ROUNDS = 5
const size = Math.ceil(RUNS / ROUNDS)
const cleanMs: Array<number> = []
const chaosMs: Array<number> = []
const cleanCpu: Array<number> = []
const chaosCpu: Array<number> = []
let calls = 0
let cleanCalls = 0
let faults = 0
const outcomes: Record<string, number> = {}
for (let round = 0; round < ROUNDS; round++) {
  const slice = plans.slice(round * size, (round + 1) * size)
  const clean = await timeRuns(slice.map(() => Fault.none))
  const chaos = await timeRuns(slice)
  cleanMs.push(clean.ms / slice.length)
  chaosMs.push(chaos.ms / slice.length)
  cleanCpu.push(clean.cpuMs / slice.length)
  chaosCpu.push(chaos.cpuMs / slice.length)
  calls += chaos.calls
  cleanCalls += clean.calls
  faults += chaos.faults
  for (const [k, n] of Object.entries(chaos.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + n
  console.log(`round ${round + 1}: fault-free ${(clean.ms / slice.length).toFixed(2)} ms/run, chaos ${(chaos.ms / slice.length).toFixed(2)} ms/run (CPU ${(clean.cpuMs / slice.length).toFixed(2)} / ${(chaos.cpuMs / slice.length).toFixed(2)} ms/run; ${slice.length} runs each)`)
}
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
// The same plans with a connection (handshake and close) per run, as before ConnectionPool.ts, interleaved with pooled batches.
const perRunCpu: Array<number> = []
const pooledCpu: Array<number> = []
for (let round = 0; round < ROUNDS; round++) {
  const slice = plans.slice(round * size, (round + 1) * size)
  ConnectionPool.settings.enabled = false
  perRunCpu.push((await timeRuns(slice)).cpuMs / slice.length)
  ConnectionPool.settings.enabled = true
  pooledCpu.push((await timeRuns(slice)).cpuMs / slice.length)
}
console.log(`CPU per chaos run, connections kept across runs vs one per run: ${median(pooledCpu).toFixed(2)} vs ${median(perRunCpu).toFixed(2)} ms (median of ${ROUNDS} interleaved rounds)`)
const perRunChaos = median(chaosMs)
const perRunClean = median(cleanMs)
const runsPerSecond = 1000 / perRunChaos
const ratio = perRunChaos / perRunClean
console.log(`fault-free: ${perRunClean.toFixed(2)} ms/run (median of ${ROUNDS} rounds), ${(cleanCalls / plans.length).toFixed(1)} tool calls/run`)
console.log(`chaos (20 % rate, seed ${SEED}): ${perRunChaos.toFixed(2)} ms/run = ${runsPerSecond.toFixed(0)} runs/s, ${(calls / plans.length).toFixed(1)} tool calls/run, ${faults} faults fired in ${plans.length} runs`)
console.log(`outcomes: ${Object.entries(outcomes).sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ${n}`).join(", ")}`)
// CPU time per run does not depend on how many other processes share the cores: compare it across runs of the bench.
console.log(`CPU per run: fault-free ${median(cleanCpu).toFixed(2)} ms, chaos ${median(chaosCpu).toFixed(2)} ms (${(1000 / median(chaosCpu)).toFixed(0)} runs per CPU-second; wall/CPU ${(perRunChaos / median(chaosCpu)).toFixed(1)})`)
console.log(`time per run vs fault-free: ×${ratio.toFixed(2)}`)

// Threads (`Chaos.checkFlow`'s `workers`, `mcpflow chaos --workers n`): the same plans through the
// search's runner — `n` threads: the main one and `n - 1` worker threads that load `chaosSpec.ts`
// (`n` = 1: all in process); `Nw` = N workers with the main thread only handing out chunks (as
// before the main thread took its share). The first batch of each is timed cold (workers starting
// while the main thread runs), then interleaved warm rounds. CPU is the whole process's (every
// thread). Results are compared: the same runs whatever the count.
const defaultThreads = WorkerPool.defaultThreads()
const WORKERS = (process.env.CHAOS_BENCH_WORKERS ?? `1,${Math.max(2, defaultThreads)},2w`).split(",")
const WORKER_ROUNDS = Number(process.env.CHAOS_BENCH_WORKER_ROUNDS ?? 5)
const source = { module: new URL("./chaosSpec.ts", import.meta.url).href }
const local = (plan: Fault.FaultPlan) => Effect.runPromise(Chaos.runFlowOnce(spec, plan))
const runAll = async (n: string, list: ReadonlyArray<Fault.FaultPlan>) => {
  const mainIdle = n.endsWith("w")
  const threads = Number(n.replace("w", ""))
  if (threads <= 1 && !mainIdle) {
    const out = []
    for (const plan of list) out.push(await local(plan))
    return out
  }
  WorkerPool.settings.mainRuns = !mainIdle
  try {
    return await WorkerPool.runPlans(source, mainIdle ? threads : threads - 1, list, { stopAtViolation: false, local })
  } finally {
    WorkerPool.settings.mainRuns = true
  }
}
const labelOf = (n: string) =>
  n.endsWith("w") ? `${n.replace("w", "")} worker threads, main thread idle` : n === "1" ? "in process (1 thread)" : `${n} threads (main + ${Number(n) - 1} worker${Number(n) > 2 ? "s" : ""})`
const fingerprintOf = (runs: ReadonlyArray<Chaos.FlowRunResult<unknown, unknown>>) =>
  JSON.stringify(runs.map((r) => [r.log.length, r.violations.map((v) => v.invariant), Chaos.outcomeKind(r.outcome as Chaos.Outcome<unknown, unknown>), r.durationMs, r.events.length]))
// Cold: the whole batch of plans, workers started with it (what `mcpflow chaos --runs 1000` pays).
const coldMs: Record<string, number> = {}
for (const n of WORKERS) {
  const started = performance.now()
  await runAll(n, plans)
  coldMs[n] = performance.now() - started
}
// Interleaved rounds (the machine is shared: a burst of load should hit every worker count alike).
const wall: Record<string, Array<number>> = {}
const cpuPer: Record<string, Array<number>> = {}
const fingerprints = new Set<string>()
for (let round = 0; round < WORKER_ROUNDS; round++) {
  for (const n of WORKERS) {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const runs = await runAll(n, plans)
    ;(wall[n] ??= []).push(performance.now() - t0)
    const cpu = process.cpuUsage(cpu0)
    ;(cpuPer[n] ??= []).push((cpu.user + cpu.system) / 1000 / plans.length)
    fingerprints.add(fingerprintOf(runs))
  }
}
const byWorkers: Record<string, number> = {}
for (const n of WORKERS) {
  const perSecond = plans.length / (median(wall[n]!) / 1000)
  byWorkers[n] = Math.round(perSecond)
  console.log(`${labelOf(n)}: ${perSecond.toFixed(0)} runs/s wall (median of ${WORKER_ROUNDS} interleaved rounds of ${plans.length} runs; ${wall[n]!.map((ms) => (plans.length / ms * 1000).toFixed(0)).join(", ")}), CPU ${median(cpuPer[n]!).toFixed(2)} ms/run (all threads); cold (workers starting) ${(plans.length / coldMs[n]! * 1000).toFixed(0)} runs/s`)
}
console.log(`the same runs whatever the number of threads: ${fingerprints.size === 1}`)
await WorkerPool.closeWorkers()
// The headline: what `mcpflow chaos` does by default here (one thread per core), warm.
const headline = byWorkers[String(defaultThreads)] ?? Math.round(runsPerSecond)
console.log(`chaos runs/s with the default ${defaultThreads} thread(s) (one per core), warm: ${headline}; in process: ${Math.round(runsPerSecond)} (first part)`)
console.log(JSON.stringify({ bench: "chaos", value: headline, unit: "runs/s", baseline: "fault-free", ratio: Number(ratio.toFixed(3)), threads: defaultThreads, inProcess: Math.round(runsPerSecond), workers: byWorkers }))
