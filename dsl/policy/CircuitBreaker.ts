/**
 * The circuit breaker of mcpflow: keyed circuits with the resilience4j state machine
 * (closed → open → half-open, plus `forced-open` and `disabled` by hand), on Effect's `Clock`.
 *
 * - Trip policies: {@link consecutive}, {@link countWindow}, {@link timeWindow} (sliding,
 *   bucketed); each may also trip on the rate of slow successful calls (`slowCall`).
 * - Half-open: at most `permittedCalls` trial calls; `successThreshold` successes close the
 *   circuit, one failure (or slow success) reopens it.
 * - Open duration: fixed, or a {@link backoff} over consecutive openings.
 * - A rejected call fails with {@link BreakerRejected} (with `retryAfterMs` while open), so a
 *   fallback is one `Effect.catchTag("BreakerRejected", …)` away and a retry can wait at least
 *   `retryAfterMs`.
 * - Every transition and rejection is emitted through {@link PolicyEvents}.
 *
 * Why not `effect/persistence`'s `CircuitBreaker`: its trip policies are a closed union
 * (`consecutive`, `rate` over a count window; no time window, no slow calls), half-open admits
 * exactly one probe, there is no manual isolate/disable/reset and no metrics, and `make` needs a
 * `Scope`. This module keeps its good ideas (keyed circuits, a store seam, fencing of late
 * outcomes, interruption counts as nothing, backoff that resets after a calm period).
 *
 * Put timeouts and retries of a single attempt inside the breaker (it then sees one outcome per
 * call) and retry rejections outside it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as CircuitBreaker from "mcpflow/dsl/policy/CircuitBreaker"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make({
 *     name: "docker",
 *     trip: CircuitBreaker.consecutive(5),
 *     openDuration: "30 seconds",
 *     halfOpen: { permittedCalls: 3, successThreshold: 2 }
 *   })
 *   return yield* breaker.execute(Docker.build({ context: ".", tag: "app:1" })).pipe(
 *     Effect.catchTag("BreakerRejected", () => Effect.succeed(cachedImage))
 *   )
 * })
 * ```
 * @module
 */
import { Cause, Clock, Duration, Effect, Exit, Option, Predicate, Schema } from "effect"
import type { Fiber } from "effect"
import { McpflowToolError, type ToolErrorReason } from "../ToolError.ts"
import { type BreakerState, type BreakerStore, type CircuitRecord, memoryStore } from "./BreakerStore.ts"
import * as Millis from "./internal/Millis.ts"
import { type PolicyDescriptor, PolicyEvents } from "./PolicyEvents.ts"

export type { BreakerState, BreakerStore, CircuitRecord } from "./BreakerStore.ts"
export { memoryStore } from "./BreakerStore.ts"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * A call the breaker did not run: the circuit of `key` is `open` (`retryAfterMs` says how much
 * of the open time is left), `half-open` with all its trial permits taken, or `forced-open`.
 * It carries the traits retry policies read (see `ErrorTraits`): `transient` (false only when
 * forced open), `mayHaveReachedServer` (false) and `retryAfterMs` (a lower bound for the next try).
 *
 * @example
 * ```ts
 * new BreakerRejected({ key: "docker", state: "open", retryAfterMs: 28000 }).message
 * // => "circuit 'docker' is open; retry after 28000 ms"
 * ```
 */
export class BreakerRejected extends Schema.TaggedError<BreakerRejected>()("BreakerRejected", {
  key: Schema.String,
  state: Schema.Literals(["open", "half-open", "forced-open"]),
  retryAfterMs: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    switch (this.state) {
      case "open":
        return `circuit '${this.key}' is open${this.retryAfterMs !== undefined ? `; retry after ${this.retryAfterMs} ms` : ""}`
      case "half-open":
        return `circuit '${this.key}' is half-open and all its trial calls are in flight; retry later`
      case "forced-open":
        return `circuit '${this.key}' is isolated (forced open) until it is reset`
    }
  }
  /** Whether retrying can help: yes unless the circuit was isolated by hand. */
  get transient(): boolean {
    return this.state !== "forced-open"
  }
  /** Always false: a rejected call was never sent. */
  get mayHaveReachedServer(): boolean {
    return false
  }
}

/**
 * Settings `make` refused: `setting` names the option, `issue` says what is wrong with it.
 *
 * @example
 * ```ts
 * new BreakerSettingsError({ breaker: "docker", setting: "halfOpen.successThreshold", issue: "must be an integer in [1, permittedCalls]" }).message
 * // => "breaker 'docker': halfOpen.successThreshold must be an integer in [1, permittedCalls]"
 * ```
 */
export class BreakerSettingsError extends Schema.TaggedError<BreakerSettingsError>()("BreakerSettingsError", {
  breaker: Schema.String,
  setting: Schema.String,
  issue: Schema.String
}) {
  override get message(): string {
    return `breaker '${this.breaker}': ${this.setting} ${this.issue}`
  }
}

