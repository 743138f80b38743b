/**
 * `mcpflow run flows/x.ts`: runs the flow a file exports by default, with the run report. The
 * file's own `main` does not run; its exported `sandbox` (or the one it gave to `main`) is the
 * sandbox. Exits 0 on success, 1 when the flow failed, 2 for bad input, config or usage, 130
 * when interrupted (after the compensations ran).
 *
 * @example
 * ```sh
 * mcpflow run flows/cicd.ts
 * mcpflow run flows/cicd.ts --input '{"image":"api:1.4.2"}' --config .mcp.json --json
 * mcpflow run flows/cicd.ts --dry-run
 * ```
 * @module
 */
import * as path from "node:path"
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { RunExitCode } from "../../run/ExitCode.ts"
import * as RunFlags from "../../run/Flags.ts"
import { loadFlow } from "../../run/LoadFlow.ts"
import { runFlow } from "../../run/RunFlow.ts"
import { CliExit } from "../output.ts"

/**
 * The flow file argument of `run` and `plan`.
 *
 * @example
 * ```ts
 * Command.make("plan", { file: flowFile }, ({ file }) => …)
 * ```
 */
export const flowFile = Argument.String("file").pipe(
  Argument.withMetavar("flow.ts"),
  Argument.withDescription("A flow file: a module whose default export is a flow made with Flow.make")
)

/**
 * Loads a flow file; a file that cannot be used is a usage error (exit 2) naming the file.
 *
 * @example
 * ```ts
 * const { flow, sandbox } = yield* load("flows/cicd.ts")
 * ```
 */
export const load = (file: string) =>
  loadFlow(file).pipe(Effect.mapError((error) => new CliExit({ code: RunExitCode.Usage, message: error.message })))

/**
 * `mcpflow run <flow.ts> [--input json|@file] [--config .mcp.json | --sandbox] [--json] [--dry-run] [-q] [--verbose] [--otlp url]`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([run]))
 * ```
 */
export const run = Command.make(
  "run",
  { file: flowFile, ...RunFlags.all },
  Effect.fn("mcpflow.run")(function*({ file, ...settings }) {
    const { flow, local, sandbox } = yield* load(file)
    yield* runFlow(flow, settings, { sandbox, local, file: path.resolve(file) })
  })
).pipe(
  Command.withShortDescription("Run a flow file with a live report"),
  Command.withDescription(
    "Run the flow a file exports by default. Its servers: --config names an .mcp.json of real servers; --sandbox (the default when the file exports a sandbox) uses its in-process fake servers; --dry-run runs on the sandbox and prints the path actually taken. The report goes to stderr: a live step tree on a terminal, plain lines otherwise or with CI=true; -q prints only the summary, --verbose adds policy events, tool progress and server logs. The flow's result goes to stdout. With --json, stdout carries one JSON object per event per line, the last one the RunSummary, and nothing else. Exit codes: 0 success, 1 the flow failed, 2 bad input, config or usage, 130 interrupted (Ctrl-C; the compensations of completed steps ran first)."
  ),
  Command.withExamples([
    { command: "mcpflow run flows/cicd.ts", description: "Run on the flow's sandbox" },
    { command: "mcpflow run flows/cicd.ts --input '{\"image\":\"api:1.4.2\"}' --config .mcp.json", description: "Run against real servers" },
    { command: "mcpflow run flows/cicd.ts --json | jq -c 'select(._tag == \"StepFailed\")'", description: "JSON event lines" },
    { command: "mcpflow run flows/cicd.ts --dry-run", description: "Run on the sandbox and print the path taken" }
  ])
)
