/**
 * A flow: a named, typed Effect program made of steps, with an input and an output Schema, run
 * by the interpreter on a `FlowEngine` (an `effect/workflow` engine).
 *
 * @module
 */
import { Cause, Effect, Exit, Fiber, Option, Schema } from "effect"
import * as Workflow from "effect/workflow/Workflow"
import { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import type { ContractInfo } from "../Contract.ts"
import { firstIssue } from "../SchemaIssues.ts"
import { CompensationsFailed, FlowDefinition, FlowError, InvalidFlowInput, InvalidFlowOutput } from "./FlowError.ts"
import { FlowEngine } from "./FlowEngine.ts"
import { FlowEvents } from "./FlowEvents.ts"
import { CurrentScope, emit, isSuspension, now, type RunState, type StepScope, unwind } from "./RunScope.ts"

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

type FlowWorkflow = Workflow.Workflow<string, typeof Payload, typeof Schema.Unknown, typeof Schema.Unknown>

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
      success: Schema.Unknown,
      error: Schema.Unknown,
      idempotencyKey: (p) => p.runId
    }) as FlowWorkflow
  }
}

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
): Effect.Effect<O["Type"], E | FlowError, Exclude<R, WorkflowEngine> | FlowEngine | WorkflowEngine> =>
  Effect.gen(function*() {
    const engine = yield* FlowEngine
    const decoded = yield* decodeInput(flow, input)
    const sink = yield* FlowEvents
    const runId = options?.runId ?? crypto.randomUUID()
    const state: RunState = {
      runId,
      flow: flow.name,
      mode: "run",
      emit: sink.emit,
      root: { entries: [] },
      subscriptions: new Map(),
      compensationFailures: [],
      failedStep: undefined
    }
    const payload = { runId, input }
    const executionId = yield* flow.workflow.executionId(payload)
    yield* register(flow, engine)
    const context = yield* Effect.context<R>()
    engine.runs.set(executionId, { context: context as never, state, input: decoded })
    const top: StepScope = { run: state, path: "", names: new Set(), inActivity: false, saga: undefined }
    yield* emit(top, { _tag: "FlowStarted", flow: flow.name, engine: engine.kind, sandbox: options?.sandbox })
    const started = yield* now
    // Uninterruptible but for the run itself: an interrupted run still compensates and reports.
    return yield* Effect.uninterruptibleMask((restore) => Effect.gen(function*() {
    const exit = yield* Effect.exit(
      restore(flow.workflow.execute(payload)).pipe(
        Effect.onInterrupt(() =>
          // Ctrl-C: stop the steps now and wait for the compensations of the completed ones.
          Effect.suspend(() => {
            const fiber = engine.runs.get(executionId)?.fiber
            return fiber === undefined ? Effect.void : Fiber.interrupt(fiber)
          })
        )
      )
    )
    const live = engine.runs.get(executionId)?.state ?? state
    engine.runs.delete(executionId)
    const result = yield* settle(flow, exit, live)
    const durationMs = (yield* now) - started
    if (Exit.isSuccess(result)) {
      yield* emit(top, { _tag: "FlowFinished", flow: flow.name, outcome: "success", durationMs })
    } else {
      const interrupted = Cause.hasInterruptsOnly(result.cause)
      const failure = Cause.squash(result.cause)
      const error = interrupted ? "interrupted" : messageOf(failure)
      const errorTag = interrupted ? "Interrupted" : tagOf(failure)
      yield* emit(top, {
        _tag: "FlowFinished",
        flow: flow.name,
        outcome: interrupted ? "interrupted" : "failure",
        durationMs,
        failedStep: live.failedStep,
        error,
        errorTag
      })
    }
    return yield* result
    }))
  }) as never

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
          return yield* Effect.die(
            new FlowDefinition({ detail: `run ${payload.runId} of ${flow.name} has no live caller; resume it with its runId` })
          )
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
              : Effect.flatMap(isSuspension(exit), (suspended) =>
                suspended
                  ? Effect.void
                  // In a fiber of its own: this one may be interrupted, its compensations must not be.
                  : Effect.forkDetach(unwind(state.root.entries, exit.cause).pipe(Effect.provideService(CurrentScope, scope)))
                    .pipe(Effect.flatMap(Fiber.join)))
          ),
          Effect.updateContext((engineContext) => mergeContexts(entry.context, engineContext))
        )
      })
    ).pipe(Effect.provideService(Scope.Scope, engine.scope))
  })

import { Context, Scope } from "effect"

const mergeContexts = (caller: Context.Context<never>, engine: Context.Context<never>): never =>
  Context.merge(caller, engine) as never

const decodeInput = <I extends Schema.Top, O extends Schema.Top, E, R>(flow: Flow<I, O, E, R>, input: unknown) =>
  Schema.decodeUnknownEffect(Schema.toCodecJson(flow.input))(input).pipe(
    Effect.mapError((error) => {
      const { message, path } = firstIssue(error.issue)
      return new FlowError({ flow: flow.name, reason: new InvalidFlowInput({ path, issue: message }) })
    })
  ) as Effect.Effect<I["Type"], FlowError, never>

/** Turns the engine's exit into the run's result: typed flow errors, output validation. */
const settle = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  exit: Exit.Exit<unknown, unknown>,
  state: RunState
): Effect.Effect<Exit.Exit<O["Type"], E | FlowError>> =>
  Effect.gen(function*() {
    if (Exit.isSuccess(exit)) {
      const encoded = yield* Effect.exit(Schema.encodeUnknownEffect(Schema.toCodecJson(flow.output))(exit.value))
      if (Exit.isFailure(encoded)) {
        const error = Cause.squash(encoded.cause) as Schema.SchemaError
        const { message, path } = firstIssue(error.issue)
        return Exit.fail(new FlowError({ flow: flow.name, reason: new InvalidFlowOutput({ path, issue: message }) }))
      }
      return Exit.succeed(exit.value as O["Type"])
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

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" && error.message !== ""
    ? error.message
    : String(error)

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string" ? error._tag : undefined

/**
 * The flow's plan for reviews, without calling any tool: see `Plan.plan`.
 *
 * @example
 * ```ts
 * console.log(Plan.toText(yield* Flow.plan(deploy)))
 * ```
 */
export { plan } from "./Plan.ts"
