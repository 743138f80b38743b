/**
 * Internal: the in-memory `WorkflowEngine` the memory `FlowEngine` runs on. It has the semantics
 * of `effect/workflow`'s `WorkflowEngine.layerMemory` (whose code it follows: replays after a
 * durable wait, activities run once per attempt, deferred results, durable clocks, interrupts,
 * child executions), with one difference: each execution keeps its own activities, deferred
 * results and clocks, and {@link MemoryWorkflowEngine.forget} drops all of it once the caller is
 * done with the run. Effect's engine keeps every execution it ever ran, so a process running
 * many flows grew without bound (kilobytes per run, and a heap that slows every GC).
 *
 * @internal
 * @module
 */
import { Cause, Context, Deferred, Effect, Exit, Fiber, Option, Scope } from "effect"
import * as Workflow from "effect/workflow/Workflow"
import { makeDeferredState, makeUnsafe, WorkflowEngine, WorkflowInstance } from "effect/workflow/WorkflowEngine"
import { withService } from "../../internal/WithService.ts"

/** The engine, and how to drop an execution the caller is done with. */
export interface MemoryWorkflowEngine {
  readonly engine: WorkflowEngine["Service"]
  /**
   * Forgets the top-level execution `executionId` and everything it kept, and stops its clocks.
   * A later `execute` with the same id runs again (it is a new run).
   */
  readonly forget: (executionId: string) => void
}

type Execute = (payload: object, executionId: string) => Effect.Effect<unknown, unknown, WorkflowInstance | WorkflowEngine>

interface Registered {
  readonly workflow: Workflow.Any
  readonly execute: Execute
  readonly scope: Scope.Scope
}

type WakeMode = "explicit" | "automatic"

interface ExecutionState {
  readonly payload: object
  readonly execute: Execute
  readonly parent: string | undefined
  readonly workflow: Workflow.Any
  /** The instance of the latest run (each run, replays included, gets a fresh one). */
  instance: WorkflowInstance["Service"] | undefined
  interrupted: boolean
  interruptedUnsafe: boolean
  /** The strongest wake requested while a run was still finishing. */
  resumeRequested: WakeMode | undefined
  fiber: Fiber.Fiber<Workflow.Result<unknown, unknown>> | undefined
  /** Completed once a run succeeds with `Complete`, after which it cannot resume. */
  readonly done: Deferred.Deferred<void>
  /** Parent of every run's scope: scopes of runs that suspended stay open until the execution finishes. */
  readonly scope: Scope.Closeable
  /** This execution's activities by `<name>/<attempt>`. */
  readonly activities: Map<string, { exit: Exit.Exit<Workflow.Result<unknown, unknown>> | undefined }>
  /** This execution's completed deferreds by name. */
  readonly deferreds: Map<string, Exit.Exit<unknown, unknown>>
  /** This execution's pending durable clocks, by name. */
  readonly clocks: Map<string, Fiber.Fiber<unknown, unknown>>
}

const isUnwakeable = (result: Workflow.Result<unknown, unknown>, mode: WakeMode) =>
  result._tag === "Complete" || (mode === "automatic" && result.failed === true)

/**
 * Builds the engine in the current scope (runs and clocks are forked into it).
 *
 * @example
 * ```ts
 * const { engine, forget } = yield* MemoryWorkflowEngine.make
 * ```
 */
