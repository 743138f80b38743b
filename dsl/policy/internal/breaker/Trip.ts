/**
 * What every trip strategy of the circuit breaker implements: how a recorded call enters the
 * circuit's window, when the window says "open", and how the window slides with time. The
 * window lives in the circuit's `CircuitRecord` (`calls`, `failures`, `slow`, and the ring or
 * the time buckets), so a store can persist it.
 *
 * @example
 * ```ts
 * const trip: TripStrategy = CountWindowTrip.make({ size: 20, failureRateThreshold: 0.5, minimumCalls: 10 }, 1)
 * trip.add(record, FAILURE, now)
 * if (trip.trips(record)) open(record)
 * ```
 * @module
 */
import type { CircuitRecord } from "../../BreakerStore.ts"

/** A recorded call that succeeded in time. */
export const SUCCESS = 0
/** A recorded call that failed. */
export const FAILURE = 1
/** A recorded call that succeeded, slower than the slow-call threshold. */
export const SLOW = 2

/**
 * The outcome of a recorded call, as stored in a count window's ring.
 *
 * @example
 * ```ts
 * const code: Code = durationMs > slowMs ? SLOW : SUCCESS
 * ```
 */
export type Code = typeof SUCCESS | typeof FAILURE | typeof SLOW

/**
 * A setting a strategy refused: its path under `trip` and what is wrong with it.
 *
 * @example
 * ```ts
 * const issue: SettingIssue = { setting: "trip.size", issue: "must be an integer in [1, 1000000]" }
 * ```
 */
export interface SettingIssue {
  readonly setting: string
  readonly issue: string
}

/**
 * The arrays of a new circuit's window (a ring for count windows, buckets for time windows).
 *
 * @example
 * ```ts
 * const fresh: WindowArrays = { ring: new Array(5).fill(0), bucketCalls: [], bucketFailures: [], bucketSlow: [] }
 * ```
 */
export type WindowArrays = Pick<CircuitRecord, "ring" | "bucketCalls" | "bucketFailures" | "bucketSlow">

/**
 * One way of deciding when a closed circuit opens.
 *
 * @example
 * ```ts
 * const strategies: Array<TripStrategy> = [ConsecutiveTrip.make(5, 1), TimeWindowTrip.make(window, 1) as TripStrategy]
 * ```
 */
export interface TripStrategy {
  /** How plans describe it. */
  readonly description: string
  /** Whether recording a call needs the Clock (a time window does). */
  readonly usesClock: boolean
  /** The window arrays of a new circuit. */
  readonly newWindow: () => WindowArrays
  /** Records one call's outcome in the window at `now` (NaN unless `usesClock`). */
  readonly add: (r: CircuitRecord, code: Code, now: number) => void
  /** Whether the window (and the failure streak) says the circuit should open. */
  readonly trips: (r: CircuitRecord) => boolean
  /** Drops what slid out of the window at `now` (a time window; others do nothing). */
  readonly slide: (r: CircuitRecord, now: number) => void
}

/** Counts one outcome in the window's totals. */
export const count = (r: CircuitRecord, code: Code): void => {
  r.calls++
  if (code === FAILURE) r.failures++
  else if (code === SLOW) r.slow++
}

/**
 * Whether the window's failure rate (when `failureRate` is given) or slow-call rate reaches its
 * threshold, once it holds `minimumCalls`.
 */
export const rateTrips = (r: CircuitRecord, minimumCalls: number, failureRate: number | undefined, slowRate: number): boolean => {
  if (r.calls < minimumCalls) return false
  if (failureRate !== undefined && r.failures > 0 && r.failures / r.calls >= failureRate) return true
  return r.slow > 0 && r.slow / r.calls >= slowRate
}

/** Whether `n` is an integer in `[min, max]`. */
export const isInt = (n: number, min: number, max = Number.MAX_SAFE_INTEGER): boolean => Number.isInteger(n) && n >= min && n <= max

/** Whether `n` is a rate in `[0, 1]`. */
export const isRate = (n: number): boolean => typeof n === "number" && n >= 0 && n <= 1

const noArrays: Array<number> = []
/** A window without time buckets: the ring only. */
export const ringWindow = (size: number) => (): WindowArrays => ({
  ring: new Array<number>(size).fill(0),
  bucketCalls: noArrays.slice(),
  bucketFailures: noArrays.slice(),
  bucketSlow: noArrays.slice()
})

/**
 * Records a call in a ring of the last `size` calls: the oldest leaves once the ring is full.
 */
export const addToRing = (r: CircuitRecord, size: number, code: Code): void => {
  if (r.calls === size) {
    const old = r.ring[r.cursor]!
    r.calls--
    if (old === FAILURE) r.failures--
    else if (old === SLOW) r.slow--
  }
  r.ring[r.cursor] = code
  r.cursor = r.cursor + 1 === size ? 0 : r.cursor + 1
  count(r, code)
}
