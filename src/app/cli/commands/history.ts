/**
 * The run history commands: `mcpflow runs` lists journaled runs, `mcpflow show <runId>` prints
 * one run's step tree (timings, attempts, failures) from the journal, `mcpflow resume <runId>`
 * continues a run a crash left unfinished, `mcpflow signal <runId> <name>` records a signal for
 * a waiting run, `mcpflow cancel <runId>` cancels an unfinished one, `mcpflow prune` deletes old
 * finished runs. A run id may be any unique prefix of it. The work is in `internal/history.ts`
 * (`resume`'s in `internal/resume.ts`), loaded when a command runs.
 *
 * @example
 * ```sh
 * npx mcpflow runs
 * npx mcpflow show 3f2a…
 * npx mcpflow resume 3f2a…
 * ```
 * @module
 */
import { Command } from "effect/cli"
import * as Flags from "../Flags.ts"
import * as HistoryFlags from "../HistoryFlags.ts"
import { lazyHandler } from "./lazyHandler.ts"

const history = () => import("./internal/history.ts")

/**
 * `mcpflow runs [--state-dir .mcpflow] [--json]`: the journaled runs, newest first.
 *
 * @example
 * ```sh
 * npx mcpflow runs --json | jq -r '.[] | select(.status == "running") | .runId'
 * ```
 */
export const runs = Command.make(
  "runs",
  {
    flow: HistoryFlags.flow,
    status: HistoryFlags.status,
    since: HistoryFlags.since,
    limit: HistoryFlags.limit,
    stateDir: Flags.stateDir,
    database: Flags.historyDatabase,
    json: Flags.json
  },
  lazyHandler(() => history().then((m) => m.runs))
).pipe(
  Command.withShortDescription("List journaled runs"),
  Command.withDescription(
    "List the runs journaled in the state directory (default .mcpflow), newest first: id (its first 8 characters; any unique prefix works wherever a run id is taken), flow, status, start time, duration, and the failing step or what a parked run waits for. Statuses: running (a live process runs it), sleeping/waiting (parked on Flow.sleep/Flow.waitFor: until when, for which signal), crashed (unfinished and no live process: resume it), cancelled, interrupted, succeeded, failed. Filter with --flow, --status, --since, --limit. With --json, the runs as one JSON array. With --database postgres://… (or MCPFLOW_DATABASE_URL), the runs of a cluster (mcpflow worker --database), from its Postgres journal, whichever runner ran them."
  )
)

/**
 * `mcpflow show <runId> [--state-dir] [--json]`: one run's step tree and summary from the journal.
 *
 * @example
 * ```sh
 * npx mcpflow show 3f2a… --json
 * ```
 */
export const show = Command.make(
  "show",
  { runId: Flags.runId, follow: HistoryFlags.follow, stateDir: Flags.stateDir, database: Flags.historyDatabase, json: Flags.json },
  lazyHandler(() => history().then((m) => m.show))
).pipe(
  Command.withShortDescription("Show a journaled run"),
  Command.withDescription(
    "Print a run's status and step tree with timings, attempts and the failure cause (or what a parked run waits for), read from the journal (no server is contacted). Outputs are not printed: use --json for the run record and its full event list. With --follow, print the events of a run another process is running as they are journaled, until it ends. With --database (or MCPFLOW_DATABASE_URL), the run of a cluster, from its Postgres journal, whichever runner runs it."
  )
)

/**
 * `mcpflow resume <runId>`: continues a run a crash left unfinished, from the flow file recorded
 * in the journal (or the one given), with the report flags of `mcpflow run`.
 *
 * @example
 * ```sh
 * npx mcpflow resume 3f2a… --json
 * ```
 */
