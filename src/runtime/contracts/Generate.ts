/**
 * Contract generation: the tools a server publishes (`tools/list`: name, description, JSON Schema
 * of input and output, annotations) in, TypeScript source of `Tool.server(…)` contracts out.
 * Pure and deterministic: the same tools give the same bytes (tools sorted by name, no dates).
 *
 * The JSON-Schema-to-Effect-Schema work is Effect's (`JsonSchema.fromSchemaDraft07`,
 * `SchemaRepresentation.fromJsonSchemaMultiDocument`, `toCodeDocument`); this module only
 * pools the `$defs` of a whole file, closes objects, and lays the code out as contracts.
 *
 * Choices:
 * - Objects that declare `properties` become closed `Schema.Struct`s (the house style), also when
 *   the server leaves `additionalProperties` open: a contract sends only the fields it knows, and
 *   decoding a struct ignores (drops) extra fields of an answer. An object without `properties`
 *   stays a `Schema.Record(Schema.String, Schema.Json)`; an `additionalProperties` schema stays.
 * - A tool without an `outputSchema` gets `output: Schema.String`: `Tool.define` then decodes its
 *   text content (`"Echo: hi"`, or several text blocks joined by newlines).
 * - `pattern`s are applied (they are part of the server's contract).
 *
 * @example
 * ```ts
 * const source = yield* generateContracts([{ key: "everything", tools }], { toolImport: "mcpflow" })
 * ```
 * @module
 */
import { Effect, Schema } from "effect"
import * as JsonSchema from "effect/JsonSchema"
import * as SR from "effect/SchemaRepresentation"

/**
 * One tool as `tools/list` publishes it (the fields generation reads).
 *
 * @example
 * ```ts
 * const t: PublishedTool = { name: "echo", description: "Echo", inputSchema: { type: "object", properties: { message: { type: "string" } } } }
 * ```
 */
export interface PublishedTool {
  readonly name: string
  readonly description?: string | undefined
  readonly inputSchema: unknown
  readonly outputSchema?: unknown
  readonly annotations?: {
    readonly readOnlyHint?: boolean | undefined
    readonly destructiveHint?: boolean | undefined
    readonly idempotentHint?: boolean | undefined
    readonly openWorldHint?: boolean | undefined
  } | undefined
}

/**
 * A server key (as in `.mcp.json`) with the tools it publishes.
 *
 * @example
 * ```ts
 * const s: PublishedServer = { key: "memory", tools: [] }
 * ```
 */
export interface PublishedServer {
  readonly key: string
  readonly tools: ReadonlyArray<PublishedTool>
}

/**
 * What {@link generateContracts} takes besides the servers.
 *
 * @example
 * ```ts
 * const o: GenerateOptions = { toolImport: "mcpflow" }
 * ```
 */
export interface GenerateOptions {
  /** The module the generated file imports `{ Tool }` from (default `"mcpflow"`). */
  readonly toolImport?: string | undefined
}

/**
 * A published schema Effect cannot translate (an external `$ref`, an unsupported keyword…).
 *
 * @example
 * ```ts
 * new ContractGenerationError({ server: "fs", tool: "read", detail: "unsupported keyword: if" }).message
 * ```
 */
export class ContractGenerationError extends Schema.TaggedError<ContractGenerationError>()(
  "ContractGenerationError",
  { server: Schema.String, tool: Schema.String, detail: Schema.String }
) {
  override get message(): string {
    return `${this.server}.${this.tool}: cannot generate a contract: ${this.detail}`
  }
}

type Json = JsonSchema.JsonSchema

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const identifier = (raw: string): string => {
  const parts = raw.split(/[^A-Za-z0-9_$]+/).filter((p) => p.length > 0)
  const joined = parts.map((p, i) => (i === 0 ? p : p[0]!.toUpperCase() + p.slice(1))).join("")
  const safe = joined.length === 0 ? "_" : joined
  return /^[0-9]/.test(safe) ? `_${safe}` : safe
}

const pascal = (raw: string): string => {
  const id = identifier(raw)
  return id[0]!.toUpperCase() + id.slice(1)
}

const reserved = new Set([
  "Schema",
  "Tool",
  "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do", "else", "enum",
  "export", "extends", "false", "finally", "for", "function", "if", "import", "in", "instanceof", "new", "null",
  "return", "super", "switch", "this", "throw", "true", "try", "typeof", "var", "void", "while", "with", "yield",
  "let", "static", "implements", "interface", "package", "private", "protected", "public", "await", "arguments", "eval"
])

const fresh = (base: string, taken: Set<string>, avoidReserved = true): string => {
  let name = avoidReserved && reserved.has(base) ? `${base}_` : base
  for (let n = 2; taken.has(name); n++) name = `${base}${n}`
  taken.add(name)
  return name
}

