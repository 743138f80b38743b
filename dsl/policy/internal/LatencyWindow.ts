/**
 * A ring of the last N latencies with a cached percentile, for adaptive hedging.
 *
 * @example
 * ```ts
 * import * as LatencyWindow from "./internal/LatencyWindow.ts" // inside dsl/policy
 *
 * const w = LatencyWindow.make(100)
 * w.record(120); w.record(80)
 * w.percentile(0.95) // => 120
 * ```
 * @module
 */

/**
 * The last `size` samples.
 *
 * @example
 * ```ts
 * const w: LatencyWindow = LatencyWindow.make(50)
 * ```
 */
export interface LatencyWindow {
  /** Samples held (at most `size`). */
  readonly count: number
  /** Adds a sample (ms), dropping the oldest when full. */
  record(ms: number): void
  /** The nearest-rank `p` percentile (0 < p ≤ 1) of the held samples; `undefined` when empty. */
  percentile(p: number): number | undefined
}

/**
 * An empty window of `size` samples (at least 1).
 *
 * @example
 * ```ts
 * const w = make(20)
 * ```
 */
export const make = (size: number): LatencyWindow => {
  const capacity = Number.isFinite(size) ? Math.max(1, Math.floor(size)) : 1
  const ring: Array<number> = []
  let next = 0
  let sorted: Array<number> | undefined
  return {
    get count() {
      return ring.length
    },
    record(ms) {
      if (ring.length < capacity) ring.push(ms)
      else ring[next] = ms
      next = (next + 1) % capacity
      sorted = undefined
    },
    percentile(p) {
      if (ring.length === 0) return undefined
      if (sorted === undefined) sorted = [...ring].sort((a, b) => a - b)
      const rank = Math.min(sorted.length, Math.max(1, Math.ceil(Math.min(1, Math.max(0, p)) * sorted.length)))
      return sorted[rank - 1]
    }
  }
}