// -----------------------------------------------------------------------------
// Settings
// -----------------------------------------------------------------------------

/**
 * Trip on slow calls too: a successful call that took longer than `durationThreshold` is slow,
 * and the circuit opens when the share of slow calls in the window reaches `rateThreshold` (0..1).
 *
 * @example
 * ```ts
 * const slow: SlowCallPolicy = { durationThreshold: "2 seconds", rateThreshold: 0.5 }
 * ```
 */
export interface SlowCallPolicy {
  readonly durationThreshold: Duration.Input
  readonly rateThreshold: number
}

/**
 * When a closed circuit opens. Build one with {@link consecutive}, {@link countWindow} or
 * {@link timeWindow}.
 *
 * @example
 * ```ts
 * const trip: TripPolicy = CircuitBreaker.countWindow({ size: 20, failureRateThreshold: 0.5 })
 * ```
 */
export type TripPolicy =
  | {
    readonly _tag: "Consecutive"
    readonly failures: number
    readonly slowCall?: SlowCallPolicy | undefined
  }
  | {
    readonly _tag: "CountWindow"
    readonly size: number
    readonly failureRateThreshold: number
    readonly minimumCalls: number
    readonly slowCall?: SlowCallPolicy | undefined
  }
  | {
    readonly _tag: "TimeWindow"
    readonly window: Duration.Input
    readonly buckets: number
    readonly failureRateThreshold: number
    readonly minimumThroughput: number
    readonly slowCall?: SlowCallPolicy | undefined
  }

/**
 * Opens after `failures` failures in a row (a success resets the streak; ignored calls do not).
 * With `slowCall`, it also opens when the slow share of the last `failures` calls reaches the rate.
 *
 * @example
 * ```ts
 * CircuitBreaker.consecutive(5)
 * CircuitBreaker.consecutive(5, { slowCall: { durationThreshold: "2 seconds", rateThreshold: 1 } })
 * ```
 */
export const consecutive = (
  failures: number,
  options?: { readonly slowCall?: SlowCallPolicy | undefined }
): TripPolicy => ({ _tag: "Consecutive", failures, slowCall: options?.slowCall })

/**
 * Opens when the failure rate over the last `size` recorded calls reaches
 * `failureRateThreshold` (0..1), once at least `minimumCalls` (default `size`) are recorded.
 *
 * @example
 * ```ts
 * CircuitBreaker.countWindow({ size: 20, failureRateThreshold: 0.5, minimumCalls: 10 })
 * ```
 */
export const countWindow = (options: {
  readonly size: number
  readonly failureRateThreshold: number
  readonly minimumCalls?: number | undefined
  readonly slowCall?: SlowCallPolicy | undefined
}): TripPolicy => ({
  _tag: "CountWindow",
  size: options.size,
  failureRateThreshold: options.failureRateThreshold,
  minimumCalls: options.minimumCalls ?? options.size,
  slowCall: options.slowCall
})

/**
 * Opens when the failure rate over the last `window` of Clock time reaches
 * `failureRateThreshold`, once at least `minimumThroughput` (default 10) calls fall in it.
 * The window slides in `buckets` steps (default 10): a call leaves it when its bucket does.
 *
 * @example
 * ```ts
 * CircuitBreaker.timeWindow({ window: "1 minute", buckets: 6, failureRateThreshold: 0.5, minimumThroughput: 20 })
 * ```
 */
export const timeWindow = (options: {
  readonly window: Duration.Input
  readonly buckets?: number | undefined
  readonly failureRateThreshold: number
  readonly minimumThroughput?: number | undefined
  readonly slowCall?: SlowCallPolicy | undefined
}): TripPolicy => ({
  _tag: "TimeWindow",
  window: options.window,
  buckets: options.buckets ?? 10,
  failureRateThreshold: options.failureRateThreshold,
  minimumThroughput: options.minimumThroughput ?? 10,
  slowCall: options.slowCall
})

/**
 * An open duration that grows over consecutive openings: `base × factor^(n-1)` for the n-th,
 * capped at `max`. The count starts again once the circuit has stayed closed as long as its
 * last opening.
 *
 * @example
 * ```ts
 * const openDuration = CircuitBreaker.backoff({ base: "10 seconds", factor: 2, max: "5 minutes" })
 * ```
 */
export interface OpenBackoff {
  readonly _tag: "OpenBackoff"
  readonly base: Duration.Input
  readonly factor: number
  readonly max: Duration.Input
}

/**
 * Builds an {@link OpenBackoff} (`factor` defaults to 2).
 *
 * @example
 * ```ts
 * CircuitBreaker.backoff({ base: "10 seconds", max: "5 minutes" }) // 10s, 20s, 40s, … 5m
 * ```
 */
