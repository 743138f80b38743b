/**
 * Running a flow: the input decoded at the door, the run registered with the `FlowEngine`, its
 * body run by the engine with the caller's services, and its exit settled into the run's result
 * and its `FlowFinished` event (and journal row).
 *
 * @module
 */
import { Context, Deferred, Effect, Exit, Fiber, Option, Result, Schedule, type Schema, Tracer } from "effect"
import * as Workflow from "effect/workflow/Workflow"
import { type WorkflowEngine, WorkflowEngine as WorkflowEngineTag, WorkflowInstance } from "effect/workflow/WorkflowEngine"
import { FlowEngine, type LiveRun } from "../ports/FlowEngine.ts"
import { RunHost } from "../ports/RunHost.ts"
import { type JournalError, RunJournal, type RunRecord } from "../ports/RunJournal.ts"
import { withService } from "../internal/WithService.ts"
import { cancelWait, deliverRaw } from "./Durable.ts"
import { type AnyFlow, fingerprint, type Flow } from "./FlowDefinition.ts"
import type { FlowError } from "./FlowError.ts"
import { FlowEvents } from "./FlowEvents.ts"
import { decodeInput } from "./FlowInput.ts"
import { executionIdOf } from "./internal/ExecutionId.ts"
import { running } from "./internal/Interpreter.ts"
import { journalSink } from "./internal/JournalSink.ts"
import * as RunnerJournal from "./internal/RunnerJournal.ts"
import * as Sealing from "./internal/Sealing.ts"
import { checkOutput, outcomeOf, settle } from "./internal/Settle.ts"
import { CurrentScope, emit, giveUp, isSuspension, now, type ResumeState, type RunState, type StepScope, unwindApart } from "./RunScope.ts"
import { ResultLog } from "./StepResults.ts"

/**
 * Options of {@link run}.
 *
 * @example
 * ```ts
 * const options: RunOptions = { runId: "deploy-2026-11-23-1" }
 * ```
 */
export interface RunOptions {
  /** The run's id (default: a random UUID); a durable engine resumes a run by its id. */
  readonly runId?: string | undefined
  /** Marks the run as running against the sandbox in its report. */
  readonly sandbox?: boolean | undefined
  /** The flow's file, recorded in the journal so the run can be resumed by id alone. */
  readonly source?: string | undefined
  /** What started the run (`cli`, `http`, `schedule 0 3 * * *`), recorded in the journal. */
  readonly trigger?: string | undefined
}

/**
 * Decodes `input` against the flow's input Schema (JSON form), then runs the flow on the
 * `FlowEngine` in context, reporting into `FlowEvents`. Fails with the flow's own typed error,
 * or a {@link FlowError} for bad input (nothing ran), a definition error, output that does not
 * fit, or compensations that failed. Interrupting the run interrupts its steps (cancelling their
 * MCP calls), runs the compensations of the completed steps, then ends.
 *
 * @example
 * ```ts
 * const result = yield* Flow.run(deploy, { service: "api", version: "1.4.2" }).pipe(
 *   Effect.provide(FlowEngine.layerMemory),
 *   Effect.provide(gatewayLayer)
 * )
 * ```
 */
export const run = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  input: I["Encoded"],
  options?: RunOptions
): Effect.Effect<O["Type"], E | FlowError | JournalError, Exclude<R, WorkflowEngine> | FlowEngine | WorkflowEngine> =>
  execute(flow, input, options, undefined)

/**
 * Runs `flow` on the engine in context; a resume passes what the journal says of the run.
 *
 * @internal
 * @example
 * ```ts
 * yield* execute(deploy, input, { runId }, undefined)
 * ```
 */
