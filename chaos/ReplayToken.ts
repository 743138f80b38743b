/**
 * Replay tokens: a fault plan as base64url JSON. The plan carries the seed of every decision (and
 * of the run's `Random`, see `RunSeed.ts`), so a token names one run exactly.
 *
 * @example
 * ```ts
 * const token = Chaos.tokenOf(plan)
 * Chaos.planOf(token) // => plan
 * ```
 * @module
 */
import * as F from "./Fault.ts"

/**
 * A replay token: the plan as base64url JSON (it carries the seed of every decision).
 *
 * @example
 * ```ts
 * const token = Chaos.tokenOf(plan)
 * Chaos.planOf(token) // => plan
 * ```
 */
export const tokenOf = (plan: F.FaultPlan): string => Buffer.from(JSON.stringify(F.encodePlan(plan)), "utf8").toString("base64url")

/**
 * The plan in a replay token (throws on a malformed token).
 *
 * @example
 * ```ts
 * Chaos.planOf("eyJzZWVkIjoxLCJmYXVsdHMiOltdfQ") // => { seed: 1, faults: [] }
 * ```
 */
export const planOf = (token: string): F.FaultPlan => F.decodePlan(JSON.parse(Buffer.from(token, "base64url").toString("utf8")))
