/**
 * A flow's input at the door: decoded from its JSON form (the command line) or taken as already
 * typed (an app embedding the flow), with a typed `InvalidFlowInput` when it fits neither.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { firstIssue, locateIssues } from "../SchemaIssues.ts"
import { FlowError, InvalidFlowInput } from "./FlowError.ts"

/**
 * Decodes a flow's input from its JSON form (the command line), or takes it as already typed
 * (an app embedding the flow). When neither fits, the typed Schema's issues are the ones
 * reported — all of them, the first as `path`/`issue`: they read "Expected number, got \"x\"",
 * where the JSON codec's would list the string forms of non-finite numbers.
 *
 * @example
 * ```ts
 * const input = yield* decodeInput("cicd", Input, { branch: "main" })
 * ```
 */
export const decodeInput = <I extends Schema.Top>(flowName: string, schema: I, input: unknown): Effect.Effect<I["Type"], FlowError> =>
  (jsonDecoder(schema)(input) as Effect.Effect<I["Type"], Schema.SchemaError>).pipe(
    Effect.catch(() => Schema.decodeUnknownEffect(schema, { errors: "all" })(input) as Effect.Effect<I["Type"], Schema.SchemaError>),
    Effect.mapError((error) => {
      const first = firstIssue(error.issue)
      const issues = locateIssues(error.issue).map(({ message, path }) => ({ path, issue: message }))
      return new FlowError({
        flow: flowName,
        reason: new InvalidFlowInput({ path: first.path, issue: first.message, issues: issues.length > 0 ? issues : undefined })
      })
    })
  )

/** The JSON decoder of each input Schema, built once (a flow's input is decoded on every run). */
const decoders = new WeakMap<Schema.Top, (input: unknown) => Effect.Effect<unknown, Schema.SchemaError>>()

const jsonDecoder = (schema: Schema.Top): (input: unknown) => Effect.Effect<unknown, Schema.SchemaError> => {
  let decode = decoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownEffect(Schema.toCodecJson(schema)) as (input: unknown) => Effect.Effect<unknown, Schema.SchemaError>
    decoders.set(schema, decode)
  }
  return decode
}
