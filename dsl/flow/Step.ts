/**
 * `step`: the unit of a flow that is reported, traced (one span per step), journaled (an
 * `effect/workflow` Activity named by the step's path) and shown in plans; optionally paired
 * with a compensation, which makes the steps around it a saga.
 *
 * @module
 */
import { Cause, Clock, Context, Deferred, Effect, Exit, Fiber, Option, Result, Schema, Tracer } from "effect"
import * as Workflow from "effect/workflow/Workflow"
import * as Activity from "effect/workflow/Activity"
import { WorkflowInstance } from "effect/workflow/WorkflowEngine"
import type { StepJournal } from "../ports/FlowEngine.ts"
import type { StepOutcome } from "../ports/StepLedger.ts"
import { CallSites, GatewayEvents, makeCallSites, RetryingStep } from "../ports/McpGateway.ts"
import * as Policy from "../policy/Policy.ts"
import { defaultMaxAttempts } from "../policy/Retry.ts"
import { PolicyEvents } from "../policy/PolicyEvents.ts"
import { withService } from "../internal/WithService.ts"
import { type FlowEvent, FlowEvents, type StepKind } from "./FlowEvents.ts"
import { AmbiguousStep } from "./AmbiguousStep.ts"
import { StepFailure, StepValue } from "./JournalSchemas.ts"
import { interpreterOf, type NodeInfo, running } from "./internal/Interpreter.ts"
import { hasRedacted, type Sealer } from "./internal/Sealing.ts"
import {
  afterExit,
  child,
  claimPath,
  type CompensationEntry,
  CurrentScope,
  emit,
  now,
  renderCause,
  type RunState,
  type StepScope,
  workflowInstance
} from "./RunScope.ts"

/**
 * How a step runs: the Schemas that journal its result (required for durable runs to replay a
 * typed value; the memory engine keeps values as they are), its compensation, and a description
 * for plans.
 *
 * @example
 * ```ts
 * const options: StepOptions<{ id: string }, never, never> = {
 *   compensate: (reservation) => Inventory.release({ id: reservation.id }),
 *   description: "hold the items until payment"
 * }
 * ```
 */
export interface StepOptions<A, E, R2> {
  /** Journals the step's value with this Schema (JSON). */
  readonly success?: Schema.Codec<A, unknown> | undefined
  /** Journals the step's typed error with this Schema (JSON). */
  readonly error?: Schema.Codec<E, unknown> | undefined
  /**
   * Undoes the step when the saga around it (or the flow) fails after it succeeded. Runs as its
   * own journaled step `<path>/compensate`, at most once; its failure is reported next to the
   * original cause, never swallowed.
   */
  readonly compensate?: ((value: A, cause: Cause.Cause<unknown>) => Effect.Effect<unknown, unknown, R2>) | undefined
  /** One line for plans and reports. */
  readonly description?: string | undefined
  /**
   * Resilience policies around the step's body, inside its journal entry (so a retry re-runs
   * the body, never replays a stored failure). Same builder and order as tool-call policies.
   */
  readonly policy?: Policy.PolicyInput | undefined
  /** The step is safe to repeat (lets its retry policy retry after a possibly-sent failure). */
  readonly idempotent?: boolean | undefined
}

/**
 * What a step's policy may add to its errors: the layers' own failures, or a malformed setting.
 *
 * @example
 * ```ts
 * type E = StepPolicyFailure // PolicyTimeout | BreakerRejected | … | PolicyConfigError
 * ```
 */
export type StepPolicyFailure = Policy.PolicyFailure | Policy.PolicyConfigError

/**
 * Runs `effect` as the step `name` of the current scope.
 *
 * Inside a flow run the step is an Activity of the run's workflow: on a durable engine its
 * result is journaled and replayed on resume instead of running again. Retries belong inside the
 * step (a policy in `effect`), never around it: a retry around a journaled step would only
 * replay its stored failure. Outside a flow run the step still runs, reports and traces.
 *
 * @example
 * ```ts
 * const image = yield* step("build", Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: "app:1" }))
 * const reservation = yield* step("reserve", Inventory.reserve({ sku, qty }), {
 *   compensate: (r) => Inventory.release({ reservation_id: r.id })
 * })
 * ```
 */
