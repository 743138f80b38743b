/**
 * Crash and resume for flow checks: a plan with a `Crash` fault runs its flow on a durable
 * engine over a temporary SQLite journal (one directory per run, removed after it). At the
 * crash, the journal is copied as a killed process leaves it (its files as they are on disk at
 * that instant); the run is then resumed (`Flow.resume`) by a new engine on the copy, against
 * the same servers. The crashed attempt's later events are dropped: the stream a run reports
 * is what the processes that were alive emitted.
 *
 * The built-in `crash-resume` invariant then holds when a crash fired: the run could be
 * resumed, no step that completed ran again (only the one in flight — and the steps nested in
 * it — run again), and no compensation ran twice.
 *
 * @example
 * ```ts
 * const journal = FlowCrash.journal()
 * const { program, restart } = FlowCrash.attempts(flow, input, "chaos", journal, (e) => events.push(e))
 * // … RunOnce.runOnce({ …spec, program, restart }, plan) …
 * journal.remove()
 * ```
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, References, type Schema } from "effect"
import type { Flow } from "../dsl/flow/Flow.ts"
import * as FlowModule from "../dsl/flow/Flow.ts"
import { type FlowEvent, FlowEvents } from "../dsl/flow/FlowEvents.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import * as Engines from "../src/runtime/engine/Engines.ts"
import type * as Injector from "./Injector.ts"
import type { Outcome, Restart, Violation } from "./RunSpec.ts"

/**
 * Loads the durable engine's modules (`node:sqlite` and the SQLite engine) before a run: loaded
 * inside a run, their real-time loading would look to the virtual clock like a program stuck with
 * nothing to wake it.
 *
 * @example
 * ```ts
 * yield* FlowCrash.preload
 * ```
 */
export const preload: Effect.Effect<void> = Effect.asVoid(Effect.promise(() =>
  Promise.all([import("../src/runtime/engine/SqliteEngine.ts"), import("../src/runtime/engine/SqliteRunJournal.ts")])
))

/**
 * A temporary journal directory for one run: `dirOf(n)` is the state directory of the `n`-th
 * process (0: the first), `remove()` deletes them all.
 *
 * @example
 * ```ts
 * const j = FlowCrash.journal()
 * Engines.durable(j.dirOf(0))
 * ```
 */
export interface Journal {
  readonly dirOf: (attempt: number) => string
  /** Copies the journal of attempt `from` to attempt `from + 1`, as it is on disk now. */
  readonly copy: (from: number) => void
  readonly remove: () => void
}

/**
 * Makes a {@link Journal} under the system's temporary directory.
 *
 * @example
 * ```ts
 * const j = FlowCrash.journal()
 * ```
 */
export const journal = (): Journal => {
  const root = mkdtempSync(join(tmpdir(), "mcpflow-crash-"))
  live.add(root)
  const dirOf = (attempt: number) => join(root, String(attempt))
  return {
    dirOf,
    copy: (from) => {
      const source = dirOf(from)
      const target = dirOf(from + 1)
      mkdirSync(target, { recursive: true })
      // The database and its write-ahead log: what survives a killed process (the shared-memory
      // index is rebuilt from the log; the process lock dies with the process).
      for (const name of ["runs.db", "runs.db-wal", "runs.db-journal"]) {
        if (existsSync(join(source, name))) copyFileSync(join(source, name), join(target, name))
      }
    },
    remove: () => {
      rmSync(root, { recursive: true, force: true })
      live.delete(root)
    }
  }
}

/** The journal directories this process made and did not remove yet. */
const live = new Set<string>()

/**
 * How many temporary journals of this process are still on disk (0 once every crash run ended):
 * counted in this process, not in the shared temporary directory other processes write to.
 *
 * @example
 * ```ts
 * FlowCrash.liveJournals() // => 0 between checks
 * ```
 */
export const liveJournals = (): number => [...live].filter((root) => existsSync(root)).length

