/**
 * Backoff curves (constant, linear, exponential, fibonacci; each capped) and jitter
 * (none, full, equal, decorrelated), as pure millisecond math plus an Effect `Schedule` for use
 * with `Effect.retry`/`Effect.repeat`.
 *
 * Jitter follows the AWS Architecture Blog "Exponential Backoff And Jitter" formulas, with
 * `t = min(cap, curve(n))`:
 * - `none`: `t`
 * - `full`: `random(0, t)`
 * - `equal`: `t/2 + random(0, t/2)`
 * - `decorrelated`: `min(cap, random(initial, previous × 3))`, starting from `previous = initial`
 *   (the curve only contributes its `initial` delay and its cap).
 *
 * @example
 * ```ts
 * import { Backoff } from "mcpflow"
 *
 * const b = Backoff.exponential("200 millis", { factor: 2, max: "5 seconds" })
 * Backoff.baseDelay(b, 3) // => 800
 * ```
 * @module
 */
import { Duration, Effect, Random, Schedule } from "effect"
import * as Millis from "./internal/Millis.ts"

/**
 * A backoff curve: the base delay before retry `n` (n = 1 for the first retry), capped at
 * `maxMs`.
 *
 * @example
 * ```ts
 * const b: Backoff = { kind: "linear", initialMs: 100, stepMs: 100, maxMs: 1000 }
 * ```
 */
export type Backoff =
  | { readonly kind: "constant"; readonly initialMs: number; readonly maxMs: number }
  | { readonly kind: "linear"; readonly initialMs: number; readonly stepMs: number; readonly maxMs: number }
  | { readonly kind: "exponential"; readonly initialMs: number; readonly factor: number; readonly maxMs: number }
  | { readonly kind: "fibonacci"; readonly initialMs: number; readonly maxMs: number }

/**
 * How delays are randomised (see the module doc for the formulas).
 *
 * @example
 * ```ts
 * const j: Jitter = "decorrelated"
 * ```
 */
export type Jitter = "none" | "full" | "equal" | "decorrelated"

const defaultCapMs = 30_000

const nonNegative = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0)

/**
 * The same delay every time, capped at `max` (default 30 s).
 *
 * @example
 * ```ts
 * constant("1 second")
 * ```
 */
export const constant = (delay: Duration.Input, options?: { readonly max?: Duration.Input | undefined }): Backoff => ({
  kind: "constant",
  initialMs: Millis.from(delay),
  maxMs: options?.max === undefined ? defaultCapMs : Millis.from(options.max)
})

/**
 * `initial + step × (n − 1)` (step defaults to `initial`), capped at `max` (default 30 s).
 *
 * @example
 * ```ts
 * linear("100 millis", { step: "50 millis", max: "1 second" })
 * ```
 */
export const linear = (
  initial: Duration.Input,
  options?: { readonly step?: Duration.Input | undefined; readonly max?: Duration.Input | undefined }
): Backoff => {
  const initialMs = Millis.from(initial)
  return {
    kind: "linear",
    initialMs,
    stepMs: options?.step === undefined ? initialMs : Millis.from(options.step),
    maxMs: options?.max === undefined ? defaultCapMs : Millis.from(options.max)
  }
}

/**
 * `initial × factor^(n − 1)` (factor defaults to 2, at least 1), capped at `max` (default 30 s).
 *
 * @example
 * ```ts
 * exponential("200 millis", { factor: 2, max: "5 seconds" })
 * ```
 */
export const exponential = (
  initial: Duration.Input,
  options?: { readonly factor?: number | undefined; readonly max?: Duration.Input | undefined }
): Backoff => ({
  kind: "exponential",
  initialMs: Millis.from(initial),
  factor: Math.max(1, nonNegative(options?.factor ?? 2)),
  maxMs: options?.max === undefined ? defaultCapMs : Millis.from(options.max)
})

/**
 * `initial × fib(n)` (1, 1, 2, 3, 5, …), capped at `max` (default 30 s).
 *
 * @example
 * ```ts
 * fibonacci("100 millis", { max: "10 seconds" })
 * ```
 */
export const fibonacci = (initial: Duration.Input, options?: { readonly max?: Duration.Input | undefined }): Backoff => ({
  kind: "fibonacci",
  initialMs: Millis.from(initial),
  maxMs: options?.max === undefined ? defaultCapMs : Millis.from(options.max)
})

const fib = (n: number): number => {
  let a = 0
  let b = 1
  for (let i = 1; i < n && b < Number.MAX_SAFE_INTEGER; i++) {
    const next = a + b
    a = b
    b = next
  }
  return b
}

