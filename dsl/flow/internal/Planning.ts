/**
 * Internal: the planning interpreter (`mcpflow plan`): every construct the flow meets is
 * recorded as a plan node, every branch is walked whatever its (sample) condition, and nothing
 * is journaled.
 *
 * @internal
 * @module
 */
import { Effect, Result } from "effect"
import * as Recorder from "../PlanRecorder.ts"
import type { PlanState } from "../RunScope.ts"
import type { Interpreter } from "./Interpreter.ts"

/**
 * Plans into `plan`.
 *
 * @example
 * ```ts
 * const interpreter = planning({ nodes: new Map(), outside: [], notes: [] })
 * ```
 */
export const planning = (plan: PlanState): Interpreter => ({
  journals: false,
  meet: (path, kind, node) => Recorder.recordStep(plan, path, kind, node),
  policies: (path, layers) => Recorder.recordPolicies(plan, path, layers),
  // A plan shows what the compensation would call: walk it now, on sample data.
  compensable: (path, undo) =>
    Effect.suspend(() => {
      Recorder.recordStep(plan, `${path}/compensate`, "step", { description: "compensation" })
      return Effect.asVoid(Effect.exit(undo))
    }),
  // A plan explores the body whatever the (sample) condition says.
  enters: () => true,
  goesOnAfterFailure: () => true,
  // A plan walks every branch, one after the other, even past a failure.
  branches: (branches) =>
    Effect.flatMap(
      Effect.forEach(branches, (branch) => Effect.result(branch)),
      (results) => Effect.forEach(results, (r) => (Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(r.failure)))
    )
})
