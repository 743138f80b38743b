/**
 * Internal: where a step is, inside which run, and the run's shared state. One {@link StepScope}
 * per group (flow, parallel branch, DAG node, saga, batch item) so step names are unique per
 * scope and paths (`"deploy/staging/apply"`) are stable — they are the journal's activity names.
 *
 * @internal
 * @module
 */
import { Cause, Clock, Context, type Deferred, Effect, Exit, Fiber, Option } from "effect"
import { WorkflowInstance } from "effect/workflow/WorkflowEngine"
import type { PolicyRegistry } from "../policy/Policy.ts"
import { FlowDefinition } from "./FlowError.ts"
import { type FlowEvent, FlowEvents, type StepKind } from "./FlowEvents.ts"
import type { StepJournal } from "../ports/FlowEngine.ts"
import type { StepLedger } from "../ports/StepLedger.ts"
import type { Interpreter } from "./internal/Interpreter.ts"
import type { Sealer } from "./internal/Sealing.ts"
import type { ResultLog } from "./StepResults.ts"

/** A completed step's undo, run at most once. */
export interface CompensationEntry {
  readonly path: string
  done: boolean
  readonly undo: (cause: Cause.Cause<unknown>) => Effect.Effect<void>
}

/** A saga block's compensations, innermost first in `stack` order of registration. */
export interface CompensationStack {
  readonly entries: Array<CompensationEntry>
}

/** One node of a plan: what the DSL knows about a step or group without running its tools. */
export interface PlanNode {
  readonly path: string
  readonly kind: StepKind
  readonly description?: string | undefined
  readonly compensated: boolean
  readonly needs?: ReadonlyArray<string> | undefined
  readonly condition?: string | undefined
  readonly tools: Array<string>
  readonly policies: Array<string>
}

/** What a planning run collects. */
export interface PlanState {
  readonly nodes: Map<string, PlanNode>
  readonly outside: Array<string>
  readonly notes: Array<string>
}

/** A handler subscribed to a topic of a flow's event bus. */
export interface Subscription {
  readonly name: string
  readonly handler: (payload: unknown) => Effect.Effect<unknown, unknown>
}

/**
 * A resumed run's view of its journal: the steps that completed (replayed, not re-run), the ones
 * the crash left in flight, and whether the code changed since. When it did (and not `force`), a
 * step the journal does not know that starts while journaled steps are still to be replayed means
 * the flow diverged: the resume stops there, before the new step does anything.
 */
export interface ResumeState {
  readonly inFlight: ReadonlySet<string>
  readonly completed: ReadonlySet<string>
  /** Attempts an in-flight step had already made (its journaled retries), by path. */
  readonly attemptsBefore: ReadonlyMap<string, number>
  /** Completed steps not yet met by this replay. */
  readonly pending: Set<string>
  readonly force: boolean
  readonly codeChanged: boolean
  diverged: string | undefined
  /** Completed when the resume diverges: the caller stops waiting for the parked run. */
  readonly divergedSignal: Deferred.Deferred<void>
}

