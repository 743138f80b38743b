/**
 * `mcpflow tools [server[.tool]]`: asks every configured server (or one), concurrently, for the
 * tools it publishes; with `server.tool`, shows that tool's arguments, output and an example
 * call. Exits 0 when every server asked answered, 1 when some could not be reached, 2 for a bad
 * config or a server or tool that is not there. The work is in `internal/tools.ts`, loaded when
 * the command runs.
 *
 * @example
 * ```sh
 * mcpflow tools --config .mcp.json
 * mcpflow tools --json | jq '.servers[] | select(.ok | not)'
 * mcpflow tools fs.read_text_file
 * ```
 * @module
 */
import { Command } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

/**
 * `mcpflow tools [server[.tool]] [--config .mcp.json] [--json] [--verbose]`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([tools]))
 * ```
 */
export const tools = Command.make(
  "tools",
  { target: Flags.toolsTarget, config: Flags.config, json: Flags.json, verbose: Flags.verbose },
  lazyHandler(() => import("./internal/tools.ts").then((m) => m.tools))
).pipe(
  Command.withShortDescription("List every configured server with its tools, or why it could not be reached"),
  Command.withDescription(
    "List every configured MCP server with its tools (name, first line of the description, whether it declares an output schema), or why it could not be reached; with a server key, that server only; with server.tool, that tool's description, arguments (type, required, default), output and an example mcpflow call. With --json, one JSON document (for a tool: the tool as the server published it). Exit 0 when all servers asked answered, 1 when some did not, 2 for a bad config or a server or tool that is not there."
  ),
  Command.withExamples([
    { command: "mcpflow tools", description: "List the tools of the servers in ./.mcp.json" },
    { command: "mcpflow tools --config ci/.mcp.json --json", description: "The same as one JSON document" },
    { command: "mcpflow tools fs.read_text_file", description: "One tool's arguments, output and an example call" }
  ])
)
