/**
 * What an interrupt of a durable run means (issue 13: a live cluster runner compensated a run whose
 * shard was moving to another runner). Only a cancel or a real failure compensates: a run the
 * engine suspended, or one its runner gave up (`RunState.givenUp`, or Effect Cluster's `Abandon`
 * annotation), is a suspension — nothing undone, the run resumes elsewhere.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit } from "effect"
import { Abandon } from "effect/cluster/ClusterSchema"
import * as Workflow from "effect/workflow/Workflow"
import { WorkflowInstance } from "effect/workflow/WorkflowEngine"
import { CurrentScope, isSuspension, type RunState } from "../../dsl/flow/RunScope.ts"

// The instance's workflow is not read by the check.
const workflow = { _tag: "giveUp" } as unknown as Workflow.Any

/** `isSuspension(exit)` inside a run: its engine instance and its run state. */
const judged = (exit: Exit.Exit<unknown, unknown>, options: { readonly givenUp?: boolean; readonly interrupted?: boolean; readonly suspended?: boolean }) => {
  const instance = WorkflowInstance.initial(workflow, "e1")
  instance.interrupted = options.interrupted === true
  instance.suspended = options.suspended === true
  const run = { runId: "r1", givenUp: options.givenUp } as unknown as RunState
  return isSuspension(exit).pipe(
    Effect.provideService(WorkflowInstance, instance),
    Effect.provideService(CurrentScope, { run, path: "", names: undefined, inActivity: false, saga: undefined })
  )
}

describe("an interrupted durable run", () => {
  it.effect("a plain interrupt is a cancel: it compensates", () =>
    Effect.gen(function*() {
      assert.isFalse(yield* judged(Exit.interrupt(1), {}))
    }))

  it.effect("a run its runner gave up (shutdown, shard moved) is a suspension: nothing compensated", () =>
    Effect.gen(function*() {
      assert.isTrue(yield* judged(Exit.interrupt(1), { givenUp: true }))
      // Effect Cluster's own abandon (the runner no longer owns the shard).
      const abandoned = Exit.failCause(Cause.annotate(Cause.interrupt(1), Context.make(Abandon, true)))
      assert.isTrue(yield* judged(abandoned, {}))
      assert.isTrue(yield* judged(Exit.interrupt(1), { suspended: true }))
    }))

  it.effect("a cancel through the engine (a durable interrupt) or a real failure always compensates", () =>
    Effect.gen(function*() {
      assert.isFalse(yield* judged(Exit.interrupt(1), { givenUp: true, interrupted: true }))
      assert.isFalse(yield* judged(Exit.fail("boom"), { givenUp: true }))
      assert.isFalse(yield* judged(Exit.failCause(Cause.combine(Cause.fail("boom"), Cause.interrupt(1))), { givenUp: true }))
    }))
})