export const execute = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  input: I["Encoded"],
  options: RunOptions | undefined,
  resumed: ResumeState | undefined
): Effect.Effect<O["Type"], E | FlowError | JournalError, Exclude<R, WorkflowEngine> | FlowEngine | WorkflowEngine> =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* FlowEngine
    // A resumed run's input is the one it was journaled with: read as it is, unknown fields kept out.
    const decoded = yield* decodeInput(flow.name, flow.input, input, { excess: resumed === undefined ? "error" : "ignore" })
    const journal = Option.getOrUndefined(yield* Effect.serviceOption(RunJournal))
    const runId = options?.runId ?? crypto.randomUUID()
    const sink = yield* FlowEvents
    const events = journalSink(sink, journal, runId, () => {
      state.journalBroken = true
    })
    const stepJournal = engine.stepJournal()
    // Where values are journaled, their Redacted parts are sealed (MCPFLOW_JOURNAL_KEY), never written in clear.
    const sealer = journal !== undefined || stepJournal === undefined ? Sealing.make(runId, yield* Sealing.journalKey) : undefined
    const journaledInput = sealer === undefined ? input : sealer.sealEncoded(input, decoded)
    const state = newRunState({
      runId,
      flow: flow.name,
      emit: events.emit,
      listening: journal !== undefined || sink !== silentSink,
      stepJournal,
      policies: engine.policies,
      stepLedger: engine.stepLedger,
      resumed,
      sealer: stepJournal === undefined ? sealer : undefined,
      journalSealer: sealer
    })
    if (journal !== undefined) {
      const startedAt = yield* now
      yield* journal.start({ runId, flow: flow.name, input: journaledInput, fingerprint: fingerprint(flow), startedAt, source: options?.source, trigger: options?.trigger })
    }
    // The engine journals the payload too; the body takes the decoded input from `engine.begin`.
    const payload = { runId, input: journaledInput }
    const executionId = executionIdOf(flow.workflow._tag, runId)
    yield* register(flow, engine)
    yield* engine.begin(executionId, { context: (yield* Effect.context<R>()) as never, state, input: decoded })
    const top: StepScope = { run: state, path: "", names: undefined, inActivity: false, saga: undefined }
    yield* emit(top, {
      _tag: "FlowStarted",
      flow: flow.name,
      engine: engine.kind,
      sandbox: options?.sandbox,
      ...(resumed !== undefined ? { resumed: true, inFlight: [...resumed.inFlight] } : {})
    })
    const started = yield* now
    // Signals recorded in the journal (`mcpflow signal`) are delivered by the process running the run.
    if (journal !== undefined) yield* Effect.forkScoped(deliverSignals(flow, journal, runId))
    const execution = startExecution(flow, executionId, payload, resumed)
    const cancel = { requested: false }
    const awaitRun = journal === undefined ? execution : stoppable(flow, execution, { journal, runId, state, broken: events.broken, cancel })
    // Ctrl-C: stop the steps now and wait for the compensations of the completed ones.
    const stopRun = Effect.suspend(() =>
      resumed?.diverged !== undefined
        ? Effect.void
        // With a broken journal the engine may never finish its pending write: do not wait for it.
        : engine.stop(executionId, { detach: events.failure() !== undefined })
    )
    // Uninterruptible but for the run itself: an interrupted run still compensates and reports.
    return yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(restore(awaitRun).pipe(Effect.onInterrupt(() => stopRun)))
        yield* engine.end(executionId)
        const finished = (outcome: ReturnType<typeof outcomeOf>, failedStep?: string) =>
          Effect.flatMap(now, (at) =>
            emit(top, { _tag: "FlowFinished", flow: flow.name, durationMs: at - started, failedStep, ...outcome }))
        const broken = events.failure()
        if (broken !== undefined) {
          yield* finished(outcomeOf(Exit.fail(broken)))
          return yield* broken
        }
        const result = yield* settle(flow, exit, state)
        const ended = outcomeOf(result)
        const failedStep = ended.outcome === "failure" ? state.failedStep : undefined
        yield* finished(ended, failedStep)
        // A resume refused because the code changed leaves the run resumable (fix the code, or --force).
        if (journal !== undefined && state.resume?.diverged === undefined) {
          const finishedAt = yield* now
          const failure = ended.outcome === "failure" ? { error: ended.error, errorTag: ended.errorTag } : {}
          const status = journalStatus(ended.outcome, cancel.requested)
          // A succeeded run's output, as the engine journaled it (JSON form, Redacted parts sealed).
          const output = status === "succeeded" && state.output?._tag === "Valid" ? { output: state.output.json } : {}
          yield* journal.finish({ runId, status, finishedAt, failedStep, ...failure, ...output })
          // Its last events may not have reached the journal either.
          const late = events.failure()
          if (late !== undefined) return yield* late
        }
        return yield* result
      })
    )
  })) as never

