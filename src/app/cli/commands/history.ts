/**
 * The run history commands: `mcpflow runs` lists journaled runs, `mcpflow show <runId>` prints
 * one run's step tree (timings, attempts, failures) from the journal, `mcpflow resume <runId>`
 * continues a run a crash left unfinished, `mcpflow signal <runId> <name>` records a signal for
 * a waiting run. The work is in `internal/history.ts`, loaded when a command runs.
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
  { stateDir: Flags.stateDir, json: Flags.json },
  lazyHandler(() => history().then((m) => m.runs))
).pipe(
  Command.withShortDescription("List journaled runs"),
  Command.withDescription(
    "List the runs journaled in the state directory (default .mcpflow): id, flow, status (running means unfinished: the process died; resume it), start time, duration and the failing step. With --json, the runs as one JSON array."
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
  { runId: Flags.runId, stateDir: Flags.stateDir, json: Flags.json },
  lazyHandler(() => history().then((m) => m.show))
).pipe(
  Command.withShortDescription("Show a journaled run"),
  Command.withDescription(
    "Print a finished or interrupted run's step tree with timings, attempts and the failure cause, read from the journal (no server is contacted). Outputs are not printed: use --json for the run record and its full event list."
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
  { runId: Flags.runId, ...Flags.resumeFlags },
  lazyHandler(() => history().then((m) => m.resume))
).pipe(
  Command.withShortDescription("Resume a journaled run a crash left unfinished"),
  Command.withDescription(
    "Continue the run with its own input: the steps that completed are replayed from the journal (not run again), the step that was in flight when the process died runs again (reported as re-run after crash), compensations that were under way finish. Refused (exit 2) for a run that does not exist or already finished, or whose flow's steps changed since it started (unless --force)."
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
  { runId: Flags.runId, name: Flags.signalName, payload: Flags.payload, stateDir: Flags.stateDir },
  lazyHandler(() => history().then((m) => m.signal))
).pipe(
  Command.withShortDescription("Send a signal to a run waiting for it"),
  Command.withDescription(
    "Record a signal (an approval, a webhook result) for a journaled run that waits for it with Flow.waitFor. The process running the run picks it up within a fraction of a second; a parked or crashed run gets it when resumed. Exit 2 for an unknown or finished run or bad JSON."
  )
)
