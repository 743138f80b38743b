/**
 * The engine that runs flows: an `effect/workflow` `WorkflowEngine` plus the registry that maps
 * each run to the services of the fiber that started it. Swap the layer to change engines:
 * {@link layerMemory} (tests, scripts, embedding; not durable) or a durable engine over the
 * same `WorkflowEngine` interface.
 *
 * @module
 */
import { Cause, Context, Effect, Exit, Fiber, Layer, type Schema, Scope } from "effect"
import type * as Workflow from "effect/workflow/Workflow"
import * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import { type PolicyRegistry, registry } from "../policy/Policy.ts"
import * as MemoryWorkflowEngine from "./internal/MemoryWorkflowEngine.ts"
import * as SynchronousDigest from "./internal/SynchronousDigest.ts"
import type { RunState } from "../flow/RunScope.ts"
import type { StepLedger } from "./StepLedger.ts"

/**
 * A run the engine is running: what its body needs from the caller that started it.
 *
 * @example
 * ```ts
 * yield* engine.begin(executionId, { context, state, input })
 * ```
 */
export interface LiveRun {
  /** The caller's services. */
  readonly context: Context.Context<never>
  /** The run's shared state. */
  readonly state: RunState
  /** The decoded input. */
  readonly input: unknown
}

/**
 * The memory engine's journal of one run: each completed step's exit by path, so that a body the
 * engine plays again (after a durable wait) replays completed steps instead of re-running them.
 *
 * @example
 * ```ts
 * const stored = journal.replay("deploy/apply") // the step's exit, or undefined
 * ```
 */
export interface StepJournal {
  /** The exit recorded for the step at `path`. */
  readonly replay: (path: string) => Exit.Exit<unknown, unknown> | undefined
  /** Records the step's exit (an interrupted step is not recorded: it runs again). */
  readonly record: (path: string, exit: Exit.Exit<unknown, unknown>) => void
}

/**
 * The engine that runs flows: registers each flow's workflow once, keeps the live runs (each
 * with its caller's services) by execution id, and stops a run's body on Ctrl-C.
 *
 * @example
 * ```ts
 * const program = Flow.run(cicd, input).pipe(Effect.provide(FlowEngine.layerMemory))
 * ```
 */
