/**
 * Durable waiting: sleep for hours and wait for an outside signal (an approval, a webhook)
 * without holding a process. On a durable engine the run is parked in the journal; the process
 * may exit, and `mcpflow resume` (or a worker) continues it when the time comes or the signal
 * arrives. On the memory engine (and on the TestClock) they behave the same, in memory.
 *
 * @module
 */
import { Duration, Effect, Exit, Option, Schema } from "effect"
import * as DurableClock from "effect/workflow/DurableClock"
import * as DurableDeferred from "effect/workflow/DurableDeferred"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import { FlowEngine } from "../ports/FlowEngine.ts"
import { RunJournal } from "../ports/RunJournal.ts"
import type { AnyFlow } from "./FlowDefinition.ts"
import { runGroup } from "./Group.ts"
import { claim, CurrentScope, emit, isSuspension, now, workflowInstance } from "./RunScope.ts"
import { checkPayload, payloadShape, recordedShape, SignalRejected } from "./SignalCheck.ts"

/**
 * Sleeps `duration` as the step `name`: durably inside a flow run (the run may be parked and
 * the process exit), on the Clock otherwise.
 *
 * @example
 * ```ts
 * yield* Flow.sleep("soak", "30 minutes") // let the canary soak before widening the rollout
 * ```
 */
export const sleep = (name: string, duration: Duration.Input): Effect.Effect<void> =>
  CurrentScope.use((scope) =>
    Effect.flatMap(claim(scope, name), (path) =>
      runGroup(scope, path, "wait", () =>
        Effect.flatMap(workflowInstance, (instance) =>
          Option.isSome(instance) && !scope.inActivity && scope.run?.interpreter.journals === true
            ? Effect.andThen(
              Effect.flatMap(now, (at) =>
                emit(scope, { _tag: "StepWaiting", path, kind: "wait", until: at + Duration.toMillis(Duration.fromInputUnsafe(duration)) })),
              DurableClock.sleep({ name: path, duration }) as unknown as Effect.Effect<void>
            )
            : Effect.sleep(duration))))
  )

/**
 * A named signal a run can wait for, with its payload Schema. The name is the signal's identity
 * within a run: each run waits for it at most once.
 *
 * @example
 * ```ts
 * const Approval = Flow.signal("approval", Schema.Struct({ approvedBy: Schema.String }))
 * ```
 */
export interface Signal<A> {
  readonly name: string
  readonly payload: Schema.Codec<A, unknown>
}

/**
 * Declares a signal.
 *
 * @example
 * ```ts
 * const Approval = signal("approval", Schema.Struct({ approvedBy: Schema.String }))
 * ```
 */
export const signal = <S extends Schema.Top>(name: string, payload: S): Signal<S["Type"]> => ({
  name,
  payload: payload as unknown as Schema.Codec<S["Type"], unknown>
})

const deferredOf = <A>(s: Signal<A>) =>
  DurableDeferred.make(`signal/${s.name}`, { success: s.payload as unknown as Schema.Codec<A, unknown> & Schema.Constraint })

/**
 * Waits (durably) for `signal` and returns its payload. Reported as the step `wait:<name>`.
 * Outside a flow run there is nothing to signal: it fails as a definition error.
 *
 * @example
 * ```ts
 * const { approvedBy } = yield* Flow.waitFor(Approval)
 * ```
 */
export const waitFor = <A>(s: Signal<A>): Effect.Effect<A> =>
  CurrentScope.use((scope) =>
    Effect.flatMap(claim(scope, `wait:${s.name}`), (path) =>
      runGroup(scope, path, "wait", () =>
        Effect.flatMap(workflowInstance, (instance) =>
          Option.isSome(instance) && scope.run?.interpreter.journals === true
            ? Effect.andThen(
              Effect.suspend(() => {
                // The payload's shape goes into the journal: senders are checked against it (SignalCheck.ts).
                const shape = payloadShape(s.payload)
                scope.run!.waitingFor = s.name
                scope.run!.waitingShape = shape
                return emit(scope, { _tag: "StepWaiting", path, kind: "wait", signal: s.name, payloadSchema: shape })
              }),
              (DurableDeferred.await(deferredOf(s)) as unknown as Effect.Effect<A>).pipe(
                // Parked (the engine suspended the run): it still waits. Woken or failed: it does not.
                Effect.onExit((exit) =>
                  Effect.flatMap(isSuspension(exit), (parked) =>
                    parked ? Effect.void : Effect.sync(() => {
                      scope.run!.waitingFor = undefined
                      scope.run!.waitingShape = undefined
                    })))
              )
            )
            : Effect.die(new Error(`waitFor(${s.name}) needs a flow run (Flow.run) to be signalled`)))))
  )