export const step = <A, E, R, R2 = never, P extends Policy.PolicyInput | undefined = undefined>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  options?: StepOptions<A, E, R2> & { readonly policy?: P }
): Effect.Effect<A, E | (undefined extends NoInfer<P> ? never : StepPolicyFailure), R | NoInfer<R2>> =>
  Effect.withFiber((fiber) => {
    const scope = fiber.getRef(CurrentScope)
    const path = claimPath(scope, name)
    return typeof path === "string" ? startStep(fiber, scope, path, "step", effect, options) : path
  }) as never

/** Internal: runs a journaled step at `path` (already claimed). */
export const runStep = <A, E, R, R2>(
  scope: StepScope,
  path: string,
  kind: StepKind,
  effect: Effect.Effect<A, E, R>,
  options?: StepOptions<A, E, R2>
): Effect.Effect<A, E | StepPolicyFailure, R | R2> =>
  Effect.withFiber((fiber) => startStep(fiber, scope, path, kind, effect, options))

/**
 * A step as the fiber about to run it sees it: a plain step of a run (no policy, no compensation,
 * not a resume, journaled by the memory engine or not at all) takes the short path; anything
 * else the general one.
 */
const startStep = <A, E, R, R2>(
  fiber: Fiber.Fiber<unknown, unknown>,
  scope: StepScope,
  path: string,
  kind: StepKind,
  effect: Effect.Effect<A, E, R>,
  options: StepOptions<A, E, R2> | undefined
): Effect.Effect<A, E | StepPolicyFailure, R | R2> => {
  const run = scope.run
  const instance = Context.getOrUndefined(fiber.context, WorkflowInstance)
  const journaled = instance !== undefined && !scope.inActivity && run?.interpreter.journals === true
  if (
    run !== undefined && run.resume === undefined && options?.policy === undefined &&
    options?.compensate === undefined && (!journaled || run.stepJournal !== undefined)
  ) {
    return plainStep(fiber, scope, run, path, kind, effect, journaled, options?.description)
  }
  return generalStep(scope, path, kind, effect, options, instance, journaled)
}

const noNode: NodeInfo = { description: undefined, compensated: false }

/**
 * The short path of a step: one context update, one exit handler, and no events, clock reads or
 * sinks when nobody listens to the run. Same reports, results and journal entries as
 * {@link generalStep}.
 */
const plainStep = <A, E, R>(
  fiber: Fiber.Fiber<unknown, unknown>,
  scope: StepScope,
  run: RunState,
  path: string,
  kind: StepKind,
  effect: Effect.Effect<A, E, R>,
  journaled: boolean,
  description: string | undefined
): Effect.Effect<A, E, R> => {
  const interpreter = run.interpreter
  if (interpreter !== running) interpreter.meet(path, kind, description === undefined ? noNode : { description, compensated: false })
  const listening = run.listening
  const clock = listening ? fiber.getRef(Clock.Clock) : undefined
  if (clock !== undefined) {
    const rerun = run.inFlightAtCrash?.has(path) === true ? { rerunAfterCrash: true } : {}
    run.emit({ _tag: "StepStarted", runId: run.runId, at: clock.currentTimeMillisUnsafe(), path, kind, ...rerun })
  }
  const started = clock?.currentTimeMillisUnsafe() ?? 0
  const stepJournal = journaled ? run.stepJournal : undefined
  const stored = stepJournal?.replay(path) as Exit.Exit<A, E> | undefined
  const ended = (exit: Exit.Exit<A, E>, replayed: boolean) => {
    if (Exit.isSuccess(exit)) {
      run.results.succeeded(path, exit.value)
      if (clock !== undefined) {
        const at = clock.currentTimeMillisUnsafe()
        run.emit({ _tag: "StepSucceeded", runId: run.runId, at, path, kind, durationMs: at - started, replayed })
      }
    } else {
      const at = clock?.currentTimeMillisUnsafe() ?? 0
      reportFailureAt(scope, path, kind, at, at - started, exit.cause)
    }
  }
  if (stored !== undefined) {
    ended(stored, true)
    return stored
  }
  const inner = child(scope, path, { inActivity: journaled || scope.inActivity })
  // One run, one attempt: its call sites go into the same context update as the step's scope.
  const body = withStepSinks(fiber, scope, path, inner, effect, makeCallSites(path))
  // Like the engines' journals, `undefined` comes back as `null` from a journaled step (JSON has no undefined).
  const value = stepJournal === undefined ? body : Effect.map(body, (a) => (a === undefined ? null : a) as A)
  return afterExit(traced(fiber, path, kind, value), (exit) => {
    stepJournal?.record(path, exit)
    ended(exit, false)
  })
}

