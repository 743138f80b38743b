/**
 * A shortcut for the JSON codec of a contract's plain schemas: a struct of strings, finite
 * numbers, booleans, literals, nested structs and arrays of those, with no checks and no
 * transformations anywhere. For such a schema the JSON codec's decode and encode only validate
 * the value and copy the declared keys; this does the same without the schema parser's issue
 * bookkeeping, `Exit`s and per-node closures (it was a third of a contract call's own cost).
 *
 * It answers only when it is sure: for any value it does not fully understand (a missing key, an
 * `undefined`, a non-finite number, a wrong type, …) it returns {@link NotPlain} and the caller
 * runs the real codec, which produces the value or the precise issue. So a value it returns is
 * the one the codec would have produced (test/contracts/plainCodec.test.ts checks that against
 * the codec on arbitrary values).
 *
 * @example
 * ```ts
 * const copy = PlainCodec.make(Schema.Struct({ id: Schema.Number }).ast)
 * copy?.({ id: 1, extra: true }) // => { id: 1 }
 * copy?.({ id: "1" })            // => NotPlain (the codec reports the issue)
 * ```
 * @module
 */
import { Exit, type SchemaAST } from "effect"

/** "Not sure: ask the real codec." */
export const NotPlain: unique symbol = Symbol.for("mcpflow/PlainCodec/NotPlain")

/** Validates and copies a value, or answers {@link NotPlain}. */
export type Copy = (value: unknown) => unknown

const plainNode = (ast: SchemaAST.AST): boolean =>
  ast.checks === undefined && ast.encoding === undefined &&
  (ast.context === undefined || ast.context.constructorDefault === undefined)

const string: Copy = (v) => (typeof v === "string" ? v : NotPlain)
const number: Copy = (v) => (typeof v === "number" && Number.isFinite(v) ? v : NotPlain)
const boolean: Copy = (v) => (typeof v === "boolean" ? v : NotPlain)

/**
 * The copy of a value of `ast`, or `undefined` when `ast` is not plain (the caller keeps the
 * codec alone). `ast` is the schema's own AST (not its JSON codec's). `compile: false` keeps
 * structs as loops (what a platform without code generation gets; the tests check both).
 */
export const make = (ast: SchemaAST.AST, compile = true): Copy | undefined => {
  if (!plainNode(ast)) return undefined
  switch (ast._tag) {
    case "String":
      return string
    case "Number":
      return number
    case "Boolean":
      return boolean
    case "Literal": {
      const literal = ast.literal
      if (typeof literal === "bigint" || (typeof literal === "number" && !Number.isFinite(literal))) return undefined
      return (v) => (v === literal ? v : NotPlain)
    }
    case "Union": {
      // A union of literals (`Schema.Literals`): the value is one of them.
      if (ast.encodingChecks !== undefined) return undefined
      const literals: Array<unknown> = []
      for (const member of ast.types) {
        if (member._tag !== "Literal" || !plainNode(member)) return undefined
        const literal = member.literal
        if (typeof literal === "bigint" || (typeof literal === "number" && !Number.isFinite(literal))) return undefined
        literals.push(literal)
      }
      return (v) => (literals.includes(v) ? v : NotPlain)
    }
    case "Arrays": {
      if (ast.elements.length !== 0 || ast.rest.length !== 1 || ast.encodingChecks !== undefined) return undefined
      const item = make(ast.rest[0]!, compile)
      if (item === undefined) return undefined
      return (v) => {
        if (!Array.isArray(v)) return NotPlain
        const out: Array<unknown> = new Array(v.length)
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) return NotPlain
          const copied = item(v[i])
          if (copied === NotPlain) return NotPlain
          out[i] = copied
        }
        return out
      }
    }
    case "Objects": {
      if (ast.indexSignatures.length !== 0 || ast.encodingChecks !== undefined) return undefined
      const fields: Array<Field> = []
      for (const ps of ast.propertySignatures) {
        if (typeof ps.name !== "string" || ps.name === "__proto__") return undefined
        const optional = ps.type.context?.isOptional === true
        // `Schema.optional(X)` is `X | undefined`: an absent key is plain, a present one must be an X.
        const type = optional && ps.type._tag === "Union" && ps.type.types.some((t) => t._tag === "Undefined")
          ? optionalMember(ps.type)
          : ps.type
        if (type === undefined) return undefined
        const copy = make(type, compile)
        if (copy === undefined) return undefined
        fields.push({ name: ps.name, optional, copy, literal: type._tag === "Literal" ? type.literal : undefined })
      }
      return (compile ? compiled(fields) : undefined) ?? interpreted(fields)
    }
    default:
      return undefined
  }
}

