/**
 * The failure hook: what a flow does when its body fails (alert someone, with what had been
 * done), reading the run's own step results instead of recording them a second time.
 *
 * @module
 */
import { Cause, Effect, Exit, Result } from "effect"
import { runGroup, skip } from "./Group.ts"
import { interpreterOf } from "./internal/Interpreter.ts"
import { claim, CurrentScope, isSuspension, renderCause, type StepScope } from "./RunScope.ts"
import { type StepResults, view } from "./StepResults.ts"

/**
 * What failed, as a failure hook sees it.
 *
 * @example
 * ```ts
 * const describe = (failure: FlowFailure<GateClosed>) => `${failure.failedStep ?? "the flow"}: ${failure.message}`
 * ```
 */
export interface FlowFailure<E> {
  readonly cause: Cause.Cause<E>
  /** One line: the error's message (for an alert). */
  readonly message: string
  /** The error's tag (`GateClosed`, `McpflowToolError.Timeout`, …), when it has one. */
  readonly errorTag?: string | undefined
  /** The first step (or gate) that failed in the failed effect (the body), by path. */
  readonly failedStep: string | undefined
}

/**
 * The one-line message of an error: its `message`, else its JSON form — as run reports render it.
 *
 * @example
 * ```ts
 * Flow.messageOf(new Error("disk full")) // => "disk full"
 * ```
 */
export const messageOf = (error: unknown): string => renderCause(Cause.fail(error)).error

/**
 * Runs `body`; when it fails (an interruption is not a failure), runs `hook` with the failure
 * and the run's step results so far — as the group `name` (default `"on failure"`), reported
 * as skipped when the body succeeds — then fails with the body's failure. The hook's own failure
 * is reported by its steps and does not replace the body's. A plan walks the hook.
 *
 * @example
 * ```ts
 * return yield* Flow.onFailure(pipeline, (failure, results) =>
 *   step("alert", Hub.send_alert({ message: failure.message, metadata: { partial_results: results.toJson() } })))
 * ```
 */
export const onFailure = <A, E, R, R2>(
  body: Effect.Effect<A, E, R>,
  hook: (failure: FlowFailure<E>, results: StepResults) => Effect.Effect<unknown, unknown, R2>,
  options?: { readonly name?: string | undefined; readonly description?: string | undefined }
): Effect.Effect<A, E, R | R2> =>
  Effect.gen(function*() {
    const scope = yield* CurrentScope
    const mark = scope.run?.results.size ?? 0
    const exit = yield* Effect.exit(body)
    if (yield* isSuspension(exit)) return yield* exit
    const path = yield* claim(scope, options?.name ?? "on failure")
    const condition = options?.description ?? "the flow failed"
    const failed = Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)
    if (interpreterOf(scope).enters(() => failed)) {
      const cause = Exit.isFailure(exit) ? exit.cause : Cause.empty
      const failure: FlowFailure<E> = failed
        ? describe(scope, cause, mark)
        : { cause, message: "(a plan walks the failure hook on sample data)", errorTag: undefined, failedStep: undefined }
      const results = view(scope.run?.results.snapshot() ?? new Map())
      yield* Effect.ignore(runGroup(scope, path, "when", () => Effect.suspend(() => hook(failure, results)), { condition }))
    } else {
      yield* skip(scope, path, "when", `not (${condition})`)
    }
    return yield* exit
  })

/** What failed: the error's message and tag, and the first step that failed since `mark`. */
const describe = <E>(scope: StepScope, cause: Cause.Cause<E>, mark: number): FlowFailure<E> => {
  const rendered = renderCause(cause)
  return { cause, message: rendered.error, errorTag: rendered.errorTag, failedStep: scope.run?.results.firstFailedSince(mark) }
}

/**
 * Runs `effect` and gives its outcome as a `Result`: its value, or what failed — the error, its
 * message and tag, and the first step (or gate) inside `effect` that failed — so that a flow can
 * say where it stopped without wrapping its steps to record it. An interruption is not a
 * failure: it interrupts.
 *
 * @example
 * ```ts
 * const deployed = yield* Flow.attempt(deploy(input))
 * if (Result.isFailure(deployed)) yield* publish(DeploymentFailed, { stage: deployed.failure.failedStep ?? "?", error: deployed.failure.message })
 * ```
 */
export const attempt = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Result.Result<A, FlowFailure<E>>, never, R> =>
  Effect.gen(function*() {
    const scope = yield* CurrentScope
    const mark = scope.run?.results.size ?? 0
    const exit = yield* Effect.exit(effect)
    if (Exit.isSuccess(exit)) return Result.succeed(exit.value)
    if ((yield* isSuspension(exit)) || Cause.hasInterruptsOnly(exit.cause)) return yield* (exit as Exit.Exit<never>)
    return Result.fail(describe(scope, exit.cause, mark))
  })
