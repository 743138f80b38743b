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
 * This module holds the public types, the settings constructors and `execute`; the machinery is
 * in `internal/breaker/`: one module per trip strategy behind `TripStrategy` (`ConsecutiveTrip`,
 * `CountWindowTrip`, `TimeWindowTrip`), the state machine (`CircuitStateMachine`), the settings
 * check (`BreakerSettings`), events (`BreakerEvents`) and metrics (`MetricsSnapshot`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "mcpflow"
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
import { Cause, type Duration, Effect, type Exit, type Fiber } from "effect"
import { type BreakerState, type BreakerStore, type CircuitRecord, memoryStore } from "./BreakerStore.ts"
import type { BreakerRejected } from "./internal/breaker/BreakerErrors.ts"
import { BreakerSettingsError } from "./internal/breaker/BreakerErrors.ts"
import * as BreakerEvents from "./internal/breaker/BreakerEvents.ts"
import * as MetricsSnapshot from "./internal/breaker/MetricsSnapshot.ts"
import * as BreakerSettings from "./internal/breaker/BreakerSettings.ts"
import type { Compiled } from "./internal/breaker/BreakerSettings.ts"
import * as CircuitStateMachine from "./internal/breaker/CircuitStateMachine.ts"
import { nowOf, Ticket } from "./internal/breaker/CircuitStateMachine.ts"
import { defaultClassify } from "./internal/breaker/DefaultClassifier.ts"
import type { PolicyDescriptor } from "./PolicyEvents.ts"

export type { BreakerState, BreakerStore, CircuitRecord } from "./BreakerStore.ts"
export { memoryStore } from "./BreakerStore.ts"

export { BreakerRejected, BreakerSettingsError } from "./internal/breaker/BreakerErrors.ts"
export { defaultClassify, ignoredToolErrors } from "./internal/breaker/DefaultClassifier.ts"

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
 * Classifies a call's exit. `durationMs` is the call's Clock time (measured only for a classifier
 * that declares it, or for slow-call tripping; else 0). An exit that is only
 * interruption is always `ignored` and never reaches a classifier.
 *
 * @example
 * ```ts
 * const classify: Classifier = (exit) => Exit.isSuccess(exit) ? "success" : "failure"
 * ```
 */
export type Classifier<A = unknown, E = unknown> = (exit: Exit.Exit<A, E>, durationMs: number) => Outcome

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
  /** Set when the transition came from a hold ({@link CircuitBreaker.hold}) or its release. */
  readonly cause?: string | undefined
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
 * yield* breaker.hold("health: docker unhealthy", "docker") // held open until release
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
  /** Back to closed, with counters, backoff and metrics cleared (and any hold let go of). */
  readonly reset: (key?: string) => Effect.Effect<void>
  /**
   * Holds the circuit open for a reason from outside the calls (`why`, e.g. a failed health
   * probe): a closed or half-open circuit opens, an open one stays open past its open duration,
   * and every call is rejected (`BreakerRejected` with `heldBy`) until {@link release}. A circuit
   * isolated or disabled by hand is left as it is. The opening does not count for the backoff.
   */
  readonly hold: (why: string, key?: string) => Effect.Effect<void>
  /**
   * Lets go of a hold: the circuit goes half-open (its trial calls decide whether it closes), or,
   * if real call failures opened it and their open duration is not over, stays open until then.
   * A release never closes a circuit.
   */
  readonly release: (key?: string) => Effect.Effect<void>
  /** Every key with a circuit. */
  readonly keys: () => Effect.Effect<ReadonlyArray<string>>
  /**
   * The closed-circuit path of `execute`, for a caller that runs the call in a frame of its own
   * and classifies the exit itself (the replica router: no finalizer, closure or Clock read per
   * call). The circuit of `key` when it is closed and its calls need no start time (no
   * slow-call tripping), else `undefined`: then go through `execute`. Read `circuit.epoch` when
   * the call starts and report the outcome with {@link recordClosed}; an interrupted call
   * reports nothing (`execute` counts it `ignored`).
   */
  readonly closedCircuit: (key: string) => CircuitRecord | undefined
  /**
   * Records the outcome of a call admitted by {@link closedCircuit} under `epoch`: the same
   * bookkeeping as `execute` (a stale epoch changes nothing; a failure may open the circuit).
   */
  readonly recordClosed: (circuit: CircuitRecord, key: string, epoch: number, outcome: Outcome, fiber: Fiber.Fiber<unknown, unknown>) => void
}

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
    const compiled = BreakerSettings.compile(options)
    if (compiled instanceof BreakerSettingsError) return yield* compiled
    return build(options, compiled)
  }
)

