/**
 * Reads the resilience traits any error may carry, without knowing its class: `transient`,
 * `mayHaveReachedServer` and `retryAfterMs` (the getters of `McpflowToolError`,
 * `PolicyTimeout`, `BulkheadRejected`, `RateLimitRejected`, and the breaker's `BreakerRejected`).
 *
 * @example
 * ```ts
 * import * as ErrorTraits from "./internal/ErrorTraits.ts" // inside dsl/policy
 *
 * ErrorTraits.isTransient(new PolicyTimeout({ policy: "t", afterMs: 5, scope: "attempt" })) // => true
 * ```
 * @module
 */
import { Predicate } from "effect"

const permanentReasons: ReadonlySet<string> = new Set(["InvalidInput", "InvalidOutput", "NotAllowed", "UnknownTool"])

/**
 * Whether the error says retrying can help (`error.transient === true`).
 *
 * @example
 * ```ts
 * isTransient({ transient: true }) // => true
 * isTransient(new Error("x"))      // => false
 * ```
 */
export const isTransient = (error: unknown): boolean =>
  Predicate.hasProperty(error, "transient") && error.transient === true

/**
 * Whether the failed call may have had its side effect (`error.mayHaveReachedServer === true`).
 *
 * @example
 * ```ts
 * mayHaveReachedServer(new PolicyTimeout({ policy: "t", afterMs: 5, scope: "attempt" })) // => true
 * ```
 */
export const mayHaveReachedServer = (error: unknown): boolean =>
  Predicate.hasProperty(error, "mayHaveReachedServer") && error.mayHaveReachedServer === true

/**
 * The delay the error asks for before the next attempt (`error.retryAfterMs`), if it is a
 * finite non-negative number.
 *
 * @example
 * ```ts
 * retryAfterMs({ retryAfterMs: 2000 }) // => 2000
 * retryAfterMs("boom")                 // => undefined
 * ```
 */
export const retryAfterMs = (error: unknown): number | undefined => {
  if (!Predicate.hasProperty(error, "retryAfterMs")) return undefined
  const ms = error.retryAfterMs
  return typeof ms === "number" && Number.isFinite(ms) && ms >= 0 ? ms : undefined
}

const reasonTag = (error: unknown): string | undefined =>
  Predicate.isTagged(error, "McpflowToolError") && Predicate.hasProperty(error, "reason") &&
    Predicate.hasProperty(error.reason, "_tag") && typeof error.reason._tag === "string"
    ? error.reason._tag
    : undefined

/**
 * Whether the error is a tool error that no retry can fix: `InvalidInput`, `InvalidOutput`,
 * `NotAllowed` or `UnknownTool` (nothing was sent, or the contract does not match).
 *
 * @example
 * ```ts
 * isPermanent(toolError(new NotAllowed({ server: "k8s", tool: "delete", allowed: [] }))) // => true
 * ```
 */
export const isPermanent = (error: unknown): boolean => {
  const tag = reasonTag(error)
  return tag !== undefined && permanentReasons.has(tag)
}

/**
 * A short label for events: the reason tag of a tool error, else the `_tag`, else the error
 * name, else the value's type.
 *
 * @example
 * ```ts
 * label(toolError(new ConnectionLost({ server: "a", tool: "b", detail: "x" }))) // => "ConnectionLost"
 * label(new PolicyTimeout({ policy: "t", afterMs: 1, scope: "attempt" }))     // => "PolicyTimeout"
 * ```
 */
export const label = (error: unknown): string => {
  const tag = reasonTag(error)
  if (tag !== undefined) return tag
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string") return error._tag
  if (error instanceof Error) return error.name
  return typeof error
}
