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
      const invalid = (path: string, issue: string) =>
        Exit.fail(new FlowError({ flow: flow.name, reason: new InvalidFlowOutput({ path, issue }) }))
      const output = state.output
      if (output?._tag === "Invalid") return invalid(output.path, output.issue)
      if (output?._tag === "Valid") return Exit.succeed(output.typed as O["Type"])
      // The body did not run here (the engine had its result): decode the JSON form the engine
      // hands back with the output Schema, its sealed parts opened first.
      const opened = state.journalSealer === undefined ? Result.succeed(exit.value) : state.journalSealer.openEncoded(exit.value)
      if (Result.isFailure(opened)) return invalid("", opened.failure)
      const decoded = yield* Effect.exit(jsonDecoder(flow.output)(opened.success))
      if (Exit.isFailure(decoded)) {
        const { message, path } = firstIssue((Cause.squash(decoded.cause) as Schema.SchemaError).issue)
        return invalid(path, message)
      }
      return Exit.succeed(decoded.value as O["Type"])
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

/**
 * The body's result checked against the output Schema: its JSON form (the `Redacted` parts
 * sealed where the run is journaled) is what the engine gets and journals; the typed value and
 * that form are kept in `state.output` for {@link settle} and the run's journal row. A result
 * that does not fit is remembered as such (the engine gets `null`): the run then fails with
 * `InvalidFlowOutput`, as a typed result it could not journal.
 */
export const checkOutput = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  state: RunState,
  value: unknown
): Effect.Effect<unknown> =>
  Effect.map(Effect.exit(jsonEncoder(flow.output)(value)), (encoded) => {
    if (Exit.isFailure(encoded)) {
      const { message, path } = firstIssue((Cause.squash(encoded.cause) as Schema.SchemaError).issue)
      state.output = { _tag: "Invalid", path, issue: message }
      return null
    }
    const json = state.journalSealer === undefined ? encoded.value : state.journalSealer.sealEncoded(encoded.value, value)
    state.output = { _tag: "Valid", typed: value, json }
    return json
  })

type Coder = (value: unknown) => Effect.Effect<unknown, Schema.SchemaError>

/** A Schema's coder, built once per Schema (a flow's output is checked on every run). */
const memoized = (make: (schema: Schema.Top) => Coder) => {
  const built = new WeakMap<Schema.Top, Coder>()
  return (schema: Schema.Top): Coder => {
    let coder = built.get(schema)
    if (coder === undefined) {
      coder = make(schema)
      built.set(schema, coder)
    }
    return coder
  }
}

/** The JSON encoder and decoder of each output Schema. */
const jsonEncoder = memoized((schema) => Schema.encodeUnknownEffect(Schema.toCodecJson(schema)) as Coder)
const jsonDecoder = memoized((schema) => Schema.decodeUnknownEffect(Schema.toCodecJson(schema)) as Coder)