/**
 * The first process's program and the restart after each crash, for a flow on a
 * {@link Journal}. `emit` gets the events of the process alive at the time.
 *
 * @example
 * ```ts
 * const { program, restart } = FlowCrash.attempts(flow, input, "chaos", journal, sink.emit)
 * ```
 */
export const attempts = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  input: I["Encoded"],
  runId: string,
  journal: Journal,
  emit: (event: FlowEvent) => void
): { readonly program: Effect.Effect<O["Type"], unknown, McpGateway>; readonly restart: Restart<O["Type"], unknown> } => {
  let alive = 0
  const on = (attempt: number) => <A, X, Y>(effect: Effect.Effect<A, X, Y>) =>
    effect.pipe(
      // A journal that cannot be opened is the harness's failure, not the flow's; the engine's
      // own logs (shard bookkeeping on the virtual clock) are not the report's business.
      Effect.provide(Layer.orDie(Engines.durable(journal.dirOf(attempt))).pipe(Layer.provide(Layer.succeed(References.MinimumLogLevel, "Error")))),
      Effect.provideService(FlowEvents, { emit: (e: FlowEvent) => void (alive === attempt && emit(e)) })
    )
  const program = FlowModule.run(flow, input, { runId }).pipe(on(0)) as unknown as Effect.Effect<O["Type"], unknown, McpGateway>
  return {
    program,
    restart: {
      crashed: (n) => {
        alive = n
        journal.copy(n - 1)
      },
      resume: (n) => FlowModule.resume(flow, runId).pipe(on(n)) as unknown as Effect.Effect<O["Type"], unknown, McpGateway>
    }
  }
}

const isUnder = (path: string, parents: ReadonlySet<string>): boolean => {
  for (const p of parents) if (path.startsWith(`${p}/`)) return true
  return false
}

/**
 * The `crash-resume` invariant over a run in which a `Crash` fired: the run could be resumed
 * (no `NotResumable`), no step succeeded twice for real (a replayed step is fine; the steps in
 * flight at a crash and those nested in them run again), and no compensation ran twice.
 *
 * @example
 * ```ts
 * FlowCrash.violations(run.events, run.outcome, run.log) // => [] when crash and resume went well
 * ```
 */
export const violations = (
  events: ReadonlyArray<FlowEvent>,
  outcome: Outcome<unknown, unknown>,
  log: ReadonlyArray<Injector.Injection>
): Array<Violation> => {
  if (!log.some((i) => i.kind === "Crash")) return []
  const out: Array<Violation> = []
  if (outcome._tag === "Failure") {
    const e = outcome.error as { readonly _tag?: unknown; readonly reason?: { readonly _tag?: unknown; readonly message?: unknown } }
    if (e?._tag === "FlowError" && e.reason?._tag === "NotResumable") {
      out.push({ invariant: "crash-resume", detail: `the crashed run could not be resumed: ${String(e.reason.message)}` })
    }
  }
  const inFlight = new Set(events.flatMap((e) => (e._tag === "FlowStarted" && e.resumed === true ? e.inFlight ?? [] : [])))
  const ran = new Map<string, number>()
  const undone = new Map<string, number>()
  for (const e of events) {
    if (e._tag === "StepSucceeded" && e.kind === "step" && !e.replayed && !isUnder(e.path, inFlight)) {
      ran.set(e.path, (ran.get(e.path) ?? 0) + 1)
    } else if (e._tag === "Compensated" && e.replayed !== true) {
      undone.set(e.path, (undone.get(e.path) ?? 0) + 1)
    }
  }
  const rerun = [...ran].filter(([, n]) => n > 1).map(([p]) => p)
  if (rerun.length > 0) out.push({ invariant: "crash-resume", detail: `completed step(s) ran again after a crash: ${rerun.join(", ")}` })
  const twice = [...undone].filter(([, n]) => n > 1).map(([p]) => p)
  if (twice.length > 0) out.push({ invariant: "crash-resume", detail: `compensated more than once: ${twice.join(", ")}` })
  return out
}
