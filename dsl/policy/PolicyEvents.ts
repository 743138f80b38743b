/**
 * What resilience policies report while they work, and how they describe themselves to plans.
 *
 * Every policy emits {@link PolicyEvent}s through the {@link PolicyEvents} reference of the
 * calling fiber (a no-op unless a run report or a test provides one), and carries a
 * {@link PolicyDescriptor} that `mcpflow plan` renders.
 *
 * @module
 */
import { Context } from "effect"

/**
 * One thing a policy did. `policy` names the policy instance (e.g. `retry`, `breaker:docker`).
 *
 * @example
 * ```ts
 * const e: PolicyEvent = { _tag: "RetryScheduled", policy: "retry", attempt: 2, delayMs: 400, reason: "Timeout" }
 * ```
 */
export type PolicyEvent =
  | { readonly _tag: "RetryScheduled"; readonly policy: string; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly _tag: "AttemptFailed"; readonly policy: string; readonly attempt: number; readonly reason: string }
  | { readonly _tag: "RetryGaveUp"; readonly policy: string; readonly attempts: number; readonly reason: string }
  | { readonly _tag: "TimedOut"; readonly policy: string; readonly afterMs: number }
  | {
    readonly _tag: "BreakerTransition"
    readonly policy: string
    readonly key: string
    readonly from: string
    readonly to: string
    /** Set when the transition came from outside the calls: a hold (`"health: fs unhealthy"`) or its release. */
    readonly cause?: string | undefined
  }
  | {
    readonly _tag: "BreakerRejected"
    readonly policy: string
    readonly key: string
    readonly retryAfterMs?: number | undefined
    /** Why the circuit is held open from outside, when it is. */
    readonly heldBy?: string | undefined
  }
  | {
    /** A hold from outside (the gateway's health registry) was put on (`held`) or let go of; `state` after. */
    readonly _tag: "BreakerHeld"
    readonly policy: string
    readonly key: string
    readonly held: boolean
    readonly why: string
    readonly state: string
  }
  | { readonly _tag: "BulkheadQueued"; readonly policy: string; readonly pool: string; readonly inFlight: number; readonly queued: number }
  | { readonly _tag: "BulkheadRejected"; readonly policy: string; readonly pool: string; readonly why: "queue-full" | "wait-expired" }
  | { readonly _tag: "RateLimited"; readonly policy: string; readonly key: string; readonly delayMs: number; readonly rejected: boolean }
  | { readonly _tag: "HedgeStarted"; readonly policy: string; readonly hedge: number; readonly afterMs: number }
  | { readonly _tag: "FallbackUsed"; readonly policy: string; readonly served: string; readonly primaryFailure: string }
  | { readonly _tag: "CacheHit"; readonly policy: string; readonly key: string }
  | { readonly _tag: "CacheMiss"; readonly policy: string; readonly key: string }
  | {
    /**
     * A step whose policy retries (`step`) made a call of `tool` that has a circuit breaker of its
     * own (call options, contract, or gateway config): the step's retry runs outside the call's
     * breaker, not in the fixed order. Reported once per step and tool in a run.
     */
    readonly _tag: "PolicyOrder"
    readonly policy: string
    readonly step: string
    readonly tool: string
  }
  | {
    readonly _tag: "CapabilityDegraded"
    readonly policy: string
    readonly capability: string
    readonly preferred: string
    /** The alternative that served it; `undefined`: the capability is lost. */
    readonly servedBy: string | undefined
    readonly failures: ReadonlyArray<{ readonly by: string; readonly error: string }>
  }

/**
 * The warning for a step's retry around a call with a breaker (a {@link PolicyEvent} `PolicyOrder`,
 * or a plan's warning).
 *
 * @example
 * ```ts
 * retryAroundBreaker("deploy", "k8s.apply") // => "step \"deploy\" retries around k8s.apply, …"
 * ```
 */
export const retryAroundBreaker = (step: string, tool: string): string =>
  `step ${JSON.stringify(step)} retries around ${tool}, whose call has a circuit breaker: the step's retry runs outside the breaker ` +
  `(each retry is a new call through the circuit), not in the fixed order (breaker outside retry); put the retry on the call, ` +
  `or the breaker on the step`

/**
 * The sink policies emit into. Defaults to a no-op; the interpreter and tests provide their own.
 *
 * @example
 * ```ts
 * const seen: Array<PolicyEvent> = []
 * program.pipe(Effect.provideService(PolicyEvents, { emit: (e) => seen.push(e) }))
 * ```
 */
export const PolicyEvents = Context.Reference<{ readonly emit: (event: PolicyEvent) => void }>(
  "mcpflow/dsl/policy/PolicyEvents",
  { defaultValue: () => ({ emit: () => {} }) }
)

/**
 * How a policy describes itself to a plan: its kind and its settings, plain JSON.
 *
 * @example
 * ```ts
 * const d: PolicyDescriptor = { kind: "retry", settings: { maxAttempts: 3, backoff: "exponential 200ms×2 cap 5s", jitter: "full" } }
 * ```
 */
export interface PolicyDescriptor {
  readonly kind: "retry" | "timeout" | "breaker" | "bulkhead" | "rate-limit" | "fallback" | "hedge" | "cache"
  readonly settings: Readonly<Record<string, string | number | boolean | ReadonlyArray<string>>>
}
