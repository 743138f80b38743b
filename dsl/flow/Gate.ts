/**
 * Gates: named checks between the stages of a flow. A closed gate stops the flow with a typed
 * `GateClosed` naming the gate and why; it is reported as the step the run stopped at, and shows
 * in plans.
 *
 * @module
 */
import { Cause, Effect, Schema } from "effect"
import { interpreterOf } from "./internal/Interpreter.ts"
import { claim, CurrentScope, emit, now } from "./RunScope.ts"
import { reportFailure } from "./Step.ts"

/**
 * A gate stopped the flow: what ran before it does not allow going on.
 *
 * @example
 * ```ts
 * new GateClosed({ gate: "tests pass", reason: "3 tests failed" }).message
 * // => "stopped at the gate \"tests pass\": 3 tests failed"
 * ```
 */
export class GateClosed extends Schema.TaggedError<GateClosed>()("GateClosed", {
  gate: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `stopped at the gate ${JSON.stringify(this.gate)}: ${this.reason}`
  }
}

/**
 * Passes when `condition` holds; otherwise stops the flow with `GateClosed` (the gate's name and
 * `reason`). Reported as the step `name` of kind `"gate"` (the run's failed step when it closes);
 * a plan shows it and walks on past it.
 *
 * @example
 * ```ts
 * yield* Flow.gate("tests pass", test.success, `the tests failed (exit ${test.exit_code})`)
 * ```
 */
export const gate = (name: string, condition: boolean, reason: string | (() => string)): Effect.Effect<void, GateClosed> =>
  CurrentScope.use((scope) =>
    Effect.gen(function*() {
      const path = yield* claim(scope, name)
      const interpreter = interpreterOf(scope)
      interpreter.meet(path, "gate", {})
      yield* emit(scope, { _tag: "StepStarted", path, kind: "gate" })
      const started = yield* now
      if (interpreter.enters(() => condition)) {
        scope.run?.results.succeeded(path, null)
        return yield* emit(scope, { _tag: "StepSucceeded", path, kind: "gate", durationMs: (yield* now) - started, replayed: false })
      }
      const closed = new GateClosed({ gate: name, reason: typeof reason === "string" ? reason : reason() })
      yield* reportFailure(scope, path, "gate", (yield* now) - started, Cause.fail(closed))
      return yield* closed
    })
  )