/** The general path of a step: policies, compensations, resumes and durable engines. */
const generalStep = <A, E, R, R2>(
  scope: StepScope,
  path: string,
  kind: StepKind,
  effect: Effect.Effect<A, E, R>,
  options: StepOptions<A, E, R2> | undefined,
  instance: WorkflowInstance["Service"] | undefined,
  journaled: boolean
): Effect.Effect<A, E | StepPolicyFailure, R | R2> =>
  Effect.gen(function*() {
    const interpreter = interpreterOf(scope)
    const attemptsBefore = scope.run?.resume?.attemptsBefore.get(path) ?? 0
    // One breaker circuit / bucket per step of a flow, whatever the batch item it runs for.
    const policyKey = options?.policy === undefined ? "" : `${scope.run?.flow ?? "step"}:${path.replace(/\[[^\]]*\]/g, "[]")}`
    const policy = options?.policy === undefined
      ? undefined
      // Stateful layers (breakers, bulkheads, rate limits, caches) built from settings live as long as the
      // engine: a breaker on a step trips across its runs, not only within one execution.
      : yield* Policy.make(attemptsBefore > 0 ? afterCrash(options.policy, attemptsBefore) : options.policy, {
        registry: scope.run?.policies,
        owner: policyKey
      })
    interpreter.meet(path, kind, { description: options?.description, compensated: options?.compensate !== undefined })
    if (policy !== undefined) interpreter.policies(path, Policy.describe(policy as Policy.Policy<unknown, unknown, unknown>))
    let ran = false
    // Inside a step whose policy retries, a call with a breaker of its own reports the order (see `RetryingStep`).
    const sited = withCallSites(path, policy?.retry === undefined ? effect : withService(effect, RetryingStep, {
      path,
      warned: warnedOf(scope.run)
    }))
    let sealedWith: string | undefined
    const guarded = policy === undefined
      ? sited
      // `key` (one breaker circuit per step path, shared by all `forEach` items), `item` (per item, with `per: "item"`).
      : Policy.apply(sited, policy, { idempotent: options?.idempotent, key: policyKey, item: `${scope.run?.flow ?? "step"}:${path}` }) as Effect.Effect<A, E, R>
    const body = afterExit(
      Effect.withFiber((fiber) => withStepSinks(fiber, scope, path, child(scope, path, { inActivity: journaled || scope.inActivity }), guarded)),
      () => void (ran = true)
    )
    // Where runs move between processes (cluster), the step is announced when its body starts (or,
    // replayed, when its journaled result comes back): only then is it known whether a runner
    // died with it in flight.
    const ledger = journaled && instance !== undefined ? scope.run?.stepLedger : undefined
    let announced = false
    const announce = (rerunAfterCrash: boolean) =>
      Effect.suspend(() => {
        if (announced) return Effect.void
        announced = true
        return emit(scope, { _tag: "StepStarted", path, kind, ...(rerunAfterCrash ? { rerunAfterCrash } : {}) })
      })
    // The body as the step's Activity runs it on a ledger engine: counted (and held) first; a start
    // that finds the outcome of an earlier one (a runner that gave the run up finished it) returns it.
    // Once started, the body runs to its end in a fiber of its own and records its outcome, even if
    // the run is interrupted meanwhile (its runner gives it up on a rebalance): the new owner, held
    // back by the ledger until then, takes that outcome instead of starting the step again.
    const guard = ledger === undefined ? undefined : (execute: Effect.Effect<unknown, unknown, R>, schemas: JournalCodecs) =>
      Effect.flatMap(Effect.forkDetach(Effect.scoped(Effect.gen(function*() {
        const { finished, keyed, starts } = yield* ledger.started(instance!.executionId, path)
        if (finished !== undefined) return yield* restoreOutcome(finished, schemas)
        // In flight when its runner died: run again only if that is safe (idempotent, or what it
        // sent carried its idempotency key), else never re-sent.
        if (starts > 1 && options?.idempotent !== true && !keyed) {
          yield* announce(true)
          return yield* Effect.fail(new AmbiguousStep({ runId: scope.run?.runId ?? "", path, reason: "runner-died" }))
        }
        yield* announce(starts > 1)
        // Its StepStarted stored before the body does anything: a kill never loses the start of a step that ran.
        if (scope.run?.eventsStored !== undefined) yield* scope.run.eventsStored
        const exit = yield* Effect.exit(execute)
        const outcome = yield* recordedOutcome(exit, schemas)
        if (outcome !== undefined) yield* ledger.finished(instance!.executionId, path, outcome)
        return yield* exit
      })), { startImmediately: true }), Fiber.join)
    const run = journal(scope.run, path, body, journaled, options, (keyId) => void (sealedWith = keyId), guard)
    const resume = scope.run?.resume
    if (resume !== undefined && journaled && kind === "step") {
      if (resume.completed.has(path)) resume.pending.delete(path)
      else if (!resume.inFlight.has(path) && resume.pending.size > 0 && resume.codeChanged && !resume.force) {
        resume.diverged = `the flow changed since the run started: step ${JSON.stringify(path)} is new, and the journaled ` +
          `step(s) ${[...resume.pending].map((p) => JSON.stringify(p)).join(", ")} were not reached before it; ` +
          `fix the flow or resume with --force`
        // Park the run (it stays resumable) before the new step does anything.
        yield* Deferred.succeed(resume.divergedSignal, undefined)
        return yield* Workflow.suspend(instance!)
      }
    }
    if (ledger === undefined) yield* announce(scope.run?.inFlightAtCrash?.has(path) === true)
    const started = yield* now
    const exit = yield* Effect.uninterruptibleMask((restore) =>
      Effect.exit(restore(run)).pipe(
        // A replayed step on a ledger engine: announced now, before its result.
        Effect.tap(() => announce(false)),
        Effect.tap((exit) =>
          Exit.isSuccess(exit) && options?.compensate !== undefined
            ? register(scope, path, exit.value, options.compensate)
            : Effect.void
        ),
        // Reported while still uninterruptible: an interrupted step (a fail-fast sibling, Ctrl-C)
        // would otherwise never reach the report below.
        Effect.tap((exit) =>
          Exit.isFailure(exit)
            ? Effect.flatMap(now, (at) => reportFailure(scope, path, kind, at - started, exit.cause))
            : Effect.void
        )
      )
    ).pipe((effect) => Effect.withFiber((fiber) => traced(fiber, path, kind, effect)))
    const durationMs = (yield* now) - started
    if (Exit.isSuccess(exit) && options?.compensate !== undefined) {
      const compensate = options.compensate
      yield* interpreter.compensable(
        path,
        withService(
          Effect.suspend(() => compensate(exit.value, Cause.empty)),
          CurrentScope,
          child(scope, `${path}/compensate`)
        ) as Effect.Effect<unknown, unknown>
      )
    }
    if (Exit.isSuccess(exit)) {
      scope.run?.results.succeeded(path, exit.value)
      const sealed = sealedWith === undefined ? {} : { sealedWith }
      yield* emit(scope, { _tag: "StepSucceeded", path, kind, durationMs, replayed: journaled && !ran, ...sealed })
    }
    return yield* exit
  })

