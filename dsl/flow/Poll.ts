/**
 * Long-running jobs: poll a check until it says the job is done, failed, or the time is up.
 * Each poll is a journaled step and each wait a durable sleep, so a resumed run neither polls
 * again what it already saw nor restarts its wait: the elapsed time survives a crash.
 *
 * @example
 * ```ts
 * const trained = yield* Flow.pollUntil("training", Compute.gpu_status({ job_id }), {
 *   done: (status) => status.job?.status === "completed",
 *   failed: (status) => status.job?.status === "failed" ? new TrainingFailed({ jobId: job_id }) : undefined,
 *   every: "30 seconds",
 *   timeout: "2 hours"
 * })
 * trained.value.job // the completed job
 * ```
 * @module
 */
import { Duration, Effect, Result, Schema } from "effect"
import { sleep } from "./Durable.ts"
import { runGroup } from "./Group.ts"
import { interpreterOf } from "./internal/Interpreter.ts"
import { claim, CurrentScope } from "./RunScope.ts"
import { step, type StepPolicyFailure } from "./Step.ts"
import type * as Policy from "../policy/Policy.ts"

/**
 * A poll ran out of time: the job was neither done nor failed when `timeout` had passed.
 *
 * @example
 * ```ts
 * new PollTimedOut({ poll: "training", polls: 5, waitedMs: 120_000 }).message
 * // => "\"training\" was not done after 5 polls (waited 2m)"
 * ```
 */
export class PollTimedOut extends Schema.TaggedError<PollTimedOut>()("PollTimedOut", {
  poll: Schema.String,
  polls: Schema.Int,
  waitedMs: Schema.Finite
}) {
  override get message(): string {
    return `${JSON.stringify(this.poll)} was not done after ${this.polls} polls (waited ${Duration.format(Duration.millis(this.waitedMs))})`
  }
}

/**
 * How to poll: when the job is done or failed, how long to wait between polls (growing by
 * `backoff` up to `maxEvery`), the overall time budget, how many failed checks in a row to
 * tolerate, and the policy and idempotency of each poll step.
 *
 * @example
 * ```ts
 * const options: PollOptions<{ status: string }, never> = {
 *   done: (s) => s.status === "completed",
 *   every: "10 seconds",
 *   backoff: 2,
 *   maxEvery: "1 minute",
 *   timeout: "1 hour"
 * }
 * ```
 */
export interface PollOptions<A, E2> {
  /** The job is done: polling ends with this value. */
  readonly done: (value: A) => boolean
  /** The job failed: polling ends with this error (`undefined`: not failed). */
  readonly failed?: ((value: A) => E2 | undefined) | undefined
  /** The first wait between two polls. */
  readonly every: Duration.Input
  /** Each wait is this many times the previous one (default 1: a fixed interval). */
  readonly backoff?: number | undefined
  /** The longest wait between two polls (default: no limit). */
  readonly maxEvery?: Duration.Input | undefined
  /** The overall budget of waiting: past it, the poll fails with {@link PollTimedOut}. */
  readonly timeout: Duration.Input
  /** Failed checks in a row tolerated before the check's error ends the poll (default 3). */
  readonly failuresInARow?: number | undefined
  /** Policies around each poll step (retry, timeout…). */
  readonly policy?: Policy.PolicyInput | undefined
  /** Each poll is safe to repeat (default true: a status check). */
  readonly idempotent?: boolean | undefined
  /** One line for plans and reports. */
  readonly description?: string | undefined
}

/**
 * The value that ended a poll, how many polls it took and how long it waited.
 *
 * @example
 * ```ts
 * const polled: Polled<string> = { value: "completed", polls: 3, waitedMs: 60_000 }
 * ```
 */
export interface Polled<A> {
  readonly value: A
  readonly polls: number
  readonly waitedMs: number
}

/**
 * The waits of a poll, in milliseconds, until the budget is spent: `every`, growing by
 * `backoff` up to `maxEvery`, the last one cut to what is left of `timeout`.
 *
 * @example
 * ```ts
 * waitsOf({ every: "10 seconds", backoff: 2, maxEvery: "30 seconds", timeout: "1 minute" })
 * // => [10000, 20000, 30000]
 * ```
 */
