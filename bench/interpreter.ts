/**
 * The flow interpreter against its floors, every ratio ours / floor measured in the same run:
 * (a) per-step cost of `step` on the memory engine, against a bare `effect/workflow` `Activity`
 *     on `WorkflowEngine.layerMemory` doing the same work (the JSON line's baseline) and against
 *     plain `Effect.gen` code (printed beside it), each side in processes of its own;
 * (b) 10 000 concurrent flows of 20 steps, every step a tool call through the gateway to an
 *     in-process server, against the same calls as plain Effect code over the same gateway: wall
 *     time and peak RSS, each side in a fresh process;
 * (c) DAG parallel efficiency (critical path / wall time) on a 20 × 10 DAG of 20 ms steps,
 *     against the same DAG as plain Effect code, rounds interleaved;
 * (d) the heap (after a full GC) of one long run: 100 000 steps on the memory engine, and the
 *     durable engine's heap per step.
 *
 * Knobs: BENCH_STEPS and BENCH_STEP_REPEATS (a), BENCH_FLOWS and BENCH_FLOW_STEPS (b; `BENCH_FLOWS=1000` for a quick
 * iteration), BENCH_DAG_WIDTH, BENCH_DAG_DEPTH, BENCH_DAG_MS, BENCH_DAG_WARM_UP (c; warm-up runs per side, default 2), BENCH_LONG_STEPS and
 * BENCH_DURABLE_STEPS (d), BENCH_CASES (a comma list of a,b,c,d; default all).
 */
import { median, runChild } from "./interpreter/child.ts"

const STEPS = Number(process.env.BENCH_STEPS ?? 2_000)
const ROUNDS = 5
const STEP_REPEATS = Number(process.env.BENCH_STEP_REPEATS ?? 3)
const FLOWS = Number(process.env.BENCH_FLOWS ?? 10_000)
const FLOW_STEPS = Number(process.env.BENCH_FLOW_STEPS ?? 20)
const DAG_WIDTH = Number(process.env.BENCH_DAG_WIDTH ?? 20)
const DAG_DEPTH = Number(process.env.BENCH_DAG_DEPTH ?? 10)
const DAG_MS = Number(process.env.BENCH_DAG_MS ?? 20)
const DAG_ROUNDS = 7
const LONG_STEPS = Number(process.env.BENCH_LONG_STEPS ?? 100_000)
const DURABLE_STEPS = Number(process.env.BENCH_DURABLE_STEPS ?? 2_000)
const CASES = new Set((process.env.BENCH_CASES ?? "a,b,c,d").split(","))

const summary: Record<string, unknown> = {}

// --- (a) per-step overhead ------------------------------------------------------------------

if (CASES.has("a")) {
  // Each side in processes of its own (a bare Activity run keeps every activity it ran, whose
  // garbage would slow the next side down), the sides alternating, medians of the repeats.
  const runs: Record<string, Array<number>> = { flow: [], activity: [], plain: [] }
  const cpuRuns: Record<string, Array<number>> = { flow: [], activity: [], plain: [] }
  for (let repeat = 0; repeat < STEP_REPEATS; repeat++) {
    for (const mode of Object.keys(runs)) {
      const r = await runChild<{ readonly usPerStep: number; readonly cpuUsPerStep: number }>("steps.ts", [mode, String(STEPS), String(ROUNDS)])
      runs[mode]!.push(r.usPerStep)
      cpuRuns[mode]!.push(r.cpuUsPerStep)
    }
  }
  const cpuOurs = median(cpuRuns.flow!)
  const cpuActivity = median(cpuRuns.activity!)
  const ours = median(runs.flow!)
  const activity = median(runs.activity!)
  const plainUs = median(runs.plain!)
  console.log(`(a) step on the memory engine: ${ours.toFixed(2)} us/step (median of ${STEP_REPEATS} processes x ${ROUNDS} flows of ${STEPS} steps; target <= 10)`)
  console.log(`    bare Activity on WorkflowEngine.layerMemory, same work: ${activity.toFixed(2)} us/step; ratio ${(ours / activity).toFixed(3)}`)
  console.log(`    plain Effect.gen, same work: ${plainUs.toFixed(3)} us/step; ratio ${(ours / plainUs).toFixed(1)}x`)
  console.log(`    CPU time: ${cpuOurs.toFixed(2)} us/step, bare Activity ${cpuActivity.toFixed(2)} us/step (ratio ${(cpuOurs / cpuActivity).toFixed(3)})`)
  summary.step = {
    usPerStep: Number(ours.toFixed(2)),
    activityUs: Number(activity.toFixed(2)),
    plainUs: Number(plainUs.toFixed(3)),
    cpuUsPerStep: Number(cpuOurs.toFixed(2)),
    cpuActivityUs: Number(cpuActivity.toFixed(2))
  }
  summary.value = Number(ours.toFixed(2))
  summary.ratio = Number((ours / activity).toFixed(3))
  summary.ratioPlain = Number((ours / plainUs).toFixed(1))
}

// --- (b) concurrent flows through the gateway -----------------------------------------------

interface ConcurrentResult {
  readonly wallMs: number
  readonly cpuMs: number
  readonly peakRssMb: number
  readonly rssBeforeMb: number
}

