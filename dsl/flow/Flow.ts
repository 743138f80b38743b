/**
 * A flow: a named, typed Effect program made of steps, with an input and an output Schema, run
 * by the interpreter on a `FlowEngine` (an `effect/workflow` engine).
 *
 * @module
 */
import { Cause, Deferred, Effect, Exit, Fiber, Option, Schedule, Schema } from "effect"
import * as Workflow from "effect/workflow/Workflow"
import { WorkflowEngine, WorkflowInstance } from "effect/workflow/WorkflowEngine"
import { inFlight, JournalError, RunJournal } from "../ports/RunJournal.ts"
import { createHash } from "node:crypto"
import type { ContractInfo } from "../Contract.ts"
import { firstIssue } from "../SchemaIssues.ts"
import { CompensationsFailed, FlowDefinition, FlowError, InvalidFlowInput, InvalidFlowOutput, NotResumable } from "./FlowError.ts"
import { FlowEngine } from "../ports/FlowEngine.ts"
import { type FlowEvent, FlowEvents } from "./FlowEvents.ts"
import { deliverRaw } from "./Durable.ts"
import { StepFailure, StepValue } from "./JournalSchemas.ts"
import { decodeInput } from "./FlowInput.ts"
import { plan } from "./Plan.ts"
import { CurrentScope, emit, isSuspension, now, renderCause, type ResumeState, type RunState, type StepScope, unwind } from "./RunScope.ts"

const TypeId = "~mcpflow/Flow"

/**
 * A flow definition. `run` is the body: plain Effect code over steps, parallel blocks, DAGs,
 * sagas and tool contracts. `uses` lists the tool contracts (or whole servers) the flow may call,
 * for plans and reviews.
 *
 * @example
 * ```ts
 * declare const cicd: Flow<typeof Input, typeof Output, McpflowToolError, McpGateway>
 * cicd.name // => "cicd"
 * ```
 */
export interface Flow<I extends Schema.Top, O extends Schema.Top, E, R> {
  readonly [TypeId]: typeof TypeId
  readonly name: string
  readonly description?: string | undefined
  readonly input: I
  readonly output: O
  readonly uses: ReadonlyArray<ContractInfo>
  readonly run: (input: I["Type"]) => Effect.Effect<O["Type"], E, R>
  /** @internal the workflow the engine runs */
  readonly workflow: FlowWorkflow
}

/**
 * A flow of any type, for lists and registries.
 *
 * @example
 * ```ts
 * const flows: ReadonlyArray<AnyFlow> = [cicd, orderSaga]
 * ```
 */
export interface AnyFlow {
  readonly [TypeId]: typeof TypeId
  readonly name: string
  readonly description?: string | undefined
  readonly input: Schema.Top
  readonly output: Schema.Top
  readonly uses: ReadonlyArray<ContractInfo>
  readonly workflow: FlowWorkflow
}

const Payload = Schema.Struct({ runId: Schema.String, input: Schema.Unknown })

type FlowWorkflow = Workflow.Workflow<string, typeof Payload, typeof StepValue, typeof StepFailure>

/** Flow names become workflow names and journal keys. */
const validName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

/**
 * Defines a flow.
 *
 * @example
 * ```ts
 * const deploy = Flow.make({
 *   name: "deploy",
 *   input: Schema.Struct({ service: Schema.String, version: Schema.String }),
 *   output: Schema.Struct({ url: Schema.String }),
 *   uses: [Kubernetes],
 *   run: ({ service, version }) => Effect.gen(function*() {
 *     yield* step("apply", Kubernetes.kubectl_apply({ manifest_path: `k8s/${service}`, namespace: "staging" }))
 *     return { url: `https://${service}.staging.example` }
 *   })
 * })
 * ```
 */
