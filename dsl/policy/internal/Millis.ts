/**
 * Durations as plain milliseconds: parsing Effect `Duration.Input` and printing short labels
 * for plan descriptors.
 *
 * @example
 * ```ts
 * Millis.from("2 seconds") // => 2000
 * Millis.format(2000)      // => "2s"
 * ```
 * @module
 */
import { Duration } from "effect"

/**
 * Milliseconds of a `Duration.Input`; negative or invalid inputs become 0, infinite stays
 * `Infinity`.
 *
 * @example
 * ```ts
 * from("250 millis") // => 250
 * from(Duration.infinity) // => Infinity
 * ```
 */
export const from = (input: Duration.Input): number => {
  const decoded = Duration.fromInput(input)
  if (decoded._tag === "None") return 0
  const ms = Duration.toMillis(decoded.value)
  return Number.isNaN(ms) || ms < 0 ? 0 : ms
}

/**
 * A short label: `"250ms"`, `"2s"`, `"1.5s"`, `"∞"`.
 *
 * @example
 * ```ts
 * format(1500) // => "1.5s"
 * ```
 */
export const format = (ms: number): string =>
  ms === Infinity ? "∞" : ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${Math.round(ms * 1000) / 1000}ms`

/**
 * Milliseconds of a finite, non-negative `Duration.Input`; `undefined` for an invalid,
 * negative or infinite one (settings that must be finite use it to refuse the input).
 *
 * @example
 * ```ts
 * finite("2 seconds") // => 2000
 * finite(Duration.infinity) // => undefined
 * ```
 */
export const finite = (input: Duration.Input): number | undefined => {
  const decoded = Duration.fromInput(input)
  if (decoded._tag === "None") return undefined
  const ms = Duration.toMillis(decoded.value)
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined
}
