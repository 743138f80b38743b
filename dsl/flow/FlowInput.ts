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
 * A field the input's structs do not have is an error too (`Unknown field; did you mean
 * "image"?`): a misspelled option must not leave its default in place unsaid. `excess: "ignore"`
 * is for inputs already journaled (a run that resumes keeps the input it started with, even if
 * the flow has since dropped a field).
 *
 * @example
 * ```ts
 * const input = yield* decodeInput("cicd", Input, { branch: "main" })
 * ```
 */
export const decodeInput = <I extends Schema.Top>(
  flowName: string,
  schema: I,
  input: unknown,
  options?: { readonly excess?: "error" | "ignore" | undefined }
): Effect.Effect<I["Type"], FlowError> => {
  const excess = options?.excess ?? "error"
  const extra = excess === "error" ? fieldOfNoInput(schema, input) : undefined
  if (extra !== undefined) {
    return Effect.fail(new FlowError({ flow: flowName, reason: new InvalidFlowInput({ path: extra, issue: "Unknown field: this flow takes no input" }) }))
  }
  return (jsonDecoder(schema, excess)(input) as Effect.Effect<I["Type"], Schema.SchemaError>).pipe(
    Effect.catch(() =>
      Schema.decodeUnknownEffect(schema, { errors: "all", onExcessProperty: excess })(input) as Effect.Effect<I["Type"], Schema.SchemaError>
    ),
    Effect.mapError((error) => {
      const first = firstIssue(error.issue)
      const issues = locateIssues(error.issue).map(({ message, path }) => ({ path, issue: message }))
      return new FlowError({
        flow: flowName,
        reason: new InvalidFlowInput({ path: first.path, issue: first.message, issues: issues.length > 0 ? issues : undefined })
      })
    })
  )
}

/**
 * The first field given to a flow whose input is `Schema.Struct({})`: Schema lets such a struct
 * take any object (it reports no excess field for it), and a flow that takes no input is told so.
 */
const fieldOfNoInput = (schema: Schema.Top, input: unknown): string | undefined => {
  const ast = schema.ast
  if (ast._tag !== "Objects" || ast.propertySignatures.length > 0 || ast.indexSignatures.length > 0) return undefined
  if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined
  return Object.keys(input)[0]
}

type Decode = (input: unknown) => Effect.Effect<unknown, Schema.SchemaError>

/** The JSON decoder of each input Schema, built once per handling of unknown fields (a flow's input is decoded on every run). */
const decoders = { error: new WeakMap<Schema.Top, Decode>(), ignore: new WeakMap<Schema.Top, Decode>() }

const jsonDecoder = (schema: Schema.Top, excess: "error" | "ignore"): Decode => {
  let decode = decoders[excess].get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownEffect(Schema.toCodecJson(schema), { onExcessProperty: excess }) as Decode
    decoders[excess].set(schema, decode)
  }
  return decode
}
