/**
 * `mcpflow call server.tool --args '{…}'`: calls one tool with raw JSON arguments and prints
 * its result. Exits 0 on success, 1 when the call failed (the tool's own error text, or the
 * typed reason, on stderr), 2 for a wrong command line, arguments that do not fit the tool's
 * input schema (checked before anything is sent) or a bad config. The work is in
 * `internal/call.ts`, loaded when the command runs.
 *
 * @example
 * ```sh
 * mcpflow call everything.echo --args '{"message":"hi"}'
 * mcpflow call everything.get-sum --args @sum.json --json --timeout 5s
 * ```
 * @module
 */
import { Command } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

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
    tool: Flags.tool,
    args: Flags.args,
    config: Flags.config,
    json: Flags.json,
    timeout: Flags.timeout,
    verbose: Flags.verbose
  },
  lazyHandler(() => import("./internal/call.ts").then((m) => m.call))
).pipe(
  Command.withShortDescription("Call one tool with JSON arguments and print its result"),
  Command.withDescription(
    "Call one tool with raw JSON arguments and print its result: structured content as pretty JSON, else the text blocks; with --json the raw MCP result. The arguments are checked against the tool's input schema from the server's tool list before anything is sent. A failed call prints the tool's error (or why it could not be made) on stderr and exits 1; a wrong command line, arguments that do not fit the tool, or a bad config exit 2."
  ),
  Command.withExamples([
    { command: "mcpflow call everything.echo --args '{\"message\":\"hi\"}'", description: "Call a tool" },
    { command: "mcpflow call everything.get-sum --args @sum.json --json --timeout 5s", description: "Arguments from a file, raw JSON result, 5 second limit" }
  ])
)
