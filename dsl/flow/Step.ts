/**
 * `step`: the unit of a flow that is reported, traced (one span per step), journaled (an
 * `effect/workflow` Activity named by the step's path) and shown in plans; optionally paired
 * with a compensation, which makes the steps around it a saga.
 *
 * @module
 */
import { Cause, Clock, Context, Deferred, Effect, Exit, Option, Result, Schema, Tracer } from "effect"
import * as Workflow from "effect/workflow/Workflow"
import * as Activity from "effect/workflow/Activity"
import type { StepJournal } from "../ports/FlowEngine.ts"
import { CallSites, GatewayEvents, makeCallSites } from "../ports/McpGateway.ts"
import * as Policy from "../policy/Policy.ts"
import { defaultMaxAttempts } from "../policy/Retry.ts"
import { PolicyEvents } from "../policy/PolicyEvents.ts"
import type { StepKind } from "./FlowEvents.ts"
import { StepFailure, StepValue } from "./JournalSchemas.ts"
import { interpreterOf } from "./internal/Interpreter.ts"
import { hasRedacted, type Sealer } from "./internal/Sealing.ts"
import {
  child,
  claim,
  type CompensationEntry,
  CurrentScope,
  emit,
  now,
  renderCause,
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
  CurrentScope.use((scope) =>
    Effect.flatMap(claim(scope, name), (path) => runStep(scope, path, "step", effect, options))
  ) as never

/** Internal: runs a journaled step at `path` (already claimed). */
export const runStep = <A, E, R, R2>(
  scope: StepScope,
  path: string,
  kind: StepKind,
  effect: Effect.Effect<A, E, R>,
  options?: StepOptions<A, E, R2>
): Effect.Effect<A, E | StepPolicyFailure, R | R2> =>
  Effect.gen(function*() {
    const interpreter = interpreterOf(scope)
    const instance = yield* workflowInstance
    const journaled = Option.isSome(instance) && !scope.inActivity && scope.run?.interpreter.journals === true
    const attemptsBefore = scope.run?.resume?.attemptsBefore.get(path) ?? 0
    // One breaker circuit / bucket per step of a flow, whatever the batch item it runs for.
    const policyKey = `${scope.run?.flow ?? "step"}:${path.replace(/\[[^\]]*\]/g, "[]")}`
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
    const sited = withCallSites(path, effect)
    let sealedWith: string | undefined
    const guarded = policy === undefined
      ? sited
      // `key` (one breaker circuit per step path, shared by all `forEach` items), `item` (per item, with `per: "item"`).
      : Policy.apply(sited, policy, { idempotent: options?.idempotent, key: policyKey, item: `${scope.run?.flow ?? "step"}:${path}` }) as Effect.Effect<A, E, R>
    const body = withStepSinks(scope, path, child(scope, path, { inActivity: journaled || scope.inActivity }), guarded).pipe(
      Effect.onExit(() => Effect.sync(() => void (ran = true)))
    )
    const run = journal(scope.run, path, body, journaled, options, (keyId) => void (sealedWith = keyId))
    const resume = scope.run?.resume
    if (resume !== undefined && journaled && kind === "step") {
      if (resume.completed.has(path)) resume.pending.delete(path)
      else if (!resume.inFlight.has(path) && resume.pending.size > 0 && resume.codeChanged && !resume.force) {
        resume.diverged = `the flow changed since the run started: step ${JSON.stringify(path)} is new, and the journaled ` +
          `step(s) ${[...resume.pending].map((p) => JSON.stringify(p)).join(", ")} were not reached before it; ` +
          `fix the flow or resume with --force`
        // Park the run (it stays resumable) before the new step does anything.
        yield* Deferred.succeed(resume.divergedSignal, undefined)
        return yield* Workflow.suspend(instance.value)
      }
    }
    const rerun = scope.run?.inFlightAtCrash?.has(path) === true ? { rerunAfterCrash: true } : {}
    yield* emit(scope, { _tag: "StepStarted", path, kind, ...rerun })
    const started = yield* now
    const exit = yield* Effect.uninterruptibleMask((restore) =>
      Effect.exit(restore(run)).pipe(
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
    ).pipe(traced(path, kind))
    const durationMs = (yield* now) - started
    if (Exit.isSuccess(exit) && options?.compensate !== undefined) {
      const compensate = options.compensate
      yield* interpreter.compensable(
        path,
        Effect.suspend(() => compensate(exit.value, Cause.empty)).pipe(
          Effect.provideService(CurrentScope, child(scope, `${path}/compensate`))
        ) as Effect.Effect<unknown, unknown>
      )
    }
    if (Exit.isSuccess(exit)) {
      scope.run?.results.set(path, { status: "succeeded", output: exit.value })
      const sealed = sealedWith === undefined ? {} : { sealedWith }
      yield* emit(scope, { _tag: "StepSucceeded", path, kind, durationMs, replayed: journaled && !ran, ...sealed })
    }
    return yield* exit
  })

/**
 * A span per step, when a tracing backend is installed (`--otlp`); with Effect's in-memory
 * tracer nobody could see it, so the step skips its cost.
 */
const traced = (path: string, kind: StepKind) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) =>
    fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer
      ? effect
      : effect.pipe(
        Effect.withSpan(`step ${path}`, { attributes: { "mcpflow.step": path, "mcpflow.kind": kind } }, {
          captureStackTrace: false
        })
      )
  )

