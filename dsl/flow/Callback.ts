/**
 * Completion by callback: a long-running job reports its end through a webhook, delivered to the
 * run as a signal (`mcpflow signal`, `Flow.sendSignal`, or an HTTP trigger). The run waits for it
 * durably, with an overall timeout and, optionally, a poll fallback (`Flow.pollUntil`) in case
 * the callback never comes: whichever ends first wins, and the race's result is journaled.
 *
 * @example
 * ```ts
 * const Trained = Flow.signal("training done", TrainingJob)
 * const done = yield* Flow.awaitCallback("training", {
 *   signal: Trained,
 *   timeout: "2 hours",
 *   poll: { check: Compute.gpu_status({ job_id }), done: (s) => s.job?.status === "completed", every: "5 minutes" }
 * })
 * done.by // => "callback" | "poll"
 * ```
 * @module
 */
import { Arbitrary, Duration, Effect, Exit, Option, Schema } from "effect"
import * as DurableDeferred from "effect/workflow/DurableDeferred"
import type { Signal } from "./Durable.ts"
import { sleep, waitFor } from "./Durable.ts"
import { runGroup } from "./Group.ts"
import { interpreterOf } from "./internal/Interpreter.ts"
import { pollUntil, type PollOptions, type PollTimedOut } from "./Poll.ts"
import { claim, CurrentScope, emit, isSuspension, now, type StepScope, workflowInstance } from "./RunScope.ts"
import type { FlowEvent, StepKind } from "./FlowEvents.ts"
import type { StepPolicyFailure } from "./Step.ts"

/**
 * Neither the callback nor (with a poll fallback) the poll said the job ended within the timeout.
 *
 * @example
 * ```ts
 * new CallbackTimedOut({ wait: "training", signal: "training done", waitedMs: 7_200_000, polls: 24 }).message
 * // => "\"training\": no \"training done\" callback within 2h (24 polls)"
 * ```
 */
export class CallbackTimedOut extends Schema.TaggedError<CallbackTimedOut>()("CallbackTimedOut", {
  wait: Schema.String,
  signal: Schema.String,
  waitedMs: Schema.Finite,
  polls: Schema.Int
}) {
  override get message(): string {
    return `${JSON.stringify(this.wait)}: no ${JSON.stringify(this.signal)} callback within ${
      Duration.format(Duration.millis(this.waitedMs))
    }${this.polls > 0 ? ` (${this.polls} polls)` : ""}`
  }
}

/**
 * The poll fallback: the check and its settings, as for `Flow.pollUntil` (its budget is the
 * callback's `timeout`).
 *
 * @example
 * ```ts
 * const fallback: PollFallback<{ status: string }, never, never, never> = { check: status, done: (s) => s.status === "done", every: "1 minute" }
 * ```
 */
export interface PollFallback<A, E, R, E2> extends Omit<PollOptions<A, E2>, "timeout"> {
  readonly check: Effect.Effect<A, E, R>
}

/**
 * What to wait for: the signal the job's webhook delivers, the overall timeout, the optional
 * poll fallback, and the Schema that journals the result on a durable engine (default: as JSON).
 *
 * @example
 * ```ts
 * const options: CallbackOptions<{ ok: boolean }, never, never, never, never> = { signal: Done, timeout: "1 hour" }
 * ```
 */
export interface CallbackOptions<S, A, E, R, E2> {
  readonly signal: Signal<S>
  readonly timeout: Duration.Input
  readonly poll?: PollFallback<A, E, R, E2> | undefined
  readonly description?: string | undefined
}

/**
 * How the job's end became known: its callback's payload, or the poll's last value.
 *
 * @example
 * ```ts
 * const c: Completion<{ ok: boolean }, string> = { by: "poll", value: "completed", polls: 3, waitedMs: 60_000 }
 * ```
 */
export type Completion<S, A> =
  | { readonly by: "callback"; readonly value: S }
  | { readonly by: "poll"; readonly value: A; readonly polls: number; readonly waitedMs: number }

/**
 * Waits (as the group `name`) for `signal`, up to `timeout`; with `poll`, polls the job meanwhile
 * (`poll 1`, `wait 1`… as `Flow.pollUntil`) and ends with whichever says the job ended first. A
 * poll that says the job failed ends the wait with that failure; nothing within `timeout` is
 * {@link CallbackTimedOut}. Inside a flow run the race is durable: a resumed run gets the same
 * winner and keeps its elapsed time. A plan shows the wait and the poll fallback.
 *
 * @example
 * ```ts
 * const done = yield* Flow.awaitCallback("scan report", { signal: ScanDone, timeout: "30 minutes" })
 * if (done.by === "callback") done.value.findings
 * ```
 */
