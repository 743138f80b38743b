/**
 * Internal: how a run ended — the engine's exit turned into the run's result (typed flow errors,
 * output validation), and the outcome its `FlowFinished` event and its journal row record.
 *
 * @internal
 * @module
 */
import { Cause, Effect, Exit, Option, Result, Schema } from "effect"
import { firstIssue } from "../../SchemaIssues.ts"
import type { Flow } from "../FlowDefinition.ts"
import { CompensationsFailed, FlowDefinition, FlowError, InvalidFlowOutput, NotResumable } from "../FlowError.ts"
import { renderCause, type RunState } from "../RunScope.ts"

/** Turns the engine's exit into the run's result: typed flow errors, output validation. */
export const settle = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  exit: Exit.Exit<unknown, unknown>,
  state: RunState
): Effect.Effect<Exit.Exit<O["Type"], E | FlowError>> =>
  Effect.gen(function*() {
    if (Exit.isFailure(exit) && state.failure !== undefined && !Cause.hasInterruptsOnly(exit.cause)) {
      exit = Exit.failCause(state.failure)
    }
    if (Exit.isSuccess(exit)) {
      const encoded = yield* Effect.exit(jsonEncoder(flow.output)(exit.value))
      if (Exit.isFailure(encoded)) {
        const error = Cause.squash(encoded.cause) as Schema.SchemaError
        const { message, path } = firstIssue(error.issue)
        return Exit.fail(new FlowError({ flow: flow.name, reason: new InvalidFlowOutput({ path, issue: message }) }))
      }
      return Exit.succeed(exit.value as O["Type"])
    }
    if (state.resume?.diverged !== undefined) {
      return Exit.fail(
        new FlowError({ flow: flow.name, reason: new NotResumable({ runId: state.runId, detail: state.resume.diverged }) })
      )
    }
    const defect = Option.getOrUndefined(Cause.findDefect(exit.cause).pipe(Result.getSuccess))
    if (defect instanceof FlowDefinition) {
      return Exit.fail(new FlowError({ flow: flow.name, reason: defect }))
    }
    if (state.compensationFailures.length > 0) {
      return Exit.fail(
        new FlowError({
          flow: flow.name,
          reason: new CompensationsFailed({
            original: messageOf(Cause.squash(exit.cause)),
            failures: [...state.compensationFailures]
          })
        })
      )
    }
    return exit as Exit.Exit<never, E>
  }) as never

/** How a run ended, as its `FlowFinished` event and its journal row say it. */
export interface Outcome {
  readonly outcome: "success" | "failure" | "interrupted"
  readonly error?: string
  readonly errorTag?: string
}

/** The outcome of a run's result. */
export const outcomeOf = (result: Exit.Exit<unknown, unknown>): Outcome => {
  if (Exit.isSuccess(result)) return { outcome: "success" }
  if (Cause.hasInterruptsOnly(result.cause)) return { outcome: "interrupted", error: "interrupted", errorTag: "Interrupted" }
  const rendered = renderCause(Cause.fail(Cause.squash(result.cause)))
  return { outcome: "failure", ...rendered }
}

const messageOf = (error: unknown): string => renderCause(Cause.fail(error)).error

/** The JSON encoder of each output Schema, built once (a flow's output is checked on every run). */
const encoders = new WeakMap<Schema.Top, (value: unknown) => Effect.Effect<unknown, Schema.SchemaError>>()

const jsonEncoder = (schema: Schema.Top): (value: unknown) => Effect.Effect<unknown, Schema.SchemaError> => {
  let encode = encoders.get(schema)
  if (encode === undefined) {
    encode = Schema.encodeUnknownEffect(Schema.toCodecJson(schema)) as (value: unknown) => Effect.Effect<unknown, Schema.SchemaError>
    encoders.set(schema, encode)
  }
  return encode
}