/**
 * A span per step, when a tracing backend is installed (`--otlp`); with Effect's in-memory
 * tracer nobody could see it, so the step skips its cost.
 */
const traced = <A, E, R>(fiber: Fiber.Fiber<unknown, unknown>, path: string, kind: StepKind, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer
    ? effect
    : effect.pipe(
      Effect.withSpan(`step ${path}`, { attributes: { "mcpflow.step": path, "mcpflow.kind": kind } }, {
        captureStackTrace: false
      })
    )

/** Reports a failed or interrupted step; the first real failure is the run's failing step. */
export const reportFailure = (
  scope: StepScope,
  path: string,
  kind: StepKind,
  durationMs: number,
  cause: Cause.Cause<unknown>
): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const at = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
    reportFailureAt(scope, path, kind, at, durationMs, cause, scope.run === undefined ? fiber.getRef(FlowEvents) : undefined)
    return Effect.void
  })

/**
 * {@link reportFailure} right now, at `at` on the run's Clock: outside a run the event goes to
 * `outside` (the fiber's `FlowEvents`).
 *
 * @internal
 */
export const reportFailureAt = (
  scope: StepScope,
  path: string,
  kind: StepKind,
  at: number,
  durationMs: number,
  cause: Cause.Cause<unknown>,
  outside?: { readonly emit: (event: FlowEvent) => void } | undefined
): void => {
  const run = scope.run
  const interrupted = Cause.hasInterruptsOnly(cause)
  const recorded = run !== undefined && !interrupted && (kind === "step" || kind === "gate")
  const sink = run === undefined ? outside?.emit : run.listening ? run.emit : undefined
  if (!recorded && sink === undefined) return
  const rendered = renderCause(cause)
  if (recorded) {
    if (run.failedStep === undefined) run.failedStep = path
    run.results.ended(path, { status: "failed", error: rendered.error })
  }
  sink?.({ _tag: "StepFailed", runId: run?.runId ?? "", at, path, kind, durationMs, interrupted, ...rendered })
}

