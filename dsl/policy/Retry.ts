/**
 * The retry policy: runs an effect again after a typed failure (or a rejected result), with a
 * capped, jittered backoff, an attempt limit, a time budget, the server's Retry-After as a lower
 * bound, and a guard that never repeats a call that may already have had its side effect unless
 * the call is known to be idempotent.
 *
 * What is retried, in order:
 * 1. a tool error that no retry can fix (`InvalidInput`, `InvalidOutput`, `NotAllowed`,
 *    `UnknownTool`) never is, whatever the predicate;
 * 2. `retryOn(error, attempt)` if given, else `error.transient === true` (the getter of
 *    `McpflowToolError`, `PolicyTimeout`, … — any error object that has it);
 * 3. an error with `mayHaveReachedServer === true` is not retried unless the context says the
 *    call is idempotent or read-only, or the policy sets `retryNonIdempotent: true` — the default
 *    never charges a payment twice. A missing context counts as "not idempotent".
 *
 * A success for which `retryOnResult(value)` is true counts as a failed attempt; when attempts
 * or budget run out, the effect fails with {@link RetryExhausted} carrying the last value (a
 * typed failure rather than a silent pass-through, so callers cannot mistake it for success).
 *
 * Delays sleep on the `Clock` (TestClock drives them) and draw randomness from the `Random`
 * service (`Random.withSeed` reproduces them). The success path costs one `catch` frame.
 * Events: `AttemptFailed`, `RetryScheduled`, `RetryGaveUp`.
 *
 * Reuse note: Effect's `Schedule` + `Effect.retry` cover plain backoff; this policy adds what
 * they lack (decorrelated jitter, Retry-After floor, budget pre-check, result retries with a
 * typed exhaustion, idempotency guard, events). `Backoff.schedule` exposes the same delays as a
 * `Schedule` for plain `Effect.retry`.
 *
 * @example
 * ```ts
 * import { Retry, Backoff } from "mcpflow"
 *
 * const retry = Retry.make({ maxAttempts: 4, backoff: Backoff.exponential("200 millis", { max: "5 seconds" }), jitter: "full" })
 * const result = yield* retry.apply(callTool, { idempotent: true })
 * ```
 * @module
 */
import { Clock, type Duration, Effect, Random, Result, Schema } from "effect"
import * as Backoff from "./Backoff.ts"
import { isPermanent, isTransient, label, mayHaveReachedServer, retryAfterMs } from "./internal/ErrorTraits.ts"
import * as Millis from "./internal/Millis.ts"
import { type PolicyContext, isRepeatable } from "./internal/PolicyContext.ts"
import { type PolicyDescriptor, PolicyEvents } from "./PolicyEvents.ts"

/**
 * Every result of the last attempt was rejected by `retryOnResult` and the policy ran out of
 * attempts (`why: "max-attempts"`) or time budget (`why: "budget"`). `lastValue` is the last
 * result; see {@link RetryExhausted.Of} for its type.
 *
 * @example
 * ```ts
 * new RetryExhausted({ policy: "retry", attempts: 3, why: "max-attempts", lastValue: { success: false } }).message
 * // => "retry: gave up after 3 attempts (max-attempts); the last result was still rejected"
 * ```
 */
export class RetryExhausted extends Schema.TaggedError<RetryExhausted>()("RetryExhausted", {
  policy: Schema.String,
  attempts: Schema.Number,
  why: Schema.Literals(["max-attempts", "budget"]),
  lastValue: Schema.Unknown
}) {
  override get message(): string {
    return `${this.policy}: gave up after ${this.attempts} attempt${this.attempts === 1 ? "" : "s"} (${this.why}); the last result was still rejected`
  }
}

/**
 * Typed views of {@link RetryExhausted}.
 *
 * @example
 * ```ts
 * const e: RetryExhausted.Of<{ success: boolean }> = error
 * e.lastValue.success
 * ```
 */
export declare namespace RetryExhausted {
  /** A {@link RetryExhausted} whose `lastValue` is an `A`. */
  export type Of<A> = RetryExhausted & { readonly lastValue: A }
}

/**
 * Why a retry policy stopped: the error is not retryable, the call may have had its side effect
 * and is not idempotent, or attempts/budget ran out.
 *
 * @example
 * ```ts
 * const why: GiveUpReason = "not-idempotent"
 * ```
 */
export type GiveUpReason = "not-retryable" | "not-idempotent" | "max-attempts" | "budget"

/**
 * Attempts when `maxAttempts` is not given.
 *
 * @example
 * ```ts
 * Retry.make({}).maxAttempts === defaultMaxAttempts // => true
 * ```
 */
