/**
 * The circuit breaker's default classifier (re-exported by `CircuitBreaker`): which call
 * outcomes count against a dependency's health.
 *
 * @example
 * ```ts
 * import { defaultClassify } from "./DefaultClassifier.ts"
 *
 * defaultClassify(Exit.succeed(1), 3) // => "success"
 * ```
 * @module
 */
import { Cause, Predicate } from "effect"
import { McpflowToolError, type ToolErrorReason } from "../../../ToolError.ts"
import type { Classifier } from "../../CircuitBreaker.ts"
import { BreakerRejected } from "./BreakerErrors.ts"

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
