/**
 * Internal: runs an effect as a reported group (a parallel block, a branch, a DAG node, a saga, a
 * batch item) in its own scope, so the steps inside get paths under the group's path.
 *
 * @internal
 * @module
 */
import { Effect, Exit } from "effect"
import type { StepKind } from "./FlowEvents.ts"
import { interpreterOf } from "./internal/Interpreter.ts"
import { child, claim, CurrentScope, emit, isSuspension, now, type StepScope } from "./RunScope.ts"
import { reportFailure } from "./Step.ts"

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
  Effect.gen(function*() {
    interpreterOf(scope).meet(path, kind, options ?? {})
    const inner = child(scope, path, options?.saga !== undefined ? { saga: options.saga } : undefined)
    yield* emit(scope, { _tag: "StepStarted", path, kind })
    const started = yield* now
    // Reported while uninterruptible, so an interrupted group (a fail-fast sibling) is reported too.
    const exit = yield* Effect.uninterruptibleMask((restore) =>
      Effect.exit(restore(body(path, inner).pipe(Effect.provideService(CurrentScope, inner)))).pipe(
        Effect.tap((exit) =>
          Effect.flatMap(now, (at) =>
            Exit.isSuccess(exit)
              ? emit(scope, { _tag: "StepSucceeded", path, kind, durationMs: at - started, replayed: false })
              // The engine parked the run (a durable wait): not a failure, the group goes on later.
              : Effect.flatMap(isSuspension(exit), (parked) =>
                parked ? Effect.void : reportFailure(scope, path, kind, at - started, exit.cause)))
        )
      )
    )
    return yield* exit
  })

/** Reports a group that did not run. */
export const skip = (scope: StepScope, path: string, kind: StepKind, why: string, options?: GroupOptions) =>
  Effect.suspend(() => {
    interpreterOf(scope).meet(path, kind, options ?? {})
    scope.run?.results.set(path, { status: "skipped", why })
    return emit(scope, { _tag: "StepSkipped", path, kind, why })
  })
