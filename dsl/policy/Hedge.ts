/**
 * The hedge policy: when the first attempt is slow, start another one in parallel (up to
 * `maxHedges`); the first success wins and the others are interrupted — and awaited, so no loser
 * is left running. Hedge `i` starts `delay` after hedge `i − 1` started, or at once when it
 * failed. The delay is fixed, or adaptive: the `percentile` of the latencies of the last
 * `window` successes (clamped to `min`/`max`), using `delay` until `minSamples` were seen. When
 * every attempt fails, the effect fails with their failures (the first typed one surfaces).
 *
 * Hedging runs the call more than once, so it is only done when the context says the call is
 * read-only or idempotent, unless `force: true`; otherwise the call runs once, unhedged.
 * Emits `HedgeStarted`.
 *
 * Built on `Effect.raceAll` (which interrupts and awaits the losers) and `Deferred`s for the
 * start chain; the delays are `Clock` sleeps (TestClock drives them).
 *
 * @example
 * ```ts
 * import { Hedge } from "mcpflow"
 *
 * const hedge = yield* Hedge.make({ delay: "200 millis", adaptive: { percentile: 0.95 }, maxHedges: 2 })
 * const result = yield* hedge.apply(Search.query(q), { readOnly: true })
 * ```
 * @module
 */
import { Clock, Deferred, type Duration, Effect, Exit } from "effect"
import * as LatencyWindow from "./internal/LatencyWindow.ts"
import * as Millis from "./internal/Millis.ts"
import { isRepeatable, type PolicyContext } from "./internal/PolicyContext.ts"
import type { PolicyDescriptor } from "./PolicyEvents.ts"
import { PolicyEvents } from "./PolicyEvents.ts"

/**
 * Settings of {@link make}. `maxHedges` is clamped to ≥ 0; `percentile` to (0, 1].
 *
 * @example
 * ```ts
 * const options: HedgeOptions = { delay: "100 millis", maxHedges: 1, adaptive: { percentile: 0.9, window: 200 } }
 * ```
 */
export interface HedgeOptions {
  /** Policy name in events and descriptors (default `"hedge"`). */
  readonly name?: string | undefined
  /** Delay before each hedge (and the adaptive delay until enough samples were seen). */
  readonly delay: Duration.Input
  /** Extra attempts at most (default 1). */
  readonly maxHedges?: number | undefined
  /** Derive the delay from observed success latencies. */
  readonly adaptive?: {
    /** E.g. 0.95 for p95. */
    readonly percentile: number
    /** Successes remembered (default 100). */
    readonly window?: number | undefined
    /** Successes needed before the percentile is used (default 10). */
    readonly minSamples?: number | undefined
    readonly min?: Duration.Input | undefined
    readonly max?: Duration.Input | undefined
  } | undefined
  /** Hedge even when the context does not say read-only/idempotent. */
  readonly force?: boolean | undefined
}

/**
 * A hedge policy. `currentDelayMs` is the delay the next call would use.
 *
 * @example
 * ```ts
 * const hedge: Hedge = yield* Hedge.make({ delay: 50 })
 * const value = yield* hedge.apply(call, { idempotent: true })
 * ```
 */
export interface Hedge {
  readonly _tag: "Hedge"
  readonly name: string
  readonly maxHedges: number
  readonly force: boolean
  readonly currentDelayMs: number
  /** How the policy describes itself to plans. */
  readonly descriptor: PolicyDescriptor
  /** The options it was made from. */
  readonly options: HedgeOptions
  /** Runs `self`, hedged when allowed. */
  readonly apply: <A, E, R>(self: Effect.Effect<A, E, R>, ctx?: PolicyContext | undefined) => Effect.Effect<A, E, R>
}

/**
 * Builds a hedge policy (it keeps the latency window of its adaptive delay).
 *
 * @example
 * ```ts
 * const hedge = yield* Hedge.make({ delay: "150 millis", maxHedges: 2 })
 * ```
 */
export const make = (options: HedgeOptions): Effect.Effect<Hedge> => Effect.sync(() => makeUnsafe(options))

