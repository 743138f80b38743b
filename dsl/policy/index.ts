/**
 * Resilience policies, each module as a namespace: compose them with {@link Policy} (one fixed
 * order: cache → fallback → breaker → bulkhead → rate limit → total timeout → retry → hedge →
 * timeout per attempt → call), or use any primitive on its own. Machinery the modules share
 * (event emission, durations, latency windows, canonical JSON, error traits, rate-limit
 * algorithms) lives in `internal/` and is not exported.
 *
 * @example
 * ```ts
 * import { Policy, Retry, Backoff } from "mcpflow"
 *
 * const policy = yield* Policy.make({ retry: Retry.make({ maxAttempts: 3, backoff: Backoff.exponential("200 millis") }), timeout: "5s" })
 * const value = yield* effect.pipe(Policy.apply(policy, { idempotent: true }))
 * ```
 * @module
 */
export * as Backoff from "./Backoff.ts"
export * as BreakerStore from "./BreakerStore.ts"
export * as Bulkhead from "./Bulkhead.ts"
export * as Cache from "./Cache.ts"
export * as CircuitBreaker from "./CircuitBreaker.ts"
export * as Fallback from "./Fallback.ts"
export * as Hedge from "./Hedge.ts"
export * as Policy from "./Policy.ts"
export * as PolicyEvents from "./PolicyEvents.ts"
export * as PolicySettings from "./PolicySettings.ts"
export * as RateLimit from "./RateLimit.ts"
export * as Retry from "./Retry.ts"
export * as Timeout from "./Timeout.ts"
