/**
 * The rate-limit policy: per key (the context's `key`, else the policy's), a token bucket, fixed
 * window or sliding window. When the limit is reached, `onExceeded: "delay"` (default) waits for
 * the reserved slot on the `Clock`, and `"fail"` fails fast with {@link RateLimitRejected}
 * carrying `retryAfterMs`. Emits `RateLimited` for every delayed or rejected call.
 *
 * In-process by default (no store). To share a limit across processes, use Effect's store-backed
 * limiter from `effect/persistence`: build a `RateLimiter.RateLimiter` (e.g.
 * `RateLimiter.make` over `RateLimiter.layerStoreRedis(...)`, or `layerStoreMemory` in tests)
 * and pass it as `backend`; this policy then calls `backend.consume(...)` with the same
 * `limit`/`window`/`onExceeded`, maps its `RateLimitExceeded` to {@link RateLimitRejected}
 * (`why: "limit-exceeded"`) and store failures to `why: "store-error"`. Effect's stores offer
 * `token-bucket` and `fixed-window` only: with a backend, `sliding-window` is served as
 * `fixed-window`, and `maxDelay` is not applied (the store has already reserved the slot).
 *
 * A delayed call that is interrupted while waiting keeps its reservation (the slot is spent).
 *
 * @example
 * ```ts
 * import { RateLimit } from "mcpflow"
 *
 * const github = yield* RateLimit.make({ algorithm: "token-bucket", limit: 30, window: "1 minute", burst: 5 })
 * const result = yield* github.apply(search, { key: "github" })
 * ```
 * @module
 */
import { Duration, Effect, Schema } from "effect"
import type { RateLimiter } from "effect/persistence"
import * as Millis from "./internal/Millis.ts"
import type { PolicyContext } from "./internal/PolicyContext.ts"
import type { PolicyDescriptor } from "./PolicyEvents.ts"
import { PolicyEvents } from "./PolicyEvents.ts"
import * as Algorithms from "./internal/RateLimitAlgorithms.ts"

/**
 * The rate limit of `key` was reached (`why: "limit-exceeded"`, with `retryAfterMs`), or the
 * shared store could not be reached (`why: "store-error"`). Nothing was sent.
 *
 * @example
 * ```ts
 * new RateLimitRejected({ policy: "rate-limit", key: "github", why: "limit-exceeded", retryAfterMs: 1200 }).message
 * // => "rate limit of 'github' reached; retry after 1200 ms"
 * ```
 */
export class RateLimitRejected extends Schema.TaggedError<RateLimitRejected>()("RateLimitRejected", {
  policy: Schema.String,
  key: Schema.String,
  why: Schema.Literals(["limit-exceeded", "store-error"]),
  retryAfterMs: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return this.why === "store-error"
      ? `rate limit of '${this.key}' could not be checked: the shared store failed`
      : `rate limit of '${this.key}' reached${this.retryAfterMs !== undefined ? `; retry after ${this.retryAfterMs} ms` : ""}`
  }
  /** Retrying later can help. */
  get transient(): boolean {
    return true
  }
  /** Nothing was sent. */
  get mayHaveReachedServer(): boolean {
    return false
  }
}

/**
 * Settings of {@link make}.
 *
 * @example
 * ```ts
 * const options: RateLimitOptions = { algorithm: "sliding-window", limit: 10, window: "1 second", onExceeded: "fail" }
 * ```
 */
export interface RateLimitOptions {
  /** Policy name in events, errors and descriptors, and the default key (default `"rate-limit"`). */
  readonly name?: string | undefined
  /** Default `"token-bucket"`. */
  readonly algorithm?: Algorithms.Algorithm | undefined
  /** Calls allowed per window. */
  readonly limit: number
  /** The window. */
  readonly window: Duration.Input
  /** Token bucket capacity (default `limit`). */
  readonly burst?: number | undefined
  /** Wait for a slot (`"delay"`, default) or fail fast (`"fail"`). */
  readonly onExceeded?: "delay" | "fail" | undefined
  /** With `"delay"`: fail instead when the wait would be longer than this (default: no limit). */
  readonly maxDelay?: Duration.Input | undefined
  /** Key used when the context has none (default: the name). */
  readonly key?: string | undefined
  /** A store-backed limiter from `effect/persistence` to share the limit across processes. */
  readonly backend?: RateLimiter.RateLimiter | undefined
}

/**
 * A rate-limit policy.
 *
 * @example
 * ```ts
 * const limit: RateLimit = yield* RateLimit.make({ limit: 5, window: "1 second" })
 * yield* limit.apply(call, { key: "server-a" })
 * ```
 */
export interface RateLimit {
  readonly _tag: "RateLimit"
  readonly name: string
  readonly algorithm: Algorithms.Algorithm
  readonly limit: number
  readonly windowMs: number
  readonly onExceeded: "delay" | "fail"
  /** How the policy describes itself to plans. */
  readonly descriptor: PolicyDescriptor
  /** The options it was made from. */
  readonly options: RateLimitOptions
  /** Runs `self` once the key's limit allows it. */
  readonly apply: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    ctx?: PolicyContext | undefined
  ) => Effect.Effect<A, E | RateLimitRejected, R>
}