/** Stable JSON: object keys sorted, for comparing definitions. */
const canonical = (u: unknown): string =>
  Array.isArray(u)
    ? `[${u.map(canonical).join(",")}]`
    : isRecord(u)
    ? `{${Object.keys(u).sort().map((k) => `${JSON.stringify(k)}:${canonical(u[k])}`).join(",")}}`
    : JSON.stringify(u) ?? "null"

/** Rewrites `#/$defs/<old>` references (and pointers below them) with `rename`. */
const renameRefs = (u: unknown, rename: ReadonlyMap<string, string>): unknown => {
  if (Array.isArray(u)) return u.map((x) => renameRefs(x, rename))
  if (!isRecord(u)) return u
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(u)) {
    if (k === "$ref" && typeof v === "string" && v.startsWith("#/$defs/")) {
      const [head, ...rest] = v.slice("#/$defs/".length).split("/")
      const to = rename.get(head!)
      out[k] = to === undefined ? v : ["#/$defs/" + to, ...rest].join("/")
    } else out[k] = renameRefs(v, rename)
  }
  return out
}

/** Objects with `properties` and an open `additionalProperties` become closed (see the module doc). */
const close = (schema: Json): Json => {
  if (isRecord(schema.properties) && (schema.additionalProperties === undefined || schema.additionalProperties === true)) {
    return { ...schema, additionalProperties: false }
  }
  return schema
}

const toDocument = (schema: unknown): JsonSchema.Document<"draft-2020-12"> => {
  const s: Json = isRecord(schema) ? (schema as Json) : {}
  const dialect = typeof s.$schema === "string" ? s.$schema : ""
  return dialect.includes("2020-12") || dialect.includes("2019-09")
    ? JsonSchema.fromSchemaDraft2020_12(s)
    : JsonSchema.fromSchemaDraft07(s)
}

const errorDetail = (e: unknown): string => (e instanceof Error ? e.message : String(e))

interface Root {
  readonly server: string
  readonly tool: string
  readonly schema: Json
}

/**
 * Pools the definitions of every root into one set of valid, unique TypeScript identifiers
 * (equal definitions of the same name are shared, different ones renamed).
 */
const pool = (
  docs: ReadonlyArray<{ readonly server: string; readonly tool: string; readonly doc: JsonSchema.Document<"draft-2020-12"> }>,
  taken: Set<string>
) => {
  const definitions: Record<string, Json> = {}
  const byContent = new Map<string, string>()
  const roots: Array<Root> = []
  for (const { doc, server, tool } of docs) {
    const rename = new Map<string, string>()
    const names = Object.keys(doc.definitions).sort()
    // First pick names, then rewrite refs (definitions may refer to each other).
    for (const name of names) {
      const key = `${name}\u0000${canonical(doc.definitions[name])}`
      const known = byContent.get(key)
      if (known !== undefined) rename.set(name, known)
      else {
        const chosen = fresh(pascal(name), taken)
        byContent.set(key, chosen)
        rename.set(name, chosen)
      }
    }
    for (const name of names) {
      const chosen = rename.get(name)!
      if (definitions[chosen] === undefined) {
        definitions[chosen] = renameRefs(doc.definitions[name], rename) as Json
      }
    }
    roots.push({ server, tool, schema: renameRefs(doc.schema, rename) as Json })
  }
  return { definitions, roots }
}

const annotationsCode = (tool: PublishedTool): string | undefined => {
  const a = tool.annotations
  if (a === undefined) return undefined
  const entries: Array<string> = []
  if (typeof a.readOnlyHint === "boolean") entries.push(`readOnly: ${a.readOnlyHint}`)
  if (typeof a.destructiveHint === "boolean") entries.push(`destructive: ${a.destructiveHint}`)
  if (typeof a.idempotentHint === "boolean") entries.push(`idempotent: ${a.idempotentHint}`)
  if (typeof a.openWorldHint === "boolean") entries.push(`openWorld: ${a.openWorldHint}`)
  return entries.length === 0 ? undefined : `{ ${entries.join(", ")} }`
}

