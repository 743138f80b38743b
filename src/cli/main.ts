/**
 * The `mcpflow` command line. Each subcommand lives in its own module under `commands/` and is
 * listed in {@link subcommands}; this module runs the root command on Node with the exit codes
 * of `output.ts` (0 success, 1 a tool or server failed, 2 bad usage or config).
 *
 * @example
 * ```sh
 * npx mcpflow tools
 * npx mcpflow call everything.echo --args '{"message":"hi"}'
 * ```
 * @module
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { CliOutput, Command } from "effect/cli"
import packageJson from "../../package.json" with { type: "json" }
import { call } from "./commands/call.ts"
import { tools } from "./commands/tools.ts"
import { presenter, reportFailure } from "./output.ts"

/**
 * The subcommands of `mcpflow`; a new command is one module and one entry here.
 *
 * @example
 * ```ts
 * subcommands.map((command) => command.name) // => ["tools", "call"]
 * ```
 */
export const subcommands = [tools, call] as const

/**
 * The root `mcpflow` command.
 *
 * @example
 * ```ts
 * Command.runWith(mcpflow, { version: "0.1.0" })(["tools", "--json"])
 * ```
 */
export const mcpflow = Command.make("mcpflow").pipe(
  Command.withDescription("Typed workflows over MCP servers: inspect servers and call their tools"),
  Command.withSubcommands(subcommands)
)

/**
 * The whole program: parse `process.argv`, run the command, print any failure as one line on
 * stderr and turn it into the exit code (`CliExit`).
 *
 * @example
 * ```ts
 * NodeRuntime.runMain(program)
 * ```
 */
export const program = Command.run(mcpflow, { version: packageJson.version }).pipe(
  Effect.catch(reportFailure),
  Effect.provide(CliOutput.layerPresenter(presenter)),
  Effect.provide(NodeServices.layer)
)

NodeRuntime.runMain(program)
