/**
 * Ambiguous failures: a call that timed out, lost its answer or lost its connection may or may
 * not have had its effect. Retrying a non-idempotent call can repeat it; giving up can leave it
 * un-undone. These combinators settle the question by asking the server — the patterns the seed
 * sagas need for payments, reservations and their compensations.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import type { McpflowToolError } from "../ToolError.ts"

/**
 * Whether a call happened could not be found out: the call failed ambiguously and so did the
 * lookup. Reconcile by hand.
 *
 * @example
 * ```ts
 * new OutcomeUnknown({ action: "charge_card", key: "order:42:charge", callError: "timed out", lookupError: "server down" }).message
 * ```
 */
export class OutcomeUnknown extends Schema.TaggedError<OutcomeUnknown>()("OutcomeUnknown", {
  action: Schema.String,
  key: Schema.String,
  callError: Schema.String,
  lookupError: Schema.String
}) {
  override get message(): string {
    return `${this.action} for ${this.key}: unknown whether it happened (the call failed: ${this.callError}; ` +
      `the lookup failed: ${this.lookupError}); reconcile by hand`
  }
}

/** An error that leaves open whether the call had its effect (or, after retries, whether an earlier attempt did). */
const ambiguous = (e: McpflowToolError): boolean => e.mayHaveReachedServer || e.transient

/**
 * Runs `action`; when it failed ambiguously (it may have reached the server, or transiently: an
 * earlier attempt may have), asks `lookup` whether it happened: found → the step succeeds with
 * what was found; not found → the original failure; the lookup failed → {@link OutcomeUnknown}.
 * A refusal (`ToolFailed`, `InvalidInput`, …) means it did not happen: no lookup — unless
 * `lookupAfter: "any-failure"` (a retried action: an earlier attempt may have happened).
 *
 * @example
 * ```ts
 * const charge = yield* step("charge", resolveByLookup(
 *   Payment.charge_card({ order_id, amount_cents, idempotency_key: key }),
 *   Effect.map(Payment.find_charge({ idempotency_key: key }), (r) => (r.found ? r : undefined)),
 *   { action: "charge_card", key }
 * ))
 * ```
 */
export const resolveByLookup = <A, R, A2 = A, R2 = never>(
  action: Effect.Effect<A, McpflowToolError, R>,
  lookup: Effect.Effect<A2 | undefined, McpflowToolError, R2>,
  what: {
    readonly action: string
    readonly key: string
    /**
     * When to look up: after an ambiguous failure (the default), or after any failure — for an
     * action retried under a policy, whose earlier attempt may have had its effect even when its
     * last attempt was refused.
     */
    readonly lookupAfter?: "ambiguous" | "any-failure" | undefined
  }
): Effect.Effect<A | A2, McpflowToolError | OutcomeUnknown, R | R2> =>
  Effect.catchIf(action, what.lookupAfter === "any-failure" ? () => true : ambiguous, (callError) =>
    Effect.matchEffect(lookup, {
      onFailure: (lookupError) =>
        Effect.fail(new OutcomeUnknown({ action: what.action, key: what.key, callError: callError.message, lookupError: lookupError.message })),
      onSuccess: (found) => (found === undefined ? Effect.fail(callError) : Effect.succeed(found))
    }))

/**
 * Runs a compensation; when it failed ambiguously (its answer was lost or did not fit the
 * contract, or the server was unreachable after retries), reads the state back with `verify`:
 * undone → the compensation succeeded; otherwise its failure stands (and the run reports it).
 *
 * @example
 * ```ts
 * compensate: (c) => verifiedUndo(Payment.refund_charge({ charge_id: c.charge_id }),
 *   Effect.map(Payment.get_charge({ charge_id: c.charge_id }), (r) => r.status === "refunded"))
 * ```
 */
export const verifiedUndo = <A, R>(
  undo: Effect.Effect<A, McpflowToolError, R>,
  verify: Effect.Effect<boolean, McpflowToolError, R>
): Effect.Effect<unknown, McpflowToolError, R> =>
  Effect.catchIf(undo, ambiguous, (undoError) =>
    verify.pipe(
      Effect.orElseSucceed(() => false),
      Effect.flatMap((undone) => (undone ? Effect.void : Effect.fail(undoError)))
    ))
