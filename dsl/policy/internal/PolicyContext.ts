/**
 * What a policy may know about the call it wraps: whether repeating it is safe, and the keys
 * that partition breaker circuits, rate-limit buckets and cache entries.
 *
 * @example
 * ```ts
 * import * as PolicyContext from "./internal/PolicyContext.ts" // inside dsl/policy
 *
 * const ctx: PolicyContext.PolicyContext = { idempotent: true, key: "github.search" }
 * PolicyContext.isRepeatable(ctx) // => true
 * ```
 * @module
 */

/**
 * Facts about one call, usually taken from the tool contract's annotations
 * (`idempotentHint`, `readOnlyHint`) and its server/tool names. Every field is optional; a
 * missing `idempotent`/`readOnly` means "not known to be safe to repeat".
 *
 * @example
 * ```ts
 * const ctx: PolicyContext = { readOnly: true, key: "fs", cacheKey: Cache.key("fs.read_file", { path: "a" }) }
 * ```
 */
export interface PolicyContext {
  /** Repeating the call has the same effect as running it once. */
  readonly idempotent?: boolean | undefined
  /** The call has no side effect at all (implies idempotent). */
  readonly readOnly?: boolean | undefined
  /** Partition key for breakers and rate limits (e.g. the server key, or `server.tool`). */
  readonly key?: string | undefined
  /** Cache key (see `Cache.key`); without one the cache policy passes the call through. */
  readonly cacheKey?: string | undefined
}

/**
 * Whether the call is known to be safe to run more than once (idempotent or read-only).
 *
 * @example
 * ```ts
 * isRepeatable({ idempotent: false }) // => false
 * isRepeatable({ readOnly: true })    // => true
 * isRepeatable(undefined)             // => false
 * ```
 */
export const isRepeatable = (ctx: PolicyContext | undefined): boolean =>
  ctx !== undefined && (ctx.idempotent === true || ctx.readOnly === true)