export const backoff = (options: {
  readonly base: Duration.Input
  readonly factor?: number | undefined
  readonly max: Duration.Input
}): OpenBackoff => ({ _tag: "OpenBackoff", base: options.base, factor: options.factor ?? 2, max: options.max })

/**
 * How a finished call counts: `success`, `failure`, or `ignored` (it says nothing about the
 * dependency's health; a half-open trial permit it held is given back).
 *
 * @example
 * ```ts
 * const o: Outcome = "ignored"
 * ```
 */
export type Outcome = "success" | "failure" | "ignored"

/**
 * Classifies a call's exit. `durationMs` is the call's Clock time. An exit that is only
 * interruption is always `ignored` and never reaches a classifier.
 *
 * @example
 * ```ts
 * const classify: Classifier = (exit) => Exit.isSuccess(exit) ? "success" : "failure"
 * ```
 */
export type Classifier<A = unknown, E = unknown> = (exit: Exit.Exit<A, E>, durationMs: number) => Outcome

/**
 * The {@link McpflowToolError} reasons the default classifier ignores: they are the caller's
 * fault, not the server's, so they never trip a breaker (the seeds' `excluded_exceptions`).
 *
 * @example
 * ```ts
 * ignoredToolErrors.has("InvalidInput") // => true
 * ```
 */
export const ignoredToolErrors: ReadonlySet<ToolErrorReason["_tag"]> = new Set(["UnknownTool", "InvalidInput", "NotAllowed"])

/**
 * The default classifier: a success is `success`; an {@link McpflowToolError} whose reason is in
 * {@link ignoredToolErrors} or is `Rejected` (a breaker, bulkhead or rate limit of the call
 * refused it), a {@link BreakerRejected} from a nested breaker, or a `BulkheadRejected` /
 * `RateLimitRejected` from a policy inside it (nothing was sent), is `ignored`;
 * every other failure (defects included) is `failure`.
 *
 * @example
 * ```ts
 * defaultClassify(Exit.fail(toolError(new UnknownTool({ server: "fs", tool: "x", detail: "" }))), 3) // => "ignored"
 * ```
 */
export const defaultClassify: Classifier = (exit) => {
  if (exit._tag === "Success") return "success"
  const reasons = exit.cause.reasons
  for (let i = 0; i < reasons.length; i++) {
    const reason = reasons[i]!
    if (reason._tag === "Fail") {
      const error = reason.error
      if (error instanceof McpflowToolError) {
        // `Rejected`: a policy of a call inside this breaker refused it; nothing was sent.
        return ignoredToolErrors.has(error.reason._tag) || error.reason._tag === "Rejected" ? "ignored" : "failure"
      }
      if (error instanceof BreakerRejected) return "ignored"
      // Rejected by a bulkhead or rate limit inside the breaker: nothing was sent.
      if (Predicate.isTagged(error, "BulkheadRejected") || Predicate.isTagged(error, "RateLimitRejected")) return "ignored"
      return "failure"
    }
  }
  return Cause.hasInterruptsOnly(exit.cause) ? "ignored" : "failure"
}

/**
 * A state change of one circuit, as given to `onTransition` listeners. `retryAfterMs` is the
 * open duration when `to` is `open`.
 *
 * @example
 * ```ts
 * const t: BreakerTransition = { breaker: "docker", key: "docker", from: "closed", to: "open", atMs: 0, retryAfterMs: 30000 }
 * ```
 */
export interface BreakerTransition {
  readonly breaker: string
  readonly key: string
  readonly from: BreakerState
  readonly to: BreakerState
  readonly atMs: number
  readonly retryAfterMs?: number | undefined
}

/**
 * What {@link make} takes.
 *
 * @example
 * ```ts
 * const options: BreakerOptions = { name: "docker", trip: CircuitBreaker.consecutive(5), openDuration: "30 seconds" }
 * ```
 */
export interface BreakerOptions {
  /** The breaker's name: the default key, and `breaker:<name>` in events. */
  readonly name: string
  /** When a closed circuit opens. */
  readonly trip: TripPolicy
  /** How long an opening lasts: a Duration, or a {@link backoff}. */
  readonly openDuration: Duration.Input | OpenBackoff
  /** Trial calls of a half-open circuit (default `{ permittedCalls: 1, successThreshold: 1 }`). */
  readonly halfOpen?: {
    readonly permittedCalls: number
    readonly successThreshold?: number | undefined
  } | undefined
  /** Classifier for every call (default {@link defaultClassify}); `execute` may override it. */
  readonly classify?: Classifier | undefined
  /** Where the circuits live (default: a fresh {@link memoryStore}). */
  readonly store?: BreakerStore | undefined
  /** Called synchronously after each transition; must not throw (a throw is swallowed). */
  readonly onTransition?: ((transition: BreakerTransition) => void) | undefined
}

