/**
 * At most once where it matters: a step that was in flight when its runner died (cluster engine)
 * is run again on another runner only when repeating it is safe: it is marked `idempotent: true`
 * (for instance because its calls carry a business key the server deduplicates), or it had read
 * `Flow.idempotencyKey` before its runner died (what it sent carried the key). It is then re-run
 * at most once per death and reported so (`StepStarted` with `rerunAfterCrash`). Otherwise the
 * step is not re-sent: it fails with {@link AmbiguousStep},
 * a typed failure like any other, so the saga around it compensates the steps that completed,
 * and a flow can settle it itself (look the outcome up, or ask a human).
 *
 * @module
 */
import { Schema } from "effect"

/**
 * A non-idempotent step was in flight when its runner died: it may or may not have had its
 * effect, and it was not run again. `reason` says why it is ambiguous (today only
 * `"runner-died"`: the process running it was lost mid-step).
 *
 * @example
 * ```ts
 * const failure = new AmbiguousStep({ runId: "r-1", path: "charge", reason: "runner-died" })
 * failure.message // => 'step "charge" of run r-1: its runner died mid-step; …'
 * ```
 */
export class AmbiguousStep extends Schema.TaggedError<AmbiguousStep>()("AmbiguousStep", {
  runId: Schema.String,
  path: Schema.String,
  reason: Schema.Literal("runner-died")
}) {
  override get message(): string {
    return `step ${JSON.stringify(this.path)} of run ${this.runId}: its runner died mid-step; it is not marked idempotent and had not read Flow.idempotencyKey, ` +
      `so it was not run again (it may or may not have had its effect): reconcile it, or mark the step idempotent ` +
      `or pass Flow.idempotencyKey to what it calls`
  }
}

/**
 * Whether a failure is an {@link AmbiguousStep} (it may have crossed a journal as plain JSON).
 *
 * @example
 * ```ts
 * yield* step("charge", charge).pipe(Effect.catchIf(isAmbiguousStep, () => step("look-up", findCharge)))
 * ```
 */
export const isAmbiguousStep = (u: unknown): u is AmbiguousStep =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === "AmbiguousStep"