/** What one run shares across its fibers. */
export interface RunState {
  readonly runId: string
  readonly flow: string
  /** What running (or planning) each construct of the flow means. */
  readonly interpreter: Interpreter
  readonly emit: (event: FlowEvent) => void
  /**
   * Whether anyone receives the run's events (a `FlowEvents` sink other than the default no-op,
   * or a journal). A run nobody listens to builds no events at all.
   */
  readonly listening: boolean
  /** Compensations of the whole run; rebuilt each time the engine (re)plays the body. */
  root: CompensationStack
  /** Where steps' stateful policy layers live (one per engine), see `Policy.registry`. */
  readonly policies?: PolicyRegistry | undefined
  /** Event-bus subscriptions of this run, by topic. */
  readonly subscriptions: Map<string, Array<Subscription>>
  readonly compensationFailures: Array<{ readonly step: string; readonly error: string }>
  /** Each ended step's result by path (see `StepResults.ts`); rebuilt as the engine (re)plays the body. */
  readonly results: ResultLog
  /** The first step that failed (not interrupted), for the summary. */
  failedStep: string | undefined
  /** The journal could not be written: the run stops where it is, without compensating. */
  journalBroken?: boolean | undefined
  /**
   * A cluster runner gave the run up (it shuts down, or the run's shard moved to another runner):
   * the run stops where it is, without compensating, and resumes on the shard's new owner.
   */
  givenUp?: boolean | undefined
  /** Compensations under way in fibers of their own (see {@link unwindApart}); stopped by {@link giveUp}. */
  unwinding?: Set<Fiber.Fiber<void>> | undefined
  /** The signal a durable `Flow.waitFor` of this run is parked on (a cancel fails that wait). */
  waitingFor?: string | undefined
  /** The payload shape of that signal (see `SignalCheck.ts`): `Flow.sendSignal` checks against it. */
  waitingShape?: unknown
  /** The body's failure as it happened in this process (typed errors keep their class). */
  failure?: Cause.Cause<unknown> | undefined
  /** On the memory engine: completed steps' exits by path (see `Step.ts`); undefined on durable engines. */
  readonly stepJournal?: StepJournal | undefined
  /** Waits until the run's events so far are in its journal, where the journal queues them (cluster). */
  readonly eventsStored?: Effect.Effect<void> | undefined
  /** Where runs move between processes (cluster): counts durable steps' starts (see `StepLedger`). */
  readonly stepLedger?: StepLedger | undefined
  /** On resume: the steps the crash left in flight (they run again). */
  readonly inFlightAtCrash?: ReadonlySet<string> | undefined
  readonly resume?: ResumeState | undefined
  /** Where the engine journals step values: seals their `Redacted` parts (see `internal/Sealing.ts`). */
  readonly sealer?: Sealer | undefined
  /** Where the run's input and output are journaled (run row, engine): seals their `Redacted` parts. */
  readonly journalSealer?: Sealer | undefined
  /**
   * The body's result in this process: its typed value and the JSON form (sealed where it is
   * `Redacted`) handed to the engine and journaled, or why it does not fit the output Schema.
   */
  output?: RunOutput | undefined
}

/**
 * What a run's body returned, checked against the flow's output Schema: `typed` is the value,
 * `json` its JSON form as journaled (sensitive parts sealed); `invalid` the first issue.
 */
export type RunOutput =
  | { readonly _tag: "Valid"; readonly typed: unknown; readonly json: unknown }
  | { readonly _tag: "Invalid"; readonly path: string; readonly issue: string }

/** Where the current fiber is in a run. */
export interface StepScope {
  readonly run: RunState | undefined
  readonly path: string
  /** The names claimed in this scope so far (made on the first claim: most steps have no nested steps). */
  names: Set<string> | undefined
  /** Inside an activity's body: nested steps are reported but not journaled on their own. */
  readonly inActivity: boolean
  readonly saga: CompensationStack | undefined
}

/** The current scope; outside any run, steps still run and report with run id `""`. */
export const CurrentScope = Context.Reference<StepScope>("mcpflow/dsl/flow/CurrentScope", {
  defaultValue: () => ({ run: undefined, path: "", names: undefined, inActivity: false, saga: undefined })
})

/** Joins a scope path and a name. */
export const join = (prefix: string, name: string): string => (prefix === "" ? name : `${prefix}/${name}`)

/**
 * Claims `name` in `scope`: a definition error (as a defect the run turns into a typed
 * `FlowDefinition`) when it is empty, contains `/`, or is taken.
 */
export const claim = (scope: StepScope, name: string): Effect.Effect<string> => {
  const path = claimPath(scope, name)
  return typeof path === "string" ? Effect.succeed(path) : path
}

/**
 * {@link claim} without the Effect around a success: the path, or the defect to fail with.
 */
export const claimPath = (scope: StepScope, name: string): string | Effect.Effect<never> => {
  if (name.length === 0 || name.includes("/")) {
    return Effect.die(new FlowDefinition({ detail: `step name ${JSON.stringify(name)} must be non-empty and contain no "/"` }))
  }
  const names = scope.names ??= new Set()
  if (names.has(name)) {
    const where = scope.path === "" ? "the flow" : JSON.stringify(scope.path)
    return Effect.die(
      new FlowDefinition({ detail: `duplicate step name ${JSON.stringify(name)} in ${where}; names must be unique per scope` })
    )
  }
  names.add(name)
  return join(scope.path, name)
}

