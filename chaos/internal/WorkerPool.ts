/**
 * Internal: worker threads that run chaos runs (`ChaosWorker.ts`), kept per spec source for the
 * life of the process (a worker loads the flow and its servers once: a second or so). A batch of
 * plans is cut into chunks handed out in order to whichever worker is free; the results come back
 * in plan order, whatever the number of workers. With `stopAtViolation`, no chunk starts after one
 * that found a violation: a search needs the runs up to its first failure, not past it.
 *
 * Idle workers do not keep the process alive.
 *
 * @internal
 * @module
 */
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { tokenOf } from "../ReplayToken.ts"
import type * as F from "../Fault.ts"
import type * as FlowCheck from "../FlowCheck.ts"
import type { SpecSource } from "./WorkerSpec.ts"

type PortableRun = FlowCheck.FlowRunResult<unknown, unknown>

interface Slot {
  readonly worker: Worker
  readonly ready: Promise<void>
  busy: boolean
}

const pools = new Map<string, Array<Slot>>()

/**
 * Switches: `mainRuns` (default on) lets the main thread run chunks of a batch next to its workers
 * (off: it only hands them out, and runs a failed worker's chunk). For tests and benches.
 *
 * @example
 * ```ts
 * settings.mainRuns = false // every run of a batch on a worker thread
 * ```
 */
export const settings: { mainRuns: boolean } = { mainRuns: true }

const workerFile = (): { readonly url: URL; readonly execArgv: Array<string> } => {
  const ts = import.meta.url.endsWith(".ts")
  const url = new URL(`./ChaosWorker.${ts ? "ts" : "js"}`, import.meta.url)
  // Sources (tests, benches): the worker loads TypeScript the way the main thread does — through
  // tsx, or Node's own type transform (`--experimental-transform-types`, inherited with execArgv).
  const loadsTs = process.execArgv.some((a) => a.includes("tsx") || a.includes("experimental-transform-types"))
  return { url, execArgv: ts && !loadsTs ? [...process.execArgv, "--import", "tsx"] : [...process.execArgv] }
}

const spawn = (source: SpecSource, key: string): Slot => {
  const { execArgv, url } = workerFile()
  const worker = new Worker(url, { workerData: source, execArgv })
  worker.unref()
  // A dead worker leaves its pool: the next batch starts a fresh one.
  worker.once("exit", () => {
    const slots = pools.get(key)
    const i = slots?.findIndex((s) => s.worker === worker) ?? -1
    if (i >= 0) slots!.splice(i, 1)
  })
  const ready = new Promise<void>((resolve, reject) => {
    const onMessage = (m: { readonly ready?: boolean }) => {
      if (m.ready === true) {
        worker.off("message", onMessage)
        worker.off("error", reject)
        resolve()
      }
    }
    worker.on("message", onMessage)
    worker.once("error", reject)
    worker.once("exit", (code) => reject(new Error(`chaos worker exited (code ${code}) while starting`)))
  })
  // Nobody may be waiting yet: a start failure is reported by the batch that waits on it.
  ready.catch(() => {})
  return { worker, ready, busy: false }
}

const slotsFor = (source: SpecSource, count: number): Array<Slot> => {
  const key = JSON.stringify(source)
  let slots = pools.get(key)
  if (slots === undefined) pools.set(key, slots = [])
  while (slots.length < count) slots.push(spawn(source, key))
  return slots.slice(0, count)
}

let nextId = 0

const runChunk = (slot: Slot, tokens: ReadonlyArray<string>): Promise<Array<PortableRun>> =>
  slot.ready.then(() =>
    new Promise<Array<PortableRun>>((resolve, reject) => {
      const id = nextId++
      const done = () => {
        slot.worker.off("message", onMessage)
        slot.worker.off("error", onError)
        slot.worker.off("exit", onExit)
      }
      const onMessage = (m: { readonly id?: number; readonly runs?: Array<PortableRun>; readonly error?: string }) => {
        if (m.id !== id) return
        done()
        if (m.error !== undefined) reject(new Error(`chaos worker failed: ${m.error}`))
        else resolve(m.runs ?? [])
      }
      const onError = (error: Error) => {
        done()
        reject(error)
      }
      // A worker that dies without an error (killed, out of memory) must not leave the batch waiting.
      const onExit = (code: number) => {
        done()
        reject(new Error(`chaos worker exited (code ${code}) during a batch`))
      }
      slot.worker.on("message", onMessage)
      slot.worker.once("error", onError)
      slot.worker.once("exit", onExit)
      slot.worker.postMessage({ id, tokens })
    })
  )

/**
 * The default number of threads that run a search's runs (the main thread and `n - 1` workers):
 * one per core, at most 8; 1 (no worker) on a single core.
 *
 * @example
 * ```ts
 * defaultThreads() // => 2 on a 2-core machine
 * ```
 */
export const defaultThreads = (): number => Math.max(1, Math.min(8, availableParallelism()))

/**
 * Starts `count` workers for `source` now (if they are not running yet), so that their start —
 * loading the flow and its servers, 0.5–5 s — overlaps with the main thread's own work.
 *
 * @example
 * ```ts
 * warmUp({ module: specUrl }, 1)
 * ```
 */