export const make = <I extends Schema.Top, O extends Schema.Top, E, R>(options: {
  readonly name: string
  readonly description?: string | undefined
  readonly input: I
  readonly output: O
  readonly uses?: ReadonlyArray<ContractInfo | Readonly<Record<string, ContractInfo>>> | undefined
  readonly run: (input: I["Type"]) => Effect.Effect<O["Type"], E, R>
}): Flow<I, O, E, R> => {
  const uses: Array<ContractInfo> = []
  for (const u of options.uses ?? []) {
    if (isContractInfo(u)) uses.push(u)
    else for (const c of Object.values(u)) if (isContractInfo(c)) uses.push(c)
  }
  return {
    [TypeId]: TypeId,
    name: options.name,
    description: options.description,
    input: options.input,
    output: options.output,
    uses,
    run: options.run,
    workflow: Workflow.make(`mcpflow/${options.name}`, {
      payload: Payload,
      success: StepValue,
      error: StepFailure,
      idempotencyKey: (p) => p.runId
    }) as FlowWorkflow
  }
}

/**
 * Whether a value is a flow made with {@link make}.
 *
 * @example
 * ```ts
 * Flow.isFlow(cicd) // => true
 * Flow.isFlow({})   // => false
 * ```
 */
export const isFlow = (u: unknown): u is AnyFlow =>
  typeof u === "object" && u !== null && (u as Record<string, unknown>)[TypeId] === TypeId &&
  typeof (u as { run?: unknown }).run === "function"

const isContractInfo = (u: unknown): u is ContractInfo =>
  typeof u === "object" && u !== null || typeof u === "function"
    ? typeof (u as { name?: unknown }).name === "string" && typeof (u as { server?: unknown }).server === "string" &&
      typeof (u as { tool?: unknown }).tool === "string"
    : false

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
 * Continues a journaled run that a crash (or a killed process) left unfinished: the steps that
 * completed are replayed from the journal, not run again; a step that was in flight runs again
 * and is reported as "re-run after crash". Needs a `RunJournal` and a durable engine. Refused
 * with `NotResumable` when the run does not exist, already finished, belongs to another flow, or
 * the flow's step structure changed since it started (unless `force`).
 *
 * @example
 * ```ts
 * const result = yield* Flow.resume(deploy, "9b0c…").pipe(Effect.provide(Engines.durable(".mcpflow")))
 * ```
 */
export const resume = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  runId: string,
  options?: { readonly force?: boolean | undefined; readonly sandbox?: boolean | undefined }
): Effect.Effect<
  O["Type"],
  E | FlowError | JournalError,
  Exclude<R, WorkflowEngine> | FlowEngine | WorkflowEngine | RunJournal
> =>
  Effect.gen(function*() {
    const journal = yield* RunJournal
    const refuse = (detail: string) => Effect.fail(new FlowError({ flow: flow.name, reason: new NotResumable({ runId, detail }) }))
    const record = yield* journal.get(runId).pipe(
      Effect.mapError((e): FlowError | JournalError =>
        e.reason === "NotFound"
          ? new FlowError({ flow: flow.name, reason: new NotResumable({ runId, detail: "no such run in the journal" }) })
          : e
      )
    )
    if (record.flow !== flow.name) return yield* refuse(`it is a run of ${JSON.stringify(record.flow)}, not of ${JSON.stringify(flow.name)}`)
    if (record.status !== "running") return yield* refuse(`it already ${record.status === "interrupted" ? "was interrupted (and compensated)" : record.status}`)
    const events = yield* journal.events(runId)
    const completed = new Set(
      events.flatMap((e) => (e._tag === "StepSucceeded" && e.kind === "step" ? [e.path] : []))
    )
    const attemptsBefore = new Map<string, number>()
    for (const e of events) {
      // Each failed attempt of a step, before the crash.
      if (e._tag === "Policy" && e.event._tag === "AttemptFailed") attemptsBefore.set(e.path, (attemptsBefore.get(e.path) ?? 0) + 1)
    }
    return yield* execute(flow, record.input as I["Encoded"], { runId, sandbox: options?.sandbox }, {
      inFlight: new Set(inFlight(events)),
      attemptsBefore,
      completed,
      pending: new Set(completed),
      force: options?.force === true,
      codeChanged: codeHash(flow) !== record.fingerprint,
      diverged: undefined,
      divergedSignal: Deferred.makeUnsafe<void>()
    })
  })

