/**
 * Where an engine whose runs move between processes counts the times each durable step's body
 * started (the cluster engine: a table in its Postgres). A step whose body starts a second time
 * for the same execution did not finish the first time — its runner died (or gave the run up)
 * mid-step, since a finished step is replayed from the journal and its body never starts again.
 * That is how a step is reported as "re-run after its runner died" and how the at-most-once rule
 * is enforced (see `AmbiguousStep`). Engines whose runs stay in one process have no ledger: they
 * learn what a crash left in flight from the run journal at resume.
 *
 * A start also waits while the step's body still runs elsewhere on a live process (a runner that
 * gave the run up on a rebalance, its shard moved, lets the body it runs finish): the body's
 * outcome, recorded with {@link StepLedger.finished}, then comes back instead of a second start.
 *
 * @example
 * ```ts
 * const ledger: StepLedger = {
 *   started: () => Effect.succeed({ starts: 1, keyed: false, finished: undefined }),
 *   finished: () => Effect.void,
 *   keyed: () => Effect.void
 * }
 * ```
 * @module
 */
import type { Effect, Scope } from "effect"

/**
 * How a step's body ended, in its journal's JSON form: its value, or its typed error.
 *
 * @example
 * ```ts
 * const outcome: StepOutcome = { _tag: "Success", value: 6 }
 * ```
 */
export type StepOutcome =
  | { readonly _tag: "Success"; readonly value: unknown }
  | { readonly _tag: "Failure"; readonly error: unknown }

/**
 * Counts the starts of durable steps' bodies.
 *
 * @example
 * ```ts
 * const { starts, keyed } = yield* ledger.started(instance.executionId, "deploy/apply") // starts 1: first time
 * ```
 */
export interface StepLedger {
  /**
   * Records that the body of the step `path` of the execution starts now (before it does
   * anything) and returns how many times it has started, this time included, and whether an
   * earlier start read the step's `Flow.idempotencyKey` (see {@link keyed}). Dies if the start
   * cannot be recorded: a body must not run unrecorded.
   *
   * The step is held by this start until the scope closes: another start of it waits meanwhile
   * (one whose process died holds it no longer). When an earlier start's outcome was recorded
   * ({@link finished}), it is returned in `finished` and nothing is counted: the body must not run.
   */
  readonly started: (executionId: string, path: string) => Effect.Effect<
    { readonly starts: number; readonly keyed: boolean; readonly finished: StepOutcome | undefined },
    never,
    Scope.Scope
  >
  /** Records how the body of the step `path`, held by this process, ended (before it is released). */
  readonly finished: (executionId: string, path: string, outcome: StepOutcome) => Effect.Effect<void>
  /**
   * Records that the running step at `path` (or the journaled step it is nested in) read its
   * idempotency key: what it sends from now on carries the key, so a re-run is safe.
   */
  readonly keyed: (executionId: string, path: string) => Effect.Effect<void>
}
