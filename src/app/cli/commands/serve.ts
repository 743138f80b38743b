/**
 * `mcpflow serve`: serves flow files over HTTP (loopback by default) — start a run, deliver a
 * signal, read a run's status — behind a bearer token from `MCPFLOW_SERVE_TOKEN`, runs the flows'
 * cron schedules, and announces finished runs to a signed webhook. The work is in `internal/serve.ts`, loaded when the command
 * runs.
 *
 * @example
 * ```sh
 * MCPFLOW_SERVE_TOKEN=… npx mcpflow serve flows/deploy.ts --port 8787
 * ```
 * @module
 */
import { Argument, Command, Flag } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

/**
 * `<flow.ts…>`: the flow files to serve (at least one).
 *
 * @example
 * ```ts
 * Command.make("serve", { files: flowFiles }, ({ files }) => …)
 * ```
 */
export const flowFiles: Argument.Argument<ReadonlyArray<string>> = Argument.String("file").pipe(
  Argument.withMetavar("flow.ts"),
  Argument.withDescription("Flow files to serve (each a module whose default export is a flow made with Flow.make)"),
  Argument.variadic({ min: 1 })
)

/**
 * `--port <n>`: the TCP port to listen on (0: any free port; the one chosen is printed).
 *
 * @example
 * ```ts
 * Command.make("serve", { port }, ({ port }) => …)
 * ```
 */
export const port: Flag.Flag<number> = Flags.wholeNumber("port", "port", (n) => n >= 0 && n <= 65_535, "a port from 0 to 65535").pipe(
  Flag.withDescription("TCP port to listen on (default 8787; 0 picks a free one, printed on the first line)"),
  Flag.withDefault(8787)
)

/**
 * `--host <address>`: the address to listen on (default loopback).
 *
 * @example
 * ```ts
 * Command.make("serve", { host }, ({ host }) => …)
 * ```
 */
export const host: Flag.Flag<string> = Flag.String("host").pipe(
  Flag.withDescription("Address to listen on (default 127.0.0.1, loopback only)"),
  Flag.withDefault("127.0.0.1")
)

/**
 * `--max-body <bytes>`: the largest request body accepted (default 1 MiB); a larger one is
 * answered 413 before it is read.
 *
 * @example
 * ```ts
 * Command.make("serve", { maxBody }, ({ maxBody }) => …)
 * ```
 */
export const maxBody: Flag.Flag<number> = Flags.wholeNumber("max-body", "bytes", (n) => n >= 1, "a positive number of bytes").pipe(
  Flag.withDescription("Largest request body accepted, in bytes (default 1048576 = 1 MiB); larger bodies get 413 with a JSON error"),
  Flag.withDefault(1_048_576)
)

/**
 * `mcpflow serve <flow.ts…> [--port 8787] [--host 127.0.0.1] [--webhook url] [--max-body bytes] [--state-dir] [--config] [--json] [--metrics [host]:port]`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([serve]))
 * ```
 */
export const serve = Command.make(
  "serve",
  { files: flowFiles, port, host, webhook: Flags.webhook, maxBody, stateDir: Flags.stateDir, config: Flags.config, json: Flags.json, verbose: Flags.verbose, metrics: Flags.metrics },
  lazyHandler(() => import("./internal/serve.ts").then((m) => m.serve))
).pipe(
  Command.withShortDescription("Serve flows over HTTP: start runs, deliver signals, read status"),
  Command.withDescription(
    "Own a state directory (like worker) and serve the given flow files over HTTP on loopback: POST /flows/<flow>/runs (body: the input, checked against the flow's Schema before anything starts; 202 {runId}), POST /runs/<runId>/signals/<name> (body: the payload, checked against the Schema of the signal the run waits for; 400 with the issue and nothing recorded otherwise), GET /runs/<runId> (its status). Every request needs Authorization: Bearer $MCPFLOW_SERVE_TOKEN (401 otherwise). Bodies larger than --max-body get 413, malformed JSON 400 naming the problem. A flow file that exports a schedule (Flow.schedule: cron, input, timeZone) is run at each tick (a tick whose previous run still runs is skipped and reported; missed ticks are not back-filled); its runs are journaled with trigger \"schedule <cron>\". --webhook (or $MCPFLOW_WEBHOOK_URL) announces each finished run, signed with MCPFLOW_WEBHOOK_SECRET. --metrics (or MCPFLOW_METRICS) serves Prometheus metrics of every run it starts. The first line on stdout names the address (--json: {\"listening\":{…}})."
  )
)