const execute = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  input: I["Encoded"],
  options: RunOptions | undefined,
  resumed: ResumeState | undefined
): Effect.Effect<O["Type"], E | FlowError | JournalError, Exclude<R, WorkflowEngine> | FlowEngine | WorkflowEngine> =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* FlowEngine
    const decoded = yield* decodeInput(flow.name, flow.input, input)
    const sink = yield* FlowEvents
    const journal = Option.getOrUndefined(yield* Effect.serviceOption(RunJournal))
    const runId = options?.runId ?? crypto.randomUUID()
    const broken: { failure: JournalError | undefined } = { failure: undefined }
    const brokenNow = (): JournalError | undefined => broken.failure
    // A journal that cannot be written (a full disk) stops the run where it is: nothing more is
    // attempted, no compensation runs (it could not be journaled either), and the run stays
    // resumable once there is room again.
    const journalBroken = Deferred.makeUnsafe<void>()
    const emitTo = journal === undefined ? sink.emit : (event: FlowEvent) => {
      if (broken.failure === undefined) {
        try {
          journal.appendUnsafe(event)
        } catch (thrown) {
          const detail = thrown instanceof Error ? thrown.message : String(thrown)
          broken.failure = new JournalError({
            file: journal.file,
            reason: "Io",
            detail: `${detail}; the run stopped here and can be resumed (mcpflow resume ${runId}) once the journal can be written`
          })
          state.journalBroken = true
          Deferred.doneUnsafe(journalBroken, Exit.void)
        }
      }
      sink.emit(event)
    }
    const state: RunState = {
      runId,
      flow: flow.name,
      mode: "run",
      emit: emitTo,
      root: { entries: [] },
      subscriptions: new Map(),
      compensationFailures: [],
      failedStep: undefined,
      memoryJournal: engine.kind === "memory" ? new Map() : undefined,
      policies: engine.policies,
      inFlightAtCrash: resumed?.inFlight,
      resume: resumed
    }
    if (journal !== undefined) {
      const startedAt = yield* now
      yield* journal.start({
        runId,
        flow: flow.name,
        input,
        fingerprint: codeHash(flow),
        startedAt,
        source: options?.source
      })
    }
    const payload = { runId, input }
    const executionId = yield* flow.workflow.executionId(payload)
    yield* register(flow, engine)
    const context = yield* Effect.context<R>()
    engine.runs.set(executionId, { context: context as never, state, input: decoded })
    const top: StepScope = { run: state, path: "", names: new Set(), inActivity: false, saga: undefined }
    yield* emit(top, {
      _tag: "FlowStarted",
      flow: flow.name,
      engine: engine.kind,
      sandbox: options?.sandbox,
      ...(resumed !== undefined ? { resumed: true, inFlight: [...resumed.inFlight] } : {})
    })
    const started = yield* now
    // Signals recorded in the journal (`mcpflow signal`) are delivered by the process running the run.
    if (journal !== undefined) {
      yield* Effect.forkScoped(
        Effect.gen(function*() {
          for (const { name, payload } of yield* journal.pendingSignals(runId)) {
            yield* deliverRaw(flow, runId, name, payload)
            yield* journal.markDelivered(runId, name)
          }
        }).pipe(Effect.ignore, Effect.repeat(Schedule.spaced("200 millis")))
      )
    }
    const run = resumed === undefined
      ? flow.workflow.execute(payload)
      : Effect.raceFirst(
        // A parked run (restarted by the engine with nobody to run it) is woken up first.
        Effect.andThen(flow.workflow.resume(executionId), flow.workflow.execute(payload)),
        // A resume that diverged parks the run again (still resumable) and stops waiting for it.
        Effect.andThen(Deferred.await(resumed.divergedSignal), Effect.interrupt)
      )
    const awaitRun = journal === undefined ? run : Effect.raceFirst(run, Effect.andThen(Deferred.await(journalBroken), Effect.interrupt))
    // Ctrl-C: stop the steps now and wait for the compensations of the completed ones.
    const stopRun = Effect.suspend(() => {
      const fiber = engine.runs.get(executionId)?.fiber
      if (fiber === undefined || resumed?.diverged !== undefined) return Effect.void
      // With a broken journal the engine may never finish its pending write: do not wait for it.
      return broken.failure !== undefined ? Effect.asVoid(Effect.forkDetach(Fiber.interrupt(fiber))) : Fiber.interrupt(fiber)
    })
    // Uninterruptible but for the run itself: an interrupted run still compensates and reports.
    return yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(restore(awaitRun).pipe(Effect.onInterrupt(() => stopRun)))
        const live = engine.runs.get(executionId)?.state ?? state
        engine.runs.delete(executionId)
        if (broken.failure !== undefined) {
          const durationMs = (yield* now) - started
          yield* emit(top, { _tag: "FlowFinished", flow: flow.name, durationMs, ...outcomeOf(Exit.fail(broken.failure)) })
          return yield* broken.failure
        }
        const result = yield* settle(flow, exit, live)
        const ended = outcomeOf(result)
        const durationMs = (yield* now) - started
        const failedStep = ended.outcome === "failure" ? live.failedStep : undefined
        yield* emit(top, { _tag: "FlowFinished", flow: flow.name, durationMs, failedStep, ...ended })
        // A resume refused because the code changed leaves the run resumable (fix the code, or --force).
        if (journal !== undefined && state.resume?.diverged === undefined) {
          const status = ended.outcome === "success" ? "succeeded" : ended.outcome === "failure" ? "failed" : "interrupted"
          const finishedAt = yield* now
          const failure = ended.outcome === "failure" ? { error: ended.error, errorTag: ended.errorTag } : {}
          yield* journal.finish({ runId, status, finishedAt, failedStep, ...failure })
          // Its last events may not have reached the journal either.
          const late = brokenNow()
          if (late !== undefined) return yield* late
        }
        return yield* result
      })
    )
  })) as never