const sweepAbove = 10_000

/**
 * Builds a rate-limit policy with its own per-key state.
 *
 * @example
 * ```ts
 * const limit = yield* RateLimit.make({ algorithm: "fixed-window", limit: 100, window: "1 minute", onExceeded: "fail" })
 * ```
 */
export const make = (options: RateLimitOptions): Effect.Effect<RateLimit> => Effect.sync(() => makeUnsafe(options))

/**
 * Builds a rate-limit policy outside Effect.
 *
 * @example
 * ```ts
 * const limit = RateLimit.makeUnsafe({ limit: 5, window: "1 second" })
 * ```
 */
export const makeUnsafe = (options: RateLimitOptions): RateLimit => {
  const name = options.name ?? "rate-limit"
  const algorithm = options.algorithm ?? "token-bucket"
  const limit = Number.isFinite(options.limit) ? Math.max(1, Math.floor(options.limit)) : 1
  const windowMs = Math.max(1, Millis.from(options.window))
  const onExceeded = options.onExceeded ?? "delay"
  const maxDelayMs = onExceeded === "fail" ? 0 : options.maxDelay === undefined ? Infinity : Millis.from(options.maxDelay)
  const defaultKey = options.key ?? name
  const limiters = new Map<string, Algorithms.Limiter>()
  const backend = options.backend

  const limiterOf = (key: string, now: number): Algorithms.Limiter => {
    let limiter = limiters.get(key)
    if (limiter === undefined) {
      if (limiters.size >= sweepAbove) {
        for (const [k, l] of limiters) if (l.idle(now)) limiters.delete(k)
      }
      limiter = Algorithms.make(algorithm, { limit, windowMs, burst: options.burst })
      limiters.set(key, limiter)
    }
    return limiter
  }

  const rejected = (key: string, retryAfterMs: number | undefined, why: "limit-exceeded" | "store-error") =>
    Effect.withFiber<never, RateLimitRejected>((fiber) => {
      fiber.getRef(PolicyEvents).emit({ _tag: "RateLimited", policy: name, key, delayMs: retryAfterMs ?? 0, rejected: true })
      return Effect.fail(new RateLimitRejected({ policy: name, key, why, retryAfterMs }))
    })

  const delayed = <A, E, R>(self: Effect.Effect<A, E, R>, key: string, delayMs: number): Effect.Effect<A, E, R> =>
    Effect.withFiber((fiber) => {
      fiber.getRef(PolicyEvents).emit({ _tag: "RateLimited", policy: name, key, delayMs, rejected: false })
      return Effect.andThen(Effect.sleep(delayMs), self)
    })

  const inProcess = <A, E, R>(self: Effect.Effect<A, E, R>, ctx?: PolicyContext): Effect.Effect<A, E | RateLimitRejected, R> =>
    Effect.clockWith((clock): Effect.Effect<A, E | RateLimitRejected, R> => {
      const key = ctx?.key ?? defaultKey
      const now = clock.currentTimeMillisUnsafe()
      const decision = limiterOf(key, now).take(now, maxDelayMs)
      if (!decision.admitted) return rejected(key, decision.retryAfterMs, "limit-exceeded")
      return decision.delayMs === 0 ? self : delayed(self, key, decision.delayMs)
    })

  const viaBackend = (store: RateLimiter.RateLimiter) =>
  <A, E, R>(self: Effect.Effect<A, E, R>, ctx?: PolicyContext): Effect.Effect<A, E | RateLimitRejected, R> => {
    const key = ctx?.key ?? defaultKey
    return Effect.matchEffect(
      store.consume({
        algorithm: algorithm === "token-bucket" ? "token-bucket" : "fixed-window",
        onExceeded,
        window: Duration.millis(windowMs),
        limit,
        key
      }),
      {
        onFailure: (error): Effect.Effect<A, E | RateLimitRejected, R> =>
          error.reason._tag === "RateLimitExceeded"
            ? rejected(key, Duration.toMillis(error.reason.retryAfter), "limit-exceeded")
            : rejected(key, undefined, "store-error"),
        onSuccess: (result) => {
          const delayMs = Duration.toMillis(result.delay)
          return delayMs > 0 ? delayed(self, key, delayMs) : self
        }
      }
    )
  }

  const settings: Record<string, string | number> = {
    algorithm,
    limit,
    window: Millis.format(windowMs),
    onExceeded
  }
  if (options.burst !== undefined && algorithm === "token-bucket") settings.burst = options.burst
  if (maxDelayMs !== Infinity && onExceeded === "delay") settings.maxDelay = Millis.format(maxDelayMs)
  if (backend !== undefined) settings.store = "effect/persistence"
  if (name !== "rate-limit") settings.name = name

  return {
    _tag: "RateLimit",
    name,
    algorithm,
    limit,
    windowMs,
    onExceeded,
    descriptor: { kind: "rate-limit", settings },
    options,
    apply: backend === undefined ? inProcess : viaBackend(backend)
  }
}
