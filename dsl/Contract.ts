/**
 * Typed contracts for MCP tools: a server key, a tool name, input and output Schemas and the
 * tool's annotations. A contract is itself a function: calling it gives an Effect that needs
 * an {@link McpGateway}.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Tool } from "mcpflow"
 *
 * const Docker = Tool.server("docker", {
 *   build: Tool.define({
 *     description: "Build an image",
 *     input: Schema.Struct({ context: Schema.String, tag: Schema.String }),
 *     output: Schema.Struct({ imageId: Schema.String }),
 *     annotations: { idempotent: true }
 *   })
 * })
 *
 * const program = Docker.build({ context: ".", tag: "app:1" }) // Effect<{ imageId: string }, McpflowToolError, McpGateway>
 * ```
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Exit, type JsonSchema, Schema, SchemaAST } from "effect"
import { type CallOptions, McpGateway } from "./ports/McpGateway.ts"
import * as PlainCodec from "./internal/PlainCodec.ts"
import { merge as mergePolicies, type PolicyInput } from "./policy/Policy.ts"
import { firstIssue } from "./SchemaIssues.ts"
import { InvalidInput, InvalidOutput, type McpflowToolError, toolError } from "./ToolError.ts"

/**
 * A Schema usable in a contract: any codec that needs no services to decode or encode.
 *
 * @example
 * ```ts
 * const s: ContractSchema = Schema.Struct({ path: Schema.String })
 * ```
 */
export interface ContractSchema extends Schema.ConstraintCodec<unknown, unknown, never, never> {}

/**
 * The MCP tool annotations a contract may declare (hints from the MCP spec).
 * `idempotent` and `readOnly` decide what retries, hedges and caches may do.
 *
 * @example
 * ```ts
 * const a: ToolAnnotations = { readOnly: true, openWorld: false }
 * ```
 */
export interface ToolAnnotations {
  readonly readOnly?: boolean | undefined
  readonly destructive?: boolean | undefined
  readonly idempotent?: boolean | undefined
  readonly openWorld?: boolean | undefined
}

/**
 * What `Tool.define` takes: everything of a contract but its server key.
 *
 * @example
 * ```ts
 * const def: ToolDefinition<typeof In, typeof Out> = { description: "…", input: In, output: Out }
 * ```
 */
export interface ToolDefinition<In extends ContractSchema, Out extends ContractSchema> {
  /** The tool's name on the server, when it differs from the property name (`get-sum`). */
  readonly name?: string | undefined
  readonly description: string
  readonly input: In
  readonly output: Out
  readonly annotations?: ToolAnnotations | undefined
  /**
   * The tool's resilience policy (data or instances, see `Policy`). Per kind it overrides the
   * server's policy from the gateway config and is overridden by a `server.tool` entry there
   * and by the call site's `policy`.
   */
  readonly policy?: ContractPolicy<Out> | undefined
}

/**
 * The policy a contract may carry: its fallback must produce the contract's output and may call
 * other tools.
 *
 * @example
 * ```ts
 * const p: ContractPolicy<typeof Out> = { retry: { maxAttempts: 3 }, timeout: "5s" }
 * ```
 */
export type ContractPolicy<Out extends ContractSchema> = PolicyInput<Out["Type"], unknown, McpGateway>

/**
 * Everything a contract knows, without its call signature: the type to accept when any
 * contract will do (lists for discovery checks, plans, fake servers).
 *
 * @example
 * ```ts
 * const all: ReadonlyArray<ContractInfo> = [Everything.echo, Filesystem.read_text_file]
 * ```
 */
