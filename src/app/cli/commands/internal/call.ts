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
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { type Duration, Effect, Option } from "effect"
import { McpGateway } from "../../../../../dsl/ports/McpGateway.ts"
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
    gateway.callRaw(tool.server, tool.tool, args, Option.isSome(timeout) ? { timeout: timeout.value } : undefined)
  ).pipe(withGateway({ config: Option.getOrElse(config, () => defaultConfig), verbose }))
  yield* json ? printJson(result) : printLines(formatResult(result))
})