/** Registers the flow's workflow with the engine once; its body runs with the caller's services. */
const register = <I extends Schema.Top, O extends Schema.Top, E, R>(flow: Flow<I, O, E, R>, engine: FlowEngine["Service"]) =>
  Effect.gen(function*() {
    if (engine.registered.has(flow.workflow._tag)) return
    engine.registered.add(flow.workflow._tag)
    const wf = yield* WorkflowEngine
    yield* wf.register(flow.workflow, (payload, executionId) =>
      Effect.gen(function*() {
        const entry = engine.runs.get(executionId)
        if (entry === undefined) {
          // A durable engine restarted an unfinished run that nobody resumed (yet): park it
          // until `mcpflow resume <runId>` gives it its services back.
          return yield* Workflow.suspend(yield* WorkflowInstance)
        }
        const state = entry.state
        // A fresh compensation list each time the engine (re)plays the body: replayed steps re-register.
        state.root = { entries: [] }
        const scope: StepScope = { run: state, path: "", names: new Set(), inActivity: false, saga: undefined }
        const input = entry.input as I["Type"]
        // The caller interrupts this fiber directly (Ctrl-C): compensations then run as
        // ordinary journaled steps. An engine suspension is not a failure and undoes nothing.
        entry.fiber = Fiber.getCurrent()
        return yield* flow.run(input).pipe(
          Effect.provideService(CurrentScope, scope),
          Effect.onExit((exit) =>
            Exit.isSuccess(exit)
              ? Effect.void
              : Effect.flatMap(isSuspension(exit), (suspended) => {
                // The failure as it happened (a durable engine hands the caller its JSON form).
                if (!suspended) state.failure = exit.cause
                return suspended || state.resume?.diverged !== undefined || state.journalBroken === true
                  ? Effect.void
                  // In a fiber of its own: this one may be interrupted, its compensations must not be.
                  : Effect.forkDetach(unwind(state.root.entries, exit.cause).pipe(Effect.provideService(CurrentScope, scope)))
                    .pipe(Effect.flatMap(Fiber.join))
              })
          ),
          Effect.updateContext((engineContext) => mergeContexts(entry.context, engineContext))
        )
      })
    ).pipe(Effect.provideService(Scope.Scope, engine.scope))
  })

import { Context, Scope } from "effect"

const mergeContexts = (caller: Context.Context<never>, engine: Context.Context<never>): never =>
  Context.merge(caller, engine) as never

