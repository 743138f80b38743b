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

const workerFile = (): { readonly url: URL; readonly execArgv: Array<string> } => {
  const ts = import.meta.url.endsWith(".ts")
  const url = new URL(`./ChaosWorker.${ts ? "ts" : "js"}`, import.meta.url)
  // Sources (tests, `npm run bench`): the worker loads TypeScript through tsx, as the main thread does.
  const hasTsx = process.execArgv.some((a) => a.includes("tsx"))
  return { url, execArgv: ts && !hasTsx ? [...process.execArgv, "--import", "tsx"] : [...process.execArgv] }
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
 * The default number of workers: one per core but one (the main thread shrinks and merges), at
 * most 8; 1 (no worker) on a single core.
 *
 * @example
 * ```ts
 * defaultWorkers() // => 1 on a 2-core machine
 * ```
 */
export const defaultWorkers = (): number => Math.max(1, Math.min(8, availableParallelism() - 1))

/**
 * Runs `plans` on `count` workers loading `source`; the runs in plan order. With
 * `stopAtViolation`, the result may stop after the chunk holding the first violation.
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
  options: { readonly stopAtViolation: boolean }
): Promise<Array<PortableRun>> => {
  const slots = slotsFor(source, count)
  const tokens = plans.map(tokenOf)
  // Chunks small enough to balance the workers, large enough that a message is cheap next to the runs.
  const size = Math.max(5, Math.min(100, Math.ceil(tokens.length / (count * 8))))
  const chunks: Array<Array<PortableRun> | undefined> = []
  let firstViolation = Number.POSITIVE_INFINITY
  let next = 0
  for (const slot of slots) slot.worker.ref()
  try {
    await Promise.all(slots.map(async (slot) => {
      while (next * size < tokens.length) {
        const index = next++
        if (options.stopAtViolation && index > firstViolation) return
        const runs = await runChunk(slot, tokens.slice(index * size, (index + 1) * size))
        chunks[index] = runs
        if (runs.some((r) => r.violations.length > 0)) firstViolation = Math.min(firstViolation, index)
      }
    }))
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
 * `undefined` (every run here): without a source, or with one worker. Workers that fail cost
 * only speed: their batch comes back empty and the search makes those runs here.
 *
 * @example
 * ```ts
 * const parallel = parallelRuns({ module: specUrl }, 2, 1000)
 * ```
 */
export const parallelRuns = <R>(
  source: SpecSource | undefined,
  workers: number | undefined,
  runs: number | undefined
): ((plans: ReadonlyArray<F.FaultPlan>) => Promise<ReadonlyArray<R>>) | undefined => {
  // By default, workers only pay off when the runs outweigh their start (loading the spec, ≈ 1 s each).
  const threads = workers ?? (process.env.VITEST === undefined && (runs ?? 100) >= 400 ? defaultWorkers() : 1)
  if (source === undefined || threads <= 1) return undefined
  return (plans) =>
    (runPlans(source, threads, plans, { stopAtViolation: true }) as unknown as Promise<ReadonlyArray<R>>)
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
