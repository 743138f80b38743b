/**
 * `mcpflow audit`: the audit log of a state directory — every tool call and run decision (who,
 * when, which step, which server.tool, with what outcome; arguments and results redacted). The
 * work is in `internal/audit.ts`, loaded when the command runs.
 *
 * @example
 * ```sh
 * npx mcpflow audit --run 3d87c2c5 --json
 * npx mcpflow audit --since 7d
 * ```
 * @module
 */
import { Command } from "effect/cli"
import * as Flags from "../Flags.ts"
import * as HistoryFlags from "../HistoryFlags.ts"
import { lazyHandler } from "./lazyHandler.ts"

/**
 * `mcpflow audit [--run <id-prefix>] [--since 7d] [--limit n] [--retain 90d] [--state-dir] [--json]`.
 *
 * @example
 * ```sh
 * npx mcpflow audit --run 3d87 --json | jq '.[] | select(.action == "tool.call")'
 * ```
 */
export const audit = Command.make(
  "audit",
  {
    run: HistoryFlags.run,
    since: HistoryFlags.since,
    database: Flags.historyDatabase,
    limit: HistoryFlags.limit,
    retain: HistoryFlags.retain,
    stateDir: Flags.stateDir,
    json: Flags.json
  },
  lazyHandler(() => import("./internal/audit.ts").then((m) => m.audit))
).pipe(
  Command.withShortDescription("Show the audit log: tool calls and run decisions"),
  Command.withDescription(
    "Print the audit log kept next to the journal (runs.db, table mcpflow_audit), oldest first: time, run, step, action (tool.call, run.started, run.resumed, run.finished, run.cancel, signal.sent, signal.received, compensation, audit.pruned), server.tool or flow, who (MCPFLOW_ACTOR, else the OS user), outcome, duration. Arguments and results are kept with Schema.Redacted fields and configured secrets as <redacted>; --json prints them. Filter with --run (any unique id prefix), --since (30m, 2h, 7d), --limit (the newest n). --retain 90d (or MCPFLOW_AUDIT_RETAIN) first deletes older entries. The log is append-only: only retention deletes. With --database postgres://… (or MCPFLOW_DATABASE_URL), a cluster's audit log, written by its runners next to its Postgres journal."
  )
)
