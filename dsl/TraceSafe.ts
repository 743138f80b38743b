/**
 * Marking a contract's input fields safe to show in traces. A tool call's span never carries
 * its arguments, except the top-level input fields whose Schema is marked with {@link traceSafe}
 * (an environment name, a service, a dry-run flag): those appear as `mcpflow.arg.<field>`.
 *
 * @module
 */
import type { Schema } from "effect"

/**
 * The Schema annotation key that marks a field safe for traces.
 *
 * @example
 * ```ts
 * Schema.String.annotate({ [traceSafeKey]: true })
 * ```
 */
export const traceSafeKey = "mcpflow/traceSafe"

/**
 * Marks a field's Schema safe to show in a tool call's span (its value, when a string, number
 * or boolean).
 *
 * @example
 * ```ts
 * const input = Schema.Struct({ environment: Tool.traceSafe(Schema.String), token: Schema.String })
 * ```
 */
export const traceSafe = <S extends Schema.Top>(schema: S): S["Rebuild"] =>
  schema.annotate({ [traceSafeKey]: true })