/** Reports a failed or interrupted step; the first real failure is the run's failing step. */
export const reportFailure = (
  scope: StepScope,
  path: string,
  kind: StepKind,
  durationMs: number,
  cause: Cause.Cause<unknown>
): Effect.Effect<void> => {
  const rendered = renderCause(cause)
  const interrupted = rendered.errorTag === "Interrupted"
  if (!interrupted && scope.run !== undefined && (kind === "step" || kind === "gate")) {
    if (scope.run.failedStep === undefined) scope.run.failedStep = path
    scope.run.results.set(path, { status: "failed", error: rendered.error })
  }
  return emit(scope, { _tag: "StepFailed", path, kind, durationMs, interrupted, ...rendered })
}

/** Forwards policy and gateway events raised inside the step to the run's report. */
const withStepSinks = <A, E, R>(scope: StepScope, path: string, inner: StepScope, effect: Effect.Effect<A, E, R>) =>
  Effect.updateContext(effect, (context: Context.Context<never>): Context.Context<R> => {
    const withScope = Context.add(context, CurrentScope, inner)
    const run = scope.run
    if (run === undefined) return withScope as Context.Context<R>
    const outerGateway = Context.get(context, GatewayEvents)
    const clock = Context.get(context, Clock.Clock)
    // One context update per step: the scope and both sinks at once.
    return Context.add(
      Context.add(withScope, PolicyEvents, {
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
          }
        }
      }
    ) as Context.Context<R>
  })

/**
 * Each run of `effect` (each attempt of the step) counts its tool calls from 0 under `path`
 * (see `CallSites`): what tells a request sent again from another one with equal arguments.
 */
const withCallSites = <A, E, R>(path: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => Effect.provideService(effect, CallSites, makeCallSites(path)))

/** The effect as an Activity named `path` when the run is journaled, else as it is. */
const journal = <A, E, R>(
  run: StepScope["run"],
  path: string,
  body: Effect.Effect<A, E, R>,
  journaled: boolean,
  schemas?: { readonly success?: Schema.Codec<A, unknown> | undefined; readonly error?: Schema.Codec<E, unknown> | undefined },
  onSealed?: (keyId: string) => void
): Effect.Effect<A, E, R> => {
  if (!journaled) return body
  if (run?.stepJournal !== undefined) return inMemory(run.stepJournal, path, body)
  const activity = activityFor(path, schemas?.success ?? StepValue, schemas?.error ?? StepFailure) as Effect.Effect<A, E, R>
  const sealer = run?.sealer
  if (sealer === undefined) return activity.pipe(Effect.provideService(StepBody, body as Effect.Effect<unknown, unknown>))
  return sealed(sealer, path, activity, body, schemas?.success !== undefined, onSealed)
}

/**
 * A journaled step whose value's `Redacted` parts are sealed in the journal (see
 * `internal/Sealing.ts`): the body's value as it is when it ran here, else (a replay) the
 * journaled value with its sealed parts opened again.
 */
const sealed = <A, E, R>(
  sealer: Sealer,
  path: string,
  activity: Effect.Effect<A, E, R>,
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
    return activity.pipe(
      Effect.provideService(StepBody, sealedBody as Effect.Effect<unknown, unknown>),
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
    return Effect.map(body, (value) => (value === undefined ? null : value) as A).pipe(
      Effect.onExit((exit) => Effect.sync(() => journal.record(path, exit)))
    )
  })

/** The body of the activity being executed: activities are cached per path and read it from here. */
const StepBody = Context.Reference<Effect.Effect<unknown, unknown>>("mcpflow/dsl/flow/Step/StepBody", {
  defaultValue: () => Effect.die(new Error("a step activity ran without its body"))
})

/**
 * One Activity per (path, Schemas), reused across runs: building one compiles its exit codecs,
 * which would otherwise dominate the cost of a step. Bounded: cleared past 10 000 entries.
 */
const activities = new WeakMap<object, WeakMap<object, Map<string, Effect.Effect<unknown, unknown>>>>()
const activityCount = { n: 0 }

const activityFor = (path: string, success: Schema.Top, error: Schema.Top): Effect.Effect<unknown, unknown> => {
  let bySuccess = activities.get(success)
  if (bySuccess === undefined) activities.set(success, bySuccess = new WeakMap())
  let byPath = bySuccess.get(error)
  if (byPath === undefined) bySuccess.set(error, byPath = new Map())
  let activity = byPath.get(path)
  if (activity === undefined) {
    if (++activityCount.n > 10_000) {
      byPath.clear()
      activityCount.n = 1
    }
    activity = Activity.make({
      name: path,
      success: success as Schema.Codec<unknown, unknown>,
      error: error as Schema.Codec<unknown, unknown>,
      execute: StepBody.use((run) => run)
    }) as unknown as Effect.Effect<unknown, unknown>
    byPath.set(path, activity)
  }
  return activity
}

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
          const body = withStepSinks(
            scope,
            undoPath,
            child(scope, undoPath, { inActivity: journaled }),
            withCallSites(undoPath, Effect.suspend(() => compensate(value, cause)))
          ).pipe(Effect.asVoid, Effect.onExit(() => Effect.sync(() => void (ran = true))))
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