const build = (options: BreakerOptions, c: Compiled): CircuitBreaker => {
  const name = options.name
  const store = options.store ?? memoryStore()
  const machine = CircuitStateMachine.make(c, store, BreakerEvents.make(name, options.onTransition))
  const create = machine.newRecord
  const trip = c.trip
  const baseClassify: Classifier = options.classify ?? defaultClassify
  /**
   * Whether calls on a closed circuit need their duration: slow calls, or a classifier that may
   * read it (one that declares its second parameter, `durationMs`).
   */
  const timed = c.slowMs !== Infinity || (options.classify !== undefined && options.classify.length >= 2)

  const settle = (
    r: CircuitRecord,
    key: string,
    epoch: number,
    start: number,
    exit: Exit.Exit<unknown, unknown>,
    classify: Classifier,
    fiber: Fiber.Fiber<unknown, unknown>
  ): Effect.Effect<never> | undefined => {
    // `start` is NaN when nobody needs the call's duration; then a closed circuit whose trip
    // strategy needs no Clock reads it only if it opens.
    const measured = start === start
    const now = measured || trip.usesClock || r.state !== "closed" ? nowOf(fiber) : NaN
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
    machine.record(r, key, epoch, outcome, durationMs, now, fiber)
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
        const start = timed || (options?.classify !== undefined && options.classify.length >= 2) ? nowOf(fiber) : NaN
        return Effect.onExitPrimitive(self, (exit) => settle(r, key, epoch, start, exit, classify, fiber))
      }
      if (r.state === "disabled") return self
      // Push the finalizer first, then admit: a permit taken is always given back.
      const ticket = new Ticket()
      return Effect.onExitPrimitive(
        Effect.withFiber<A, E | BreakerRejected, R>((inner) => {
          const rejected = machine.admit(r, key, ticket, inner)
          return rejected === undefined ? self : Effect.fail(rejected)
        }),
        (exit) => ticket.epoch < 0 ? undefined : settle(r, key, ticket.epoch, ticket.start, exit, classify, fiber)
      )
    })

  const force = (to: "forced-open" | "disabled") => (key: string = name): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      machine.force(store.getOrCreate(key, create), key, to, fiber)
      return Effect.void
    })

  const hold = (why: string, key: string = name): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      machine.hold(store.getOrCreate(key, create), key, why, fiber)
      return Effect.void
    })

  const release = (key: string = name): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      const r = store.get(key)
      if (r !== undefined) machine.release(r, key, fiber)
      return Effect.void
    })

  const reset = (key: string = name): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      const r = store.get(key)
      if (r !== undefined) machine.reset(r, key, fiber)
      return Effect.void
    })

  /** Only a breaker without slow-call tripping has a closed path without a start time. */
  const untimed = c.slowMs === Infinity
  const closedCircuit = (key: string): CircuitRecord | undefined => {
    if (!untimed) return undefined
    const r = store.getOrCreate(key, create)
    return r.state === "closed" ? r : undefined
  }
  const recordClosed = (r: CircuitRecord, key: string, epoch: number, outcome: Outcome, fiber: Fiber.Fiber<unknown, unknown>): void =>
    machine.record(r, key, epoch, outcome, 0, trip.usesClock || r.state !== "closed" ? nowOf(fiber) : NaN, fiber)

  return {
    name,
    descriptor: BreakerSettings.describe(options, c),
    execute,
    closedCircuit,
    recordClosed,
    state: (key = name) => Effect.sync(() => store.get(key)?.state ?? "closed"),
    metrics: (key = name) => Effect.withFiber((fiber) => Effect.succeed(MetricsSnapshot.snapshot(store.get(key), trip, nowOf(fiber)))),
    isolate: force("forced-open"),
    disable: force("disabled"),
    reset,
    hold,
    release,
    keys: () => Effect.sync(() => store.keys())
  }
}