/** A new run's state: nothing ran yet, no step failed. */
const newRunState = (init: {
  readonly runId: string
  readonly flow: string
  readonly emit: RunState["emit"]
  readonly listening: boolean
  readonly stepJournal: RunState["stepJournal"]
  readonly policies: RunState["policies"]
  readonly stepLedger: RunState["stepLedger"]
  readonly resumed: ResumeState | undefined
  readonly sealer: RunState["sealer"]
  readonly journalSealer: RunState["journalSealer"]
}): RunState => ({
  runId: init.runId,
  flow: init.flow,
  interpreter: running,
  emit: init.emit,
  listening: init.listening,
  root: { entries: [] },
  subscriptions: new Map(),
  compensationFailures: [],
  results: new ResultLog(),
  failedStep: undefined,
  stepJournal: init.stepJournal,
  policies: init.policies,
  stepLedger: init.stepLedger,
  inFlightAtCrash: init.resumed?.inFlight,
  resume: init.resumed,
  sealer: init.sealer,
  journalSealer: init.journalSealer
})

/** The run's workflow execution: a new run, or a resume (which stops waiting if it diverged). */
const startExecution = (
  flow: AnyFlow,
  executionId: string,
  payload: { readonly runId: string; readonly input: unknown },
  resumed: ResumeState | undefined
) =>
  resumed === undefined
    ? executeTopLevel(flow.workflow, executionId, payload)
    : Effect.raceFirst(
      // A parked run (restarted by the engine with nobody to run it) is woken up first.
      Effect.andThen(flow.workflow.resume(executionId), flow.workflow.execute(payload)),
      // A resume that diverged parks the run again (still resumable) and stops waiting for it.
      Effect.andThen(Deferred.await(resumed.divergedSignal), Effect.interrupt)
    )

/**
 * A journaled run's execution, stopped when its journal breaks or when `mcpflow cancel` (maybe
 * from another process) records a request: a cancel interrupts the run like Ctrl-C and sets
 * `cancel.requested`.
 */
const stoppable = <A, E, R>(flow: AnyFlow, execution: Effect.Effect<A, E, R>, run: {
  readonly journal: RunJournal["Service"]
  readonly runId: string
  readonly state: RunState
  readonly broken: Deferred.Deferred<void>
  readonly cancel: { requested: boolean }
}) =>
  Effect.raceFirst(
    execution,
    Effect.raceFirst(
      Effect.andThen(Deferred.await(run.broken), Effect.interrupt),
      Effect.andThen(awaitCancel(run.journal, run.runId), Effect.suspend(() => {
        run.cancel.requested = true
        // Parked on a signal: the body is not running; failing its wait wakes it to compensate.
        return run.state.waitingFor !== undefined
          ? Effect.andThen(cancelWait(flow, run.runId, run.state.waitingFor), Effect.never)
          : Effect.interrupt
      }))
    )
  )

/** The journal's status of a finished run. */
const journalStatus = (outcome: "success" | "failure" | "interrupted", cancelled: boolean): RunRecord["status"] =>
  outcome === "success" ? "succeeded" : cancelled ? "cancelled" : outcome === "failure" ? "failed" : "interrupted"

/**
 * `workflow.execute(payload)` with the execution id already known: a run started outside any
 * workflow goes straight to the engine (no second digest, no payload re-validation, and a span
 * only when a tracing backend is installed); a run started inside another workflow's run takes
 * `execute` itself, which links the two.
 */
const executeTopLevel = (workflow: AnyFlow["workflow"], executionId: string, payload: { readonly runId: string; readonly input: unknown }) =>
  Effect.withFiber((fiber) => {
    if (Context.getOrUndefined(fiber.context, WorkflowInstance) !== undefined) return workflow.execute(payload)
    const run = WorkflowEngineTag.use((engine) => engine.execute(workflow, { executionId, payload }))
    return fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer
      ? run
      : run.pipe(Effect.withSpan(`${workflow._tag}.execute`, { attributes: { executionId } }, { captureStackTrace: false }))
  })

/** The `FlowEvents` sink of a fiber that was given none: nobody listens to its events. */
const silentSink = Context.get(Context.empty(), FlowEvents)