const docComment = (text: string, indent: string): Array<string> => {
  const lines = text.replace(/\*\//g, "*\\/").split(/\r?\n/).map((l) => l.trimEnd())
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop()
  if (lines.length === 0) return []
  return [`${indent}/**`, ...lines.map((l) => (l === "" ? `${indent} *` : `${indent} * ${l}`)), `${indent} */`]
}

/**
 * TypeScript source of one `Tool.server("<key>", { … })` per server, with the shared `$defs` of
 * their schemas as named schemas before them. Fails with {@link ContractGenerationError} naming the
 * tool whose schema Effect cannot translate.
 *
 * @example
 * ```ts
 * const source = yield* generateContracts([{ key: "everything", tools: yield* gateway.listTools("everything") }])
 * // => "import { Schema } from \"effect\"\n…export const Everything = Tool.server(\"everything\", {…"
 * ```
 */
export const generateContracts = (
  servers: ReadonlyArray<PublishedServer>,
  options?: GenerateOptions
): Effect.Effect<string, ContractGenerationError> =>
  Effect.gen(function*() {
    const taken = new Set<string>()
    const serverNames = servers.map((s) => fresh(pascal(s.key), taken))
    const sorted = servers.map((s) => [...s.tools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))
    const docs: Array<{ server: string; tool: string; doc: JsonSchema.Document<"draft-2020-12"> }> = []
    for (const [i, s] of servers.entries()) {
      for (const tool of sorted[i]!) {
        for (const schema of tool.outputSchema === undefined ? [tool.inputSchema] : [tool.inputSchema, tool.outputSchema]) {
          const doc = yield* Effect.try({
            try: () => toDocument(schema),
            catch: (e) => new ContractGenerationError({ server: s.key, tool: tool.name, detail: errorDetail(e) })
          })
          docs.push({ server: s.key, tool: tool.name, doc })
        }
      }
    }
    const { definitions, roots } = pool(docs, taken)
    if (roots.length === 0) return render(options, servers, serverNames, sorted, [], { nonRecursives: [], recursives: {} })
    // Translate each root alone first, so a failure names its tool; then all together (shared $defs).
    for (const root of roots) {
      yield* Effect.try({
        try: () =>
          SR.fromJsonSchemaDocument({ dialect: "draft-2020-12", schema: root.schema, definitions }, {
            onEnter: close,
            patterns: "apply"
          }),
        catch: (e) => new ContractGenerationError({ server: root.server, tool: root.tool, detail: errorDetail(e) })
      })
    }
    const code = yield* Effect.try({
      try: () => {
        const schemas = SR.fromJsonSchemaMultiDocument({
          dialect: "draft-2020-12",
          schemas: roots.map((r) => r.schema) as unknown as readonly [Json, ...Array<Json>],
          definitions
        }, { onEnter: close, patterns: "apply" })
        return SR.toCodeDocument(SR.toRepresentations(schemas.map((s) => s.ast) as unknown as readonly [never, ...Array<never>]))
      },
      catch: (e) => new ContractGenerationError({ server: "*", tool: "*", detail: errorDetail(e) })
    })
    return render(options, servers, serverNames, sorted, code.codes.map((c) => c.runtime), code.references, code.artifacts)
  })

const render = (
  options: GenerateOptions | undefined,
  servers: ReadonlyArray<PublishedServer>,
  serverNames: ReadonlyArray<string>,
  sorted: ReadonlyArray<ReadonlyArray<PublishedTool>>,
  runtimes: ReadonlyArray<string>,
  references: SR.CodeDocument["references"],
  artifacts: ReadonlyArray<SR.Artifact> = []
): string => {
  const out: Array<string> = [
    "/**",
    " * Tool contracts generated by `mcpflow contracts generate` from the schemas the servers publish.",
    " * Do not edit: regenerate (`mcpflow check` reports drift).",
    " *",
    " * @module",
    " */",
    `import { Schema } from "effect"`,
    `import { Tool } from ${JSON.stringify(options?.toolImport ?? "mcpflow")}`
  ]
  for (const a of artifacts) if (a._tag === "Import") out.push(a.importDeclaration)
  for (const a of artifacts) {
    if (a._tag !== "Import") out.push("", `const ${a.identifier} = ${a.code.runtime}`)
  }
  for (const { $ref, code } of references.nonRecursives) {
    out.push("", `export type ${$ref} = ${code.Type}`, `export const ${$ref} = ${code.runtime}`)
  }
  for (const name of Object.keys(references.recursives).sort()) {
    const code = references.recursives[name]!
    out.push("", `export type ${name} = ${code.Type}`, `export const ${name}: Schema.Codec<${name}> = ${code.runtime}`)
  }
  let next = 0
  for (const [i, server] of servers.entries()) {
    out.push("")
    out.push(...docComment(`Contracts of the \`${server.key}\` server.`, ""))
    out.push(`export const ${serverNames[i]} = Tool.server(${JSON.stringify(server.key)}, {`)
    const properties = new Set<string>()
    const tools = sorted[i]!
    tools.forEach((tool, t) => {
      const property = fresh(identifier(tool.name), properties, false)
      const input = runtimes[next++]!
      const output = tool.outputSchema === undefined ? "Schema.String" : runtimes[next++]!
      const annotations = annotationsCode(tool)
      out.push(...docComment(tool.description ?? "", "  "))
      out.push(`  ${property}: Tool.define({`)
      if (property !== tool.name) out.push(`    name: ${JSON.stringify(tool.name)},`)
      out.push(`    description: ${JSON.stringify(tool.description ?? "")},`)
      out.push(`    input: ${input},`)
      out.push(`    output: ${output}${annotations === undefined ? "" : ","}`)
      if (annotations !== undefined) out.push(`    annotations: ${annotations}`)
      out.push(`  })${t === tools.length - 1 ? "" : ","}`)
    })
    out.push("})")
  }
  return out.join("\n") + "\n"
}