/**
 * Delivers `signal` with `payload` to the run `runId` of `flow` (from another fiber, another
 * process with the same journal, or `mcpflow signal`). The run continues from its wait.
 * Checked at the door: a payload that does not fit the Schema the run recorded when it started
 * waiting (the live run's in this process, else the `RunJournal`'s in context) fails with
 * {@link SignalRejected} and delivers nothing; the run keeps waiting.
 *
 * @example
 * ```ts
 * yield* Flow.sendSignal(deploy, runId, Approval, { approvedBy: "ana" })
 * ```
 */
export const sendSignal = <A>(
  flow: AnyFlow,
  runId: string,
  s: Signal<A>,
  payload: A
): Effect.Effect<void, Schema.SchemaError | SignalRejected, WorkflowEngine> =>
  // The waiting side decodes the JSON form with the signal's Schema, as it does for `mcpflow signal`.
  Effect.gen(function*() {
    const encoded = yield* Schema.encodeUnknownEffect(Schema.toCodecJson(s.payload))(payload)
    const rejected = checkPayload(s.name, yield* waitingShape(flow, runId, s.name), encoded)
    if (rejected !== undefined) return yield* rejected
    yield* deliverRaw(flow, runId, s.name, encoded)
  })

/**
 * The payload shape the run `runId` recorded when it started waiting for the signal `name`: from
 * the live run when this process runs it, else from the run journal in context (another process
 * runs it); undefined when neither knows it.
 *
 * @example
 * ```ts
 * checkPayload("approval", yield* waitingShape(deploy, runId, "approval"), payload)
 * ```
 */
export const waitingShape = (flow: AnyFlow, runId: string, name: string): Effect.Effect<unknown> =>
  Effect.gen(function*() {
    const engine = yield* Effect.serviceOption(FlowEngine)
    if (Option.isSome(engine)) {
      const executionId = yield* flow.workflow.executionId({ runId, input: null })
      const live = yield* engine.value.lookup(executionId)
      if (live !== undefined && live.state.waitingFor === name && live.state.waitingShape !== undefined) return live.state.waitingShape
    }
    const journal = yield* Effect.serviceOption(RunJournal)
    if (Option.isNone(journal)) return undefined
    return recordedShape(yield* journal.value.events(runId).pipe(Effect.orElseSucceed(() => [])), name)
  })

/**
 * Delivers a signal by name with an already-validated JSON payload (what `mcpflow signal`
 * records in the journal): the waiting side decodes it with its Signal's Schema.
 *
 * @example
 * ```ts
 * yield* deliverRaw(deploy, runId, "approval", { approvedBy: "ana" })
 * ```
 */
export const deliverRaw = (
  flow: AnyFlow,
  runId: string,
  name: string,
  payload: unknown
): Effect.Effect<void, never, WorkflowEngine> =>
  Effect.gen(function*() {
    const executionId = yield* flow.workflow.executionId({ runId, input: null })
    const deferred = DurableDeferred.make(`signal/${name}`, { success: Schema.Any })
    const token = DurableDeferred.tokenFromExecutionId(deferred, { workflow: flow.workflow, executionId })
    yield* DurableDeferred.succeed(deferred, { token, value: payload })
  })

/**
 * Fails the wait for the signal `name` of the run `runId` (a cancel of a run parked in
 * `Flow.waitFor`): the run wakes up, the wait fails as cancelled, and the completed steps'
 * compensations run as for any failure.
 *
 * @example
 * ```ts
 * yield* cancelWait(deploy, runId, "approval")
 * ```
 */
export const cancelWait = (flow: AnyFlow, runId: string, name: string): Effect.Effect<void, never, WorkflowEngine> =>
  Effect.gen(function*() {
    const executionId = yield* flow.workflow.executionId({ runId, input: null })
    const deferred = DurableDeferred.make(`signal/${name}`, { success: Schema.Any })
    const token = DurableDeferred.tokenFromExecutionId(deferred, { workflow: flow.workflow, executionId })
    yield* DurableDeferred.done(deferred, { token, exit: Exit.die(new Error(`cancelled while waiting for ${name} (mcpflow cancel)`)) })
  })
