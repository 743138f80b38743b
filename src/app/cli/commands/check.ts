/**
 * `mcpflow check flows/x.ts`: compares the contracts a flow `uses` with what the live servers
 * publish. The work is in `internal/check.ts`, loaded when the command runs.
 *
 * @example
 * ```sh
 * mcpflow check --config .mcp.json flows/cicd.ts
 * ```
 * @module
 */
import { Command } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

/**
 * `mcpflow check [--config .mcp.json] <flow.ts>`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([check]))
 * ```
 */
export const check = Command.make(
  "check",
  { file: Flags.flowFile, config: Flags.config, verbose: Flags.verbose },
  lazyHandler(() => import("./internal/check.ts").then((m) => m.check))
).pipe(
  Command.withShortDescription("Compare a flow's tool contracts with the live servers"),
  Command.withDescription(
    "Compare the contracts of the tools a flow uses with the tools the live servers publish: a missing tool, an input field the server requires that the contract does not send, a field the contract requires that the server does not know, an input field whose type changed, an output schema that changed. Exit 0 when they match, 1 on drift (with one line per difference), 2 for a bad flow file or config."
  ),
  Command.withExamples([
    { command: "mcpflow check flows/cicd.ts", description: "Check against the servers of ./.mcp.json" }
  ])
)
