/**
 * Reads the input fields a contract marks safe for traces (`Tool.traceSafe`) into span
 * attributes `mcpflow.arg.<field>`; every other argument stays out of spans.
 *
 * @module
 */
import type { SchemaAST } from "effect"
import { traceSafeKey } from "../../../dsl/TraceSafe.ts"

interface AstLike {
  readonly _tag: string
  readonly annotations?: Readonly<Record<string, unknown>> | undefined
  readonly types?: ReadonlyArray<AstLike> | undefined
  readonly propertySignatures?: ReadonlyArray<{ readonly name: PropertyKey; readonly type: AstLike }> | undefined
}

const marked = (ast: AstLike): boolean =>
  ast.annotations?.[traceSafeKey] === true || (ast._tag === "Union" && (ast.types ?? []).some(marked))

const safeFields = new WeakMap<object, ReadonlyArray<string>>()

const fieldsOf = (schema: { readonly ast: SchemaAST.AST }): ReadonlyArray<string> => {
  let fields = safeFields.get(schema)
  if (fields === undefined) {
    const ast = schema.ast as unknown as AstLike
    fields = (ast.propertySignatures ?? []).filter((p) => typeof p.name === "string" && marked(p.type)).map((p) => p.name as string)
    safeFields.set(schema, fields)
  }
  return fields
}

/**
 * The span attributes of `input` under `schema`: the marked fields with a string, number or
 * boolean value; `undefined` when there are none.
 *
 * @example
 * ```ts
 * const In = Schema.Struct({ env: Tool.traceSafe(Schema.String), token: Schema.String })
 * traceSafeAttributes(In, { env: "prod", token: "s3cret" }) // => { "mcpflow.arg.env": "prod" }
 * ```
 */
export const traceSafeAttributes = (schema: { readonly ast: SchemaAST.AST }, input: unknown): Record<string, unknown> | undefined => {
  const fields = fieldsOf(schema)
  if (fields.length === 0 || typeof input !== "object" || input === null) return undefined
  let out: Record<string, unknown> | undefined
  for (const field of fields) {
    const value = (input as Record<string, unknown>)[field]
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      ;(out ??= {})[`mcpflow.arg.${field}`] = value
    }
  }
  return out
}