export const warmUp = (source: SpecSource, count: number): void => {
  slotsFor(source, count)
}

/**
 * Runs `plans` on `count` workers loading `source`; the runs in plan order. With
 * `stopAtViolation`, the result may stop after the chunk holding the first violation. With
 * `local`, a chunk whose worker fails (it could not start, or died) runs here instead, and (unless
 * `settings.mainRuns` is off) the main thread takes chunks too, as one more worker, from the first
 * chunk on, so it runs while the workers still start. A run made here keeps the servers'
 * snapshots; one made on a worker comes without them (see `WorkerSpec.portable`): the search
 * reads neither.
 *
 * @example
 * ```ts
 * const runs = await runPlans({ module: specUrl }, 2, plans, { stopAtViolation: true })
 * ```
 */
export const runPlans = async (
  source: SpecSource,
  count: number,
  plans: ReadonlyArray<F.FaultPlan>,
  options: {
    readonly stopAtViolation: boolean
    readonly local?: ((plan: F.FaultPlan) => Promise<PortableRun>) | undefined
  }
): Promise<Array<PortableRun>> => {
  const slots = slotsFor(source, count)
  const local = options.local
  const tokens = plans.map(tokenOf)
  const mainRuns = local !== undefined && settings.mainRuns
  const threads = count + (mainRuns ? 1 : 0)
  // Chunks small enough to balance the threads, large enough that a message is cheap next to the runs.
  const size = Math.max(5, Math.min(100, Math.ceil(tokens.length / (threads * 8))))
  const chunks: Array<Array<PortableRun> | undefined> = []
  let firstViolation = Number.POSITIVE_INFINITY
  let next = 0
  const runHere = async (index: number): Promise<Array<PortableRun>> => {
    const out: Array<PortableRun> = []
    for (const plan of plans.slice(index * size, (index + 1) * size)) out.push(await local!(plan))
    return out
  }
  const take = async (run: (index: number) => Promise<Array<PortableRun>>): Promise<void> => {
    while (next * size < tokens.length) {
      const index = next++
      if (options.stopAtViolation && index > firstViolation) return
      let runs: Array<PortableRun>
      try {
        runs = await run(index)
      } catch (error) {
        // A worker that fails hands its chunk to the main thread (when it runs chunks) and stops taking more.
        if (local === undefined || run === runHere) throw error
        runs = await runHere(index)
        chunks[index] = runs
        if (runs.some((r) => r.violations.length > 0)) firstViolation = Math.min(firstViolation, index)
        return
      }
      chunks[index] = runs
      if (runs.some((r) => r.violations.length > 0)) firstViolation = Math.min(firstViolation, index)
    }
  }
  for (const slot of slots) slot.worker.ref()
  try {
    await Promise.all([
      ...slots.map((slot) => take((index) => runChunk(slot, tokens.slice(index * size, (index + 1) * size)))),
      ...(mainRuns ? [take(runHere)] : [])
    ])
  } finally {
    for (const slot of slots) slot.worker.unref()
  }
  const out: Array<PortableRun> = []
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]
    if (chunk === undefined) break
    out.push(...chunk)
    if (options.stopAtViolation && i >= firstViolation) break
  }
  return out
}

/**
 * The `parallel` of `Chaos.search` for a spec that worker threads load from `source`, or
 * `undefined` (every run here, as before): without a source, or with 1 thread. `threads` counts
 * the threads that run the search's runs, this one included: `threads - 1` workers start at once
 * (their start, 0.5–5 s, overlaps with the search's first pass and with the runs this thread makes
 * meanwhile through `local`; see {@link runPlans}). A worker that fails costs only speed: its
 * chunk runs here.
 *
 * @example
 * ```ts
 * const parallel = parallelRuns({ module: specUrl }, 2, 1000, (plan) => Effect.runPromise(runOne(plan)))
 * ```
 */
export const parallelRuns = <R>(
  source: SpecSource | undefined,
  threads: number | undefined,
  runs: number | undefined,
  local: (plan: F.FaultPlan) => Promise<R>
): ((plans: ReadonlyArray<F.FaultPlan>) => Promise<ReadonlyArray<R>>) | undefined => {
  // By default, workers only pay off when the runs outweigh their start (loading the spec, ≈ 1 s each).
  const count = threads ?? (process.env.VITEST === undefined && (runs ?? 100) >= 400 ? defaultThreads() : 1)
  if (source === undefined || count <= 1) return undefined
  warmUp(source, count - 1)
  const here = local as unknown as (plan: F.FaultPlan) => Promise<PortableRun>
  return (plans) =>
    (runPlans(source, count - 1, plans, { stopAtViolation: true, local: here }) as unknown as Promise<ReadonlyArray<R>>)
      .catch((): ReadonlyArray<R> => [])
}

/**
 * Stops every worker of this process (they stop by themselves when it exits).
 *
 * @example
 * ```ts
 * await closeWorkers()
 * ```
 */
export const closeWorkers = async (): Promise<void> => {
  const all = [...pools.values()].flat()
  pools.clear()
  await Promise.all(all.map((s) => s.worker.terminate()))
}