export interface ContractInfo<In extends ContractSchema = ContractSchema, Out extends ContractSchema = ContractSchema> {
  readonly _tag: "ToolContract"
  /** The server key, as in `.mcp.json`. */
  readonly server: string
  /** The tool's name on the server. */
  readonly tool: string
  /** `server.tool`. */
  readonly name: string
  readonly description: string
  readonly input: In
  readonly output: Out
  readonly annotations: ToolAnnotations
  /** The tool's own resilience policy, if any (see {@link ToolDefinition.policy}). */
  readonly policy: ContractPolicy<Out> | undefined
  /** Encodes typed input into the JSON arguments sent to the server (nothing is sent on failure). */
  encodeInput(input: In["Type"]): Effect.Effect<Record<string, unknown>, McpflowToolError>
  /** Decodes a `tools/call` result: `structuredContent`, else one JSON text block, else plain text for a string output. */
  readonly decodeResult: (result: CallToolResult) => Effect.Effect<Out["Type"], McpflowToolError>
  /** The JSON Schema of the input, as published by fake servers and compared by discovery. */
  readonly inputJsonSchema: () => JsonSchema.JsonSchema
  /** The JSON Schema of the output. */
  readonly outputJsonSchema: () => JsonSchema.JsonSchema
}

/**
 * A typed contract for one tool of one server. Call it like a function.
 *
 * @example
 * ```ts
 * const Echo = Tool.make({ server: "everything", name: "echo", description: "Echo", input: Schema.Struct({ message: Schema.String }), output: Schema.String })
 * Echo({ message: "hi" }) // Effect<string, McpflowToolError, McpGateway>
 * Echo.name // => "everything.echo"
 * ```
 */
export interface ToolContract<In extends ContractSchema = ContractSchema, Out extends ContractSchema = ContractSchema>
  extends ContractInfo<In, Out>
{
  (input: In["Type"], options?: CallOptions<Out["Type"]>): Effect.Effect<Out["Type"], McpflowToolError, McpGateway>
}

/**
 * What `Tool.make` takes.
 *
 * @example
 * ```ts
 * const options: ToolOptions<typeof In, typeof Out> = { server: "fs", name: "read_file", description: "…", input: In, output: Out }
 * ```
 */
export interface ToolOptions<In extends ContractSchema, Out extends ContractSchema> extends ToolDefinition<In, Out> {
  readonly server: string
  readonly name: string
}

const isStringSchema = (schema: ContractSchema): boolean => SchemaAST.isString(SchemaAST.toType(schema.ast))

const textBlocks = (result: CallToolResult): ReadonlyArray<string> => {
  const texts: Array<string> = []
  for (const block of result.content ?? []) {
    if (block.type === "text") texts.push(block.text)
  }
  return texts
}

const parseJson = (text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

/**
 * A copy of `value` without the object keys whose value is `undefined` (at any depth): an
 * explicit `undefined` in a `Schema.optional` field means "not given", and the JSON codec would
 * otherwise send it as `null`, which servers reject (`expected number, received null`).
 */
const omitUndefined = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(omitUndefined)
  if (typeof value !== "object" || value === null) return value
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = omitUndefined(v)
  return out
}

const preview = (text: string) => (text.length > 120 ? `${JSON.stringify(text.slice(0, 120))}…` : JSON.stringify(text))