/** The sinks of a fiber that was given none (the references' defaults). */
const silentPolicyEvents = Context.get(Context.empty(), PolicyEvents)
const silentGatewayEvents = Context.get(Context.empty(), GatewayEvents)

/**
 * Runs the step's body in its own scope, with policy and gateway events raised inside it
 * forwarded to the run's report. When nobody listens to the run and the fiber has no sinks of
 * its own, there is nothing to forward: only the scope is set (and a tool call then asks for
 * no progress notifications).
 */
const withStepSinks = <A, E, R>(
  fiber: Fiber.Fiber<unknown, unknown>,
  scope: StepScope,
  path: string,
  inner: StepScope,
  effect: Effect.Effect<A, E, R>,
  sites?: CallSites | undefined
): Effect.Effect<A, E, R> => {
  const run = scope.run
  if (
    run === undefined ||
    (!run.listening && fiber.getRef(PolicyEvents) === silentPolicyEvents && fiber.getRef(GatewayEvents) === silentGatewayEvents)
  ) {
    return sites === undefined
      ? withService(effect, CurrentScope, inner)
      : Effect.updateContext(effect, (context: Context.Context<never>) =>
        Context.add(Context.add(context, CurrentScope, inner), CallSites, sites) as Context.Context<R>
      )
  }
  return Effect.updateContext(effect, (context: Context.Context<never>): Context.Context<R> => {
    const outerGateway = Context.get(context, GatewayEvents)
    const clock = Context.get(context, Clock.Clock)
    const scoped = Context.add(context, CurrentScope, inner)
    // One context update per step: the scope, its call sites and both sinks at once.
    return Context.add(
      Context.add(sites === undefined ? scoped : Context.add(scoped, CallSites, sites), PolicyEvents, {
        emit: (event) => {
          const at = clock.currentTimeMillisUnsafe()
          run.emit({ _tag: "Policy", runId: run.runId, at, path, event })
          if (event._tag === "RetryScheduled") {
            const { attempt, delayMs, reason } = event
            run.emit({ _tag: "StepRetried", runId: run.runId, at, path, attempt, delayMs, reason })
          }
        }
      }),
      GatewayEvents,
      {
        emit: (event) => {
          outerGateway.emit(event)
          if (event._tag === "ToolProgress" || event._tag === "ServerLog" || event._tag === "ReplicaServed") {
            run.emit({ _tag: "Gateway", runId: run.runId, at: clock.currentTimeMillisUnsafe(), path, event })
          } else if (event._tag === "FaultFired") {
            const { atMs, call, detail, kind, server, tool } = event
            run.emit({ _tag: "FaultFired", runId: run.runId, at: atMs, path, kind, server, tool, call, ...(detail ? { detail } : {}) })
          }
        }
      }
    ) as Context.Context<R>
  })
}