export const awaitCallback = <S, A = never, E = never, R = never, E2 = never>(
  name: string,
  options: CallbackOptions<S, A, E, R, E2>
): Effect.Effect<Completion<S, A>, E | E2 | CallbackTimedOut | StepPolicyFailure, R> =>
  CurrentScope.use((scope) =>
    Effect.flatMap(claim(scope, name), (path) =>
      runGroup(scope, path, "wait", (_path, inner) =>
        Effect.gen(function*() {
          const interpreter = interpreterOf(scope)
          const timedOut = (waitedMs: number, polls: number) =>
            new CallbackTimedOut({ wait: name, signal: options.signal.name, waitedMs, polls })
          const poll = options.poll
          const fallback: Effect.Effect<Completion<S, A>, E | E2 | CallbackTimedOut | StepPolicyFailure, R> = poll === undefined
            ? Effect.andThen(sleep("timeout", options.timeout), Effect.fail(timedOut(Duration.toMillis(Duration.fromInputUnsafe(options.timeout)), 0)))
            : pollUntil("poll", poll.check, { ...poll, timeout: options.timeout }).pipe(
              Effect.map((p): Completion<S, A> => ({ by: "poll", value: p.value, polls: p.polls, waitedMs: p.waitedMs })),
              Effect.catchIf(
                (e): e is PollTimedOut => typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "PollTimedOut",
                (e) => Effect.fail(timedOut(e.waitedMs, e.polls))
              )
            )
          // Planning: the wait is a node; the plan walks the fallback (its poll and wait).
          if (interpreter.enters(() => false)) {
            interpreter.meet(`${path}/wait:${options.signal.name}`, "wait", { description: "the job's callback (a signal)" })
            if (poll !== undefined) return yield* fallback
            const sample = yield* Arbitrary.sampleEffect(Arbitrary.schema(options.signal.payload as unknown as Schema.Top & Schema.Constraint), {
              count: 1,
              seed: options.signal.name
            }).pipe(Effect.orDie)
            return { by: "callback", value: sample[0] as S } satisfies Completion<S, A>
          }
          // Each arm ends with a plain outcome (journaled as JSON on a durable engine), so the first
          // to end wins: a failed poll is an end, too.
          type Ended = { readonly ok: true; readonly completion: Completion<S, A> } | { readonly ok: false; readonly error: E | E2 | CallbackTimedOut | StepPolicyFailure }
          const callback = Effect.map(waitFor(options.signal), (value): Ended => ({ ok: true, completion: { by: "callback", value } }))
          const polled = Effect.match(fallback, {
            onSuccess: (completion): Ended => ({ ok: true, completion }),
            onFailure: (error): Ended => ({ ok: false, error })
          })
          const instance = yield* workflowInstance
          // The losing arm may be parked (a durable wait does not report its end): the arms' steps
          // still open once the race is decided are reported as interrupted.
          const tracked = track(inner, path)
          const arms = [
            Effect.provideService(callback, CurrentScope, tracked.scope),
            Effect.provideService(polled, CurrentScope, tracked.scope)
          ] as const
          const race: Effect.Effect<Ended, never, R> = Option.isSome(instance) && !scope.inActivity
            ? DurableDeferred.raceAll({ name: path, success: Schema.Any, error: Schema.Never, effects: arms }) as Effect.Effect<Ended, never, R>
            : Effect.raceAll(arms)
          const winner = yield* Effect.onExit(race, (exit) =>
            Exit.isSuccess(exit)
              ? tracked.close(exit.value.ok ? `the job ended (by ${exit.value.completion.by})` : "the job's wait ended with a failure")
              // The whole race parked (the run is suspended): its steps still wait. Otherwise it was interrupted.
              : Effect.flatMap(isSuspension(exit), (parked) => (parked ? Effect.void : tracked.close("the wait was interrupted"))))
          return winner.ok ? winner.completion : yield* Effect.fail(winner.error)
        }), { description: options.description ?? `callback ${JSON.stringify(options.signal.name)} within ${Duration.format(Duration.fromInputUnsafe(options.timeout))}${options.poll === undefined ? "" : ", else poll"}` })
    )
  )

type Open = Map<string, { readonly kind: StepKind; readonly at: number }>

/**
 * The steps of the wait at `path` still open, per run: kept across the engine's re-executions of
 * the run in this process (a parked arm's steps, started before the run was suspended, are not
 * started again when a resumed race is decided at once).
 */
const openByRun = new WeakMap<object, Map<string, Open>>()
const openSteps = (scope: StepScope, path: string): Open => {
  if (scope.run === undefined) return new Map()
  let byPath = openByRun.get(scope.run)
  if (byPath === undefined) openByRun.set(scope.run, byPath = new Map())
  let open = byPath.get(path)
  if (open === undefined) byPath.set(path, open = new Map())
  return open
}

/**
 * `scope` with its run's events watched: which steps started and have not ended, and `close`,
 * which reports those (deepest first) as interrupted with `why`.
 */
const track = (scope: StepScope, path: string) => {
  const open = openSteps(scope, path)
  const watch = (event: FlowEvent) => {
    if (event._tag === "StepStarted") open.set(event.path, { kind: event.kind, at: event.at })
    else if (event._tag === "StepSucceeded" || event._tag === "StepFailed" || event._tag === "StepSkipped") open.delete(event.path)
  }
  const run = scope.run === undefined ? undefined : new Proxy(scope.run, {
    get: (target, key, receiver) =>
      key === "emit" ? (event: FlowEvent) => (watch(event), target.emit(event)) : Reflect.get(target, key, receiver)
  })
  return {
    scope: { ...scope, run } satisfies StepScope,
    close: (why: string) =>
      Effect.flatMap(now, (at) =>
        Effect.forEach(
          [...open.entries()].sort(([a], [b]) => b.length - a.length),
          ([path, { at: started, kind }]) =>
            emit(scope, { _tag: "StepFailed", path, kind, durationMs: at - started, error: `interrupted: ${why}`, interrupted: true }),
          { discard: true }
        ).pipe(Effect.ensuring(Effect.sync(() => open.clear()))))
  }
}
