/**
 * `mcpflow worker`: a long-running process that owns a state directory's journal and continues
 * its unfinished runs — runs whose process died, runs parked in a durable sleep or waiting for a
 * signal (`mcpflow signal` records it; the worker delivers it). `--once` resumes what is pending
 * and exits when those runs end (for cron jobs and tests). Flow files given as arguments have their
 * schedules run. The work is in `internal/worker.ts`,
 * loaded when the command runs.
 *
 * @example
 * ```sh
 * npx mcpflow worker --state-dir .mcpflow --poll 2
 * ```
 * @module
 */
import { Argument, Command } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

/**
 * `[flow.ts…]`: flow files whose schedules (`Flow.schedule`) the worker runs, or, with `--database`, the flows a cluster runner serves.
 *
 * @example
 * ```ts
 * Command.make("worker", { files: scheduled }, ({ files }) => …)
 * ```
 */
export const scheduled: Argument.Argument<ReadonlyArray<string>> = Argument.String("file").pipe(
  Argument.withMetavar("flow.ts"),
  Argument.withDescription("Flow files: their schedules run (each exports `schedule = Flow.schedule(flow, { cron, input })`); with --database, the flows this cluster runner serves"),
  Argument.variadic({ min: 0 })
)

/**
 * `mcpflow worker [flow.ts…] [--state-dir dir] [--config .mcp.json] [--poll seconds] [--once] [--verbose] [--metrics [host]:port]`,
 * or `mcpflow worker --database postgres://… [--listen host:port] flow.ts…` (a cluster runner).
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([worker]))
 * ```
 */
export const worker = Command.make(
  "worker",
  {
    files: scheduled,
    stateDir: Flags.stateDir,
    config: Flags.config,
    poll: Flags.poll,
    once: Flags.once,
    verbose: Flags.verbose,
    json: Flags.json,
    metrics: Flags.metrics,
    webhook: Flags.webhook,
    database: Flags.database,
    listen: Flags.listen
  },
  lazyHandler(() => import("./internal/worker.ts").then((m) => m.worker))
).pipe(
  Command.withShortDescription("Continue a state directory's unfinished runs"),
  Command.withDescription(
    "Own the journal of a state directory and continue its unfinished runs: runs whose process died, runs parked in a durable sleep or waiting for a signal (mcpflow signal records it; the worker delivers it). Each run uses its flow file's sandbox, or --config. With --database postgres://… (or MCPFLOW_DATABASE_URL), it is instead an Effect Cluster runner on that Postgres, serving the flow files given as arguments: runners share the runs, and a dead runner's runs move to the others, and the flows' schedules run as Effect ClusterCron jobs (each tick starts one run across all runners, run id <flow>@<tick>); each run a runner executes is journaled in that Postgres (mcpflow runs/show/signal/cancel --database), and signals and cancels recorded there are delivered by the runners. --once continues what is pending, waits for those runs, and exits (1 if one failed); with --json it then prints {\"continued\":[…],\"failed\":[…]} on stdout, and any error as {\"error\":{…}}. Flow files given as arguments have their schedules run (Flow.schedule: a run at each cron tick, trigger \"schedule <cron>\"; a tick whose previous run still runs is skipped and reported; missed ticks are not back-filled). --webhook (or $MCPFLOW_WEBHOOK_URL) announces each finished run, HMAC-signed with $MCPFLOW_WEBHOOK_SECRET."
  )
)
