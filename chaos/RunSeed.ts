/**
 * The seed of everything random in one chaos run. A fault plan already fixes the injector's
 * decisions (its `seed`); the program's own randomness — retry and backoff jitter, hedging,
 * anything that reads Effect's `Random` service — must be fixed too, or a fixed search seed does
 * not give a fixed run. Each run gets a `Random` seeded from its plan's seed, so the same plan —
 * in a search, a shrink or a replay from a token — sees the same draws, and two plans of one
 * search (each drawn with its own seed) see different ones. The faults do not enter it: dropping
 * a fault that never fired (while shrinking) must leave the rest of the run as it was.
 *
 * @example
 * ```ts
 * import { Effect, Random } from "effect"
 * const draw = yield* Random.next.pipe(RunSeed.withPlanRandom(plan)) // the same number every time
 * ```
 * @module
 */
import { type Effect, Random } from "effect"
import type * as F from "./Fault.ts"
import * as Prng from "./Prng.ts"

/**
 * The seed of a plan's `Random`: a hash of the plan's seed (not of its faults).
 *
 * @example
 * ```ts
 * RunSeed.of(Fault.plan(7, [])) === RunSeed.of(Fault.plan(7, [Fault.hang("a.b")])) // => true
 * ```
 */
export const of = (plan: F.FaultPlan): number => Prng.hash(plan.seed, "random")

/**
 * Runs an effect with `Random` seeded from a plan (see {@link of}).
 *
 * @example
 * ```ts
 * program.pipe(RunSeed.withPlanRandom(plan))
 * ```
 */
export const withPlanRandom = (plan: F.FaultPlan): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> =>
  Random.withSeed(of(plan))
