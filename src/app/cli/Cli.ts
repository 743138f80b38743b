/**
 * The `mcpflow` command line. Each subcommand is defined in its own module under `commands/`
 * (its flags, from `Flags.ts`, and its help) and listed in {@link subcommands}; its
 * implementation, under `commands/internal/`, is imported only when it runs, so `--help` and
 * `--version` load neither the MCP SDK, nor SQLite, nor the chaos kit. This module runs the
 * root command on Node with the exit codes of `../run/ExitCode.ts` (0 success, 1 a tool, server
 * or flow failed, 2 bad usage, input or config, 130 interrupted).
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
import * as Effect from "effect/Effect"
import * as Stdio from "effect/Stdio"
import { CliOutput, Command } from "effect/cli"
import packageJson from "../../../package.json" with { type: "json" }
import { call } from "./commands/call.ts"
import { chaos } from "./commands/chaos.ts"
import { resume, runs, show, signal } from "./commands/history.ts"
import { plan } from "./commands/plan.ts"
import { run } from "./commands/run.ts"
import { tools } from "./commands/tools.ts"
import { worker } from "./commands/worker.ts"
import { attachDashValues } from "./Flags.ts"
import { presenter, reportFailure } from "./output.ts"

/**
 * The subcommands of `mcpflow`; a new command is one module and one entry here.
 *
 * @example
 * ```ts
 * subcommands.map((command) => command.name) // => ["tools", "call", "run", "plan", "resume", "runs", "show", "signal", "chaos", "worker"]
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

const helpFlags = new Set(["--help", "-h"])

/** Root flags that take a value in the next argument. */
const valuedRootFlags = new Set(["--log-level", "--completions"])

/**
 * The arguments to parse: when the first command word is not a subcommand, `--help` is dropped,
 * so that `mcpflow serve --help` fails like `mcpflow serve` (`Unknown subcommand`, exit 2)
 * instead of printing the root help.
 *
 * @example
 * ```ts
 * argumentsToParse(["serve", "--help"], ["run"]) // => ["serve"]
 * argumentsToParse(["run", "--help"], ["run"])   // => ["run", "--help"]
 * ```
 */
export const argumentsToParse = (args: ReadonlyArray<string>, names: ReadonlyArray<string>): ReadonlyArray<string> => {
  let word: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") break
    if (valuedRootFlags.has(arg)) {
      i++
      continue
    }
    if (!arg.startsWith("-")) {
      word = arg
      break
    }
  }
  return word === undefined || names.includes(word) ? args : args.filter((arg) => !helpFlags.has(arg))
}

/**
 * The whole program: parse `process.argv`, run the command, print any failure as one line on
 * stderr and turn it into the exit code (`CliExit`).
 *
 * @example
 * ```ts
 * NodeRuntime.runMain(program)
 * ```
 */
export const program = Stdio.Stdio.use(({ args }) =>
  Effect.flatMap(args, (args) =>
    Command.runWith(mcpflow, { version: packageJson.version })(
      argumentsToParse(attachDashValues(args), subcommands.map((command) => command.name))
    ))
).pipe(
  Effect.catch(reportFailure),
  Effect.provide(CliOutput.layerPresenter(presenter)),
  Effect.provide(NodeServices.layer)
)

NodeRuntime.runMain(program)
