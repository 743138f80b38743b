/**
 * The fallback policy: when the primary effect fails (optionally only for some failures), run an
 * alternative effect instead. The result can say which path served it
 * (`{ value, servedBy: "primary" | "fallback:<name>" }`); when both fail, the typed
 * {@link PolicyFallbackFailed} keeps both failures. Defects and interruptions are not caught. Emits
 * `FallbackUsed`.
 *
 * The alternative is any Effect — or a function of the primary's failure — so "fall back to
 * another `server.tool` with mapped input" is a thin wrapper: build the alternative call from the
 * primary's input and pass it here.
 *
 * Reuse note: Effect's `ExecutionPlan` retries the *same* effect with other services/layers; a
 * fallback to a *different* effect (another tool, a cached answer, a degraded mode) is what this
 * adds. Use `ExecutionPlan` when the alternative is "same call, other provider layer".
 *
 * @example
 * ```ts
 * import { Fallback } from "mcpflow"
 *
 * const r = yield* Fallback.orElse(Search.primary(q), { name: "mirror", alternative: Search.mirror(q), when: "transient" })
 * r.servedBy // => "primary" | "fallback:mirror"
 * ```
 * @module
 */
import { Effect, Function, Predicate, Schema } from "effect"
import { isTransient, label } from "./internal/ErrorTraits.ts"
import type { PolicyContext } from "./internal/PolicyContext.ts"
import type { PolicyDescriptor } from "./PolicyEvents.ts"
import { PolicyEvents } from "./PolicyEvents.ts"

/**
 * Both the primary and the fallback failed; `primary` and `fallback` are their errors (see
 * {@link PolicyFallbackFailed.Of} for their types).
 *
 * @example
 * ```ts
 * new PolicyFallbackFailed({ policy: "mirror", primary: "down", fallback: "also down" }).message
 * // => "fallback 'mirror': the primary failed (string) and so did the fallback (string)"
 * ```
 */
export class PolicyFallbackFailed extends Schema.TaggedError<PolicyFallbackFailed>()("PolicyFallbackFailed", {
  policy: Schema.String,
  primary: Schema.Unknown,
  fallback: Schema.Unknown
}) {
  override get message(): string {
    return `fallback '${this.policy}': the primary failed (${label(this.primary)}) and so did the fallback (${label(this.fallback)})`
  }
}

/**
 * Typed views of {@link PolicyFallbackFailed}.
 *
 * @example
 * ```ts
 * const e: PolicyFallbackFailed.Of<McpflowToolError, McpflowToolError> = error
 * e.primary.reason._tag
 * ```
 */
export declare namespace PolicyFallbackFailed {
  /** A {@link PolicyFallbackFailed} whose `primary` is an `E1` and `fallback` an `E2`. */
  export type Of<E1, E2> = PolicyFallbackFailed & { readonly primary: E1; readonly fallback: E2 }
}

/**
 * Which primary failures switch to the fallback: `"any"` (default) every typed failure,
 * `"transient"` those with `transient === true`, `"rejected"` those where nothing was sent
 * (`BreakerRejected`, `BulkheadRejected`, `RateLimitRejected`), `"breaker-rejected"` only the
 * breaker's rejection, or a predicate.
 *
 * @example
 * ```ts
 * const when: Condition<McpflowToolError> = (e) => e.reason._tag === "ServerUnavailable"
 * ```
 */
export type Condition<E> = "any" | "transient" | "rejected" | "breaker-rejected" | ((error: E) => boolean)

/**
 * A value and the path that served it.
 *
 * @example
 * ```ts
 * const s: Served<number> = { value: 1, servedBy: "fallback:cache" }
 * ```
 */
export interface Served<A> {
  readonly value: A
  readonly servedBy: "primary" | `fallback:${string}`
}

/**
 * Settings of {@link orElse} and {@link make}.
 *
 * @example
 * ```ts
 * const options: FallbackOptions<string, never, never, McpflowToolError> = {
 *   name: "canned",
 *   alternative: (e) => Effect.succeed(`degraded: ${e.message}`),
 *   when: "transient"
 * }
 * ```
 */
export interface FallbackOptions<A2, E2, R2, E = unknown> {
  /** Names the path in `servedBy` (`fallback:<name>`), events and errors. */
  readonly name: string
  /** The alternative, or a function of the primary's failure that builds it. */
  readonly alternative: Effect.Effect<A2, E2, R2> | ((error: E) => Effect.Effect<A2, E2, R2>)
  /** Which failures switch to the fallback (default `"any"`). */
  readonly when?: Condition<E> | undefined
}

const rejectedTags: ReadonlySet<string> = new Set(["BreakerRejected", "BulkheadRejected", "RateLimitRejected"])

const matches = <E>(when: Condition<E> | undefined, error: E): boolean => {
  if (when === undefined || when === "any") return true
  if (when === "transient") return isTransient(error)
  if (when === "breaker-rejected") return Predicate.isTagged(error, "BreakerRejected")
  if (when === "rejected") return Predicate.hasProperty(error, "_tag") && rejectedTags.has(String(error._tag))
  return when(error)
}