export const defaultMaxAttempts = 3

/**
 * Settings of {@link make}. Numbers are clamped to valid ranges (`maxAttempts` ≥ 1).
 *
 * @example
 * ```ts
 * const options: RetryOptions<McpflowToolError> = {
 *   maxAttempts: 5,
 *   budget: "30 seconds",
 *   backoff: Backoff.fibonacci("100 millis", { max: "5 seconds" }),
 *   jitter: "decorrelated",
 *   retryOn: (e) => e.transient || e.reason._tag === "ToolFailed"
 * }
 * ```
 */
export interface RetryOptions<E = unknown, A = unknown> {
  /** Policy name in events and descriptors (default `"retry"`). */
  readonly name?: string | undefined
  /** Total attempts including the first (default 3). */
  readonly maxAttempts?: number | undefined
  /** Total time budget from the start of the first attempt; no retry starts past it. */
  readonly budget?: Duration.Input | undefined
  /** Backoff curve (default `Backoff.exponential("100 millis")`, cap 30 s). */
  readonly backoff?: Backoff.Backoff | undefined
  /** Jitter (default `"full"`). */
  readonly jitter?: Backoff.Jitter | undefined
  /** Which errors to retry; replaces the default `error.transient` test. */
  readonly retryOn?: ((error: E, attempt: number) => boolean) | undefined
  /** Which successful results to retry (e.g. `(r) => !r.success`). */
  readonly retryOnResult?: ((value: A, attempt: number) => boolean) | undefined
  /** Retry errors that may have reached the server even when the call is not idempotent. */
  readonly retryNonIdempotent?: boolean | undefined
}

/**
 * A retry policy. `E` is the error type its predicate reads, `A` the result type its result
 * predicate reads, and `Exhausts` whether it can fail with {@link RetryExhausted}.
 *
 * @example
 * ```ts
 * const retry: Retry = Retry.make({ maxAttempts: 3 })
 * const value = yield* retry.apply(Effect.fail("x"), { idempotent: true })
 * ```
 */
export interface Retry<E = unknown, A = unknown, Exhausts extends boolean = boolean> {
  readonly _tag: "Retry"
  readonly name: string
  readonly maxAttempts: number
  /** Budget in ms (`Infinity` when unset). */
  readonly budgetMs: number
  readonly backoff: Backoff.Backoff
  readonly jitter: Backoff.Jitter
  readonly retryNonIdempotent: boolean
  /** How the policy describes itself to plans. */
  readonly descriptor: PolicyDescriptor
  /** The options it was made from (for `Policy.merge`). */
  readonly options: RetryOptions<E, A>
  /** Runs `self` under the policy; `ctx.idempotent`/`ctx.readOnly` allow retrying calls that may have reached the server. */
  readonly apply: <A2 extends A, E2 extends E, R>(
    self: Effect.Effect<A2, E2, R>,
    ctx?: PolicyContext | undefined
  ) => Effect.Effect<A2, E2 | (Exhausts extends true ? RetryExhausted.Of<A2> : never), R>
}

type Failure<E, A> = { readonly _tag: "error"; readonly error: E } | { readonly _tag: "result"; readonly value: A }

/**
 * Builds a retry policy (a plain value; it holds no state between calls).
 *
 * @example
 * ```ts
 * const retry = Retry.make({ maxAttempts: 4, jitter: "equal" })
 * const polled = Retry.make({ retryOnResult: (r: { ready: boolean }) => !r.ready, backoff: Backoff.constant("1 second") })
 * ```
 */
