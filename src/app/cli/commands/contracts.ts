/**
 * `mcpflow contracts generate`: typed `Tool.server` contracts from the schemas live servers
 * publish. The work is in `internal/contracts.ts`, loaded when the command runs.
 *
 * @example
 * ```sh
 * mcpflow contracts generate --config .mcp.json --server memory --out contracts/memory.ts
 * ```
 * @module
 */
import { Command } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

/**
 * `mcpflow contracts generate [--config .mcp.json] [--server key] --out file.ts`.
 *
 * @example
 * ```ts
 * Command.make("contracts").pipe(Command.withSubcommands([generate]))
 * ```
 */
export const generate = Command.make(
  "generate",
  { config: Flags.config, server: Flags.server, out: Flags.out, verbose: Flags.verbose },
  lazyHandler(() => import("./internal/contracts.ts").then((m) => m.generate))
).pipe(
  Command.withShortDescription("Write typed Tool.server contracts from what the servers publish"),
  Command.withDescription(
    "Ask each configured server (or only --server) for its tools and write one Tool.server(\"<key>\", { … }) per server to --out: Effect Schemas translated from each tool's input and output JSON Schema (tools without an output schema answer text: Schema.String), descriptions as docs, MCP annotations as contract annotations. Regenerating an unchanged server gives identical bytes. Exit 0, 1 when a server could not be asked or a schema not translated, 2 for a bad config or an unknown --server."
  ),
  Command.withExamples([
    { command: "mcpflow contracts generate --out contracts.ts", description: "Contracts for every server of ./.mcp.json" },
    { command: "mcpflow contracts generate --server memory --out memory.ts", description: "Only the memory server" }
  ])
)

/**
 * `mcpflow contracts`: the contract commands (`generate`).
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([contracts]))
 * ```
 */
export const contracts = Command.make("contracts").pipe(
  Command.withShortDescription("Generate tool contracts from live servers"),
  Command.withSubcommands([generate])
)