/** The (step, tool) pairs of a run already reported as a retry around a breaker: once each per run. */
const warnedByRun = new WeakMap<RunState, Set<string>>()
const warnedOf = (run: RunState | undefined): Set<string> => {
  if (run === undefined) return new Set()
  let warned = warnedByRun.get(run)
  if (warned === undefined) warnedByRun.set(run, warned = new Set())
  return warned
}

/**
 * Each run of `effect` (each attempt of the step) counts its tool calls from 0 under `path`
 * (see `CallSites`): what tells a request sent again from another one with equal arguments.
 */
const withCallSites = <A, E, R>(path: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => withService(effect, CallSites, makeCallSites(path)))

/**
 * The effect as an Activity named `path` when the run is journaled, else as it is. The Activity is
 * made for this step and dropped with it: a durable step costs milliseconds (the journal's
 * write), next to which making one is small, and keeping them (one per path) grew a long
 * durable run's heap by kilobytes per step.
 */
const journal = <A, E, R>(
  run: StepScope["run"],
  path: string,
  body: Effect.Effect<A, E, R>,
  journaled: boolean,
  schemas?: { readonly success?: Schema.Codec<A, unknown> | undefined; readonly error?: Schema.Codec<E, unknown> | undefined },
  onSealed?: (keyId: string) => void,
  guard?: (execute: Effect.Effect<unknown, unknown, R>, schemas: JournalCodecs) => Effect.Effect<unknown, unknown, R>
): Effect.Effect<A, E, R> => {
  if (!journaled) return body
  if (run?.stepJournal !== undefined) return inMemory(run.stepJournal, path, body)
  const codecs: JournalCodecs = { success: schemas?.success ?? StepValue, error: schemas?.error ?? StepFailure }
  const guarded = (execute: Effect.Effect<unknown, unknown, R>) => guard === undefined ? execute : guard(execute, codecs)
  const sealer = run?.sealer
  if (sealer === undefined) return activity(path, codecs.success, codecs.error, guarded(body))
  return sealed(sealer, path, (sealedBody) => activity(path, codecs.success, codecs.error, guarded(sealedBody)), body, schemas?.success !== undefined, onSealed)
}

/** The Schemas a journaled step's value and error are journaled with. */
interface JournalCodecs {
  readonly success: Schema.Top
  readonly error: Schema.Top
}

/**
 * A body's exit as the step ledger records it (JSON, like the journal): its value or typed error;
 * nothing for a defect or an interrupt (or what does not encode), which the next start runs again.
 */
