/**
 * Trips when the failure (or slow-call) rate over the last `window` of Clock time reaches its
 * threshold, once at least `minimumThroughput` calls fall in it. The window slides in `buckets`
 * steps: a call leaves it when its bucket does.
 *
 * @example
 * ```ts
 * const trip = TimeWindowTrip.make({ window: "1 minute", buckets: 6, failureRateThreshold: 0.5, minimumThroughput: 20 }, 1)
 * ```
 * @module
 */
import type { Duration } from "effect"
import type { CircuitRecord } from "../../BreakerStore.ts"
import * as Millis from "../Millis.ts"
import { count, FAILURE, isInt, isRate, rateTrips, SLOW, type SettingIssue, type TripStrategy } from "./Trip.ts"

/**
 * The strategy, or the first setting it refuses.
 *
 * @example
 * ```ts
 * TimeWindowTrip.make({ window: 0, buckets: 10, failureRateThreshold: 0.5, minimumThroughput: 10 }, 1)
 * // => { setting: "trip.window", issue: "must be a finite duration > 0" }
 * ```
 */
export const make = (
  settings: {
    readonly window: Duration.Input
    readonly buckets: number
    readonly failureRateThreshold: number
    readonly minimumThroughput: number
  },
  slowRate: number
): TripStrategy | SettingIssue => {
  const windowMs = Millis.finite(settings.window)
  const { buckets, failureRateThreshold: failureRate, minimumThroughput } = settings
  if (windowMs === undefined || windowMs <= 0) return { setting: "trip.window", issue: "must be a finite duration > 0" }
  if (!isInt(buckets, 1, 10_000)) return { setting: "trip.buckets", issue: "must be an integer in [1, 10000]" }
  if (!isRate(failureRate)) return { setting: "trip.failureRateThreshold", issue: "must be in [0, 1]" }
  if (!isInt(minimumThroughput, 1)) return { setting: "trip.minimumThroughput", issue: "must be an integer >= 1" }

  /** Drops the buckets that slid out of the window at `now`. */
  const slide = (r: CircuitRecord, now: number): void => {
    const idx = Math.floor((now * buckets) / windowMs)
    let steps = idx - r.lastBucket
    if (steps <= 0) return
    if (steps > buckets) steps = buckets
    for (let s = 1; s <= steps; s++) {
      const slot = (r.lastBucket + s) % buckets
      r.calls -= r.bucketCalls[slot]!
      r.failures -= r.bucketFailures[slot]!
      r.slow -= r.bucketSlow[slot]!
      r.bucketCalls[slot] = 0
      r.bucketFailures[slot] = 0
      r.bucketSlow[slot] = 0
    }
    r.lastBucket = idx
  }

  return {
    description: `failure rate >= ${failureRate} over ${Millis.format(windowMs)} in ${buckets} buckets (min ${minimumThroughput} calls)`,
    usesClock: true,
    newWindow: () => ({
      ring: [],
      bucketCalls: new Array<number>(buckets).fill(0),
      bucketFailures: new Array<number>(buckets).fill(0),
      bucketSlow: new Array<number>(buckets).fill(0)
    }),
    add: (r, code, now) => {
      slide(r, now)
      const slot = r.lastBucket % buckets
      r.bucketCalls[slot]!++
      if (code === FAILURE) r.bucketFailures[slot]!++
      else if (code === SLOW) r.bucketSlow[slot]!++
      count(r, code)
    },
    trips: (r) => rateTrips(r, minimumThroughput, failureRate, slowRate),
    slide
  }
}