export function make<E = unknown>(
  options?: RetryOptions<E, unknown> & { readonly retryOnResult?: undefined }
): Retry<E, unknown, false>
export function make<E = unknown, A = unknown>(
  options: RetryOptions<E, A> & { readonly retryOnResult: (value: A, attempt: number) => boolean }
): Retry<E, A, true>
export function make<E, A>(options: RetryOptions<E, A> = {}): Retry<E, A, boolean> {
  const name = options.name ?? "retry"
  const maxAttempts = Number.isFinite(options.maxAttempts) ? Math.max(1, Math.floor(options.maxAttempts!)) : defaultMaxAttempts
  const budgetMs = options.budget === undefined ? Infinity : Millis.from(options.budget)
  const backoff = options.backoff ?? Backoff.exponential("100 millis")
  const jitter = options.jitter ?? "full"
  const retryOn = options.retryOn
  const retryOnResult = options.retryOnResult
  const retryNonIdempotent = options.retryNonIdempotent ?? false

  const verdict = (error: E, attempt: number, repeatable: boolean): GiveUpReason | undefined => {
    if (isPermanent(error)) return "not-retryable"
    if (!(retryOn === undefined ? isTransient(error) : retryOn(error, attempt))) return "not-retryable"
    if (!repeatable && !retryNonIdempotent && mayHaveReachedServer(error)) return "not-idempotent"
    return undefined
  }

  const loop = Effect.fnUntraced(function*<A2 extends A, E2 extends E, R>(
    self: Effect.Effect<A2, E2, R>,
    first: Failure<E2, A2>,
    ctx: PolicyContext | undefined,
    startMs: number
  ): Effect.fn.Return<A2, E2 | RetryExhausted, R> {
    const events = yield* PolicyEvents
    const random = yield* Random.Random
    const clock = yield* Clock.Clock
    const repeatable = isRepeatable(ctx)
    let attempt = 1
    let failure: Failure<E2, A2> = first
    let previous = backoff.initialMs
    while (true) {
      const what = failure._tag === "error" ? label(failure.error) : "result"
      events.emit({ _tag: "AttemptFailed", policy: name, attempt, reason: what })
      let why = failure._tag === "error" ? verdict(failure.error, attempt, repeatable) : undefined
      if (why === undefined && attempt >= maxAttempts) why = "max-attempts"
      let delay = 0
      if (why === undefined) {
        delay = Backoff.jittered(jitter, backoff, Backoff.baseDelay(backoff, attempt), previous, random.nextDoubleUnsafe())
        previous = delay
        const floor = failure._tag === "error" ? retryAfterMs(failure.error) : undefined
        if (floor !== undefined && floor > delay) delay = Math.ceil(floor)
        if (budgetMs !== Infinity && clock.currentTimeMillisUnsafe() - startMs + delay > budgetMs) why = "budget"
      }
      if (why !== undefined) {
        events.emit({ _tag: "RetryGaveUp", policy: name, attempts: attempt, reason: why })
        if (failure._tag === "error") return yield* Effect.fail(failure.error)
        return yield* new RetryExhausted({
          policy: name,
          attempts: attempt,
          why: why === "budget" ? "budget" : "max-attempts",
          lastValue: failure.value
        })
      }
      events.emit({ _tag: "RetryScheduled", policy: name, attempt: attempt + 1, delayMs: delay, reason: what })
      if (delay > 0) yield* Effect.sleep(delay)
      attempt++
      const result = yield* Effect.result(self)
      if (Result.isSuccess(result)) {
        if (retryOnResult === undefined || !retryOnResult(result.success, attempt)) return result.success
        failure = { _tag: "result", value: result.success }
      } else {
        failure = { _tag: "error", error: result.failure }
      }
    }
  })

  const run = <A2 extends A, E2 extends E, R>(
    self: Effect.Effect<A2, E2, R>,
    ctx: PolicyContext | undefined,
    startMs: number
  ): Effect.Effect<A2, E2 | RetryExhausted, R> =>
    retryOnResult === undefined
      ? Effect.catch(self, (error) => loop(self, { _tag: "error", error }, ctx, startMs))
      : Effect.matchEffect(self, {
        onFailure: (error) => loop(self, { _tag: "error", error }, ctx, startMs),
        onSuccess: (value) =>
          retryOnResult(value, 1) ? loop(self, { _tag: "result", value }, ctx, startMs) : Effect.succeed(value)
      })

  const apply = <A2 extends A, E2 extends E, R>(
    self: Effect.Effect<A2, E2, R>,
    ctx?: PolicyContext | undefined
  ): Effect.Effect<A2, E2 | RetryExhausted, R> =>
    budgetMs === Infinity
      ? run(self, ctx, 0)
      : Effect.clockWith((clock) => run(self, ctx, clock.currentTimeMillisUnsafe()))

  const settings: Record<string, string | number | boolean> = {
    maxAttempts,
    backoff: Backoff.describe(backoff),
    jitter,
    retryOn: retryOn === undefined ? "transient" : "custom",
    retryNonIdempotent
  }
  if (budgetMs !== Infinity) settings.budget = Millis.format(budgetMs)
  if (retryOnResult !== undefined) settings.retryOnResult = true
  if (name !== "retry") settings.name = name

  return {
    _tag: "Retry",
    name,
    maxAttempts,
    budgetMs,
    backoff,
    jitter,
    retryNonIdempotent,
    descriptor: { kind: "retry", settings },
    options,
    apply: apply as Retry<E, A, boolean>["apply"]
  }
}