export class FlowEngine extends Context.Service<FlowEngine, {
  /** A name for reports: `"memory"`, `"sqlite"`, … */
  readonly kind: string
  /** Steps' stateful policy layers (breakers, bulkheads, …), shared by every run on this engine. */
  readonly policies: PolicyRegistry
  /** Registers `workflow` with the engine, once for the engine's lifetime (later calls do nothing). */
  readonly register: <Name extends string, Payload extends Workflow.AnyStructSchema, Success extends Schema.Top, Error extends Schema.Top, R>(
    workflow: Workflow.Workflow<Name, Payload, Success, Error>,
    execute: (payload: Payload["Type"], executionId: string) => Effect.Effect<Success["Type"], Error["Type"], R>
  ) => Effect.Effect<void, never, WorkflowEngine.WorkflowEngine | Exclude<R, WorkflowEngine.WorkflowEngine | WorkflowEngine.WorkflowInstance | Workflow.Execution<Name> | Scope.Scope>>
  /** Registers a live run under its execution id, until {@link end}. */
  readonly begin: (executionId: string, run: LiveRun) => Effect.Effect<void>
  /** The live run with that execution id (undefined: nobody is running it in this process). */
  readonly lookup: (executionId: string) => Effect.Effect<LiveRun | undefined>
  /** Runs `body` as the body of the live run `executionId`: the run's fiber, stopped by {@link stop}. */
  readonly attach: <A, E, R>(executionId: string, body: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Interrupts the body of the live run (Ctrl-C) and waits for it to end, unless `detach`. */
  readonly stop: (executionId: string, options?: { readonly detach?: boolean | undefined }) => Effect.Effect<void>
  /** Forgets the live run. */
  readonly end: (executionId: string) => Effect.Effect<void>
  /** A step journal for a new run: the memory engine's; undefined where the workflow engine journals steps. */
  readonly stepJournal: () => StepJournal | undefined
  /** Where runs move between processes (cluster): the count of each durable step's starts (see `StepLedger`). */
  readonly stepLedger?: StepLedger | undefined
}>()("mcpflow/dsl/flow/FlowEngine") {}

/**
 * A `FlowEngine` over the `WorkflowEngine` in context, named `kind`; with `journalSteps`, it
 * journals step exits itself (an engine that keeps nothing).
 *
 * @example
 * ```ts
 * const durable = FlowEngine.layer("sqlite").pipe(Layer.provideMerge(SqliteWorkflowEngine.layer({ filename })))
 * ```
 */
export const layer = (
  kind: string,
  options?: {
    readonly journalSteps?: boolean | undefined
    /** The registry of steps' stateful policies (default: a fresh one, in memory). */
    readonly policies?: PolicyRegistry | undefined
    /** Counts durable steps' starts, for an engine whose runs move between processes (see `StepLedger`). */
    readonly stepLedger?: StepLedger | undefined
  }
): Layer.Layer<FlowEngine, never, WorkflowEngine.WorkflowEngine> =>
  // Digests in the calling turn (see `SynchronousDigest`): a run's ids never wait on the thread pool.
  Layer.effect(FlowEngine)(make(kind, options)).pipe(Layer.merge(SynchronousDigest.webCrypto))

/** The `FlowEngine` of {@link layer}; `forget` drops a run from the workflow engine once it ended. */
const make = (
  kind: string,
  options?: {
    readonly journalSteps?: boolean | undefined
    readonly forget?: ((executionId: string) => void) | undefined
    readonly policies?: PolicyRegistry | undefined
    readonly stepLedger?: StepLedger | undefined
  }
): Effect.Effect<FlowEngine["Service"], never, WorkflowEngine.WorkflowEngine | Scope.Scope> =>
  Effect.gen(function*() {
    const workflows = yield* WorkflowEngine.WorkflowEngine
    const scope = yield* Effect.scope
    const registered = new Set<string>()
    const runs = new Map<string, { readonly run: LiveRun; fiber: Fiber.Fiber<unknown, unknown> | undefined }>()
    return FlowEngine.of({
      kind,
      policies: options?.policies ?? registry(),
      stepLedger: options?.stepLedger,
      register: (workflow, execute) =>
        Effect.suspend(() => {
          if (registered.has(workflow._tag)) return Effect.void
          registered.add(workflow._tag)
          return workflows.register(workflow, execute).pipe(Effect.provideService(Scope.Scope, scope))
        }) as never,
      begin: (executionId, run) => Effect.sync(() => void runs.set(executionId, { run, fiber: undefined })),
      lookup: (executionId) => Effect.sync(() => runs.get(executionId)?.run),
      attach: (executionId, body) =>
        Effect.suspend(() => {
          const live = runs.get(executionId)
          if (live !== undefined) live.fiber = Fiber.getCurrent()
          return body
        }),
      stop: (executionId, options) =>
        Effect.suspend(() => {
          const fiber = runs.get(executionId)?.fiber
          if (fiber === undefined) return Effect.void
          return options?.detach === true ? Effect.asVoid(Effect.forkDetach(Fiber.interrupt(fiber))) : Fiber.interrupt(fiber)
        }),
      end: (executionId) =>
        Effect.sync(() => {
          runs.delete(executionId)
          options?.forget?.(executionId)
        }),
      stepJournal: () => (options?.journalSteps === true ? memoryStepJournal() : undefined)
    })
  })

/** A failed step's exit, as the memory journal keeps it (a success is kept as its bare value). */
class Failed {
  constructor(readonly exit: Exit.Exit<unknown, unknown>) {}
}

/**
 * Step exits by path, kept for the run's lifetime: a success as its value alone (one map entry
 * per step), a failure with its cause.
 */
const memoryStepJournal = (): StepJournal => {
  const kept = new Map<string, unknown>()
  return {
    replay: (path) => {
      const entry = kept.get(path)
      if (entry === undefined && !kept.has(path)) return undefined
      return entry instanceof Failed ? entry.exit : Exit.succeed(entry)
    },
    record: (path, exit) => {
      if (Exit.isSuccess(exit)) kept.set(path, exit.value)
      else if (!Cause.hasInterruptsOnly(exit.cause)) kept.set(path, new Failed(exit))
    }
  }
}

/**
 * Flows in memory, on an in-memory `WorkflowEngine` with the semantics of `effect/workflow`'s
 * (durable waits replay the body, completed steps are replayed from the run's journal) that
 * forgets each run once it ended: nothing survives the process, and nothing piles up in it.
 * Works on the TestClock.
 *
 * @example
 * ```ts
 * yield* Flow.run(orderSaga, { sku: "A-1", qty: 2 }).pipe(Effect.provide(FlowEngine.layerMemory))
 * ```
 */
export const layerMemory: Layer.Layer<FlowEngine | WorkflowEngine.WorkflowEngine> = Layer.effectContext(
  Effect.gen(function*() {
    const workflows = yield* MemoryWorkflowEngine.make
    const engine = yield* make("memory", { journalSteps: true, forget: workflows.forget }).pipe(
      Effect.provideService(WorkflowEngine.WorkflowEngine, workflows.engine)
    )
    return Context.make(WorkflowEngine.WorkflowEngine, workflows.engine).pipe(Context.add(FlowEngine, engine))
  })
).pipe(Layer.merge(SynchronousDigest.webCrypto))