const makeContract = <In extends ContractSchema, Out extends ContractSchema>(
  options: ToolOptions<In, Out>
): ToolContract<In, Out> => {
  const server = options.server
  const tool = options.name
  const inputCodec = Schema.toCodecJson(options.input)
  const outputCodec = Schema.toCodecJson(options.output)
  const encode = Schema.encodeUnknownExit(inputCodec)
  const decode = Schema.decodeUnknownExit(outputCodec)
  const outputIsString = isStringSchema(options.output)
  // Plain schemas (no checks, no transformations) are validated and copied without the codec;
  // anything the shortcut is not sure of goes through the codec (see PlainCodec).
  const plainInput = PlainCodec.make(options.input.ast)
  const plainOutput = PlainCodec.make(options.output.ast)

  const invalidOutput = (path: string, issue: string) =>
    Effect.fail(toolError(new InvalidOutput({ server, tool, path, issue })))

  const decodeValue = (value: unknown): Effect.Effect<Out["Type"], McpflowToolError> => {
    if (plainOutput !== undefined) {
      const copied = plainOutput(value)
      if (copied !== PlainCodec.NotPlain) return Exit.succeed(copied as Out["Type"])
    }
    const exit = decode(value)
    // A successful Exit is itself the Effect of the value: no second allocation on the hot path.
    if (Exit.isSuccess(exit)) return exit as Exit.Exit<Out["Type"]>
    const error = exit.cause.reasons.find((r) => r._tag === "Fail")
    if (error?._tag === "Fail") {
      const located = firstIssue(error.error.issue)
      return invalidOutput(located.path, located.message)
    }
    return invalidOutput("", String(exit.cause))
  }

  const encodeInput = (input: In["Type"]): Effect.Effect<Record<string, unknown>, McpflowToolError> => {
    if (plainInput !== undefined) {
      const copied = plainInput(input)
      if (copied !== PlainCodec.NotPlain && typeof copied === "object" && copied !== null && !Array.isArray(copied)) {
        return Exit.succeed(copied as Record<string, unknown>)
      }
    }
    const exit = encode(omitUndefined(input))
    if (Exit.isSuccess(exit)) {
      const args = exit.value
      if (typeof args === "object" && args !== null && !Array.isArray(args)) {
        return exit as Exit.Exit<Record<string, unknown>>
      }
      return Effect.fail(
        toolError(new InvalidInput({ server, tool, path: "", issue: "a tool's arguments must encode to a JSON object" }))
      )
    }
    const error = exit.cause.reasons.find((r) => r._tag === "Fail")
    const located = error?._tag === "Fail" ? firstIssue(error.error.issue) : { path: "", message: String(exit.cause) }
    return Effect.fail(toolError(new InvalidInput({ server, tool, path: located.path, issue: located.message })))
  }

  const decodeResult = (result: CallToolResult): Effect.Effect<Out["Type"], McpflowToolError> => {
    if (result.structuredContent !== undefined) return decodeValue(result.structuredContent)
    const texts = textBlocks(result)
    if (texts.length === 1) {
      const parsed = parseJson(texts[0]!)
      if (parsed.ok) {
        const copied = plainOutput === undefined ? PlainCodec.NotPlain : plainOutput(parsed.value)
        if (copied !== PlainCodec.NotPlain) return Exit.succeed(copied as Out["Type"])
        const exit = decode(parsed.value)
        if (Exit.isSuccess(exit)) return exit as Exit.Exit<Out["Type"]>
        if (!outputIsString) return decodeValue(parsed.value)
      }
      if (outputIsString) return decodeValue(texts[0])
      return invalidOutput("", `expected structured content or one JSON text block, got text ${preview(texts[0]!)}`)
    }
    if (texts.length > 1 && outputIsString) return decodeValue(texts.join("\n"))
    if (texts.length === 0 && (result.content ?? []).length === 0) return decodeValue(undefined)
    return invalidOutput(
      "",
      `expected structured content or one JSON text block, got ${texts.length} text block(s) among ${(result.content ?? []).length} content block(s)`
    )
  }

  let inputJson: JsonSchema.JsonSchema | undefined
  let outputJson: JsonSchema.JsonSchema | undefined

  const call = (input: In["Type"], callOptions?: CallOptions<Out["Type"]>) =>
    McpGateway.use((gateway) => gateway.call(contract, input, callOptions))

  const contract: ToolContract<In, Out> = Object.assign(call, {
    _tag: "ToolContract" as const,
    server,
    tool,
    description: options.description,
    input: options.input,
    output: options.output,
    annotations: options.annotations ?? {},
    policy: options.policy,
    encodeInput,
    decodeResult,
    inputJsonSchema: () => (inputJson ??= Schema.toJsonSchemaDocument(options.input).schema),
    outputJsonSchema: () => (outputJson ??= Schema.toJsonSchemaDocument(options.output).schema)
  })
  // A function's own `name` is read-only; define ours as `server.tool`.
  Object.defineProperty(contract, "name", { value: `${server}.${tool}` })
  return contract
}

