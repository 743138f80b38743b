/**
 * Internal: what running or planning a flow means. The combinators (step, group, parallel,
 * when, DAG, durable waits) say what they are; the run's interpreter decides what that does —
 * {@link running} runs and journals them, a planning interpreter (`Planning.ts`) records them
 * and walks every branch whatever the (sample) conditions say.
 *
 * @internal
 * @module
 */
import { Effect } from "effect"
import type { PolicyDescriptor } from "../../policy/PolicyEvents.ts"
import type { StepKind } from "../FlowEvents.ts"
import type { StepScope } from "../RunScope.ts"

/** What the DSL knows about a node of the flow when it meets it. */
export interface NodeInfo {
  readonly description?: string | undefined
  readonly compensated?: boolean | undefined
  readonly needs?: ReadonlyArray<string> | undefined
  readonly condition?: string | undefined
  /** Tools the node calls whatever the sample data (a batch's tool), listed in plans up front. */
  readonly tools?: ReadonlyArray<string> | undefined
}

/** What running or planning each of a flow's constructs means. */
export interface Interpreter {
  /** Steps, durable waits and signals are entries of the engine's journal. */
  readonly journals: boolean
  /** A step, a group, or a group that will not run, is met at `path`. */
  readonly meet: (path: string, kind: StepKind, node: NodeInfo) => void
  /** The policy layers around the step at `path`, outermost first. */
  readonly policies: (path: string, layers: ReadonlyArray<PolicyDescriptor>) => void
  /**
   * A step at `path` completed and has a compensation, `undo`: running keeps it for a failure
   * (the step registers it); planning walks it now, on the sample value.
   */
  readonly compensable: (path: string, undo: Effect.Effect<unknown, unknown>) => Effect.Effect<void>
  /** Whether a guarded body (a `when`, a DAG node's needs and condition) is entered. */
  readonly enters: (condition: () => boolean) => boolean
  /** Whether a failed DAG node lets the others go on (`continueOnError`). */
  readonly goesOnAfterFailure: (continueOnError: boolean) => boolean
  /**
   * Runs branches: running, concurrently and failing fast; planning, one after the other, each
   * to its end, then failing with the first failure.
   */
  readonly branches: <A, E, R>(
    branches: ReadonlyArray<Effect.Effect<A, E, R>>,
    options: { readonly concurrency: number | "unbounded" }
  ) => Effect.Effect<Array<A>, E, R>
}

/**
 * Running: steps are journaled, conditions decide, branches run concurrently.
 *
 * @example
 * ```ts
 * running.enters(() => false) // => false
 * ```
 */
export const running: Interpreter = {
  journals: true,
  meet: () => {},
  policies: () => {},
  compensable: () => Effect.void,
  enters: (condition) => condition(),
  goesOnAfterFailure: (continueOnError) => continueOnError,
  branches: (branches, { concurrency }) => Effect.all(branches, { concurrency })
}

/**
 * The interpreter of the run `scope` belongs to; outside any run, steps run (unjournaled).
 *
 * @example
 * ```ts
 * interpreterOf(scope).enters(() => condition)
 * ```
 */
export const interpreterOf = (scope: StepScope): Interpreter => scope.run?.interpreter ?? running