/** A child scope for a group at `path`. */
export const child = (scope: StepScope, path: string, patch?: Partial<Pick<StepScope, "inActivity" | "saga">>): StepScope => ({
  run: scope.run,
  path,
  names: undefined,
  inActivity: patch?.inActivity ?? scope.inActivity,
  saga: patch?.saga ?? scope.saga
})

type Distribute<T> = T extends unknown ? Omit<T, "runId" | "at"> : never

/** Emits an event stamped with the run id and the Clock's time. */
export const emit = (scope: StepScope, event: Distribute<FlowEvent>): Effect.Effect<void> =>
  scope.run?.listening === false ? Effect.void : Effect.withFiber((fiber) => {
    const sink = scope.run?.emit ?? fiber.getRef(FlowEvents).emit
    const at = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
    sink({ ...event, runId: scope.run?.runId ?? "", at } as FlowEvent)
    return Effect.void
  })

/** Milliseconds on the Clock. */
export const now: Effect.Effect<number> = Clock.currentTimeMillis

/** Whether the current fiber runs inside a workflow engine (journaled), and its instance. */
export const workflowInstance: Effect.Effect<Option.Option<WorkflowInstance["Service"]>> = Effect.serviceOption(
  WorkflowInstance
)

/**
 * True when an exit only means "the engine suspended this run" or "this runner gave the run up"
 * (not a real failure, nor a cancel): nothing is compensated, the run resumes later or elsewhere.
 */
export const isSuspension = (exit: Exit.Exit<unknown, unknown>): Effect.Effect<boolean> =>
  Effect.withFiber((fiber) => Effect.succeed(parkedBy(fiber, exit)))

/**
 * An interrupt-only cause that says "this runner gives the run up": Effect Cluster's abandon
 * (the runner no longer owns the run's shard), or any interrupt once the run is {@link RunState.givenUp}.
 */
export const isGiveUp = (run: RunState | undefined, cause: Cause.Cause<unknown>): boolean =>
  Cause.hasInterruptsOnly(cause) &&
  (run?.givenUp === true || cause.reasons.some((r) => Cause.isInterruptReason(r) && r.annotations.has(abandonKey)))

/** The key of `effect/cluster/ClusterSchema`'s `Abandon` interrupt annotation (the dsl stays free of cluster imports). */
const abandonKey = "effect/cluster/ClusterSchema/Abandon"

/**
 * {@link isSuspension} for the fiber running a construct, read right now (no Effect around it).
 *
 * @example
 * ```ts
 * Effect.withFiber((fiber) => Effect.onExit(body, (exit) => Effect.sync(() => parkedBy(fiber, exit) || report(exit))))
 * ```
 */
export const parkedBy = (fiber: Fiber.Fiber<unknown, unknown>, exit: Exit.Exit<unknown, unknown>): boolean => {
  if (Exit.isSuccess(exit) || !Cause.hasInterruptsOnly(exit.cause)) return false
  const instance = Context.getOrUndefined(fiber.context, WorkflowInstance)
  if (instance === undefined) return false
  // A durable interrupt (the engine's cancel) is never a give-up.
  return instance.suspended || (!instance.interrupted && isGiveUp(fiber.getRef(CurrentScope).run, exit.cause))
}

/**
 * `Effect.onExit` for a synchronous handler: runs `record` with `effect`'s exit (in the same
 * uninterruptible region as `onExit`) and ends with that exit. A handler that returns nothing
 * spares the `Effect.void` (and the `flatMap` to the exit) that `onExit` runs after it —
 * `Effect.onExitPrimitive`'s "no finalizer Effect" —, ≈ 0.3 KB per DAG node with a step. For the
 * bookkeeping every step and group does when it ends (journal, results, events). A handler that
 * throws fails the effect with the defect, as with `onExit`.
 *
 * @example
 * ```ts
 * afterExit(body, (exit) => journal.record(path, exit))
 * ```
 */
