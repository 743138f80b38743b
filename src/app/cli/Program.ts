/**
 * The `mcpflow` command line as a value: the root command with its subcommands (each defined in
 * its own module under `commands/`, its implementation under `commands/internal/` imported only
 * when it runs) and {@link program}, which parses the arguments, runs the command and turns a
 * failure into one line on stderr and an exit code (`../run/ExitCode.ts`). `Cli.ts` runs it on
 * Node; `internal/HelpSnapshot.ts` renders its help at build time.
 *
 * @example
 * ```ts
 * import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
 * import { program } from "./Program.ts"
 *
 * NodeRuntime.runMain(program)
 * ```
 * @module
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import * as Stdio from "effect/Stdio"
import { CliOutput, Command } from "effect/cli"
import packageJson from "../../../package.json" with { type: "json" }
import { audit } from "./commands/audit.ts"
import { call } from "./commands/call.ts"
import { chaos } from "./commands/chaos.ts"
import { check } from "./commands/check.ts"
import { contracts } from "./commands/contracts.ts"
import { health } from "./commands/health.ts"
import { cancel, prune, resume, runs, show, signal } from "./commands/history.ts"
import { plan } from "./commands/plan.ts"
import { run } from "./commands/run.ts"
import { serve } from "./commands/serve.ts"
import { tools } from "./commands/tools.ts"
import { ui } from "./commands/ui.ts"
import { worker } from "./commands/worker.ts"
import { attachDashValues } from "./Flags.ts"
import { presenter, reportFailure, wantsJson } from "./output.ts"

/**
 * The subcommands of `mcpflow`; a new command is one module and one entry here.
 *
 * @example
 * ```ts
 * subcommands.map((command) => command.name) // => ["tools", "call", "run", "plan", "check", "contracts", "resume", "runs", "show", "signal", "cancel", "prune", "audit", "chaos", "worker", "health", "ui", "serve"]
 * ```
 */
export const subcommands = [tools, call, run, plan, check, contracts, resume, runs, show, signal, cancel, prune, audit, chaos, worker, health, ui, serve] as const

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
 * Runs `mcpflow` with the given arguments (without the `node` and script paths): parses them,
 * runs the command, prints any failure as one line on stderr and turns it into the exit code
 * (`CliExit`).
 *
 * @example
 * ```ts
 * runArgs(["--version"]).pipe(Effect.provide(NodeServices.layer))
 * ```
 */
export const runArgs = (args: ReadonlyArray<string>) =>
  Command.runWith(mcpflow, { version: packageJson.version })(
    argumentsToParse(attachDashValues(args), subcommands.map((command) => command.name))
  ).pipe(
    Effect.catch((failure) => reportFailure(failure, { json: wantsJson(args) })),
    Effect.provide(CliOutput.layerPresenter(presenter))
  )

/**
 * The whole program: {@link runArgs} with `process.argv` on Node's services.
 *
 * @example
 * ```ts
 * NodeRuntime.runMain(program)
 * ```
 */
export const program = Stdio.Stdio.use(({ args }) => Effect.flatMap(args, runArgs)).pipe(
  Effect.provide(NodeServices.layer)
)
