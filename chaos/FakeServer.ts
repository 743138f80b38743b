/**
 * Fake MCP servers declared from the same tool contracts flows use. A fake is served by the
 * real SDK `Server` over `InMemoryTransport`, publishes its contracts' JSON Schemas in
 * `tools/list`, decodes arguments with the contracts' Schemas, and runs Effect handlers on the
 * context it was made in (so `TestClock`, `Random` and a test's services apply).
 *
 * @example
 * ```ts
 * const docker = yield* FakeServer.make("docker", [
 *   FakeServer.handle(Docker.build, ({ tag }) => Effect.succeed({ imageId: `sha256:${tag}` }))
 * ])
 * const Gateway = GatewayLayer.layer({ servers: { docker } })
 * ```
 * @module
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { CallToolRequestSchema, type CallToolResult, ListToolsRequestSchema, type Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import { Cause, Effect, Exit, Schema } from "effect"
import type { ContractInfo, ContractSchema } from "../dsl/Contract.ts"
import { firstIssue } from "../dsl/SchemaIssues.ts"
import type { InProcessServerConfig, ServerLimits } from "../src/gateway/ServerConfig.ts"

/**
 * A handler's way to answer `isError: true` with a message (what a real server does when a
 * tool fails).
 *
 * @example
 * ```ts
 * FakeServer.handle(Payments.charge, () => Effect.fail(new ToolRefusal({ text: "card declined" })))
 * ```
 */
export class ToolRefusal extends Schema.TaggedError<ToolRefusal>()("ToolRefusal", { text: Schema.String }) {}

/**
 * One tool of a fake server: its contract and the Effect that answers it.
 *
 * @example
 * ```ts
 * const h: ToolHandler = FakeServer.handle(Echo, ({ message }) => Effect.succeed(message))
 * ```
 */
export interface ToolHandler<R = never> {
  readonly contract: ContractInfo
  readonly run: (input: unknown) => Effect.Effect<unknown, ToolRefusal, R>
}

/**
 * Pairs a contract with its handler; input and output are typed by the contract.
 *
 * @example
 * ```ts
 * FakeServer.handle(Echo.echo, ({ message }) => Effect.succeed({ echoed: message, length: message.length }))
 * ```
 */
export const handle = <In extends ContractSchema, Out extends ContractSchema, R = never>(
  contract: ContractInfo<In, Out>,
  run: (input: In["Type"]) => Effect.Effect<Out["Type"], ToolRefusal, R>
): ToolHandler<R> => ({ contract, run: run as (input: unknown) => Effect.Effect<unknown, ToolRefusal, R> })

const textResult = (text: string, isError = false): CallToolResult => ({
  content: [{ type: "text", text }],
  ...(isError ? { isError: true } : {})
})

const isObjectSchema = (schema: unknown): boolean =>
  typeof schema === "object" && schema !== null && (schema as { readonly type?: unknown }).type === "object"

/**
 * The MCP `Tool` entry a contract publishes: name, description, JSON Schemas, annotations.
 *
 * @example
 * ```ts
 * toolListing(Echo.echo).inputSchema // => { type: "object", properties: { message: { type: "string" } }, required: ["message"], … }
 * ```
 */
export const toolListing = (contract: ContractInfo): McpTool => {
  const output = contract.outputJsonSchema()
  const a = contract.annotations
  return {
    name: contract.tool,
    description: contract.description,
    inputSchema: { ...contract.inputJsonSchema(), type: "object" } as McpTool["inputSchema"],
    ...(isObjectSchema(output) ? { outputSchema: output as McpTool["outputSchema"] } : {}),
    annotations: {
      readOnlyHint: a.readOnly,
      destructiveHint: a.destructive,
      idempotentHint: a.idempotent,
      openWorldHint: a.openWorld
    }
  }
}

interface CompiledTool<R> {
  readonly listing: McpTool
  readonly decode: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly encode: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly structured: boolean
  readonly run: (input: unknown) => Effect.Effect<unknown, ToolRefusal, R>
}

/**
 * Options of a fake server.
 *
 * @example
 * ```ts
 * FakeServer.make("ci", handlers, { name: "ci-sandbox", callTimeoutMs: 10_000 })
 * ```
 */
export interface FakeServerOptions extends ServerLimits {
  readonly name?: string | undefined
  readonly version?: string | undefined
}

/**
 * Builds an in-process server config serving `handlers`. Handlers run on the context this
 * Effect runs in; a new SDK `Server` is made for every (re)connection, state lives in the
 * handlers (e.g. a `Ref`), so it survives reconnects.
 *
 * @example
 * ```ts
 * const ci = yield* FakeServer.make("ci", [FakeServer.handle(Ci.build, () => Effect.succeed({ ok: true }))])
 * GatewayLayer.layer({ servers: { ci } })
 * ```
 */
export const make = <R = never>(
  key: string,
  handlers: ReadonlyArray<ToolHandler<R>>,
  options: FakeServerOptions = {}
): Effect.Effect<InProcessServerConfig, never, R> =>
  Effect.map(Effect.context<R>(), (context) => {
    const run = Effect.runPromiseExitWith(context)
    const tools = new Map<string, CompiledTool<R>>()
    for (const handler of handlers) {
      const c = handler.contract
      const listing = toolListing(c)
      tools.set(c.tool, {
        listing,
        decode: Schema.decodeUnknownExit(Schema.toCodecJson(c.input)),
        encode: Schema.encodeUnknownExit(Schema.toCodecJson(c.output)),
        structured: listing.outputSchema !== undefined,
        run: handler.run
      })
    }
    const listings = [...tools.values()].map((t) => t.listing)
    const makeServer = () => {
      const server = new Server(
        { name: options.name ?? `${key} (fake)`, version: options.version ?? "0.0.0" },
        { capabilities: { tools: {} } }
      )
      server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listings }))
      server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
        const tool = tools.get(request.params.name)
        if (tool === undefined) return textResult(`Tool ${request.params.name} not found`, true)
        const input = tool.decode(request.params.arguments ?? {})
        if (Exit.isFailure(input)) {
          const error = input.cause.reasons.find((r) => r._tag === "Fail")
          const located = error?._tag === "Fail" ? firstIssue(error.error.issue) : { path: "", message: "invalid" }
          return textResult(`Invalid arguments for ${request.params.name}${located.path ? ` at ${located.path}` : ""}: ${located.message}`, true)
        }
        const exit = await run(tool.run(input.value), { signal: extra.signal })
        if (Exit.isFailure(exit)) {
          const refusal = exit.cause.reasons.find((r) => r._tag === "Fail")
          return textResult(refusal?._tag === "Fail" ? refusal.error.text : `internal error: ${Cause.pretty(exit.cause)}`, true)
        }
        const encoded = tool.encode(exit.value)
        if (Exit.isFailure(encoded)) return textResult(`the fake produced output its contract rejects: ${String(encoded.cause)}`, true)
        const value = encoded.value
        if (tool.structured) {
          return { content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: value as Record<string, unknown> }
        }
        return textResult(typeof value === "string" ? value : JSON.stringify(value) ?? "null")
      })
      return server
    }
    return {
      type: "in-process" as const,
      make: makeServer,
      connectTimeoutMs: options.connectTimeoutMs,
      callTimeoutMs: options.callTimeoutMs,
      maxTotalTimeoutMs: options.maxTotalTimeoutMs
    }
  })