/** Delivers the signals the journal holds for the run, every 200 ms. */
const deliverSignals = (flow: AnyFlow, journal: RunJournal["Service"], runId: string) =>
  Effect.gen(function*() {
    for (const { name, payload } of yield* journal.pendingSignals(runId)) {
      yield* deliverRaw(flow, runId, name, payload)
      yield* journal.markDelivered(runId, name)
    }
  }).pipe(Effect.ignore, Effect.repeat(Schedule.spaced("200 millis")))

/** Succeeds once the journal holds a cancel request for the run (checked every 200 ms). */
const awaitCancel = (journal: RunJournal["Service"], runId: string): Effect.Effect<void> =>
  journal.cancelRequested(runId).pipe(
    Effect.orElseSucceed(() => false),
    Effect.repeat({ until: (requested) => requested, schedule: Schedule.spaced("200 millis") }),
    Effect.asVoid
  )

/** Registers the flow's workflow with the engine once; its body runs with the caller's services. */
const register = <I extends Schema.Top, O extends Schema.Top, E, R>(flow: Flow<I, O, E, R>, engine: FlowEngine["Service"]) =>
  engine.register(flow.workflow, (_payload, executionId) =>
    Effect.gen(function*() {
      // Started here (or resumed here), or lent services by this process's RunHost (a cluster runner).
      const local = yield* engine.lookup(executionId)
      const live = local ?? (yield* adopt(flow, engine, _payload as RunPayload))
      if (live === undefined) {
        // A durable engine restarted an unfinished run that nobody resumed (yet): park it
        // until `mcpflow resume <runId>` gives it its services back.
        return yield* Workflow.suspend(yield* WorkflowInstance)
      }
      // The caller stops this fiber directly (Ctrl-C): compensations then run as ordinary
      // journaled steps. An engine suspension is not a failure and undoes nothing.
      const execution = engine.attach(
        executionId,
        body(flow, live.state, live.input as I["Type"]).pipe(
          Effect.updateContext((engineContext) => Context.merge(live.context, engineContext) as never)
        )
      )
      // An adopted run whose host lends a journal (a cluster runner): its history is kept there.
      const journal = local === undefined ? Context.getOption(live.context, RunJournal) : Option.none()
      const handler = Option.isSome(journal) ? RunnerJournal.around(flow, execution, journal.value, live.state) : execution
      return yield* (local === undefined ? givingUp(live.state, handler) : handler)
    }))

/** The payload every flow's workflow carries. */
interface RunPayload {
  readonly runId: string
  readonly input: unknown
}

/**
 * A run this process did not start, given the services its `RunHost` lends to the flow: its
 * input opened (`MCPFLOW_JOURNAL_KEY`) and decoded, a fresh run state reporting to the host's
 * `FlowEvents`. Undefined without a host, or when the host does not serve the flow.
 */
const adopt = <I extends Schema.Top, O extends Schema.Top, E, R>(flow: Flow<I, O, E, R>, engine: FlowEngine["Service"], payload: RunPayload) =>
  Effect.gen(function*() {
    const host = yield* Effect.serviceOption(RunHost)
    if (Option.isNone(host)) return undefined
    const context = yield* host.value.services(flow.name)
    if (context === undefined) return undefined
    const sealer = Sealing.make(payload.runId, yield* Sealing.journalKey)
    const opened = sealer.openEncoded(payload.input)
    if (Result.isFailure(opened)) return yield* Effect.die(new Error(`run ${payload.runId}: ${opened.failure}`))
    const input = yield* Effect.orDie(decodeInput(flow.name, flow.input, opened.success, { excess: "ignore" }))
    const sink = Context.get(context, FlowEvents)
    const state: RunState = {
      runId: payload.runId,
      flow: flow.name,
      interpreter: running,
      emit: sink.emit,
      listening: sink !== silentSink,
      root: { entries: [] },
      subscriptions: new Map(),
      compensationFailures: [],
      results: new ResultLog(),
      failedStep: undefined,
      stepJournal: undefined,
      policies: engine.policies,
      stepLedger: engine.stepLedger,
      inFlightAtCrash: undefined,
      resume: undefined,
      sealer
    }
    const journal = Context.getOption(context, RunJournal)
    if (Option.isNone(journal)) return { context, state, input } satisfies LiveRun
    const journaled = yield* RunnerJournal.open(flow, state, payload.input, journal.value)
    return { context, state: journaled, input } satisfies LiveRun
  })

