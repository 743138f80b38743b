/**
 * Internal: runs an effect as a reported group (a parallel block, a branch, a DAG node, a saga, a
 * batch item) in its own scope, so the steps inside get paths under the group's path.
 *
 * @internal
 * @module
 */
import { Clock, Effect, Exit } from "effect"
import { withService } from "../internal/WithService.ts"
import { FlowEvents, type StepKind } from "./FlowEvents.ts"
import { interpreterOf } from "./internal/Interpreter.ts"
import { afterExit, child, claim, CurrentScope, emit, parkedBy, type StepScope } from "./RunScope.ts"
import { reportFailureAt } from "./Step.ts"

/** Options for a group: its condition text and dependencies for plans, its saga stack. */
export interface GroupOptions {
  readonly description?: string | undefined
  readonly needs?: ReadonlyArray<string> | undefined
  readonly condition?: string | undefined
  readonly saga?: StepScope["saga"]
}

/** Claims `name` in the current scope and runs `body` (given the group's path) as a group. */
export const group = <A, E, R>(
  name: string,
  kind: StepKind,
  body: (path: string, scope: StepScope) => Effect.Effect<A, E, R>,
  options?: GroupOptions
): Effect.Effect<A, E, R> =>
  CurrentScope.use((scope) =>
    Effect.flatMap(claim(scope, name), (path) => runGroup(scope, path, kind, body, options))
  )

/** Runs `body` as the group at `path` (already claimed) in `scope`. */
export const runGroup = <A, E, R>(
  scope: StepScope,
  path: string,
  kind: StepKind,
  body: (path: string, scope: StepScope) => Effect.Effect<A, E, R>,
  options?: GroupOptions
): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) => {
    interpreterOf(scope).meet(path, kind, options ?? noOptions)
    const inner = child(scope, path, options?.saga !== undefined ? { saga: options.saga } : undefined)
    const run = scope.run
    // Nobody listens to a run that has no listener: no events, no clock reads.
    const outside = run === undefined ? fiber.getRef(FlowEvents) : undefined
    const sink = run === undefined ? outside!.emit : run.listening ? run.emit : undefined
    const clock = fiber.getRef(Clock.Clock)
    const runId = run?.runId ?? ""
    const started = sink === undefined ? 0 : clock.currentTimeMillisUnsafe()
    sink?.({ _tag: "StepStarted", runId, at: started, path, kind })
    // Reported on any exit, interruptions included (an interrupted group, a fail-fast sibling, is reported too).
    return afterExit(withService(Effect.suspend(() => body(path, inner)), CurrentScope, inner), (exit) => {
      const at = sink === undefined ? 0 : clock.currentTimeMillisUnsafe()
      if (Exit.isFailure(exit)) {
        // The engine parked the run (a durable wait): not a failure, the group goes on later.
        if (!parkedBy(fiber, exit)) reportFailureAt(scope, path, kind, at, at - started, exit.cause, outside)
      } else sink?.({ _tag: "StepSucceeded", runId, at, path, kind, durationMs: at - started, replayed: false })
    })
  })

const noOptions: GroupOptions = {}

/** Reports a group that did not run. */
export const skip = (scope: StepScope, path: string, kind: StepKind, why: string, options?: GroupOptions) =>
  Effect.suspend(() => {
    interpreterOf(scope).meet(path, kind, options ?? {})
    scope.run?.results.ended(path, { status: "skipped", why })
    return emit(scope, { _tag: "StepSkipped", path, kind, why })
  })