const recordedOutcome = (exit: Exit.Exit<unknown, unknown>, schemas: JournalCodecs): Effect.Effect<StepOutcome | undefined> => {
  if (Exit.isSuccess(exit)) {
    return Schema.encodeUnknownEffect(Schema.toCodecJson(schemas.success as Schema.Codec<unknown, unknown>))(exit.value).pipe(
      Effect.map((value): StepOutcome | undefined => ({ _tag: "Success", value })),
      Effect.orElseSucceed(() => undefined)
    )
  }
  if (!exit.cause.reasons.every(Cause.isFailReason)) return Effect.succeed(undefined)
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isNone(error) || error.value instanceof AmbiguousStep) return Effect.succeed(undefined)
  return Schema.encodeUnknownEffect(Schema.toCodecJson(schemas.error as Schema.Codec<unknown, unknown>))(error.value).pipe(
    Effect.map((error): StepOutcome | undefined => ({ _tag: "Failure", error })),
    Effect.orElseSucceed(() => undefined)
  )
}

/** A recorded outcome as the body's exit again. */
const restoreOutcome = (outcome: StepOutcome, schemas: JournalCodecs): Effect.Effect<unknown, unknown> =>
  outcome._tag === "Success"
    ? Effect.orDie(Schema.decodeUnknownEffect(Schema.toCodecJson(schemas.success as Schema.Codec<unknown, unknown>))(outcome.value))
    : Effect.flatMap(
      Effect.orDie(Schema.decodeUnknownEffect(Schema.toCodecJson(schemas.error as Schema.Codec<unknown, unknown>))(outcome.error)),
      Effect.fail
    )

/** The Activity `path` running `execute`, its value and error journaled with these Schemas. */
const activity = <A, E, R>(path: string, success: Schema.Top, error: Schema.Top, execute: Effect.Effect<unknown, unknown, R>): Effect.Effect<A, E, R> =>
  Activity.make({
    name: path,
    success: success as Schema.Codec<unknown, unknown>,
    error: error as Schema.Codec<unknown, unknown>,
    execute: execute as Effect.Effect<unknown, unknown>
  }) as unknown as Effect.Effect<A, E, R>

/**
 * A journaled step whose value's `Redacted` parts are sealed in the journal (see
 * `internal/Sealing.ts`): the body's value as it is when it ran here, else (a replay) the
 * journaled value with its sealed parts opened again.
 */
const sealed = <A, E, R>(
  sealer: Sealer,
  path: string,
  activityOf: (body: Effect.Effect<unknown, E, R>) => Effect.Effect<unknown, E, R>,
  body: Effect.Effect<A, E, R>,
  wrap: boolean,
  onSealed: ((keyId: string) => void) | undefined
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    let fresh: { readonly value: A } | undefined
    const sealedBody = Effect.map(body, (value) => {
      if (!hasRedacted(value)) return value
      fresh = { value }
      onSealed?.(sealer.keyId ?? "-")
      return sealer.sealValue(value, wrap)
    })
    return activityOf(sealedBody).pipe(
      Effect.flatMap((stored) => {
        if (fresh !== undefined) return Effect.succeed(fresh.value)
        const opened = sealer.openValue(stored)
        return Result.isSuccess(opened)
          ? Effect.succeed(opened.success as A)
          : Effect.die(new Error(`step ${JSON.stringify(path)}: its journaled value cannot be restored: ${opened.failure}`))
      })
    )
  })

/**
 * A step on the memory engine's journal: replayed when it completed before (a body the engine
 * plays again after a durable wait), else run and recorded — what an Activity does, without the
 * engine's encoding round trip per step.
 */
const inMemory = <A, E, R>(journal: StepJournal, path: string, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const stored = journal.replay(path)
    if (stored !== undefined) return stored as Exit.Exit<A, E>
    // Like the engines' journals, `undefined` comes back as `null` (JSON has no undefined).
    return afterExit(Effect.map(body, (value) => (value === undefined ? null : value) as A), (exit) => journal.record(path, exit))
  })