/**
 * Submits a run of `flow` to the engine and returns its id without waiting for it (`mcpflow run
 * --detach` on a cluster): the engine journals the submission, and a runner that serves the flow
 * runs it. Bad input fails with a {@link FlowError} and submits nothing.
 *
 * @example
 * ```ts
 * const runId = yield* Flow.submit(deploy, { service: "api" }).pipe(Effect.provide(clusterClient))
 * ```
 */
export const submit = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  input: I["Encoded"],
  options?: { readonly runId?: string | undefined }
): Effect.Effect<string, FlowError, WorkflowEngine> =>
  Effect.gen(function*() {
    const decoded = yield* decodeInput(flow.name, flow.input, input)
    const runId = options?.runId ?? crypto.randomUUID()
    const sealer = Sealing.make(runId, yield* Sealing.journalKey)
    const payload = { runId, input: sealer.sealEncoded(input, decoded) }
    const executionId = executionIdOf(flow.workflow._tag, runId)
    yield* WorkflowEngineTag.use((engine) => engine.execute(flow.workflow, { executionId, payload, discard: true }))
    return runId
  })

/**
 * Registers `flow` with the engine in context so that this process runs its runs with the
 * services its `RunHost` lends (a cluster runner serving the flow).
 *
 * @example
 * ```ts
 * yield* Flow.serve(deploy).pipe(Effect.provide(host), Effect.provide(clusterRunner))
 * ```
 */
export const serve = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>
): Effect.Effect<void, never, FlowEngine | WorkflowEngine | RunHost> =>
  Effect.flatMap(FlowEngine, (engine) => register(flow, engine)) as never

/**
 * The flow's body as the engine runs it (again after each durable wait): on failure, the
 * completed steps' compensations run, unless the engine only suspended the run.
 */
const body = <I extends Schema.Top, O extends Schema.Top, E, R>(flow: Flow<I, O, E, R>, state: RunState, input: I["Type"]) =>
  Effect.suspend(() => {
    // A fresh compensation list each time the engine (re)plays the body: replayed steps re-register.
    state.root = { entries: [] }
    state.results.clear()
    const scope: StepScope = { run: state, path: "", names: undefined, inActivity: false, saga: undefined }
    return flow.run(input).pipe(
      // The engine gets (and journals) the output's JSON form; the typed value stays in `state`.
      Effect.flatMap((value) => checkOutput(flow, state, value)),
      Effect.onExit((exit) =>
        Exit.isSuccess(exit)
          ? Effect.void
          : Effect.flatMap(isSuspension(exit), (suspended) => {
            // The failure as it happened (a durable engine hands the caller its JSON form).
            if (!suspended) state.failure = exit.cause
            return suspended || state.resume?.diverged !== undefined || state.journalBroken === true
              ? Effect.void
              // In a fiber of its own: this one may be interrupted, its compensations must not be.
              : unwindApart(state, state.root.entries, exit.cause).pipe(Effect.provideService(CurrentScope, scope))
          })
      ),
      // Outside the exit handler too: it reads whether the run was given up (see `isSuspension`).
      (run) => withService(run, CurrentScope, scope)
    )
  })

/**
 * An adopted run's handler on a cluster runner. Effect Cluster interrupts it from outside when
 * the runner gives the run up — it shuts down, or the run's shard moves to another runner on a
 * rebalance — with a plain interrupt (no `Abandon` annotation): marked {@link RunState.givenUp}
 * before that interrupt reaches the body, so the body stops without compensating and the run
 * resumes on the shard's new owner. A cancel (`mcpflow cancel`, the engine's interrupt) comes
 * from inside and still compensates.
 */
const givingUp = <A, E, R>(state: RunState, handler: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(restore(handler), { startImmediately: true })
      const waited = yield* Effect.exit(restore(Fiber.await(fiber)))
      if (Exit.isSuccess(waited)) return yield* waited.value
      // Interrupted from outside while the run runs: the runner gives it up.
      yield* giveUp(state)
      yield* Fiber.interrupt(fiber)
      return yield* Effect.failCause(waited.cause)
    })
  )
