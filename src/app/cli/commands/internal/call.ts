/**
 * `mcpflow call server.tool --args '{…}'`: calls one tool with raw JSON arguments and prints
 * its result. Exits 0 on success, 1 when the call failed (the tool's own error text, or the
 * typed reason, on stderr), 2 for a wrong command line, arguments that do not fit the tool's
 * input schema (checked against the server's tool list before anything is sent) or a bad config.
 *
 * @example
 * ```sh
 * mcpflow call everything.echo --args '{"message":"hi"}'
 * mcpflow call everything.get-sum --args @sum.json --json --timeout 5s
 * ```
 * @module
 */
import type { CallToolResult, Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import { Duration, Effect, Option } from "effect"
import { nearMiss } from "../../../../../dsl/internal/Typos.ts"
import { McpGateway } from "../../../../../dsl/ports/McpGateway.ts"
import {
  AuthRequired,
  ConnectionLost,
  McpflowToolError,
  ServerUnavailable,
  Timeout,
  ToolFailed,
  toolError,
  UnknownTool
} from "../../../../../dsl/ToolError.ts"
import { sharedValidator } from "../../../../runtime/gateway/SchemaValidator.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { defaultConfig, type ToolId } from "../../Flags.ts"
import { CliExit, printJson, printLines } from "../../output.ts"
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

/**
 * What is wrong with `args` for the tool `found`, before anything is sent: an argument within a
 * typo of one the tool takes (the one meant), one it does not take when its input schema allows
 * no others (the ones it takes), and what validating the rest against that schema says. Empty
 * when they fit, or when the schema cannot be compiled (the server then decides). An argument
 * far from every name is left to a schema that allows others: the server may read it.
 *
 * @example
 * ```ts
 * argumentIssues(readTextFile, { path: "a.txt", haed: 3 }) // => ['"haed" is not an argument of read_text_file; did you mean "head"?']
 * argumentIssues(readTextFile, { path: 1 })               // => ["path must be string"]
 * ```
 */
export const argumentIssues = (found: McpTool, args: Readonly<Record<string, unknown>>): ReadonlyArray<string> => {
  const schema = found.inputSchema
  const properties = Object.keys(schema.properties ?? {})
  const closed = (schema as { readonly additionalProperties?: unknown }).additionalProperties === false
  const issues: Array<string> = []
  const meantFor = new Set<string>()
  const known: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(args)) {
    if (properties.includes(key)) {
      known[key] = value
      continue
    }
    const meant = nearMiss(key, properties)
    if (meant !== undefined) {
      meantFor.add(meant)
      issues.push(`"${key}" is not an argument of ${found.name}; did you mean "${meant}"?`)
    } else if (closed) {
      issues.push(`"${key}" is not an argument of ${found.name} (it takes ${properties.length === 0 ? "none" : properties.map((p) => `"${p}"`).join(", ")})`)
    } else known[key] = value
  }
  let validate: ((input: unknown) => { readonly valid: boolean; readonly errorMessage?: string | undefined }) | undefined
  try {
    validate = sharedValidator.getValidator(schema)
  } catch {
    return issues
  }
  const checked = validate(known)
  if (checked.valid || checked.errorMessage === undefined) return issues
  // Ajv's text: "data/head must be number, data must have required property 'path'".
  for (const said of checked.errorMessage.split(/, (?=data\b)/)) {
    const required = /^data(\/\S*)? must have required property '(.+)'$/.exec(said)
    if (required !== null) {
      const [, pointer = "", name] = required as unknown as [string, string | undefined, string]
      // A required argument a typo above stands for: the typo already says it.
      if (pointer === "" && meantFor.has(name)) continue
      // A nested field missing because it is misspelled: say which one was meant.
      const typo = pointer === "" ? undefined : misspelledField(valueAt(known, pointer), name)
      if (typo !== undefined) {
        issues.push(`${dotted(pointer)}: "${typo}" is not a field; did you mean "${name}"?`)
        continue
      }
    }
    issues.push(said.replace(/^data(\/\S*)?/, (_, pointer: string | undefined) => pointer === undefined ? "args" : dotted(pointer)))
  }
  return issues
}