export const make: Effect.Effect<MemoryWorkflowEngine, never, Scope.Scope> = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const workflows = new Map<string, Registered>()
  const executions = new Map<string, ExecutionState>()
  const deferredState = makeDeferredState()

  const resume = (executionId: string, mode: WakeMode): Effect.Effect<void> =>
    Effect.suspend(() => {
      const state = executions.get(executionId)
      if (state === undefined) return Effect.void
      const exit = state.fiber?.pollUnsafe()
      if (exit !== undefined && exit._tag === "Success" && isUnwakeable(exit.value, mode)) return Effect.void
      if (state.fiber !== undefined && exit === undefined) {
        // Queue wakes until the run finishes cleanup; explicit wakes take priority.
        const requested = state.resumeRequested
        state.resumeRequested = mode === "explicit" ? mode : requested ?? mode
        if (requested !== undefined) return Effect.void
        return Fiber.await(state.fiber).pipe(
          Effect.flatMap(() => {
            const next = state.resumeRequested!
            state.resumeRequested = undefined
            return resume(executionId, next)
          }),
          Effect.forkIn(scope),
          Effect.asVoid
        )
      }
      const entry = workflows.get(state.workflow._tag)!
      // Each run gets a fresh scope, so replays rebuild compensations instead of registering them again.
      const instance = WorkflowInstance.initial(state.workflow, executionId, {
        scope: Scope.forkUnsafe(state.scope)
      })
      state.instance = instance
      return state.execute(state.payload, instance.executionId).pipe(
        // `onExitPrimitive`: a run that was not interrupted (the usual case) has no finalizer Effect.
        (run) => Effect.onExitPrimitive(run, (exit) => {
          // Safe interrupts take effect only when the run would suspend; unsafe interrupts must
          // also survive a replay that completes normally.
          if (
            !state.interrupted ||
            (!state.interruptedUnsafe && !instance.suspended && !instance.abandoned &&
              !(Context.get(instance.workflow.annotations, Workflow.SuspendOnFailure) && Exit.isFailure(exit)))
          ) {
            return undefined
          }
          instance.interrupted = true
          instance.suspended = false
          return Effect.withFiber((fiber) => Effect.interruptible(Fiber.interrupt(fiber)))
        }),
        Workflow.intoResult,
        (result) => withService(result, WorkflowEngine, engine),
        (effect) => deferredState.trackRun(instance, effect),
        Effect.tap((result) =>
          state.parent === undefined || result._tag !== "Complete"
            ? Effect.void
            : Effect.forkIn(resume(state.parent, "automatic"), scope)
        ),
        Effect.onExit((exit) => {
          if (Exit.isSuccess(exit) && exit.value._tag === "Suspended") return Effect.void
          // The final run's scope closes with the real exit; closing the parent then closes the
          // earlier (superseded) scopes with `Exit.void`.
          return Effect.andThen(
            Scope.close(state.scope, Exit.void),
            Exit.isSuccess(exit) && exit.value._tag === "Complete" ? Deferred.succeed(state.done, void 0) : Effect.void
          )
        }),
        Effect.forkIn(entry.scope),
        Effect.map((fiber) => void (state.fiber = fiber))
      )
    })

  const engine: WorkflowEngine["Service"] = makeUnsafe({
    register: (workflow, execute) =>
      Effect.map(Effect.scope, (registrationScope) => void workflows.set(workflow._tag, { workflow, execute, scope: registrationScope })),
    execute: Effect.fnUntraced(function*(workflow, options) {
      const entry = workflows.get(workflow._tag)
      if (entry === undefined) return yield* Effect.die(`Workflow ${workflow._tag} is not registered`)
      let state = executions.get(options.executionId)
      if (state === undefined) {
        state = {
          payload: options.payload,
          execute: entry.execute,
          workflow,
          instance: undefined,
          interrupted: false,
          interruptedUnsafe: false,
          resumeRequested: undefined,
          fiber: undefined,
          done: Deferred.makeUnsafe(),
          scope: Scope.makeUnsafe(),
          parent: options.detached ? undefined : options.parent?.executionId,
          activities: new Map(),
          deferreds: new Map(),
          clocks: new Map()
        }
        executions.set(options.executionId, state)
        yield* resume(options.executionId, "explicit")
      }
      if (options.discard) return undefined as never
      // Capture together so a wake that swaps in a replay cannot desync them.
      const instance = state.instance!
      const exit = yield* Fiber.await(state.fiber!)
      if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) && instance.suspended) {
        // A completion preempted the run; the caller retries into the replay.
        return new Workflow.Suspended({}) as never
      }
      return (yield* exit) as never
    }),
    awaitComplete: (_workflow, executionId) =>
      Effect.suspend(() => {
        const state = executions.get(executionId)
        return state !== undefined ? Deferred.await(state.done) : Effect.never
      }),
    interrupt: (_workflow, executionId) =>
      Effect.suspend(() => {
        const state = executions.get(executionId)
        if (state === undefined) return Effect.void
        state.interrupted = true
        return resume(executionId, "explicit")
      }),
    interruptUnsafe: (_workflow, executionId) =>
      Effect.suspend(() => {
        const state = executions.get(executionId)
        if (state === undefined) return Effect.void
        state.interrupted = true
        state.interruptedUnsafe = true
        // Replay after hard interruption to record a terminal workflow result.
        return Effect.andThen(state.fiber !== undefined ? Fiber.interrupt(state.fiber) : Effect.void, resume(executionId, "explicit"))
      }),
    resume: (_workflow, executionId) => resume(executionId, "explicit"),
    activityExecute: Effect.fnUntraced(function*(activity, attempt) {
      const instance = yield* WorkflowInstance
      const execution = executions.get(instance.executionId)
      const activities: ExecutionState["activities"] = execution?.activities ?? new Map()
      const activityId = `${activity.name}/${attempt}`
      let state = activities.get(activityId)
      if (state !== undefined) {
        const exit = state.exit
        if (exit !== undefined && exit._tag === "Success" && exit.value._tag === "Suspended") state.exit = undefined
        else if (exit !== undefined) return yield* exit
      } else {
        state = { exit: undefined }
        activities.set(activityId, state)
      }
      // A pending interrupt replays only to rebuild compensations, so it must not run new
      // activities. Finalizers run once `interrupted` is set.
      if (execution?.interrupted === true && !instance.interrupted) return new Workflow.Suspended({})
      const activityInstance = WorkflowInstance.initial(instance.workflow, instance.executionId)
      activityInstance.interrupted = instance.interrupted
      const kept = state
      return yield* (activity.executeEncoded as Effect.Effect<unknown, unknown, WorkflowInstance>).pipe(
        Workflow.intoResult,
        (result) => withService(result, WorkflowInstance, activityInstance),
        Effect.onExit((exit) => {
          // A preempted activity must run again on the next replay.
          kept.exit = Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? undefined : exit
          return Effect.void
        })
      )
    }),
    poll: (_workflow, executionId) =>
      Effect.suspend(() => {
        const exit = executions.get(executionId)?.fiber?.pollUnsafe()
        if (exit === undefined) return Effect.succeedNone
        return exit._tag === "Success" ? Effect.succeedSome(exit.value) : Effect.die(exit.cause)
      }),
    deferredResult: (deferred) =>
      WorkflowInstance.use((instance) =>
        Effect.succeed(Option.fromNullishOr(executions.get(instance.executionId)?.deferreds.get(deferred.name)))),
    deferredDone: (options) =>
      Effect.suspend(() => {
        const state = executions.get(options.executionId)
        // A forgotten (or unknown) execution has nobody left to wake.
        if (state === undefined || state.deferreds.has(options.deferredName)) return Effect.void
        state.deferreds.set(options.deferredName, options.exit)
        const wake = Effect.andThen(
          deferredState.deferredDone(options.executionId, options.deferredName),
          resume(options.executionId, "automatic")
        )
        return Effect.flatMap(Effect.serviceOption(WorkflowInstance), (instance) =>
          // A workflow finalizer cannot wait for its own run's cleanup: the engine's scope owns
          // the wake so cleanup still precedes replay.
          Option.isSome(instance) && instance.value.executionId === options.executionId
            ? wake.pipe(Effect.forkIn(scope), Effect.asVoid)
            : wake)
      }),
    scheduleClock: (workflow, options) =>
      Effect.suspend(() => {
        const state = executions.get(options.executionId)
        const name = options.clock.name
        // One clock per name at a time; none once it has fired (a replay asks again).
        if (state === undefined || state.clocks.has(name) || state.deferreds.has(options.clock.deferred.name)) return Effect.void
        return engine.deferredDone(options.clock.deferred, {
          workflowName: workflow._tag,
          executionId: options.executionId,
          deferredName: options.clock.deferred.name,
          exit: Exit.void
        }).pipe(
          Effect.delay(options.clock.duration),
          Effect.ensuring(Effect.sync(() => void state.clocks.delete(name))),
          Effect.forkIn(scope),
          Effect.map((fiber) => {
            if (fiber.pollUnsafe() === undefined) state.clocks.set(name, fiber)
          })
        )
      })
  })

  const forget = (executionId: string): void => {
    const state = executions.get(executionId)
    if (state === undefined || state.parent !== undefined) return
    executions.delete(executionId)
    for (const clock of state.clocks.values()) clock.interruptUnsafe()
    state.clocks.clear()
  }

  return { engine, forget }
})