/**
 * Per-call options of `execute`: the circuit `key` (default: the breaker's name) and a
 * classifier that sees the call's own types.
 *
 * @example
 * ```ts
 * breaker.execute(call, { key: `${server}.${tool}`, classify: (exit) => Exit.isSuccess(exit) ? "success" : "failure" })
 * ```
 */
export interface ExecuteOptions<A, E> {
  readonly key?: string | undefined
  readonly classify?: Classifier<A, E> | undefined
}

/**
 * A snapshot of one circuit. Rates and counts cover the current window (the calls that tripped
 * it, while open; the trial calls, while half-open); `rejectedCalls` and `openedCount` count since
 * the circuit was created or reset. `retryAfterMs` is the open time left, while open.
 *
 * @example
 * ```ts
 * const m = yield* breaker.metrics("docker")
 * m.failureRate // => 0.6
 * ```
 */
export interface BreakerMetrics {
  readonly state: BreakerState
  readonly failureRate: number
  readonly slowCallRate: number
  readonly calls: number
  readonly failedCalls: number
  readonly slowCalls: number
  readonly rejectedCalls: number
  readonly openedCount: number
  readonly retryAfterMs?: number | undefined
}

/**
 * A keyed circuit breaker: one circuit per key, created on first use with the same settings.
 *
 * @example
 * ```ts
 * const result = yield* breaker.execute(Docker.build(input), { key: "docker" })
 * yield* breaker.isolate("docker")       // every call rejected until reset
 * yield* breaker.reset("docker")         // closed, counters cleared
 * const m = yield* breaker.metrics("docker")
 * ```
 */
export interface CircuitBreaker {
  readonly name: string
  /** How the breaker describes itself to plans. */
  readonly descriptor: PolicyDescriptor
  /** Runs `self` through the circuit of `options.key` (default: the breaker's name). */
  readonly execute: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options?: ExecuteOptions<A, E> | undefined
  ) => Effect.Effect<A, E | BreakerRejected, R>
  /** The state of a circuit (`closed` if it was never used). An expired `open` reads `open` until the next call. */
  readonly state: (key?: string) => Effect.Effect<BreakerState>
  /** A snapshot of a circuit. */
  readonly metrics: (key?: string) => Effect.Effect<BreakerMetrics>
  /** Forces the circuit open (window cleared): every call is rejected until `reset`. */
  readonly isolate: (key?: string) => Effect.Effect<void>
  /** Disables the circuit (window cleared): every call runs and nothing is recorded, until `reset`. */
  readonly disable: (key?: string) => Effect.Effect<void>
  /** Back to closed, with counters, backoff and metrics cleared. */
  readonly reset: (key?: string) => Effect.Effect<void>
  /** Every key with a circuit. */
  readonly keys: () => Effect.Effect<ReadonlyArray<string>>
}

// -----------------------------------------------------------------------------
// Compiled settings
// -----------------------------------------------------------------------------

const CONSECUTIVE = 0
const COUNT = 1
const TIME = 2

const SUCCESS = 0
const FAILURE = 1
const SLOW = 2

interface Compiled {
  readonly kind: typeof CONSECUTIVE | typeof COUNT | typeof TIME
  /** consecutive: failures in a row */
  readonly failures: number
  /** ring size (consecutive: `failures`; count window: `size`; time window: 0) */
  readonly size: number
  /** calls needed before a rate can trip */
  readonly minimumCalls: number
  readonly failureRate: number
  readonly slowMs: number
  readonly slowRate: number
  readonly windowMs: number
  readonly buckets: number
  readonly openBaseMs: number
  readonly openFactor: number
  readonly openMaxMs: number
  readonly permitted: number
  readonly successThreshold: number
}

const toMillis = (input: Duration.Input): number | undefined => {
  const d = Duration.fromInput(input)
  if (Option.isNone(d)) return undefined
  const ms = Duration.toMillis(d.value)
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined
}

