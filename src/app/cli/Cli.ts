/**
 * The `mcpflow` command line. Each subcommand lives in its own module under `commands/` and is
 * listed in {@link subcommands}; this module runs the root command on Node with the exit codes
 * of `output.ts` (0 success, 1 a tool, server or flow failed, 2 bad usage, input or config, 130 interrupted).
 *
 * @example
 * ```sh
 * npx mcpflow tools
 * npx mcpflow call everything.echo --args '{"message":"hi"}'
 * npx mcpflow run flows/cicd.ts --json
 * npx mcpflow plan flows/cicd.ts --format mermaid
 * ```
 * @module
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { CliOutput, Command } from "effect/cli"
import packageJson from "../../../package.json" with { type: "json" }
import { call } from "./commands/call.ts"
import { chaos } from "./commands/chaos.ts"
import { resume, runs, show, signal } from "./commands/history.ts"
import { worker } from "./commands/worker.ts"
import { plan } from "./commands/plan.ts"
import { run } from "./commands/run.ts"
import { tools } from "./commands/tools.ts"
import { presenter, reportFailure } from "./output.ts"

/**
 * The subcommands of `mcpflow`; a new command is one module and one entry here.
 *
 * @example
 * ```ts
 * subcommands.map((command) => command.name) // => ["tools", "call", "run", "plan", "resume", "runs", "show", "signal", "chaos"]
 * ```
 */
export const subcommands = [tools, call, run, plan, resume, runs, show, signal, chaos, worker] as const

/**
 * The root `mcpflow` command.
 *
 * @example
 * ```ts
 * Command.runWith(mcpflow, { version: "0.1.0" })(["tools", "--json"])
 * ```
 */
export const mcpflow = Command.make("mcpflow").pipe(
  Command.withDescription("Typed workflows over MCP servers: inspect servers, call their tools, run and plan flows"),
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
