/**
 * Trips after `failures` failures in a row (a success resets the streak; ignored calls do not);
 * with a slow-call rate, also when the slow share of the last `failures` calls reaches it.
 *
 * @example
 * ```ts
 * const trip = ConsecutiveTrip.make(5, 1)
 * ```
 * @module
 */
import { addToRing, isInt, rateTrips, ringWindow, type SettingIssue, type TripStrategy } from "./Trip.ts"

/**
 * The strategy, or the setting it refuses. `slowRate` is the slow-call rate threshold (1 when
 * slow calls are not counted: a slow call is then never recorded as slow).
 *
 * @example
 * ```ts
 * ConsecutiveTrip.make(0, 1) // => { setting: "trip.failures", issue: "must be an integer >= 1" }
 * ```
 */
export const make = (failures: number, slowRate: number): TripStrategy | SettingIssue => {
  if (!isInt(failures, 1)) return { setting: "trip.failures", issue: "must be an integer >= 1" }
  return {
    description: `${failures} consecutive failures`,
    usesClock: false,
    newWindow: ringWindow(failures),
    add: (r, code) => addToRing(r, failures, code),
    trips: (r) => r.streak >= failures || rateTrips(r, failures, undefined, slowRate),
    slide: () => {}
  }
}