/**
 * The capped, un-jittered delay in ms before retry `n` (n ≥ 1).
 *
 * @example
 * ```ts
 * baseDelay(fibonacci(100), 5) // => 500
 * ```
 */
export const baseDelay = (backoff: Backoff, n: number): number => {
  const k = Math.max(1, Math.floor(n))
  let raw: number
  switch (backoff.kind) {
    case "constant":
      raw = backoff.initialMs
      break
    case "linear":
      raw = backoff.initialMs + backoff.stepMs * (k - 1)
      break
    case "exponential":
      raw = backoff.initialMs * Math.pow(backoff.factor, k - 1)
      break
    case "fibonacci":
      raw = backoff.initialMs * fib(k)
      break
  }
  return Math.min(backoff.maxMs, nonNegative(raw))
}

/**
 * Applies jitter to a capped base delay. `random` is in [0, 1); `previousMs` is the previous
 * jittered delay (only `decorrelated` uses it; pass `backoff.initialMs` the first time).
 * The result is rounded to whole milliseconds.
 *
 * @example
 * ```ts
 * jittered("equal", fibonacci(100), 400, 400, 0.5) // => 300
 * ```
 */
export const jittered = (jitter: Jitter, backoff: Backoff, baseMs: number, previousMs: number, random: number): number => {
  switch (jitter) {
    case "none":
      return Math.round(baseMs)
    case "full":
      return Math.round(random * baseMs)
    case "equal":
      return Math.round(baseMs / 2 + random * (baseMs / 2))
    case "decorrelated": {
      const low = Math.min(backoff.initialMs, backoff.maxMs)
      const high = Math.max(low, previousMs * 3)
      return Math.round(Math.min(backoff.maxMs, low + random * (high - low)))
    }
  }
}

/**
 * The bounds every jittered delay of retry `n` stays within, in ms.
 *
 * @example
 * ```ts
 * bounds("full", exponential(100), 3) // => [0, 400]
 * ```
 */
export const bounds = (jitter: Jitter, backoff: Backoff, n: number): readonly [number, number] => {
  const base = baseDelay(backoff, n)
  switch (jitter) {
    case "none":
      return [Math.round(base), Math.round(base)]
    case "full":
      return [0, Math.round(base)]
    case "equal":
      return [Math.round(base / 2), Math.round(base)]
    case "decorrelated":
      return [Math.round(Math.min(backoff.initialMs, backoff.maxMs)), Math.round(backoff.maxMs)]
  }
}

/**
 * A short label for plan descriptors, e.g. `"exponential 200ms×2 cap 5s"`.
 *
 * @example
 * ```ts
 * describe(linear(100)) // => "linear 100ms+100ms cap 30s"
 * ```
 */
export const describe = (backoff: Backoff): string => {
  const cap = ` cap ${Millis.format(backoff.maxMs)}`
  switch (backoff.kind) {
    case "constant":
      return `constant ${Millis.format(backoff.initialMs)}${cap}`
    case "linear":
      return `linear ${Millis.format(backoff.initialMs)}+${Millis.format(backoff.stepMs)}${cap}`
    case "exponential":
      return `exponential ${Millis.format(backoff.initialMs)}×${backoff.factor}${cap}`
    case "fibonacci":
      return `fibonacci ${Millis.format(backoff.initialMs)}${cap}`
  }
}

/**
 * The backoff and jitter as an Effect `Schedule` that recurs forever and outputs each delay;
 * randomness comes from the `Random` service (seed it with `Random.withSeed`). Combine with
 * `Schedule.upTo`/`Schedule.while` and use with `Effect.retry` when you do not need the
 * `Retry` policy's events, budget, Retry-After or idempotency rules.
 *
 * @example
 * ```ts
 * effect.pipe(Effect.retry(Backoff.schedule(Backoff.exponential(100), "decorrelated").pipe(Schedule.upTo({ times: 3 }))))
 * ```
 */
export const schedule = (backoff: Backoff, jitter: Jitter): Schedule.Schedule<Duration.Duration> =>
  Schedule.fromStep(Effect.sync(() => {
    let n = 0
    let previous = backoff.initialMs
    return (_now: number, _input: unknown) =>
      Effect.map(Random.next, (random) => {
        n++
        previous = jittered(jitter, backoff, baseDelay(backoff, n), previous, random)
        const delay = Duration.millis(previous)
        return [delay, delay] as [Duration.Duration, Duration.Duration]
      })
  }))
