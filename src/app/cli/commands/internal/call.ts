/**
 * `mcpflow call server.tool --args '{…}'`: calls one tool with raw JSON arguments and prints
 * its result. Exits 0 on success, 1 when the call failed (the tool's own error text, or the
 * typed reason, on stderr), 2 for a wrong command line or a bad config.
 *
 * @example
 * ```sh
 * mcpflow call everything.echo --args '{"message":"hi"}'
 * mcpflow call everything.get-sum --args @sum.json --json --timeout 5s
 * ```
 * @module
 */
import type { CallToolResult, Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import { type Duration, Effect, Option } from "effect"
import { nearMiss } from "../../../../../dsl/internal/Typos.ts"
import { McpGateway } from "../../../../../dsl/ports/McpGateway.ts"
import { McpflowToolError, ToolFailed, UnknownTool } from "../../../../../dsl/ToolError.ts"
import { defaultConfig, type ToolId } from "../../Flags.ts"
import { printJson, printLines } from "../../output.ts"
import { withGateway } from "./withGateway.ts"

/**
 * The text form of a result: `structuredContent` as pretty JSON when the tool returns it
 * (its text blocks then usually repeat the same data), else each content block — text as is,
 * embedded text resources as their text, anything else as a one-line summary.
 *
 * @example
 * ```ts
 * formatResult({ content: [{ type: "text", text: "Echo: hi" }] }) // => ["Echo: hi"]
 * ```
 */
export const formatResult = (result: CallToolResult): ReadonlyArray<string> => {
  if (result.structuredContent !== undefined) return [JSON.stringify(result.structuredContent, null, 2)]
  return (result.content ?? []).map((block) => {
    switch (block.type) {
      case "text":
        return block.text
      case "image":
      case "audio":
        return `[${block.type} ${block.mimeType}, ${block.data.length} base64 characters]`
      case "resource":
        return "text" in block.resource && typeof block.resource.text === "string"
          ? block.resource.text
          : `[resource ${block.resource.uri}${block.resource.mimeType ? ` (${block.resource.mimeType})` : ""}]`
      case "resource_link":
        return `[resource link ${block.uri}${block.name ? ` "${block.name}"` : ""}]`
      default:
        return `[${(block as { readonly type: string }).type} block]`
    }
  })
}

/**
 * What a person typing the command most likely got wrong, from the server's tool list: a tool it
 * does not publish (the one meant, or what it has), or an argument the tool does not take (the
 * one meant). Undefined when the list says nothing more.
 *
 * @example
 * ```ts
 * hint(tools, { server: "fs", tool: "read_txt_file" }, {}) // => 'did you mean "read_text_file"?'
 * ```
 */
export const hint = (tools: ReadonlyArray<McpTool>, tool: ToolId, args: Readonly<Record<string, unknown>>): string | undefined => {
  const names = tools.map((t) => t.name)
  const found = tools.find((t) => t.name === tool.tool)
  if (found === undefined) {
    const meant = nearMiss(tool.tool, names)
    if (meant !== undefined) return `did you mean "${meant}"?`
    return names.length === 0 ? `${tool.server} publishes no tools` : `${tool.server} publishes: ${names.slice(0, 12).join(", ")}${names.length > 12 ? ", …" : ""}`
  }
  const properties = Object.keys(found.inputSchema.properties ?? {})
  for (const key of Object.keys(args)) {
    if (properties.includes(key)) continue
    const meant = nearMiss(key, properties)
    if (meant !== undefined) return `"${key}" is not an argument of ${tool.tool}; did you mean "${meant}"?`
  }
  return undefined
}

/** The call's error with {@link hint}'s word added, when the tool list has one (listing it may fail: then the error as it was). */
const explained = (gateway: McpGateway["Service"], tool: ToolId, args: Readonly<Record<string, unknown>>, error: McpflowToolError) => {
  const reason = error.reason
  if (reason._tag !== "UnknownTool" && reason._tag !== "ToolFailed") return Effect.succeed(error)
  return gateway.listTools(tool.server).pipe(
    Effect.map((tools) => {
      const said = hint(tools, tool, args)
      if (said === undefined) return error
      return new McpflowToolError({
        reason: reason._tag === "UnknownTool"
          ? new UnknownTool({ ...reason, detail: `${reason.detail}; ${said}` })
          : new ToolFailed({ ...reason, text: `${reason.text} (${said})` })
      })
    }),
    Effect.orElseSucceed(() => error)
  )
}

/**
 * Runs `mcpflow call` (see `../call.ts` for its flags).
 *
 * @example
 * ```ts
 * call({ tool: { server: "everything", tool: "echo" }, args: { message: "hi" }, config: Option.none(), json: false, timeout: Option.none(), verbose: false })
 * ```
 */
export const call = Effect.fn("mcpflow.call")(function*({ args, config, json, timeout, tool, verbose }: {
  readonly tool: ToolId
  readonly args: Readonly<Record<string, unknown>>
  readonly config: Option.Option<string>
  readonly json: boolean
  readonly timeout: Option.Option<Duration.Duration>
  readonly verbose: boolean
}) {
  const result = yield* McpGateway.use((gateway) =>
    gateway.callRaw(tool.server, tool.tool, args, Option.isSome(timeout) ? { timeout: timeout.value } : undefined).pipe(
      Effect.catchTag("McpflowToolError", (error) => Effect.flip(explained(gateway, tool, args, error)))
    )
  ).pipe(withGateway({ config: Option.getOrElse(config, () => defaultConfig), verbose }))
  yield* json ? printJson(result) : printLines(formatResult(result))
})
