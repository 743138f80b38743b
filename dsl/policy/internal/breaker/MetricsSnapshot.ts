/**
 * Snapshots of a circuit for `CircuitBreaker.metrics`.
 *
 * @example
 * ```ts
 * const m = MetricsSnapshot.snapshot(store.get("docker"), trip, now)
 * m.failureRate // => 0.6
 * ```
 * @module
 */
import type { CircuitRecord } from "../../BreakerStore.ts"
import type { BreakerMetrics } from "../../CircuitBreaker.ts"
import type { TripStrategy } from "./Trip.ts"

const never: BreakerMetrics = {
  state: "closed",
  failureRate: 0,
  slowCallRate: 0,
  calls: 0,
  failedCalls: 0,
  slowCalls: 0,
  rejectedCalls: 0,
  openedCount: 0,
  retryAfterMs: undefined
}

/**
 * The metrics of a circuit at `now` (its window slid to `now` first), or of a circuit never
 * used (`r` undefined).
 *
 * @example
 * ```ts
 * snapshot(undefined, trip, 0).state // => "closed"
 * ```
 */
export const snapshot = (r: CircuitRecord | undefined, trip: TripStrategy, now: number): BreakerMetrics => {
  if (r === undefined) return never
  trip.slide(r, now)
  return {
    state: r.state,
    failureRate: r.calls === 0 ? 0 : r.failures / r.calls,
    slowCallRate: r.calls === 0 ? 0 : r.slow / r.calls,
    calls: r.calls,
    failedCalls: r.failures,
    slowCalls: r.slow,
    rejectedCalls: r.rejected,
    openedCount: r.opened,
    // A held circuit has no end time: it opens up when the hold is let go of.
    retryAfterMs: r.state === "open" && r.heldBy === "" ? Math.max(0, r.openUntil - now) : undefined
  }
}