if (CASES.has("b")) {
  const args = [String(FLOWS), String(FLOW_STEPS)]
  const floor = await runChild<ConcurrentResult>("concurrent.ts", ["plain", ...args])
  const ours = await runChild<ConcurrentResult>("concurrent.ts", ["flow", ...args])
  const calls = FLOWS * FLOW_STEPS
  const line = (r: ConcurrentResult) =>
    `wall ${r.wallMs} ms (${Math.round(calls / (r.wallMs / 1000))} calls/s, ${((r.wallMs * 1000) / calls).toFixed(1)} us/call; ` +
    `CPU ${r.cpuMs} ms), ` +
    `peak RSS ${r.peakRssMb} MB (${r.rssBeforeMb} MB before)`
  console.log(`(b) ${FLOWS} concurrent flows x ${FLOW_STEPS} steps (${calls} tool calls via the gateway), each side in a fresh process:`)
  console.log(`    flows (step per call): ${line(ours)}; targets < 5000 ms, < 600 MB`)
  console.log(`    plain Effect over the same gateway: ${line(floor)}`)
  console.log(`    ratio wall ${(ours.wallMs / floor.wallMs).toFixed(2)}, CPU ${(ours.cpuMs / floor.cpuMs).toFixed(2)}, peak RSS ${(ours.peakRssMb / floor.peakRssMb).toFixed(2)}`)
  summary.concurrentFlows = {
    flows: FLOWS,
    steps: FLOW_STEPS,
    wallMs: ours.wallMs,
    cpuMs: ours.cpuMs,
    peakRssMb: ours.peakRssMb,
    plainWallMs: floor.wallMs,
    plainCpuMs: floor.cpuMs,
    plainPeakRssMb: floor.peakRssMb
  }
}

// --- (c) DAG parallel efficiency ------------------------------------------------------------

if (CASES.has("c")) {
  // In a child process of its own (see child.ts: the package's code as compiled, not tsx's).
  const r = await runChild<{ readonly ours: Array<number>; readonly floor: Array<number>; readonly cpuMs: { readonly ours: number; readonly floor: number } }>("dag.ts", [
    String(DAG_WIDTH),
    String(DAG_DEPTH),
    String(DAG_MS),
    String(DAG_ROUNDS)
  ])
  const criticalMs = DAG_DEPTH * DAG_MS
  const efficiency = median(r.ours)
  const plainEfficiency = median(r.floor)
  const gap = plainEfficiency - efficiency
  console.log(
    `(c) DAG ${DAG_WIDTH} wide x ${DAG_DEPTH} deep, ${DAG_MS} ms steps: critical path ${criticalMs} ms, ` +
      `efficiency ${efficiency.toFixed(3)} (median of ${DAG_ROUNDS}), the same DAG as plain Effect code ` +
      `${plainEfficiency.toFixed(3)}: ${gap.toFixed(3)} below the floor (target <= 0.010) ${gap <= 0.01 ? "ok" : "ABOVE TARGET"}`
  )
  console.log(`    rounds: ours ${r.ours.map((e) => e.toFixed(3)).join(" ")}; plain ${r.floor.map((e) => e.toFixed(3)).join(" ")}`)
  console.log(`    CPU time per DAG run: ours ${r.cpuMs.ours} ms, plain ${r.cpuMs.floor} ms (what a loaded machine turns into waiting)`)
  summary.dagEfficiency = Number(efficiency.toFixed(3))
  summary.dagEfficiencyPlainEffect = Number(plainEfficiency.toFixed(3))
  summary.dagCpuMs = r.cpuMs
}

// --- (d) memory of one long run -------------------------------------------------------------

interface LongRunResult {
  readonly steps: number
  readonly beforeMb: number
  readonly samplesMb: ReadonlyArray<number>
  readonly growthMb: number
  readonly bytesPerStep: number
  readonly secondHalfBytesPerStep: number
  readonly usPerStep: number
}

if (CASES.has("d")) {
  const flags = { nodeFlags: ["--expose-gc"] }
  const memory = await runChild<LongRunResult>("longRun.ts", ["memory", String(LONG_STEPS)], flags)
  const durable = await runChild<LongRunResult>("longRun.ts", ["durable", String(DURABLE_STEPS)], flags)
  const line = (r: LongRunResult) =>
    `heap after GC ${r.beforeMb} MB before, then ${r.samplesMb.join(" ")} MB: ` +
    `+${r.growthMb} MB (${r.bytesPerStep} B/step; ${r.secondHalfBytesPerStep} B/step over the second half), ${r.usPerStep} us/step`
  console.log(`(d) one run of ${memory.steps} steps on the memory engine: ${line(memory)}; target growth < 20 MB ${memory.growthMb < 20 ? "ok" : "ABOVE TARGET"}`)
  console.log(`    one run of ${durable.steps} steps on the durable (SQLite) engine: ${line(durable)}`)
  summary.longRun = {
    memory: { steps: memory.steps, growthMb: memory.growthMb, bytesPerStep: memory.bytesPerStep },
    durable: {
      steps: durable.steps,
      growthMb: durable.growthMb,
      bytesPerStep: durable.bytesPerStep,
      secondHalfBytesPerStep: durable.secondHalfBytesPerStep,
      usPerStep: durable.usPerStep
    }
  }
}

const { value, ratio, ...rest } = summary
console.log(JSON.stringify({ bench: "interpreter", value, unit: "us/step", baseline: "effect-workflow-activity", ratio, ...rest }))
