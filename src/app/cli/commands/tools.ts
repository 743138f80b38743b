/**
 * `mcpflow tools`: asks every configured server, concurrently, for the tools it publishes.
 * Exits 0 when every server answered, 1 when some could not be reached, 2 for a bad config.
 * The work is in `internal/tools.ts`, loaded when the command runs.
 *
 * @example
 * ```sh
 * mcpflow tools --config .mcp.json
 * mcpflow tools --json | jq '.servers[] | select(.ok | not)'
 * ```
 * @module
 */
import { Command } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

/**
 * `mcpflow tools [--config .mcp.json] [--json] [--verbose]`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([tools]))
 * ```
 */
export const tools = Command.make(
  "tools",
  { config: Flags.config, json: Flags.json, verbose: Flags.verbose },
  lazyHandler(() => import("./internal/tools.ts").then((m) => m.tools))
).pipe(
  Command.withShortDescription("List every configured server with its tools, or why it could not be reached"),
  Command.withDescription(
    "List every configured MCP server with its tools (name, first line of the description, whether it declares an output schema), or why it could not be reached. With --json, one JSON document. Exit 0 when all servers answered, 1 when some did not, 2 for a bad config."
  ),
  Command.withExamples([
    { command: "mcpflow tools", description: "List the tools of the servers in ./.mcp.json" },
    { command: "mcpflow tools --config ci/.mcp.json --json", description: "The same as one JSON document" }
  ])
)
