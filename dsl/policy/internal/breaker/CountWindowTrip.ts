/**
 * Trips when the failure (or slow-call) rate over the last `size` recorded calls reaches its
 * threshold, once at least `minimumCalls` are recorded.
 *
 * @example
 * ```ts
 * const trip = CountWindowTrip.make({ size: 20, failureRateThreshold: 0.5, minimumCalls: 10 }, 1)
 * ```
 * @module
 */
import { addToRing, isInt, isRate, rateTrips, ringWindow, type SettingIssue, type TripStrategy } from "./Trip.ts"

/**
 * The strategy, or the first setting it refuses.
 *
 * @example
 * ```ts
 * CountWindowTrip.make({ size: 10, failureRateThreshold: 2, minimumCalls: 5 }, 1) // => { setting: "trip.failureRateThreshold", … }
 * ```
 */
export const make = (
  settings: { readonly size: number; readonly failureRateThreshold: number; readonly minimumCalls: number },
  slowRate: number
): TripStrategy | SettingIssue => {
  const { failureRateThreshold: failureRate, minimumCalls, size } = settings
  if (!isInt(size, 1, 1_000_000)) return { setting: "trip.size", issue: "must be an integer in [1, 1000000]" }
  if (!isRate(failureRate)) return { setting: "trip.failureRateThreshold", issue: "must be in [0, 1]" }
  if (!isInt(minimumCalls, 1, size)) return { setting: "trip.minimumCalls", issue: "must be an integer in [1, size]" }
  return {
    description: `failure rate >= ${failureRate} over the last ${size} calls (min ${minimumCalls})`,
    usesClock: false,
    newWindow: ringWindow(size),
    add: (r, code) => addToRing(r, size, code),
    trips: (r) => rateTrips(r, minimumCalls, failureRate, slowRate),
    slide: () => {}
  }
}