const run = <A, E, R, A2, E2, R2, B>(
  primary: Effect.Effect<A, E, R>,
  options: FallbackOptions<A2, E2, R2, E>,
  onPrimary: (a: A) => B,
  onFallback: (a: A2) => B
): Effect.Effect<B, E | PolicyFallbackFailed.Of<E, E2>, R | R2> => {
  const served = `fallback:${options.name}` as const
  return Effect.matchEffect(primary, {
    onSuccess: (a) => Effect.succeed(onPrimary(a)),
    onFailure: (error): Effect.Effect<B, E | PolicyFallbackFailed.Of<E, E2>, R2> => {
      if (!matches(options.when, error)) return Effect.fail(error)
      return Effect.withFiber((fiber) => {
        fiber.getRef(PolicyEvents).emit({ _tag: "FallbackUsed", policy: options.name, served, primaryFailure: label(error) })
        const alternative = Effect.isEffect(options.alternative) ? options.alternative : options.alternative(error)
        return Effect.matchEffect(alternative, {
          onSuccess: (a2) => Effect.succeed(onFallback(a2)),
          onFailure: (fallback) =>
            Effect.fail(new PolicyFallbackFailed({ policy: options.name, primary: error, fallback }) as PolicyFallbackFailed.Of<E, E2>)
        })
      })
    }
  })
}

/**
 * Runs `primary`; on a matching failure runs the alternative. Says which path served.
 * Data-first or data-last (in a `pipe`).
 *
 * @example
 * ```ts
 * const { value, servedBy } = yield* Fallback.orElse(primary, { name: "cache", alternative: cached })
 * const same = yield* primary.pipe(Fallback.orElse({ name: "cache", alternative: cached }))
 * ```
 */
export const orElse: {
  <A2, E2, R2, EO = unknown>(
    options: FallbackOptions<A2, E2, R2, EO>
  ): <A, E extends EO, R>(primary: Effect.Effect<A, E, R>) => Effect.Effect<Served<A | A2>, E | PolicyFallbackFailed.Of<E, E2>, R | R2>
  <A, E, R, A2, E2, R2>(
    primary: Effect.Effect<A, E, R>,
    options: FallbackOptions<A2, E2, R2, E>
  ): Effect.Effect<Served<A | A2>, E | PolicyFallbackFailed.Of<E, E2>, R | R2>
} = Function.dual(2, <A, E, R, A2, E2, R2>(
  primary: Effect.Effect<A, E, R>,
  options: FallbackOptions<A2, E2, R2, E>
): Effect.Effect<Served<A | A2>, E | PolicyFallbackFailed.Of<E, E2>, R | R2> =>
  run(
    primary,
    options,
    (value): Served<A | A2> => ({ value, servedBy: "primary" }),
    (value): Served<A | A2> => ({ value, servedBy: `fallback:${options.name}` })
  ))

/**
 * Like {@link orElse}, returning the plain value (the path is still reported by `FallbackUsed`).
 * Data-first or data-last (in a `pipe`).
 *
 * @example
 * ```ts
 * const value = yield* Fallback.orElseValue(primary, { name: "default", alternative: Effect.succeed([]) })
 * const same = yield* primary.pipe(Fallback.orElseValue({ name: "default", alternative: Effect.succeed([]) }))
 * ```
 */
export const orElseValue: {
  <A2, E2, R2, EO = unknown>(
    options: FallbackOptions<A2, E2, R2, EO>
  ): <A, E extends EO, R>(primary: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, E | PolicyFallbackFailed.Of<E, E2>, R | R2>
  <A, E, R, A2, E2, R2>(
    primary: Effect.Effect<A, E, R>,
    options: FallbackOptions<A2, E2, R2, E>
  ): Effect.Effect<A | A2, E | PolicyFallbackFailed.Of<E, E2>, R | R2>
} = Function.dual(2, <A, E, R, A2, E2, R2>(
  primary: Effect.Effect<A, E, R>,
  options: FallbackOptions<A2, E2, R2, E>
): Effect.Effect<A | A2, E | PolicyFallbackFailed.Of<E, E2>, R | R2> => run(primary, options, (a): A | A2 => a, (a): A | A2 => a))

/**
 * A fallback with a fixed alternative, as a policy value for `Policy.make`. Its `when` and
 * alternative function see the failure as `unknown` (inside a policy stack the primary can also
 * fail with a breaker, bulkhead, rate-limit or timeout error).
 *
 * @example
 * ```ts
 * const f: Fallback<string[], never, never> = Fallback.make({ name: "empty", alternative: Effect.succeed([]) })
 * const value = yield* f.apply(search)
 * ```
 */
export interface Fallback<A2, E2, R2> {
  readonly _tag: "Fallback"
  readonly name: string
  /** How the policy describes itself to plans. */
  readonly descriptor: PolicyDescriptor
  /** The options it was made from. */
  readonly options: FallbackOptions<A2, E2, R2, unknown>
  /** Runs `self`, falling back on a matching failure; returns the plain value. */
  readonly apply: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    ctx?: PolicyContext | undefined
  ) => Effect.Effect<A | A2, E | PolicyFallbackFailed.Of<E, E2>, R | R2>
  /** Runs `self`, falling back on a matching failure; says which path served. */
  readonly served: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Served<A | A2>, E | PolicyFallbackFailed.Of<E, E2>, R | R2>
}

/**
 * Builds a fallback policy (a plain value).
 *
 * @example
 * ```ts
 * const degraded = Fallback.make({ name: "degraded", alternative: Effect.succeed({ items: [] }), when: "rejected" })
 * ```
 */
export const make = <A2, E2, R2>(options: FallbackOptions<A2, E2, R2, unknown>): Fallback<A2, E2, R2> => ({
  _tag: "Fallback",
  name: options.name,
  descriptor: {
    kind: "fallback",
    settings: {
      name: options.name,
      when: typeof options.when === "function" ? "custom" : options.when ?? "any"
    }
  },
  options,
  apply: (self) => orElseValue(self, options),
  served: (self) => orElse(self, options)
})