/** A JSON pointer (`/entities/0`) as a dotted path (`entities.0`). */
const dotted = (pointer: string): string =>
  pointer.slice(1).split("/").map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~")).join(".")

/** The value at a JSON pointer in `root`, if there is one. */
const valueAt = (root: unknown, pointer: string): unknown => {
  let at = root
  for (const part of pointer.slice(1).split("/")) {
    if (typeof at !== "object" || at === null) return undefined
    at = (at as Record<string, unknown>)[part.replaceAll("~1", "/").replaceAll("~0", "~")]
  }
  return at
}

/** The key of `value` (an object) that is a typo of the missing field `name`, if one is. */
const misspelledField = (value: unknown, name: string): string | undefined => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
  return Object.keys(value).find((key) => key !== name && nearMiss(key, [name]) === name)
}

/** The call's error with {@link hint}'s word added, when the tool list has one (an absent list: the error as it was). */
const explained = (tools: ReadonlyArray<McpTool> | undefined, tool: ToolId, args: Readonly<Record<string, unknown>>, error: McpflowToolError) => {
  const reason = error.reason
  if (tools === undefined || (reason._tag !== "UnknownTool" && reason._tag !== "ToolFailed")) return error
  const said = hint(tools, tool, args)
  if (said === undefined) return error
  return new McpflowToolError({
    reason: reason._tag === "UnknownTool"
      ? new UnknownTool({ ...reason, detail: `${reason.detail}; ${said}` })
      : new ToolFailed({ ...reason, text: `${reason.text} (${said})` })
  })
}

/**
 * A failure of the tool list that the call would meet too (the server cannot be reached, or is
 * not configured), told as the call's own: the tool the command named, not `tools/list`.
 * Undefined for any other failure (the call is then made, and the server decides).
 */
const asCallOf = (error: McpflowToolError, tool: string): McpflowToolError | undefined => {
  const r = error.reason
  switch (r._tag) {
    case "ServerUnavailable":
      return new McpflowToolError({ reason: new ServerUnavailable({ ...r, tool }) })
    case "ConnectionLost":
      return new McpflowToolError({ reason: new ConnectionLost({ ...r, tool }) })
    case "Timeout":
      return new McpflowToolError({ reason: new Timeout({ ...r, tool }) })
    case "UnknownTool":
      return new McpflowToolError({ reason: new UnknownTool({ ...r, tool }) })
    case "AuthRequired":
      return new McpflowToolError({ reason: new AuthRequired({ ...r, tool }) })
    default:
      return undefined
  }
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
    Effect.gen(function*() {
      // The server's tool list first: arguments that do not fit the tool are refused before
      // anything is sent (a server may ignore an argument it does not know, "haed" for "head").
      // `--timeout` bounds the command: a list that does not come in time is the call's timeout.
      const listing = Option.isSome(timeout)
        ? Effect.timeoutOrElse(gateway.listTools(tool.server), {
          duration: timeout.value,
          orElse: () => Effect.fail(toolError(new Timeout({ server: tool.server, tool: tool.tool, phase: "call", afterMs: Duration.toMillis(timeout.value), policy: "the call's options" })))
        })
        : gateway.listTools(tool.server)
      const listed = yield* Effect.result(listing)
      const unreachable = listed._tag === "Failure" ? asCallOf(listed.failure, tool.tool) : undefined
      if (unreachable !== undefined) return yield* unreachable
      const tools = listed._tag === "Success" ? listed.success : undefined
      const found = tools?.find((t) => t.name === tool.tool)
      const issues = found === undefined ? [] : argumentIssues(found, args)
      if (issues.length > 0) {
        return yield* new CliExit({
          code: ExitCode.Usage,
          message: `${tool.server}.${tool.tool}: invalid arguments: ${issues.join("; ")} (nothing was sent)`
        })
      }
      return yield* gateway.callRaw(tool.server, tool.tool, args, Option.isSome(timeout) ? { timeout: timeout.value } : undefined).pipe(
        Effect.mapError((error) => explained(tools, tool, args, error))
      )
    })
  ).pipe(withGateway({ config: Option.getOrElse(config, () => defaultConfig), verbose }))
  yield* json ? printJson(result) : printLines(formatResult(result))
})
