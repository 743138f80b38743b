/**
 * A breaker's options checked and compiled once: the trip strategy, the slow-call threshold,
 * the open-duration backoff and the half-open trial settings, plus the plan descriptor.
 *
 * @example
 * ```ts
 * const compiled = BreakerSettings.compile({ name: "docker", trip: CircuitBreaker.consecutive(5), openDuration: "30 seconds" })
 * if (!(compiled instanceof BreakerSettingsError)) openMsFor(compiled, 1) // => 30000
 * ```
 * @module
 */
import type { BreakerOptions } from "../../CircuitBreaker.ts"
import type { PolicyDescriptor } from "../../PolicyEvents.ts"
import * as Millis from "../Millis.ts"
import { BreakerSettingsError } from "./BreakerErrors.ts"
import * as ConsecutiveTrip from "./ConsecutiveTrip.ts"
import * as CountWindowTrip from "./CountWindowTrip.ts"
import { ignoredToolErrors } from "./DefaultClassifier.ts"
import * as TimeWindowTrip from "./TimeWindowTrip.ts"
import { isInt, isRate, type TripStrategy } from "./Trip.ts"

/**
 * Compiled settings.
 *
 * @example
 * ```ts
 * const slow = durationMs > compiled.slowMs
 * ```
 */
export interface Compiled {
  readonly trip: TripStrategy
  /** A successful call longer than this is slow (`Infinity`: slow calls are not counted). */
  readonly slowMs: number
  readonly openBaseMs: number
  readonly openFactor: number
  readonly openMaxMs: number
  /** Half-open trial permits. */
  readonly permitted: number
  /** Successful trials that close a half-open circuit. */
  readonly successThreshold: number
}

/**
 * Checks and compiles `options`; the first setting out of range is a {@link BreakerSettingsError}.
 *
 * @example
 * ```ts
 * compile({ name: "x", trip: CircuitBreaker.consecutive(0), openDuration: "1s" }) // => BreakerSettingsError (trip.failures)
 * ```
 */
export const compile = (options: BreakerOptions): Compiled | BreakerSettingsError => {
  const breaker = typeof options.name === "string" ? options.name : String(options.name)
  const bad = (setting: string, issue: string) => new BreakerSettingsError({ breaker, setting, issue })
  if (breaker.length === 0) return bad("name", "must not be empty")
  const t = options.trip
  // The slow-call rate is checked after the trip's own settings (so the first bad setting wins).
  const slowRate = t.slowCall?.rateThreshold ?? 1
  const trip = t._tag === "Consecutive"
    ? ConsecutiveTrip.make(t.failures, slowRate)
    : t._tag === "CountWindow"
    ? CountWindowTrip.make(t, slowRate)
    : TimeWindowTrip.make(t, slowRate)
  if ("issue" in trip) return bad(trip.setting, trip.issue)
  let slowMs = Infinity
  if (t.slowCall !== undefined) {
    const ms = Millis.finite(t.slowCall.durationThreshold)
    if (ms === undefined) return bad("trip.slowCall.durationThreshold", "must be a finite duration >= 0")
    if (!isRate(t.slowCall.rateThreshold)) return bad("trip.slowCall.rateThreshold", "must be in [0, 1]")
    slowMs = ms
  }
  let openBaseMs: number, openFactor = 1, openMaxMs: number
  const od = options.openDuration
  if (typeof od === "object" && od !== null && "_tag" in od && od._tag === "OpenBackoff") {
    const base = Millis.finite(od.base)
    const max = Millis.finite(od.max)
    if (base === undefined) return bad("openDuration.base", "must be a finite duration >= 0")
    if (max === undefined || max < base) return bad("openDuration.max", "must be a finite duration >= base")
    if (!(typeof od.factor === "number" && od.factor >= 1 && Number.isFinite(od.factor))) {
      return bad("openDuration.factor", "must be a finite number >= 1")
    }
    openBaseMs = Math.round(base)
    openFactor = od.factor
    openMaxMs = Math.round(max)
  } else {
    const ms = Millis.finite(od as Exclude<typeof od, { readonly _tag: "OpenBackoff" }>)
    if (ms === undefined) return bad("openDuration", "must be a finite duration >= 0")
    openBaseMs = openMaxMs = Math.round(ms)
  }
  const permitted = options.halfOpen?.permittedCalls ?? 1
  const successThreshold = options.halfOpen?.successThreshold ?? Math.min(permitted, 1)
  if (!isInt(permitted, 1)) return bad("halfOpen.permittedCalls", "must be an integer >= 1")
  if (!isInt(successThreshold, 1, permitted)) return bad("halfOpen.successThreshold", "must be an integer in [1, permittedCalls]")
  return { trip, slowMs, openBaseMs, openFactor, openMaxMs, permitted, successThreshold }
}

/**
 * The length of the n-th consecutive opening, in whole milliseconds.
 *
 * @example
 * ```ts
 * openMsFor({ ...compiled, openBaseMs: 10_000, openFactor: 2, openMaxMs: 300_000 }, 3) // => 40000
 * ```
 */
export const openMsFor = (c: Compiled, openings: number): number =>
  c.openFactor === 1 ? c.openBaseMs : Math.round(Math.min(c.openMaxMs, c.openBaseMs * Math.pow(c.openFactor, openings - 1)))

/**
 * How plans describe a breaker.
 *
 * @example
 * ```ts
 * describe(options, compiled).settings.trip // => "5 consecutive failures"
 * ```
 */
export const describe = (options: BreakerOptions, c: Compiled): PolicyDescriptor => {
  const fmt = Millis.format
  const settings: Record<string, string | number | boolean | ReadonlyArray<string>> = { name: options.name }
  settings.trip = c.trip.description
  if (c.slowMs !== Infinity) settings.slowCall = `rate >= ${options.trip.slowCall?.rateThreshold} of successes slower than ${fmt(c.slowMs)}`
  settings.openDuration = c.openFactor === 1 && c.openBaseMs === c.openMaxMs
    ? fmt(c.openBaseMs)
    : `exponential ${fmt(c.openBaseMs)}×${c.openFactor} cap ${fmt(c.openMaxMs)}`
  settings.halfOpenPermittedCalls = c.permitted
  settings.halfOpenSuccessThreshold = c.successThreshold
  if (options.classify === undefined) settings.ignored = Array.from(ignoredToolErrors)
  else settings.classify = "custom"
  return { kind: "breaker", settings }
}