/**
 * Builds a hedge policy outside Effect.
 *
 * @example
 * ```ts
 * const hedge = Hedge.makeUnsafe({ delay: 100 })
 * ```
 */
export const makeUnsafe = (options: HedgeOptions): Hedge => {
  const name = options.name ?? "hedge"
  const delayMs = Millis.from(options.delay)
  const maxHedges = options.maxHedges === undefined
    ? 1
    : Number.isFinite(options.maxHedges)
    ? Math.max(0, Math.floor(options.maxHedges))
    : 0
  const force = options.force ?? false
  const adaptive = options.adaptive
  const percentile = adaptive === undefined ? 1 : Math.min(1, Math.max(Number.EPSILON, adaptive.percentile))
  const minSamples = Math.max(1, Math.floor(adaptive?.minSamples ?? 10))
  const minMs = adaptive?.min === undefined ? 0 : Millis.from(adaptive.min)
  const maxMs = adaptive?.max === undefined ? Infinity : Millis.from(adaptive.max)
  const window = adaptive === undefined ? undefined : LatencyWindow.make(adaptive.window ?? 100)

  const currentDelay = (): number => {
    if (window === undefined || window.count < minSamples) return delayMs
    return Math.min(maxMs, Math.max(minMs, window.percentile(percentile) ?? delayMs))
  }

  const measured = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    window === undefined
      ? self
      : Effect.clockWith((clock) => {
        const start = clock.currentTimeMillisUnsafe()
        return Effect.tap(self, () => Effect.sync(() => window.record(clock.currentTimeMillisUnsafe() - start)))
      })

  const hedged = Effect.fnUntraced(function*<A, E, R>(self: Effect.Effect<A, E, R>) {
    const delay = currentDelay()
    const events = yield* PolicyEvents
    const clock = yield* Clock.Clock
    const attempts = maxHedges + 1
    const started = Array.from({ length: attempts }, () => Deferred.makeUnsafe<number>())
    const failed = Array.from({ length: attempts }, () => Deferred.makeUnsafe<void>())
    const body = measured(self)
    const runs: Array<Effect.Effect<A, E, R>> = []
    for (let i = 0; i < attempts; i++) {
      const attempt = body.pipe(
        Effect.onExit((exit) =>
          Exit.isFailure(exit) && !Exit.hasInterrupts(exit) ? Deferred.succeed(failed[i]!, undefined) : Effect.void
        )
      )
      if (i === 0) {
        runs.push(Effect.andThen(Effect.sync(() => Deferred.doneUnsafe(started[0]!, Effect.succeed(clock.currentTimeMillisUnsafe()))), attempt))
        continue
      }
      runs.push(
        Deferred.await(started[i - 1]!).pipe(
          Effect.flatMap((previousStart) =>
            Effect.raceFirst(Effect.sleep(delay), Deferred.await(failed[i - 1]!)).pipe(
              Effect.andThen(Effect.sync(() => {
                const now = clock.currentTimeMillisUnsafe()
                events.emit({ _tag: "HedgeStarted", policy: name, hedge: i, afterMs: now - previousStart })
                Deferred.doneUnsafe(started[i]!, Effect.succeed(now))
              }))
            )
          ),
          Effect.andThen(attempt)
        )
      )
    }
    return yield* Effect.raceAll(runs)
  })

  const apply = <A, E, R>(self: Effect.Effect<A, E, R>, ctx?: PolicyContext): Effect.Effect<A, E, R> => {
    if (maxHedges === 0 || (!force && !isRepeatable(ctx))) return self
    return hedged(self)
  }

  const settings: Record<string, string | number | boolean> = {
    delay: Millis.format(delayMs),
    maxHedges
  }
  if (adaptive !== undefined) {
    settings.adaptive = `p${Math.round(percentile * 1000) / 10} of last ${adaptive.window ?? 100}`
  }
  if (force) settings.force = true
  if (name !== "hedge") settings.name = name

  return {
    _tag: "Hedge",
    name,
    maxHedges,
    force,
    get currentDelayMs() {
      return currentDelay()
    },
    descriptor: { kind: "hedge", settings },
    options,
    apply
  }
}