const isInt = (n: number, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(n) && n >= min && n <= max
const isRate = (n: number) => typeof n === "number" && n >= 0 && n <= 1

const compile = (options: BreakerOptions): Compiled | BreakerSettingsError => {
  const breaker = typeof options.name === "string" ? options.name : String(options.name)
  const bad = (setting: string, issue: string) => new BreakerSettingsError({ breaker, setting, issue })
  if (breaker.length === 0) return bad("name", "must not be empty")
  const trip = options.trip
  let kind: Compiled["kind"]
  let failures = 0, size = 0, minimumCalls = 0, failureRate = 1, windowMs = 0, buckets = 0
  switch (trip._tag) {
    case "Consecutive":
      if (!isInt(trip.failures, 1)) return bad("trip.failures", "must be an integer >= 1")
      kind = CONSECUTIVE
      failures = size = minimumCalls = trip.failures
      break
    case "CountWindow":
      if (!isInt(trip.size, 1, 1_000_000)) return bad("trip.size", "must be an integer in [1, 1000000]")
      if (!isRate(trip.failureRateThreshold)) return bad("trip.failureRateThreshold", "must be in [0, 1]")
      if (!isInt(trip.minimumCalls, 1, trip.size)) return bad("trip.minimumCalls", "must be an integer in [1, size]")
      kind = COUNT
      size = trip.size
      minimumCalls = trip.minimumCalls
      failureRate = trip.failureRateThreshold
      break
    case "TimeWindow": {
      const w = toMillis(trip.window)
      if (w === undefined || w <= 0) return bad("trip.window", "must be a finite duration > 0")
      if (!isInt(trip.buckets, 1, 10_000)) return bad("trip.buckets", "must be an integer in [1, 10000]")
      if (!isRate(trip.failureRateThreshold)) return bad("trip.failureRateThreshold", "must be in [0, 1]")
      if (!isInt(trip.minimumThroughput, 1)) return bad("trip.minimumThroughput", "must be an integer >= 1")
      kind = TIME
      windowMs = w
      buckets = trip.buckets
      minimumCalls = trip.minimumThroughput
      failureRate = trip.failureRateThreshold
      break
    }
  }
  let slowMs = Infinity, slowRate = 1
  if (trip.slowCall !== undefined) {
    const t = toMillis(trip.slowCall.durationThreshold)
    if (t === undefined) return bad("trip.slowCall.durationThreshold", "must be a finite duration >= 0")
    if (!isRate(trip.slowCall.rateThreshold)) return bad("trip.slowCall.rateThreshold", "must be in [0, 1]")
    slowMs = t
    slowRate = trip.slowCall.rateThreshold
  }
  let openBaseMs: number, openFactor = 1, openMaxMs: number
  const od = options.openDuration
  if (typeof od === "object" && od !== null && "_tag" in od && od._tag === "OpenBackoff") {
    const base = toMillis(od.base)
    const max = toMillis(od.max)
    if (base === undefined) return bad("openDuration.base", "must be a finite duration >= 0")
    if (max === undefined || max < base) return bad("openDuration.max", "must be a finite duration >= base")
    if (!(typeof od.factor === "number" && od.factor >= 1 && Number.isFinite(od.factor))) {
      return bad("openDuration.factor", "must be a finite number >= 1")
    }
    openBaseMs = Math.round(base)
    openFactor = od.factor
    openMaxMs = Math.round(max)
  } else {
    const ms = toMillis(od as Duration.Input)
    if (ms === undefined) return bad("openDuration", "must be a finite duration >= 0")
    openBaseMs = openMaxMs = Math.round(ms)
  }
  const permitted = options.halfOpen?.permittedCalls ?? 1
  const successThreshold = options.halfOpen?.successThreshold ?? Math.min(permitted, 1)
  if (!isInt(permitted, 1)) return bad("halfOpen.permittedCalls", "must be an integer >= 1")
  if (!isInt(successThreshold, 1, permitted)) return bad("halfOpen.successThreshold", "must be an integer in [1, permittedCalls]")
  return {
    kind,
    failures,
    size,
    minimumCalls,
    failureRate,
    slowMs,
    slowRate,
    windowMs,
    buckets,
    openBaseMs,
    openFactor,
    openMaxMs,
    permitted,
    successThreshold
  }
}

const fmt = Millis.format

const describe = (options: BreakerOptions, c: Compiled): PolicyDescriptor => {
  const settings: Record<string, string | number | boolean | ReadonlyArray<string>> = { name: options.name }
  switch (c.kind) {
    case CONSECUTIVE:
      settings.trip = `${c.failures} consecutive failures`
      break
    case COUNT:
      settings.trip = `failure rate >= ${c.failureRate} over the last ${c.size} calls (min ${c.minimumCalls})`
      break
    case TIME:
      settings.trip = `failure rate >= ${c.failureRate} over ${fmt(c.windowMs)} in ${c.buckets} buckets (min ${c.minimumCalls} calls)`
      break
  }
  if (c.slowMs !== Infinity) settings.slowCall = `rate >= ${c.slowRate} of successes slower than ${fmt(c.slowMs)}`
  settings.openDuration = c.openFactor === 1 && c.openBaseMs === c.openMaxMs
    ? fmt(c.openBaseMs)
    : `exponential ${fmt(c.openBaseMs)}×${c.openFactor} cap ${fmt(c.openMaxMs)}`
  settings.halfOpenPermittedCalls = c.permitted
  settings.halfOpenSuccessThreshold = c.successThreshold
  if (options.classify === undefined) settings.ignored = Array.from(ignoredToolErrors)
  else settings.classify = "custom"
  return { kind: "breaker", settings }
}

// -----------------------------------------------------------------------------
// The state machine
// -----------------------------------------------------------------------------

const newRecord = (c: Compiled) => (_key: string): CircuitRecord => ({
  state: "closed",
  epoch: 0,
  openUntil: 0,
  openings: 0,
  lastOpenMs: 0,
  backoffResetAt: 0,
  probesAdmitted: 0,
  probeSuccesses: 0,
  streak: 0,
  calls: 0,
  failures: 0,
  slow: 0,
  ring: c.kind === TIME ? [] : new Array<number>(c.size).fill(0),
  cursor: 0,
  bucketCalls: c.kind === TIME ? new Array<number>(c.buckets).fill(0) : [],
  bucketFailures: c.kind === TIME ? new Array<number>(c.buckets).fill(0) : [],
  bucketSlow: c.kind === TIME ? new Array<number>(c.buckets).fill(0) : [],
  lastBucket: 0,
  rejected: 0,
  opened: 0
})

/** Drops the time buckets that slid out of the window at `now`. */
const advance = (r: CircuitRecord, c: Compiled, now: number): void => {
  const idx = Math.floor((now * c.buckets) / c.windowMs)
  let steps = idx - r.lastBucket
  if (steps <= 0) return
  if (steps > c.buckets) steps = c.buckets
  for (let s = 1; s <= steps; s++) {
    const slot = (r.lastBucket + s) % c.buckets
    r.calls -= r.bucketCalls[slot]!
    r.failures -= r.bucketFailures[slot]!
    r.slow -= r.bucketSlow[slot]!
    r.bucketCalls[slot] = 0
    r.bucketFailures[slot] = 0
    r.bucketSlow[slot] = 0
  }
  r.lastBucket = idx
}

const addToWindow = (r: CircuitRecord, c: Compiled, code: number, now: number): void => {
  if (c.kind === TIME) {
    advance(r, c, now)
    const slot = r.lastBucket % c.buckets
    r.bucketCalls[slot]!++
    if (code === FAILURE) r.bucketFailures[slot]!++
    else if (code === SLOW) r.bucketSlow[slot]!++
  } else {
    if (r.calls === c.size) {
      const old = r.ring[r.cursor]!
      r.calls--
      if (old === FAILURE) r.failures--
      else if (old === SLOW) r.slow--
    }
    r.ring[r.cursor] = code
    r.cursor = r.cursor + 1 === c.size ? 0 : r.cursor + 1
  }
  r.calls++
  if (code === FAILURE) r.failures++
  else if (code === SLOW) r.slow++
}

const clearWindow = (r: CircuitRecord): void => {
  r.calls = 0
  r.failures = 0
  r.slow = 0
  r.streak = 0
  r.cursor = 0
  r.ring.fill(0)
  r.bucketCalls.fill(0)
  r.bucketFailures.fill(0)
  r.bucketSlow.fill(0)
}

const trips = (r: CircuitRecord, c: Compiled): boolean => {
  if (c.kind === CONSECUTIVE && r.streak >= c.failures) return true
  if (r.calls < c.minimumCalls) return false
  if (c.kind !== CONSECUTIVE && r.failures > 0 && r.failures / r.calls >= c.failureRate) return true
  return r.slow > 0 && r.slow / r.calls >= c.slowRate
}

/** The length of the n-th consecutive opening, in whole milliseconds. */
const openMsFor = (c: Compiled, openings: number): number =>
  c.openFactor === 1 ? c.openBaseMs : Math.round(Math.min(c.openMaxMs, c.openBaseMs * Math.pow(c.openFactor, openings - 1)))

class Ticket {
  epoch = -1
  start = 0
}

const nowOf = (fiber: Fiber.Fiber<unknown, unknown>): number => fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()

/**
 * Creates a keyed circuit breaker. Fails with {@link BreakerSettingsError} when a setting is out
 * of range (e.g. a `successThreshold` above `permittedCalls`).
 *
 * @example
 * ```ts
 * const breaker = yield* CircuitBreaker.make({
 *   name: "docker",
 *   trip: CircuitBreaker.consecutive(5),
 *   openDuration: "30 seconds",
 *   halfOpen: { permittedCalls: 3, successThreshold: 2 }
 * })
 * const image = yield* breaker.execute(Docker.build(input))
 * ```
 */
export const make: (options: BreakerOptions) => Effect.Effect<CircuitBreaker, BreakerSettingsError> = Effect.fnUntraced(
  function*(options: BreakerOptions) {
    const compiled = compile(options)
    if (compiled instanceof BreakerSettingsError) return yield* compiled
    return build(options, compiled)
  }
)

const build = (options: BreakerOptions, c: Compiled): CircuitBreaker => {
  const name = options.name
  const policy = `breaker:${name}`
  const store = options.store ?? memoryStore()
  const persist = store.persist
  const create = newRecord(c)
  const baseClassify: Classifier = options.classify ?? defaultClassify
  /** Whether calls on a closed circuit need their duration (slow calls, or a classifier that may read it). */
  const timed = c.slowMs !== Infinity || options.classify !== undefined
  const listener = options.onTransition

  const transition = (
    r: CircuitRecord,
    key: string,
    to: BreakerState,
    now: number,
    fiber: Fiber.Fiber<unknown, unknown>,
    retryAfterMs?: number
  ): void => {
    const from = r.state
    r.state = to
    r.epoch++
    fiber.getRef(PolicyEvents).emit({ _tag: "BreakerTransition", policy, key, from, to })
    if (listener !== undefined) {
      try {
        listener({ breaker: name, key, from, to, atMs: now, retryAfterMs })
      } catch {
        // a listener's failure is its own
      }
    }
  }

  const open = (r: CircuitRecord, key: string, now: number, fiber: Fiber.Fiber<unknown, unknown>): void => {
    if (r.state === "closed" && now >= r.backoffResetAt) r.openings = 0
    r.openings++
    r.opened++
    const ms = openMsFor(c, r.openings)
    r.lastOpenMs = ms
    r.openUntil = now + ms
    r.probesAdmitted = 0
    r.probeSuccesses = 0
    transition(r, key, "open", now, fiber, ms)
  }

  const close = (r: CircuitRecord, key: string, now: number, fiber: Fiber.Fiber<unknown, unknown>): void => {
    clearWindow(r)
    r.probesAdmitted = 0
    r.probeSuccesses = 0
    r.backoffResetAt = now + r.lastOpenMs
    transition(r, key, "closed", now, fiber)
  }

  const reject = (
    r: CircuitRecord,
    key: string,
    state: BreakerRejected["state"],
    retryAfterMs: number | undefined,
    fiber: Fiber.Fiber<unknown, unknown>
  ): BreakerRejected => {
    r.rejected++
    if (persist !== undefined) persist(key, r)
    fiber.getRef(PolicyEvents).emit({ _tag: "BreakerRejected", policy, key, retryAfterMs })
    return new BreakerRejected({ key, state, retryAfterMs })
  }

  /** Admission off the closed fast path; fills `ticket` when the outcome must be recorded. */
  const admit = (
    r: CircuitRecord,
    key: string,
    ticket: Ticket,
    fiber: Fiber.Fiber<unknown, unknown>
  ): BreakerRejected | undefined => {
    const now = nowOf(fiber)
    switch (r.state) {
      case "closed":
        ticket.epoch = r.epoch
        ticket.start = now
        return undefined
      case "disabled":
        return undefined
      case "forced-open":
        return reject(r, key, "forced-open", undefined, fiber)
      case "open":
        if (now < r.openUntil) return reject(r, key, "open", r.openUntil - now, fiber)
        clearWindow(r)
        r.probesAdmitted = 0
        r.probeSuccesses = 0
        transition(r, key, "half-open", now, fiber)
        return admitTrial(r, key, ticket, now, fiber)
      case "half-open":
        return admitTrial(r, key, ticket, now, fiber)
    }
  }

  const admitTrial = (
    r: CircuitRecord,
    key: string,
    ticket: Ticket,
    now: number,
    fiber: Fiber.Fiber<unknown, unknown>
  ): BreakerRejected | undefined => {
    if (r.probesAdmitted >= c.permitted) return reject(r, key, "half-open", undefined, fiber)
    r.probesAdmitted++
    ticket.epoch = r.epoch
    ticket.start = now
    if (persist !== undefined) persist(key, r)
    return undefined
  }

  const record = (
    r: CircuitRecord,
    key: string,
    epoch: number,
    outcome: Outcome,
    durationMs: number,
    now: number,
    fiber: Fiber.Fiber<unknown, unknown>
  ): void => {
    if (r.epoch !== epoch) return // a late outcome from before a transition changes nothing
    if (r.state === "closed") {
      if (outcome === "ignored") return
      const code = outcome === "failure" ? FAILURE : durationMs > c.slowMs ? SLOW : SUCCESS
      addToWindow(r, c, code, now)
      r.streak = code === FAILURE ? r.streak + 1 : 0
      if (trips(r, c)) open(r, key, now === now ? now : nowOf(fiber), fiber)
    } else if (r.state === "half-open") {
      if (outcome === "ignored") {
        r.probesAdmitted--
      } else {
        const code = outcome === "failure" ? FAILURE : durationMs > c.slowMs ? SLOW : SUCCESS
        addToWindow(r, c, code, now)
        if (code !== SUCCESS) open(r, key, now, fiber)
        else if (++r.probeSuccesses >= c.successThreshold) close(r, key, now, fiber)
      }
    } else {
      return
    }
    if (persist !== undefined) persist(key, r)
  }

  const settle = (
    r: CircuitRecord,
    key: string,
    epoch: number,
    start: number,
    exit: Exit.Exit<unknown, unknown>,
    classify: Classifier,
    fiber: Fiber.Fiber<unknown, unknown>
  ): Effect.Effect<never> | undefined => {
    // `start` is NaN when nobody needs the call's duration; then a closed count-based circuit
    // reads the Clock only if it opens.
    const measured = start === start
    const now = measured || c.kind === TIME || r.state !== "closed" ? nowOf(fiber) : NaN
    const durationMs = measured ? now - start : 0
    let outcome: Outcome
    let defect: { readonly value: unknown } | undefined
    if (exit._tag === "Failure" && Cause.hasInterruptsOnly(exit.cause)) {
      outcome = "ignored"
    } else {
      try {
        outcome = classify(exit, durationMs)
      } catch (value) {
        outcome = "ignored"
        defect = { value }
      }
    }
    record(r, key, epoch, outcome, durationMs, now, fiber)
    return defect === undefined ? undefined : Effect.die(defect.value)
  }

  const execute = <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options?: ExecuteOptions<A, E> | undefined
  ): Effect.Effect<A, E | BreakerRejected, R> =>
    Effect.withFiber<A, E | BreakerRejected, R>((fiber) => {
      const key = options?.key ?? name
      const classify = (options?.classify ?? baseClassify) as Classifier
      const r = store.getOrCreate(key, create)
      if (r.state === "closed") {
        // Hot path: no permit to leak, so an interruption before the finalizer is pushed loses nothing.
        const epoch = r.epoch
        const start = timed || options?.classify !== undefined ? nowOf(fiber) : NaN
        return Effect.onExitPrimitive(self, (exit) => settle(r, key, epoch, start, exit, classify, fiber))
      }
      if (r.state === "disabled") return self
      // Push the finalizer first, then admit: a permit taken is always given back.
      const ticket = new Ticket()
      return Effect.onExitPrimitive(
        Effect.withFiber<A, E | BreakerRejected, R>((inner) => {
          const rejected = admit(r, key, ticket, inner)
          return rejected === undefined ? self : Effect.fail(rejected)
        }),
        (exit) => ticket.epoch < 0 ? undefined : settle(r, key, ticket.epoch, ticket.start, exit, classify, fiber)
      )
    })

  const manual = (to: "forced-open" | "disabled") => (key: string = name): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      const r = store.getOrCreate(key, create)
      if (r.state !== to) {
        clearWindow(r)
        r.probesAdmitted = 0
        r.probeSuccesses = 0
        transition(r, key, to, nowOf(fiber), fiber)
        if (persist !== undefined) persist(key, r)
      }
      return Effect.void
    })

  const reset = (key: string = name): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      const r = store.get(key)
      if (r === undefined) return Effect.void
      clearWindow(r)
      r.openUntil = 0
      r.openings = 0
      r.lastOpenMs = 0
      r.backoffResetAt = 0
      r.probesAdmitted = 0
      r.probeSuccesses = 0
      r.rejected = 0
      r.opened = 0
      if (r.state !== "closed") transition(r, key, "closed", nowOf(fiber), fiber)
      else r.epoch++ // outcomes of calls admitted before the reset are not counted
      if (persist !== undefined) persist(key, r)
      return Effect.void
    })

  const state = (key: string = name): Effect.Effect<BreakerState> =>
    Effect.sync(() => store.get(key)?.state ?? "closed")

  const metrics = (key: string = name): Effect.Effect<BreakerMetrics> =>
    Effect.withFiber((fiber) => {
      const r = store.get(key)
      if (r === undefined) {
        return Effect.succeed<BreakerMetrics>({
          state: "closed",
          failureRate: 0,
          slowCallRate: 0,
          calls: 0,
          failedCalls: 0,
          slowCalls: 0,
          rejectedCalls: 0,
          openedCount: 0,
          retryAfterMs: undefined
        })
      }
      const now = nowOf(fiber)
      if (c.kind === TIME) advance(r, c, now)
      return Effect.succeed<BreakerMetrics>({
        state: r.state,
        failureRate: r.calls === 0 ? 0 : r.failures / r.calls,
        slowCallRate: r.calls === 0 ? 0 : r.slow / r.calls,
        calls: r.calls,
        failedCalls: r.failures,
        slowCalls: r.slow,
        rejectedCalls: r.rejected,
        openedCount: r.opened,
        retryAfterMs: r.state === "open" ? Math.max(0, r.openUntil - now) : undefined
      })
    })

  return {
    name,
    descriptor: describe(options, c),
    execute,
    state,
    metrics,
    isolate: manual("forced-open"),
    disable: manual("disabled"),
    reset,
    keys: () => Effect.sync(() => store.keys())
  }
}