export const waitsOf = (options: Pick<PollOptions<unknown, unknown>, "every" | "backoff" | "maxEvery" | "timeout">): ReadonlyArray<number> => {
  const budget = Duration.toMillis(options.timeout)
  const first = Math.max(1, Duration.toMillis(options.every))
  const cap = options.maxEvery === undefined ? Infinity : Math.max(1, Duration.toMillis(options.maxEvery))
  const factor = Math.max(1, options.backoff ?? 1)
  const waits: Array<number> = []
  let spent = 0
  for (let next = Math.min(first, cap); spent < budget && waits.length < 100_000; next = Math.min(next * factor, cap)) {
    const wait = Math.min(next, budget - spent)
    waits.push(wait)
    spent += wait
  }
  return waits
}

/**
 * Polls `check` as the group `name` (steps `poll 1`, `wait 1`, `poll 2`…) until `done` says the
 * job is done (succeeds with the value), `failed` returns an error (fails with it), the check
 * fails `failuresInARow` times in a row (fails with its error), or the `timeout` budget of
 * waiting is spent ({@link PollTimedOut}). Polls are journaled steps and waits durable sleeps:
 * a resumed run keeps its elapsed time. A plan shows one poll and one wait.
 *
 * @example
 * ```ts
 * const { value, polls } = yield* Flow.pollUntil("deployment ready", Kubernetes.rollout_status({ name: "api" }), {
 *   done: (s) => s.ready,
 *   every: "5 seconds",
 *   backoff: 2,
 *   maxEvery: "1 minute",
 *   timeout: "15 minutes"
 * })
 * ```
 */
export const pollUntil = <A, E, R, E2 = never>(
  name: string,
  check: Effect.Effect<A, E, R>,
  options: PollOptions<A, E2>
): Effect.Effect<Polled<A>, E | E2 | PollTimedOut | StepPolicyFailure, R> =>
  CurrentScope.use((scope) =>
    Effect.flatMap(claim(scope, name), (path) =>
      runGroup(scope, path, "poll", (path) =>
        Effect.gen(function*() {
          const interpreter = interpreterOf(scope)
          // Planning enters every guarded body: it walks one poll and one wait, then on.
          const planning = interpreter.enters(() => false)
          const waits = waitsOf(options)
          const tolerated = Math.max(1, options.failuresInARow ?? 3)
          let failedInARow = 0
          let waitedMs = 0
          for (let n = 1;; n++) {
            const polled = yield* Effect.result(step(`poll ${n}`, check, {
              policy: options.policy,
              idempotent: options.idempotent ?? true
            }) as Effect.Effect<A, E | StepPolicyFailure, R>)
            if (Result.isFailure(polled)) {
              if (planning) return yield* Effect.fail(polled.failure)
              failedInARow++
              if (failedInARow >= tolerated) return yield* Effect.fail(polled.failure)
            } else {
              failedInARow = 0
              if (planning) {
                interpreter.meet(`${path}/wait 1`, "wait", {})
                return { value: polled.success, polls: n, waitedMs } satisfies Polled<A>
              }
              const error = options.failed?.(polled.success)
              if (error !== undefined) return yield* Effect.fail(error)
              if (options.done(polled.success)) return { value: polled.success, polls: n, waitedMs } satisfies Polled<A>
            }
            const wait = waits[n - 1]
            if (wait === undefined) return yield* new PollTimedOut({ poll: name, polls: n, waitedMs })
            yield* sleep(`wait ${n}`, Duration.millis(wait))
            waitedMs += wait
          }
        }), {
        description: options.description ??
          `poll every ${Duration.format(Duration.fromInputUnsafe(options.every))}${
            (options.backoff ?? 1) > 1 ? ` (×${options.backoff})` : ""
          }, up to ${Duration.format(Duration.fromInputUnsafe(options.timeout))}`
      })
    )
  )