/** Turns the engine's exit into the run's result: typed flow errors, output validation. */
const settle = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  exit: Exit.Exit<unknown, unknown>,
  state: RunState
): Effect.Effect<Exit.Exit<O["Type"], E | FlowError>> =>
  Effect.gen(function*() {
    if (Exit.isFailure(exit) && state.failure !== undefined && !Cause.hasInterruptsOnly(exit.cause)) {
      exit = Exit.failCause(state.failure)
    }
    if (Exit.isSuccess(exit)) {
      const encoded = yield* Effect.exit(Schema.encodeUnknownEffect(Schema.toCodecJson(flow.output))(exit.value))
      if (Exit.isFailure(encoded)) {
        const error = Cause.squash(encoded.cause) as Schema.SchemaError
        const { message, path } = firstIssue(error.issue)
        return Exit.fail(new FlowError({ flow: flow.name, reason: new InvalidFlowOutput({ path, issue: message }) }))
      }
      return Exit.succeed(exit.value as O["Type"])
    }
    if (state.resume?.diverged !== undefined) {
      return Exit.fail(
        new FlowError({ flow: flow.name, reason: new NotResumable({ runId: state.runId, detail: state.resume.diverged }) })
      )
    }
    const defect = Option.getOrUndefined(Cause.findDefect(exit.cause).pipe(Result.getSuccess))
    if (defect instanceof FlowDefinition) {
      return Exit.fail(new FlowError({ flow: flow.name, reason: defect }))
    }
    if (state.compensationFailures.length > 0) {
      return Exit.fail(
        new FlowError({
          flow: flow.name,
          reason: new CompensationsFailed({
            original: messageOf(Cause.squash(exit.cause)),
            failures: [...state.compensationFailures]
          })
        })
      )
    }
    return exit as Exit.Exit<never, E>
  }) as never

import { Result } from "effect"

const messageOf = (error: unknown): string => renderCause(Cause.fail(error)).error

/** How a run ended, as its `FlowFinished` event and its journal row say it. */
const outcomeOf = (
  result: Exit.Exit<unknown, unknown>
): { readonly outcome: "success" | "failure" | "interrupted"; readonly error?: string; readonly errorTag?: string } => {
  if (Exit.isSuccess(result)) return { outcome: "success" }
  if (Cause.hasInterruptsOnly(result.cause)) return { outcome: "interrupted", error: "interrupted", errorTag: "Interrupted" }
  const failure = Cause.squash(result.cause)
  const errorTag = tagOf(failure)
  return { outcome: "failure", error: messageOf(failure), ...(errorTag !== undefined ? { errorTag } : {}) }
}

const tagOf = (error: unknown): string | undefined => renderCause(Cause.fail(error)).errorTag

/**
 * The flow's plan for reviews, without calling any tool: see `Plan.plan`.
 *
 * @example
 * ```ts
 * console.log(Plan.toText(yield* Flow.plan(deploy)))
 * ```
 */
export { plan }

/** A hash of the flow's code and Schemas, recorded with each journaled run. */
const codeHash = (flow: AnyFlow & { readonly run: Function }): string =>
  createHash("sha256").update(flow.name).update(String(flow.run)).digest("hex").slice(0, 16)

/**
 * Durable sleep and signals: see `Durable.ts`.
 *
 * @example
 * ```ts
 * yield* Flow.sleep("soak", "30 minutes")
 * ```
 */
export { sendSignal, type Signal, signal, sleep, waitFor } from "./Durable.ts"

/**
 * A key that names the current step of the current run, stable across crashes and resumes:
 * pass it to a tool whose contract accepts an idempotency key (payments!) so that a step re-run
 * after a crash does not repeat the side effect. Outside a run it is the step path alone.
 *
 * @example
 * ```ts
 * yield* step("charge", Effect.flatMap(Flow.idempotencyKey, (key) => Payment.charge_card({ amount_cents, idempotency_key: key })))
 * ```
 */
export const idempotencyKey: Effect.Effect<string> = CurrentScope.use((scope) =>
  Effect.succeed(scope.run === undefined ? scope.path : `${scope.run.runId}:${scope.path}`)
)