export const afterExit = <A, E, R>(effect: Effect.Effect<A, E, R>, record: (exit: Exit.Exit<A, E>) => void): Effect.Effect<A, E, R> =>
  // A function that returns nothing returns `undefined`: the "no finalizer Effect" of `onExitPrimitive`.
  Effect.onExitPrimitive(effect, record as (exit: Exit.Exit<A, E>) => undefined)

/** A short, single-line rendering of a failure cause. */
export const renderCause = (cause: Cause.Cause<unknown>): { readonly error: string; readonly errorTag?: string } => {
  const error = Cause.squash(cause)
  if (Cause.hasInterruptsOnly(cause)) return { error: "interrupted", errorTag: "Interrupted" }
  if (typeof error === "object" && error !== null) {
    const tag = "_tag" in error && typeof error._tag === "string" ? error._tag : undefined
    const reason = "reason" in error && typeof error.reason === "object" && error.reason !== null && "_tag" in error.reason
      ? String(error.reason._tag)
      : undefined
    const message = "message" in error && typeof error.message === "string" && error.message !== ""
      ? error.message
      : safeJson(error)
    return { error: message, ...(tag !== undefined ? { errorTag: reason !== undefined ? `${tag}.${reason}` : tag } : {}) }
  }
  return { error: String(error) }
}

const safeJson = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * {@link unwind} in a fiber of its own, awaited: the caller may be interrupted (Ctrl-C, a
 * fail-fast sibling, a finalizer's deadline) — its compensations must not be. Each undo is an
 * Activity, whose execution is interruptible: run in the caller's fiber it would be cut off at once
 * and reported as a failed compensation. The one thing that stops them is {@link giveUp}.
 */
export const unwindApart = (
  run: RunState | undefined,
  entries: ReadonlyArray<CompensationEntry>,
  cause: Cause.Cause<unknown>
): Effect.Effect<void> =>
  Effect.flatMap(Effect.forkDetach(unwind(entries, cause)), (fiber) => {
    if (run === undefined) return Fiber.join(fiber)
    const unwinding = (run.unwinding ??= new Set())
    unwinding.add(fiber)
    const joined = Effect.ensuring(Fiber.join(fiber), Effect.sync(() => void unwinding.delete(fiber)))
    // Given up before this unwind started: it stops at once too.
    return run.givenUp === true ? Effect.andThen(Fiber.interrupt(fiber), joined) : joined
  })

/**
 * This cluster runner gives the run up (it shuts down, or the run's shard moved): the run stops
 * where it is, without compensating (see {@link isGiveUp}), and compensations under way stop too.
 * They must: an undo is an Activity, served by the owner of the run's shard — no longer this
 * runner, and the new owner takes the shard only once this runner's hold on the run has ended, so
 * waiting for them here would hold the shard forever (seen: a run failed on a runner, started its
 * compensations, its shard moved to a runner that joined; the run and every other run of that
 * shard never moved on). The new owner replays the run: compensations the journal holds are not
 * run again; the one in flight here is interrupted with the rest and, not journaled as done, runs
 * again on the new owner — like a compensation in flight when its runner is killed, it may start
 * twice and finishes once.
 */
export const giveUp = (run: RunState): Effect.Effect<void> =>
  Effect.suspend(() => {
    run.givenUp = true
    const unwinding = run.unwinding === undefined ? [] : [...run.unwinding]
    const logged = Effect.logDebug(`gave run ${run.runId} up${unwinding.length > 0 ? " while it compensated" : ""}`)
    return unwinding.length === 0 ? logged : Effect.andThen(logged, Fiber.interruptAll(unwinding))
  })

/**
 * Runs the not-yet-done entries of `entries` in reverse order; each at most once. Failures are
 * recorded on the run (and reported by the undo itself), never swallowed.
 */
export const unwind = (entries: ReadonlyArray<CompensationEntry>, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  Effect.suspend(() => {
    const pending = entries.filter((e) => !e.done).reverse()
    for (const e of pending) e.done = true
    return Effect.forEach(pending, (e) => e.undo(cause), { discard: true })
  })
