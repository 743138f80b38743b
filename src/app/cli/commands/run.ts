/**
 * `mcpflow run flows/x.ts`: runs the flow a file exports by default, with the run report. The
 * file's own `main` does not run; its exported `sandbox` (or the one it gave to `main`) is the
 * sandbox. Exits 0 on success, 1 when the flow failed, 2 for bad input, config or usage, 130
 * when interrupted (after the compensations ran). The work is in `internal/run.ts`, loaded when
 * the command runs.
 *
 * @example
 * ```sh
 * mcpflow run flows/cicd.ts
 * mcpflow run flows/cicd.ts --input '{"image":"api:1.4.2"}' --config .mcp.json --json
 * mcpflow run flows/cicd.ts --dry-run
 * ```
 * @module
 */
import { Command } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

/**
 * `mcpflow run <flow.ts> [--input json|@file] [--config .mcp.json | --sandbox | --dry-run] [--json] [-q] [--verbose] [--otlp url] [--metrics [host]:port] [--webhook url] …`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([run]))
 * ```
 */
export const run = Command.make(
  "run",
  { file: Flags.flowFile, ...Flags.runFlags, metrics: Flags.metrics, webhook: Flags.webhook, database: Flags.database, detach: Flags.detach },
  lazyHandler(() => import("./internal/run.ts").then((m) => m.run))
).pipe(
  Command.withShortDescription("Run a flow file with a live report"),
  Command.withDescription(
    "Run the flow a file exports by default. Its servers: --config names an .mcp.json of real servers; --sandbox (the default when the file exports a sandbox) uses its in-process fake servers; --dry-run rehearses on the sandbox without journaling and prints the path actually taken. The report goes to stderr: a live step tree on a terminal, plain lines otherwise or with CI=true; -q prints only the summary, --verbose adds policy events, tool progress and server logs. The flow's result goes to stdout. With --json, stdout carries one JSON object per event per line, the last one the RunSummary (with the result on success), and nothing else. With --webhook (or $MCPFLOW_WEBHOOK_URL) the finished run is announced there, HMAC-signed with $MCPFLOW_WEBHOOK_SECRET; a webhook that keeps failing is reported and never changes the exit code. Exit codes: 0 success, 1 the flow failed, 2 bad input, config or usage, 130 interrupted (Ctrl-C; the compensations of completed steps ran first). With --database postgres://… (or MCPFLOW_DATABASE_URL) the run is submitted to the cluster's runners (mcpflow worker --database) and followed; --detach prints its id and returns."
  ),
  Command.withExamples([
    { command: "mcpflow run flows/cicd.ts", description: "Run on the flow's sandbox" },
    { command: "mcpflow run flows/cicd.ts --input '{\"image\":\"api:1.4.2\"}' --config .mcp.json", description: "Run against real servers" },
    { command: "mcpflow run flows/cicd.ts --json | jq -c 'select(._tag == \"StepFailed\")'", description: "JSON event lines" },
    { command: "mcpflow run flows/cicd.ts --dry-run", description: "Rehearse on the sandbox (not journaled) and print the path taken" },
    { command: "mcpflow run flows/cicd.ts --database postgres://mcpflow@db/mcpflow", description: "Run on a cluster of workers" }
  ])
)