export const resume = Command.make(
  "resume",
  { runId: Flags.runId, ...Flags.resumeFlags, database: Flags.historyDatabase },
  lazyHandler(() => import("./internal/resume.ts").then((m) => m.resume))
).pipe(
  Command.withShortDescription("Resume a journaled run a crash left unfinished"),
  Command.withDescription(
    "Continue the run with its own input: the steps that completed are replayed from the journal (not run again), the step that was in flight when the process died runs again (reported as re-run after crash), compensations that were under way finish. Refused (exit 2) for a run that does not exist or already finished, or whose flow's steps changed since it started (unless --force). With --database (or MCPFLOW_DATABASE_URL) the run is a cluster's: its runners continue it on their own (a dead runner's runs move to another), so there is nothing to do; resume says so and exits 0."
  )
)

/**
 * `mcpflow signal <runId> <name> [--payload '{…}']`: records a signal for a run waiting in
 * `Flow.waitFor`; the process running the run delivers it (at once if it is running, else when
 * the run is resumed).
 *
 * @example
 * ```sh
 * npx mcpflow signal 3f2a… approval --payload '{"approvedBy":"ana"}'
 * ```
 */
export const signal = Command.make(
  "signal",
  {
    runId: Flags.runId,
    name: Flags.signalName,
    payload: Flags.payload,
    stateDir: Flags.stateDir,
    database: Flags.historyDatabase,
    json: Flags.json
  },
  lazyHandler(() => history().then((m) => m.signal))
).pipe(
  Command.withShortDescription("Send a signal to a run waiting for it"),
  Command.withDescription(
    "Record a signal (an approval, a webhook result) for a journaled run that waits for it with Flow.waitFor. The process running the run picks it up within a fraction of a second; a parked or crashed run gets it when resumed. With --database (or MCPFLOW_DATABASE_URL), a run of a cluster: the runner that has it delivers it. Exit 2 for an unknown or finished run or bad JSON."
  )
)

/**
 * `mcpflow cancel <runId> [--wait 30s]`: cancels an unfinished run: the process running it
 * (this one or another) interrupts it, runs its compensations and marks it cancelled.
 *
 * @example
 * ```sh
 * npx mcpflow cancel 3f2a
 * ```
 */
export const cancel = Command.make(
  "cancel",
  { runId: Flags.runId, wait: HistoryFlags.wait, stateDir: Flags.stateDir, database: Flags.historyDatabase, json: Flags.json },
  lazyHandler(() => history().then((m) => m.cancel))
).pipe(
  Command.withShortDescription("Cancel an unfinished run"),
  Command.withDescription(
    "Cancel a run that has not finished. The request goes through the journal: the process running the run (any process on the same state directory) sees it within 200 ms, interrupts the run, runs the compensations of its completed steps and marks it cancelled; cancel waits for that (--wait, default 30s; exit 1 if it did not happen in time). A run no live process runs (crashed, or parked with its process gone) is marked cancelled at once, without compensations (nothing holds its code). With --database (or MCPFLOW_DATABASE_URL), a run of a cluster: the runner running it cancels it the same way; a run whose runner died is cancelled, with its compensations, by the runner that takes it over. Exit 2 for an unknown or finished run."
  )
)

/**
 * `mcpflow prune --older-than <age>`: deletes finished runs older than `age`.
 *
 * @example
 * ```sh
 * npx mcpflow prune --older-than 30d
 * ```
 */
export const prune = Command.make(
  "prune",
  {
    olderThan: HistoryFlags.olderThan,
    retain: HistoryFlags.retain,
    stateDir: Flags.stateDir,
    database: Flags.historyDatabase,
    json: Flags.json
  },
  lazyHandler(() => history().then((m) => m.prune))
).pipe(
  Command.withShortDescription("Delete finished runs older than an age"),
  Command.withDescription(
    "Delete from the journal the runs that finished (succeeded, failed, cancelled, interrupted) longer ago than --older-than (30m, 2h, 7d, 2w), with their events and signals. Unfinished runs are never pruned. The audit log keeps its entries of pruned runs: --retain 90d (or MCPFLOW_AUDIT_RETAIN) deletes the audit entries older than that. With --database (or MCPFLOW_DATABASE_URL), a cluster's journal and audit log in Postgres."
  )
)