/**
 * Registers a completed step's compensation with its saga block and with the run. The undo runs
 * as the journaled step `<path>/compensate` with the services the step had.
 */
const register = <A, R2>(
  scope: StepScope,
  path: string,
  value: A,
  compensate: (value: A, cause: Cause.Cause<unknown>) => Effect.Effect<unknown, unknown, R2>
): Effect.Effect<void> =>
  Effect.contextWith((context: Context.Context<never>) => {
    const undoPath = `${path}/compensate`
    const entry: CompensationEntry = {
      path,
      done: false,
      undo: (cause) =>
        Effect.gen(function*() {
          const instance = yield* workflowInstance
          const journaled = Option.isSome(instance) && scope.run?.interpreter.journals === true
          yield* emit(scope, { _tag: "CompensationStarted", path })
          const started = yield* now
          let ran = false
          const body = afterExit(Effect.asVoid(Effect.withFiber((fiber) =>
            withStepSinks(
              fiber,
              scope,
              undoPath,
              child(scope, undoPath, { inActivity: journaled }),
              withCallSites(undoPath, Effect.suspend(() => compensate(value, cause)))
            )
          )), () => void (ran = true))
          const exit = yield* Effect.exit(journal(scope.run, undoPath, body, journaled))
          const durationMs = (yield* now) - started
          if (Exit.isSuccess(exit)) {
            // A resumed run replays a compensation its journal already holds: it did not run again.
            yield* emit(scope, { _tag: "Compensated", path, durationMs, ...(journaled && !ran ? { replayed: true } : {}) })
          } else {
            const { error } = renderCause(exit.cause)
            scope.run?.compensationFailures.push({ step: path, error })
            yield* emit(scope, { _tag: "CompensationFailed", path, error })
          }
        }).pipe(Effect.provideContext(context as Context.Context<R2>))
    }
    scope.saga?.entries.push(entry)
    scope.run?.root.entries.push(entry)
    return Effect.void
  })

/**
 * A step re-run after a crash keeps counting its retries: a retry given as data gets only the
 * attempts the crashed process had not used (at least one).
 */
const afterCrash = (policy: Policy.PolicyInput, used: number): Policy.PolicyInput => {
  if (Policy.isPolicy(policy)) return policy
  const retry = policy.retry
  if (retry === undefined || retry === false || "apply" in retry) return policy
  return { ...policy, retry: { ...retry, maxAttempts: Math.max(1, (retry.maxAttempts ?? defaultMaxAttempts) - used) } }
}

/**
 * A key that names the current step of the current run, stable across crashes and resumes:
 * pass it to a tool whose contract accepts an idempotency key (payments!) so that a step re-run
 * after a crash does not repeat the side effect. Outside a run it is the step path alone. On a
 * cluster, a step that read its key is re-run after its runner died even when it is not marked
 * idempotent (see `AmbiguousStep`).
 *
 * @example
 * ```ts
 * yield* step("charge", Effect.flatMap(Flow.idempotencyKey, (key) => Payment.charge_card({ amount_cents, idempotency_key: key })))
 * ```
 */
export const idempotencyKey: Effect.Effect<string> = Effect.withFiber((fiber) => {
  const scope = fiber.getRef(CurrentScope)
  if (scope.run === undefined) return Effect.succeed(scope.path)
  const key = `${scope.run.runId}:${scope.path}`
  // On a cluster, a step that read its key may be re-run after its runner died (see `AmbiguousStep`).
  const ledger = scope.run.stepLedger
  const instance = ledger === undefined || !scope.inActivity ? undefined : Context.getOrUndefined(fiber.context, WorkflowInstance)
  return instance === undefined ? Effect.succeed(key) : Effect.as(ledger!.keyed(instance.executionId, scope.path), key)
})
