/**
 * A flow's input at the door: decoded from its JSON form (the command line) or taken as already
 * typed (an app embedding the flow), with a typed `InvalidFlowInput` when it fits neither.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { firstIssue } from "../SchemaIssues.ts"
import { FlowError, InvalidFlowInput } from "./FlowError.ts"

/**
 * Decodes a flow's input from its JSON form (the command line), or takes it as already typed
 * (an app embedding the flow). When neither fits, the typed Schema's issue is the one reported:
 * it reads "Expected number, got \"x\"", where the JSON codec's would list the string forms of
 * non-finite numbers.
 *
 * @example
 * ```ts
 * const input = yield* decodeInput("cicd", Input, { branch: "main" })
 * ```
 */
export const decodeInput = <I extends Schema.Top>(flowName: string, schema: I, input: unknown): Effect.Effect<I["Type"], FlowError> =>
  (Schema.decodeUnknownEffect(Schema.toCodecJson(schema))(input) as Effect.Effect<I["Type"], Schema.SchemaError>).pipe(
    Effect.catch(() => Schema.decodeUnknownEffect(schema)(input) as Effect.Effect<I["Type"], Schema.SchemaError>),
    Effect.mapError((error) => {
      const { message, path } = firstIssue(error.issue)
      return new FlowError({ flow: flowName, reason: new InvalidFlowInput({ path, issue: message }) })
    })
  )
