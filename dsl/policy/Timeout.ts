/**
 * The timeout policy: a deadline for one attempt (inside retry) or for the whole call (outside
 * everything). On expiry the effect is interrupted — for an MCP call the interruption becomes a
 * cancellation sent to the server — and, once it has stopped, the policy fails with
 * {@link PolicyTimeout}, which counts as transient (and as "may have reached the server") for
 * retry. Emits `TimedOut`.
 *
 * Built on `Effect.timeoutOrElse` (a race with a `Clock` sleep, so TestClock drives it); it adds
 * the typed, named error and the event.
 *
 * @example
 * ```ts
 * import { TimeoutPolicy } from "mcpflow" // `Timeout` is the tool error reason
 *
 * const perAttempt = TimeoutPolicy.make({ after: "5 seconds" })
 * const overall = TimeoutPolicy.make({ after: "30 seconds", scope: "overall", name: "budget" })
 * const value = yield* overall.apply(retry.apply(perAttempt.apply(call)))
 * ```
 * @module
 */
import { type Duration, Effect, Schema } from "effect"
import * as Millis from "./internal/Millis.ts"
import type { PolicyContext } from "./internal/PolicyContext.ts"
import type { PolicyDescriptor } from "./PolicyEvents.ts"
import { PolicyEvents } from "./PolicyEvents.ts"

/**
 * A timeout policy's deadline passed; the effect was interrupted. `scope` says whether it was
 * one attempt's deadline or the whole call's.
 *
 * @example
 * ```ts
 * const e = new PolicyTimeout({ policy: "timeout", afterMs: 5000, scope: "attempt" })
 * e.message   // => "timeout: the attempt timed out after 5000 ms"
 * e.transient // => true
 * ```
 */
export class PolicyTimeout extends Schema.TaggedError<PolicyTimeout>()("PolicyTimeout", {
  policy: Schema.String,
  afterMs: Schema.Number,
  scope: Schema.Literals(["attempt", "overall"])
}) {
  override get message(): string {
    return `${this.policy}: the ${this.scope === "attempt" ? "attempt" : "call (overall deadline)"} timed out after ${this.afterMs} ms`
  }
  /** Retrying can help (same shape as `McpflowToolError.transient`). */
  get transient(): boolean {
    return true
  }
  /** The interrupted call may already have had its side effect. */
  get mayHaveReachedServer(): boolean {
    return true
  }
}

/**
 * Settings of {@link make}.
 *
 * @example
 * ```ts
 * const options: TimeoutOptions = { after: "5 seconds", scope: "attempt" }
 * ```
 */
export interface TimeoutOptions {
  /** The deadline. */
  readonly after: Duration.Input
  /** `"attempt"` (default) inside retry, `"overall"` outside everything. */
  readonly scope?: "attempt" | "overall" | undefined
  /** Policy name in events, errors and descriptors (default `"timeout"`). */
  readonly name?: string | undefined
}

/**
 * A timeout policy.
 *
 * @example
 * ```ts
 * const t: Timeout = Timeout.make({ after: 500 })
 * const r = yield* Effect.flip(t.apply(Effect.never)) // PolicyTimeout after 500 ms
 * ```
 */
export interface Timeout {
  readonly _tag: "Timeout"
  readonly name: string
  readonly afterMs: number
  readonly scope: "attempt" | "overall"
  /** How the policy describes itself to plans. */
  readonly descriptor: PolicyDescriptor
  /** The options it was made from (for `Policy.merge`). */
  readonly options: TimeoutOptions
  /** Runs `self` with the deadline. */
  readonly apply: <A, E, R>(self: Effect.Effect<A, E, R>, ctx?: PolicyContext | undefined) => Effect.Effect<A, E | PolicyTimeout, R>
}

/**
 * Builds a timeout policy (a plain value). An infinite `after` disables it (the effect runs
 * unwrapped).
 *
 * @example
 * ```ts
 * const t = Timeout.make({ after: "2 seconds" })
 * ```
 */
export const make = (options: TimeoutOptions): Timeout => {
  const name = options.name ?? "timeout"
  const afterMs = Millis.from(options.after)
  const scope = options.scope ?? "attempt"
  const orElse = {
    duration: afterMs,
    orElse: () =>
      Effect.withFiber<never, PolicyTimeout>((fiber) => {
        fiber.getRef(PolicyEvents).emit({ _tag: "TimedOut", policy: name, afterMs })
        return Effect.fail(new PolicyTimeout({ policy: name, afterMs, scope }))
      })
  }
  const apply = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | PolicyTimeout, R> =>
    afterMs === Infinity ? self : Effect.timeoutOrElse(self, orElse)
  const settings: Record<string, string> = { after: Millis.format(afterMs), scope }
  if (name !== "timeout") settings.name = name
  return { _tag: "Timeout", name, afterMs, scope, descriptor: { kind: "timeout", settings }, options, apply }
}
