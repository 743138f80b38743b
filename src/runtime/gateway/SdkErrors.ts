/**
 * Maps what the MCP SDK throws or answers to {@link McpflowToolError} reasons.
 *
 * @module
 */
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js"
import { ErrorCode, McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import {
  AuthRequired,
  ConnectionLost,
  InvalidOutput,
  Protocol,
  RateLimited,
  ServerUnavailable,
  ToolFailed,
  type ToolErrorReason,
  UnknownTool
} from "../../../dsl/ToolError.ts"

const rateLimitPattern = /rate.?limit|too many requests|\b429\b|retry.?after/i
const retryAfterPattern = /retry.?after\D{0,3}(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|sec|seconds?|m|min|minutes?)?/i

/**
 * Reads "retry after N [unit]" out of a message, in milliseconds (seconds when no unit).
 *
 * @example
 * ```ts
 * parseRetryAfterMs("rate limited, retry after 2s") // => 2000
 * ```
 */
export const parseRetryAfterMs = (text: string): number | undefined => {
  const match = retryAfterPattern.exec(text)
  if (!match) return undefined
  const n = Number(match[1])
  const unit = (match[2] ?? "s").toLowerCase()
  if (unit.startsWith("ms") || unit.startsWith("milli")) return n
  if (unit.startsWith("m")) return n * 60_000
  return n * 1000
}

const rateLimited = (server: string, tool: string, text: string): RateLimited | undefined =>
  rateLimitPattern.test(text)
    ? new RateLimited({ server, tool, retryAfterMs: parseRetryAfterMs(text), detail: text })
    : undefined

/**
 * The text of a result's text blocks, joined by newlines.
 *
 * @example
 * ```ts
 * resultText({ content: [{ type: "text", text: "boom" }] }) // => "boom"
 * ```
 */
export const resultText = (result: CallToolResult): string =>
  (result.content ?? []).flatMap((block) => (block.type === "text" ? [block.text] : [])).join("\n")

/**
 * The reason for a result the server flagged `isError: true`: `RateLimited` when it says so,
 * `UnknownTool` for the SDK's "Tool x not found", else `ToolFailed` with its text.
 *
 * @example
 * ```ts
 * errorResultReason("fs", "read", { isError: true, content: [{ type: "text", text: "ENOENT" }] })._tag // => "ToolFailed"
 * ```
 */
export const errorResultReason = (server: string, tool: string, result: CallToolResult): ToolErrorReason => {
  const text = resultText(result) || "(the server gave no message)"
  if (text.includes(`Tool ${tool} not found`) || text.includes(`Unknown tool: ${tool}`)) {
    return new UnknownTool({ server, tool, detail: text })
  }
  return rateLimited(server, tool, text) ?? new ToolFailed({ server, tool, text })
}

/**
 * A `tools/call` result in the current shape: the legacy `{ toolResult }` form of old servers
 * becomes one JSON text block.
 *
 * @example
 * ```ts
 * normalizeResult({ toolResult: { ok: true } }) // => { content: [{ type: "text", text: "{\"ok\":true}" }] }
 * ```
 */
export const normalizeResult = (
  result: CallToolResult | { readonly toolResult: unknown; readonly content?: undefined }
): CallToolResult =>
  "toolResult" in result && result.content === undefined
    ? { content: [{ type: "text", text: JSON.stringify(result.toolResult) ?? "null" }] }
    : (result as CallToolResult)

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * The reason for an error thrown by `client.callTool` (or `listTools`).
 *
 * @example
 * ```ts
 * thrownReason("fs", "read", new McpError(-32000, "Connection closed"))._tag // => "ConnectionLost"
 * ```
 */
export const thrownReason = (server: string, tool: string, error: unknown): ToolErrorReason => {
  if (error instanceof UnauthorizedError) return new AuthRequired({ server, tool, detail: messageOf(error) })
  if (error instanceof StreamableHTTPError) {
    if (error.code === 401 || error.code === 403) {
      return new AuthRequired({ server, tool, detail: `HTTP ${error.code}: ${messageOf(error)}` })
    }
    if (error.code === 404) return new ConnectionLost({ server, tool, detail: `HTTP session lost: ${messageOf(error)}` })
    if (error.code === 429) {
      return rateLimited(server, tool, messageOf(error)) ??
        new RateLimited({ server, tool, detail: messageOf(error) })
    }
    return new ConnectionLost({ server, tool, detail: messageOf(error) })
  }
  if (error instanceof McpError) {
    const detail = error.message.replace(/^MCP error -?\d+: /, "")
    switch (error.code) {
      case ErrorCode.ConnectionClosed:
        return new ConnectionLost({ server, tool, detail })
      case ErrorCode.InvalidParams:
        if (detail.includes(`Tool ${tool} not found`)) return new UnknownTool({ server, tool, detail })
        if (detail.startsWith("Structured content does not match") || detail.startsWith("Failed to validate structured")) {
          return new InvalidOutput({ server, tool, path: "", issue: detail })
        }
        break
      case ErrorCode.InvalidRequest:
        if (detail.includes("did not return structured content")) {
          return new InvalidOutput({ server, tool, path: "", issue: detail })
        }
        break
      case ErrorCode.MethodNotFound:
        return new UnknownTool({ server, tool, detail: `the server does not support tools: ${detail}` })
    }
    return rateLimited(server, tool, detail) ?? new Protocol({ server, tool, code: error.code, detail })
  }
  const message = messageOf(error)
  if (message === "Not connected") return new ServerUnavailable({ server, tool, detail: "not connected" })
  return new ConnectionLost({ server, tool, detail: message })
}

/**
 * The reason a connection could not be opened: `AuthRequired` for 401/403, else `ServerUnavailable`.
 *
 * @example
 * ```ts
 * connectReason("docker", "build", new Error("spawn docker-mcp ENOENT"))._tag // => "ServerUnavailable"
 * ```
 */
export const connectReason = (server: string, tool: string, error: unknown, detail: string): ToolErrorReason => {
  if (error instanceof UnauthorizedError) return new AuthRequired({ server, tool, detail })
  if (error instanceof StreamableHTTPError && (error.code === 401 || error.code === 403)) {
    return new AuthRequired({ server, tool, detail })
  }
  return new ServerUnavailable({ server, tool, detail })
}