/**
 * Declares one tool contract.
 *
 * @example
 * ```ts
 * const ReadFile = Tool.make({
 *   server: "fs", name: "read_text_file", description: "Read a file",
 *   input: Schema.Struct({ path: Schema.String }), output: Schema.String,
 *   annotations: { readOnly: true }
 * })
 * ```
 */
export const make = <In extends ContractSchema, Out extends ContractSchema>(
  options: ToolOptions<In, Out>
): ToolContract<In, Out> => makeContract(options)

/**
 * Declares a tool without its server key, to be grouped with {@link server}.
 *
 * @example
 * ```ts
 * const sum = Tool.define({ name: "get-sum", description: "Add", input: Schema.Struct({ a: Schema.Number, b: Schema.Number }), output: Schema.String })
 * ```
 */
export const define = <In extends ContractSchema, Out extends ContractSchema>(
  definition: ToolDefinition<In, Out>
): ToolDefinition<In, Out> => definition

/**
 * The contracts of one server, by property name.
 *
 * @example
 * ```ts
 * type Fs = ServerContracts<{ read: ToolDefinition<typeof In, typeof Out> }> // { read: ToolContract<…> }
 * ```
 */
export type ServerContracts<Defs extends Record<string, ToolDefinition<ContractSchema, ContractSchema>>> = {
  readonly [K in keyof Defs]: Defs[K] extends ToolDefinition<infer In, infer Out> ? ToolContract<In, Out> : never
}

/**
 * Groups the contracts of one server under its key; each property becomes a callable contract
 * (the tool name is the property name unless the definition gives `name`).
 *
 * @example
 * ```ts
 * const Everything = Tool.server("everything", {
 *   echo: Tool.define({ description: "Echo", input: Schema.Struct({ message: Schema.String }), output: Schema.String }),
 *   sum: Tool.define({ name: "get-sum", description: "Add", input: Schema.Struct({ a: Schema.Number, b: Schema.Number }), output: Schema.String })
 * })
 * Everything.sum({ a: 1, b: 2 })
 * ```
 */
export const server = <const Defs extends Record<string, ToolDefinition<ContractSchema, ContractSchema>>>(
  key: string,
  definitions: Defs
): ServerContracts<Defs> => {
  const out: Record<string, ToolContract> = {}
  for (const [property, definition] of Object.entries(definitions)) {
    out[property] = makeContract({ ...definition, server: key, name: definition.name ?? property })
  }
  return out as ServerContracts<Defs>
}

/**
 * Lists the contracts of one or more {@link server} groups (for discovery checks and plans).
 *
 * @example
 * ```ts
 * yield* gateway.checkContracts(Tool.contractsOf(Everything, Filesystem))
 * ```
 */
export const contractsOf = (
  ...groups: ReadonlyArray<Readonly<Record<string, ContractInfo>>>
): ReadonlyArray<ContractInfo> => groups.flatMap((group) => Object.values(group))

/**
 * A copy of `contract` with a resilience policy: per kind, `policy` overrides the contract's own
 * (so `withPolicy(c, { retry: false })` removes just its retry). The original is unchanged.
 *
 * @example
 * ```ts
 * const Charge = Tool.withPolicy(Payments.charge, { timeout: "10s", breaker: { openDuration: "30s" } })
 * yield* Charge({ amount: 10 }) // same tool, with the policy
 * ```
 */
export const withPolicy = <In extends ContractSchema, Out extends ContractSchema>(
  contract: ToolContract<In, Out>,
  policy: ContractPolicy<Out>
): ToolContract<In, Out> =>
  makeContract({
    server: contract.server,
    name: contract.tool,
    description: contract.description,
    input: contract.input,
    output: contract.output,
    annotations: contract.annotations,
    policy: contract.policy === undefined ? policy : mergePolicies(contract.policy, policy)
  })

/**
 * Whether a value is a tool contract.
 *
 * @example
 * ```ts
 * isContract(Everything.echo) // => true
 * ```
 */
export const isContract = (u: unknown): u is ContractInfo =>
  typeof u === "function" && (u as { readonly _tag?: unknown })._tag === "ToolContract"
