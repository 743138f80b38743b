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
import { Effect, FileSystem, Option, Schema } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"
import { McpGateway } from "../../../../dsl/ports/McpGateway.ts"
import * as Flags from "../flags.ts"
import { printJson, printLines } from "../output.ts"

/**
 * A tool named on the command line.
 *
 * @example
 * ```ts
 * const id: ToolId = { server: "everything", tool: "echo" }
 * ```
 */
export interface ToolId {
  readonly server: string
  readonly tool: string
}

/**
 * Splits `server.tool` at its first dot (tool names may contain dots, server keys may not).
 *
 * @example
 * ```ts
 * parseToolId("everything.echo") // => Option.some({ server: "everything", tool: "echo" })
 * parseToolId("echo")            // => Option.none()
 * ```
 */
export const parseToolId = (text: string): Option.Option<ToolId> => {
  const dot = text.indexOf(".")
  return dot <= 0 || dot === text.length - 1
    ? Option.none()
    : Option.some({ server: text.slice(0, dot), tool: text.slice(dot + 1) })
}

/** The tool's arguments: a JSON object. */
const ArgsObject = Schema.Record(Schema.String, Schema.Unknown)

const invalidArgs = (value: string, expected: string) =>
  new CliError.InvalidValue({ option: "args", value, expected, kind: "flag" })

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * Reads `--args`: a JSON object, or `@file.json` to read the object from a file. Fails with a
 * `CliError.InvalidValue` that says what is wrong (a usage error, exit 2).
 *
 * @example
 * ```ts
 * readArgs('{"a":1}')    // succeeds with { a: 1 }
 * readArgs("@args.json") // reads args.json
 * readArgs("[1]")        // fails: Expected a JSON object …
 * ```
 */
export const readArgs = Effect.fnUntraced(function*(
  text: string
): Effect.fn.Return<Readonly<Record<string, unknown>>, CliError.InvalidValue, FileSystem.FileSystem> {
  const fromFile = text.startsWith("@")
  const file = text.slice(1)
  const source = fromFile ? ` (in ${file})` : ""
  const json = fromFile
    ? yield* FileSystem.FileSystem.use((fs) => fs.readFileString(file)).pipe(
      Effect.mapError((error) => invalidArgs(text, `a readable JSON file: ${error.message}`))
    )
    : text
  const shown = fromFile ? text : json
  const value = yield* Effect.try({
    try: (): unknown => JSON.parse(json),
    catch: (cause) => invalidArgs(shown, `a JSON object${source}; it is not valid JSON: ${messageOf(cause)}`)
  })
  return yield* Schema.decodeUnknownEffect(ArgsObject)(value).pipe(
    Effect.mapError(() => invalidArgs(shown, `a JSON object such as '{"message":"hi"}'${source}`))
  )
})

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

const toolArgument = Argument.String("tool").pipe(
  Argument.withMetavar("server.tool"),
  Argument.withDescription("The tool to call, as <server key>.<tool name>, e.g. everything.echo"),
  Argument.mapEffect((text) =>
    Option.match(parseToolId(text), {
      onNone: () =>
        Effect.fail(
          new CliError.InvalidValue({
            option: "tool",
            value: text,
            expected: "a tool name as server.tool, e.g. everything.echo",
            kind: "argument"
          })
        ),
      onSome: Effect.succeed
    })
  )
)

const argsFlag = Flag.String("args").pipe(
  Flag.withAlias("a"),
  Flag.withMetavar("json|@file"),
  Flag.withDescription("The tool's arguments as a JSON object, or @file.json to read them from a file (default: {})"),
  Flag.optional,
  Flag.mapEffect(Option.match({
    onNone: () => Effect.succeed<Readonly<Record<string, unknown>>>({}),
    onSome: readArgs
  }))
)

/**
 * `mcpflow call server.tool [--args json|@file] [--config .mcp.json] [--json] [--timeout 5s]`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([call]))
 * ```
 */
export const call = Command.make(
  "call",
  {
    tool: toolArgument,
    args: argsFlag,
    config: Flags.config,
    json: Flags.json,
    timeout: Flags.timeout,
    verbose: Flags.verbose
  },
  Effect.fn("mcpflow.call")(function*({ args, config, json, timeout, tool, verbose }) {
    const result = yield* McpGateway.use((gateway) =>
      gateway.callRaw(tool.server, tool.tool, args, Option.isSome(timeout) ? { timeout: timeout.value } : undefined)
    ).pipe(Flags.withGateway({ config, verbose }))
    yield* json ? printJson(result) : printLines(formatResult(result))
  })
).pipe(
  Command.withShortDescription("Call one tool with JSON arguments and print its result"),
  Command.withDescription(
    "Call one tool with raw JSON arguments and print its result: structured content as pretty JSON, else the text blocks; with --json the raw MCP result. A failed call prints the tool's error (or why it could not be made) on stderr and exits 1; a wrong command line or config exits 2."
  ),
  Command.withExamples([
    { command: "mcpflow call everything.echo --args '{\"message\":\"hi\"}'", description: "Call a tool" },
    { command: "mcpflow call everything.get-sum --args @sum.json --json --timeout 5s", description: "Arguments from a file, raw JSON result, 5 second limit" }
  ])
)