interface Field {
  readonly name: string
  readonly optional: boolean
  readonly copy: Copy
  readonly literal: unknown
}

/**
 * A struct's copy as straight-line code with its key names as constants (`new Function`): V8
 * keeps one inline cache per key then, where a loop over the names goes megamorphic and costs
 * several times more. Key names are embedded as JSON string literals; `undefined` when the
 * platform forbids code generation.
 */
const compiled = (fields: ReadonlyArray<Field>): Copy | undefined => {
  const lines = [
    "if (typeof x !== 'object' || x === null || Array.isArray(x)) return N",
    "const p = Object.getPrototypeOf(x)",
    "if (p !== Object.prototype && p !== null) return N",
    "const o = {}",
    "let v"
  ]
  fields.forEach((field, i) => {
    const key = JSON.stringify(field.name)
    const check = field.copy === string
      ? "if (typeof v !== 'string') return N"
      : field.copy === number
      ? "if (typeof v !== 'number' || !isFinite(v)) return N"
      : field.copy === boolean
      ? "if (typeof v !== 'boolean') return N"
      : field.literal !== undefined
      ? `if (v !== L[${i}]) return N`
      : `v = C[${i}](v); if (v === N) return N`
    lines.push(`v = x[${key}]`)
    // An absent optional key is left out; a present `undefined` (or an absent required key) goes to the codec.
    lines.push(field.optional ? `if (v === undefined) { if (Object.hasOwn(x, ${key})) return N } else { ${check}; o[${key}] = v }` : `if (v === undefined) return N; ${check}; o[${key}] = v`)
  })
  lines.push("return o")
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const make = new Function("N", "L", "C", "isFinite", `return function copy(x) {\n${lines.join("\n")}\n}`) as (
      n: typeof NotPlain, l: ReadonlyArray<unknown>, c: ReadonlyArray<Copy>, isFinite: (n: number) => boolean
    ) => Copy
    return make(NotPlain, fields.map((f) => f.literal), fields.map((f) => f.copy), Number.isFinite)
  } catch {
    return undefined
  }
}

/** The same copy as a loop over the fields (where code generation is not allowed). */
const interpreted = (fields: ReadonlyArray<Field>): Copy => (v) => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return NotPlain
  const proto = Object.getPrototypeOf(v)
  if (proto !== Object.prototype && proto !== null) return NotPlain
  const record = v as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const field of fields) {
    const value = record[field.name]
    if (value === undefined) {
      if (field.optional && !Object.hasOwn(record, field.name)) continue
      return NotPlain
    }
    const copied = field.copy(value)
    if (copied === NotPlain) return NotPlain
    out[field.name] = copied
  }
  return out
}

/** The one member of `X | undefined` that is not `undefined`, when the union's own node is plain. */
const optionalMember = (union: SchemaAST.Union): SchemaAST.AST | undefined => {
  if (union.checks !== undefined || union.encoding !== undefined || union.encodingChecks !== undefined) return undefined
  const members = union.types.filter((t) => t._tag !== "Undefined")
  return members.length === 1 && union.types.length === 2 ? members[0] : undefined
}

/**
 * `codec` (a JSON codec's `decodeUnknownExit` or `encodeUnknownExit` for the schema of `ast`)
 * with the shortcut in front when the schema is plain.
 *
 * @example
 * ```ts
 * const decode = PlainCodec.withShortcut(Schema.Struct({ id: Schema.Number }).ast, Schema.decodeUnknownExit(Schema.toCodecJson(schema)))
 * ```
 */
export const withShortcut = <A, E>(
  ast: SchemaAST.AST,
  codec: (value: unknown) => Exit.Exit<A, E>
): (value: unknown) => Exit.Exit<A, E> => {
  const copy = make(ast)
  if (copy === undefined) return codec
  return (value) => {
    const copied = copy(value)
    return copied === NotPlain ? codec(value) : Exit.succeed(copied as A)
  }
}
