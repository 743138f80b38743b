/**
 * The run history commands: `mcpflow runs` lists journaled runs, `mcpflow show <runId>` prints
 * one run's step tree (timings, attempts, failures) from the journal; `signal`, `cancel` and
 * `prune` act on runs. `mcpflow resume <runId>` is in `resume.ts`: it alone loads a flow file
 * and the gateway.
 *
 * @example
 * ```sh
 * npx mcpflow runs
 * npx mcpflow show 3f2a…
 * npx mcpflow resume 3f2a…
 * ```
 * @module
 */
import { existsSync } from "node:fs"
import { Duration, Effect, Layer, Option, type Redacted } from "effect"
import { DatabaseError } from "../../../../runtime/cluster/DatabaseError.ts"
import * as PgRunJournal from "../../../../runtime/sql/postgres/PgRunJournal.ts"
import * as PgAuditLog from "../../../../runtime/sql/postgres/PgAuditLog.ts"
import type { FlowEvent } from "../../../../../dsl/flow/FlowEvents.ts"
import * as Engines from "../../../../runtime/engine/Engines.ts"
import { apply, emptyState, fold } from "../../../../../dsl/flow/EventFold.ts"
import { checkSignal } from "../../../../../dsl/flow/SignalCheck.ts"
import { didYouMean } from "../../../../../dsl/internal/Typos.ts"
import { type JournalError, type RunRecord, RunJournal } from "../../../../../dsl/ports/RunJournal.ts"
import { layer as journalLayer } from "../../../../runtime/engine/SqliteRunJournal.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import * as Summary from "../../../run/Summary.ts"
import { jsonLine, plainLines } from "../../../run/Lines.ts"
import { runView, selectRuns, shown } from "../../../run/RunQuery.ts"
import * as RunStatus from "../../../run/RunStatus.ts"
import { formatMs, safeJson, waitingText } from "../../../run/Text.ts"
import * as Tree from "../../../run/Tree.ts"
import { databaseOf } from "../../Flags.ts"
import { CliExit, columns, printJson, printLines } from "../../output.ts"
import * as AuditTrail from "../../../../runtime/audit/AuditTrail.ts"
import { redact } from "../../../../runtime/audit/AuditRedact.ts"
import * as SqliteAuditLog from "../../../../runtime/audit/SqliteAuditLog.ts"
import { AuditLog } from "../../../../../dsl/ports/AuditLog.ts"

/**
 * Where the run history is: a state directory's SQLite journal, or, with `--database` (or
 * `MCPFLOW_DATABASE_URL`), a cluster's Postgres journal.
 */
export type HistoryAt = string | { readonly stateDir: string; readonly database: Option.Option<Redacted.Redacted<string>> }

const stateDirOf = (at: HistoryAt) => (typeof at === "string" ? at : at.stateDir)
const databaseAt = (at: HistoryAt) => (typeof at === "string" ? Option.none() : at.database)

/** Where the runs are, as `runs` says it: the state directory, or the database (no password). */
const placeOf = (at: HistoryAt) => {
  const database = databaseAt(at)
  return Option.isSome(database) ? PgRunJournal.journalName(database.value) : stateDirOf(at)
}

/** Runs `f` with the run history of a state directory (no engine, no lock) or of a cluster's Postgres. */
const withHistory = <A>(
  at: HistoryAt,
  f: (journal: RunJournal["Service"]) => Effect.Effect<A, JournalError | CliExit>
): Effect.Effect<A, CliExit> =>
  Effect.gen(function*() {
    const database = databaseAt(at)
    if (Option.isSome(database)) {
      const invalid = DatabaseError.checkUrl(database.value)
      if (invalid !== undefined) return yield* new CliExit({ code: ExitCode.Usage, message: invalid.message })
      // Loaded only here: `runs` on a state directory does not load the cluster's modules.
      const ClusterEngine = yield* Effect.promise(() => import("../../../../runtime/cluster/ClusterEngine.ts"))
      return yield* RunJournal.use(f).pipe(
        Effect.provide(
          PgRunJournal.layer({ file: PgRunJournal.journalName(database.value) }).pipe(
            Layer.provide(ClusterEngine.postgres({ database: database.value }))
          )
        ),
        Effect.mapError((e) => (e._tag === "CliExit" ? e : new CliExit({ code: ExitCode.Usage, message: e.message })))
      )
    }
    const stateDir = stateDirOf(at)
    const file = Engines.journalFile(stateDir)
    if (!existsSync(file)) {
      return yield* new CliExit({ code: ExitCode.Usage, message: `no journal in ${stateDir} (${file} does not exist)` })
    }
    return yield* RunJournal.use(f).pipe(
      Effect.provide(journalLayer(file)),
      Effect.mapError((e) => (e._tag === "CliExit" ? e : new CliExit({ code: ExitCode.Usage, message: e.message })))
    )
  })

/** The audit log of a state directory, or of a cluster (next to its Postgres journal). */
const auditStore = (at: HistoryAt): Layer.Layer<AuditLog, JournalError | DatabaseError> => {
  const database = databaseAt(at)
  if (Option.isNone(database)) return SqliteAuditLog.layer(Engines.journalFile(stateDirOf(at)))
  return Layer.unwrap(Effect.map(
    Effect.promise(() => import("../../../../runtime/cluster/ClusterEngine.ts")),
    (ClusterEngine) =>
      PgAuditLog.layer({ location: PgRunJournal.journalName(database.value) }).pipe(
        Layer.provide(ClusterEngine.postgres({ database: database.value }))
      )
  ))
}

/** Runs `f` with the audit trail of a state directory: its decisions are recorded (see AuditTrail). */
const audited = <A>(at: HistoryAt, effect: Effect.Effect<A, CliExit>): Effect.Effect<A, CliExit> =>
  Effect.suspend(() =>
    // No journal: nothing to decide on (the command says so); no audit table is created either.
    // A cluster's decisions are not audited yet (the audit log is SQLite's).
    Option.isNone(databaseAt(at)) && existsSync(Engines.journalFile(stateDirOf(at)))
      ? effect.pipe(
        Effect.provide(AuditTrail.layer({ stateDir: stateDirOf(at) })),
        Effect.catchTag("JournalError", (e) => Effect.fail(new CliExit({ code: ExitCode.Usage, message: e.message })))
      )
      : effect
  )

/** A usage error (exit 2) saying `message`. */
export const usage = (message: string) => new CliExit({ code: ExitCode.Usage, message })

const when = (ms: number | undefined) => (ms === undefined ? "—" : new Date(ms).toISOString().replace("T", " ").slice(0, 19))
const took = (r: Pick<RunRecord, "startedAt" | "finishedAt">) => (r.finishedAt === undefined ? "—" : formatMs(r.finishedAt - r.startedAt))

/**
 * The run a user means by `idOrPrefix`: the run with that id, else the one run whose id starts
 * with it. None, or several (they are listed), is a usage error.
 *
 * @example
 * ```ts
 * const record = yield* resolveRun(journal, "3d87c2c5")
 * ```
 */
export const resolveRun = (journal: RunJournal["Service"], idOrPrefix: string): Effect.Effect<RunRecord, CliExit> =>
  Effect.gen(function*() {
    if (idOrPrefix.trim() === "") return yield* usage("the run id is empty; see mcpflow runs")
    const found = yield* journal.find(idOrPrefix, 11).pipe(Effect.mapError((e) => usage(e.message)))
    const exact = found.find((r) => r.runId === idOrPrefix)
    if (exact !== undefined) return exact
    if (found.length === 1) return found[0]!
    if (found.length === 0) return yield* usage(`no run with id or id prefix ${JSON.stringify(idOrPrefix)} in ${journal.file}`)
    return yield* usage(
      `the id prefix ${JSON.stringify(idOrPrefix)} is ambiguous: ${found.length > 10 ? "more than 10" : found.length} runs match (${
        found.slice(0, 10).map((r) => `${r.runId} ${r.flow}`).join(", ")
      }); give more characters`
    )
  })

/** Runs `f` with the run history and the run `idOrPrefix` names. */
export const withRun = <A>(
  stateDir: HistoryAt,
  idOrPrefix: string,
  f: (journal: RunJournal["Service"], record: RunRecord) => Effect.Effect<A, JournalError | CliExit>
): Effect.Effect<A, CliExit> =>
  withHistory(stateDir, (journal) => Effect.flatMap(resolveRun(journal, idOrPrefix), (record) => f(journal, record)))

/** The run as `runs --json` and `show --json` print it: the record with its status view. */
const view = runView

/** `wait:approval waiting for signal "approval"` / `sleep sleeping until …` / `` */
const parkedText = (status: RunStatus.StatusView, runId: string) =>
  status.step === undefined ? "" : `${status.step}: ${waitingText({ signal: status.waitingFor, until: status.until }, runId)}`

/**
 * `mcpflow runs [--flow] [--status] [--since] [--limit] [--state-dir] [--json]`: the journaled
 * runs, newest first, with their status (running, sleeping, waiting, crashed, …).
 *
 * @example
 * ```sh
 * npx mcpflow runs --status crashed --since 7d --json | jq -r '.[].runId'
 * ```
 */
export const runs = Effect.fn("mcpflow.runs")(function*({ database, flow, json, limit, since, stateDir, status }: {
  readonly json: boolean
  readonly stateDir: string
  /** A cluster's Postgres journal instead of the state directory's. */
  readonly database?: Option.Option<Redacted.Redacted<string>> | undefined
  readonly flow?: Option.Option<string> | undefined
  readonly status?: Option.Option<RunStatus.RunStatus> | undefined
  readonly since?: Option.Option<Duration.Duration> | undefined
  readonly limit?: Option.Option<number> | undefined
}) {
  const probe = RunStatus.localLiveness()
  const sinceMs = Option.getOrUndefined(Option.map(since ?? Option.none(), Duration.toMillis))
  const wanted = Option.getOrUndefined(status ?? Option.none())
  const flowName = Option.getOrUndefined(flow ?? Option.none())
  const at: HistoryAt = { stateDir, database: databaseOf(database ?? Option.none(), process.env) }
  const { flows, list } = yield* withHistory(at, (journal) =>
    Effect.gen(function*() {
      const list = yield* selectRuns(journal, { flow: flowName, status: wanted, sinceMs, limit: Option.getOrUndefined(limit ?? Option.none()) }, probe)
      // Nothing of that flow: the flows that have runs here, to say which was meant.
      const flows = list.length === 0 && flowName !== undefined && !json ? new Set((yield* journal.list).map((r) => r.flow)) : undefined
      return { flows, list }
    }))
  if (json) return yield* printJson(list)
  if (list.length === 0) {
    const none = `no runs in ${placeOf(at)}${flowName || wanted || sinceMs ? " match" : ""}`
    if (flows === undefined || flowName === undefined || flows.has(flowName)) return yield* printLines([none])
    return yield* printLines([
      `${none}: no run of a flow named ${JSON.stringify(flowName)}${didYouMean(flowName, [...flows], "flows with runs")}`
    ])
  }
  yield* printLines(
    columns([
      ["RUN", "FLOW", "STATUS", "STARTED", "DURATION", "DETAIL", "TRIGGER"],
      ...list.map((r) => [
        r.runId.slice(0, 8),
        r.flow,
        r.status,
        when(r.startedAt),
        took(r),
        r.parked !== undefined ? parkedText(r.parked, r.runId) : r.failedStep ?? "",
        r.trigger ?? ""
      ])
    ])
  )
})

/** The lines `show` prints for a run: header, step tree, then the summary or what it waits for. */
const showLines = (record: RunRecord, events: ReadonlyArray<FlowEvent>, probe: RunStatus.Liveness): ReadonlyArray<string> => {
  const status = RunStatus.runStatus(record, events, probe)
  const state = fold(events)
  const last = events.at(-1)?.at ?? record.startedAt
  const tail = status.status === "crashed"
    ? [`unfinished, and no live process runs it: resume with  npx mcpflow resume ${record.runId.slice(0, 8)}`]
    : status.status === "running"
    ? [`running (pid ${record.owner?.pid} on ${record.owner?.host}); follow it with  npx mcpflow show ${record.runId.slice(0, 8)} --follow`]
    : status.step !== undefined
    ? [`parked at ${parkedText(status, record.runId)}`]
    : Summary.summaryLines(Summary.summarize(state), { color: false })
  return [
    `run ${record.runId} · flow ${record.flow} · ${status.status}${record.source ? ` · ${record.source}` : ""}${
      record.trigger ? ` · started by ${record.trigger}` : ""
    }`,
    "",
    ...Tree.treeLines(state, { now: last, color: false, level: "normal" }),
    "",
    ...tail,
    // A succeeded run's output, as journaled (its sensitive fields as <redacted>).
    ...(record.output === undefined ? [] : [`  output: ${safeJson(shown(record).output)}`])
  ]
}

/**
 * `mcpflow show <runId|prefix> [--follow] [--state-dir] [--json]`: one run's step tree and
 * summary from the journal; with `--follow`, its events as they are journaled until it ends.
 *
 * @example
 * ```sh
 * npx mcpflow show 3f2a --json
 * npx mcpflow show 3f2a --follow
 * ```
 */
export const show = Effect.fn("mcpflow.show")(function*({ database, follow, json, runId, stateDir }: {
  readonly runId: string
  readonly json: boolean
  readonly stateDir: string
  readonly follow?: boolean | undefined
  /** A cluster's Postgres journal instead of the state directory's. */
  readonly database?: Option.Option<Redacted.Redacted<string>> | undefined
}) {
  const at: HistoryAt = { stateDir, database: databaseOf(database ?? Option.none(), process.env) }
  if (follow === true) return yield* followRun({ runId, json, at })
  const [record, events] = yield* withRun(at, runId, (journal, record) => Effect.map(journal.events(record.runId), (events) => [record, events] as const))
  const probe = RunStatus.localLiveness()
  if (json) return yield* printJson({ ...view(record, events, probe), events })
  yield* printLines(showLines(record, events, probe))
})

/**
 * Follows a run: prints the events journaled so far, then each new one (every 250 ms) until the
 * run is no longer `running`/`sleeping`/`waiting`, then its summary. A text line per event
 * (`--json`: the event as a JSON line, then the run record).
 */
export const followRun = Effect.fn("mcpflow.show.follow")(function*({ at, json, runId }: {
  readonly runId: string
  readonly json: boolean
  readonly at: HistoryAt
}) {
  yield* withRun(at, runId, (journal, first) =>
    Effect.gen(function*() {
      let seen = 0
      let parkedSaid = ""
      const folded = emptyState()
      while (true) {
        const record = yield* journal.get(first.runId)
        const events = yield* journal.events(first.runId)
        for (const event of events.slice(seen)) {
          yield* printLines(json ? [jsonLine(event)] : plainLines(apply(folded, event), { color: false, level: "normal" }))
        }
        seen = events.length
        const probe = RunStatus.localLiveness()
        const status = RunStatus.runStatus(record, events, probe)
        if (status.status !== "running" && status.status !== "waiting" && status.status !== "sleeping") {
          return yield* printLines(
            json
              ? [safeJson(view(record, events, probe))]
              : ["", `run ${record.runId.slice(0, 8)} ${status.status}${status.status === "crashed" ? " (its process is gone)" : ""}`]
          )
        }
        const parked = parkedText(status, record.runId)
        if (!json && parked !== "" && parked !== parkedSaid) yield* printLines([`⏸ parked at ${parked}`])
        parkedSaid = parked
        yield* Effect.sleep("250 millis")
      }
    }))
})

/**
 * `mcpflow cancel <runId|prefix> [--wait 30s] [--state-dir] [--json]`: asks the process running
 * the run to cancel it (a request in the journal it polls every 200 ms): it interrupts the run,
 * runs the compensations of the completed steps and marks it `cancelled`. On a state directory,
 * a run no live process runs (crashed, or parked with its process gone) is marked `cancelled` at
 * once; its compensations do not run (nothing holds the flow's code). On a cluster (`database`)
 * no run is orphaned: the runner that takes over a run whose runner died cancels it there.
 *
 * @example
 * ```sh
 * npx mcpflow cancel 3f2a
 * ```
 */
export const cancel = Effect.fn("mcpflow.cancel")(function*({ database, json, runId, stateDir, wait }: {
  readonly runId: string
  readonly json: boolean
  readonly stateDir: string
  readonly wait: Duration.Duration
  /** A cluster's Postgres journal instead of the state directory's. */
  readonly database?: Option.Option<Redacted.Redacted<string>> | undefined
}) {
  const at: HistoryAt = { stateDir, database: databaseOf(database ?? Option.none(), process.env) }
  const outcome = yield* audited(at, withRun(at, runId, (journal, record) =>
    Effect.gen(function*() {
      if (record.status !== "running") {
        yield* AuditTrail.decision({ action: "run.cancel", runId: record.runId, outcome: "refused", detail: `run already ${record.status}` })
        return yield* usage(`run ${record.runId} already ${record.status}; there is nothing to cancel`)
      }
      yield* journal.requestCancel(record.runId)
      const probe = RunStatus.localLiveness()
      // On a cluster a run whose runner died is not orphaned: the runner that takes it over sees
      // the request and compensates (once, there). Only a state directory's run can be orphaned.
      const cluster = Option.isSome(at.database)
      if (!cluster && !RunStatus.ownerAlive(record.owner, probe)) {
        yield* journal.finish({
          runId: record.runId,
          status: "cancelled",
          finishedAt: probe.now,
          error: "cancelled while no process ran it: the compensations of its completed steps did not run",
          errorTag: "Cancelled"
        })
        const detail = "no live process ran it: marked cancelled; the compensations of its completed steps did not run"
        yield* AuditTrail.decision({ action: "run.cancel", runId: record.runId, outcome: "cancelled", detail })
        return { runId: record.runId, status: "cancelled", compensated: false, detail }
      }
      const deadline = Date.now() + Duration.toMillis(wait)
      while (Date.now() < deadline) {
        const now = yield* journal.get(record.runId)
        if (now.status !== "running") {
          const detail = cluster
            ? `its runner (pid ${now.owner?.pid}) stopped it and ran its compensations`
            : `its process (pid ${record.owner?.pid}) stopped it and ran its compensations`
          yield* AuditTrail.decision({ action: "run.cancel", runId: record.runId, outcome: now.status, detail })
          return { runId: record.runId, status: now.status, compensated: true, detail }
        }
        if (!cluster && !RunStatus.ownerAlive(now.owner, RunStatus.localLiveness())) break
        yield* Effect.sleep("100 millis")
      }
      const message = cluster
        ? `cancel requested for run ${record.runId}, but no runner has stopped it within ${Duration.format(wait)}; the runner that runs it next will`
        : `cancel requested for run ${record.runId}, but its process (pid ${record.owner?.pid}) has not stopped it within ${Duration.format(wait)}; it will when it next polls the journal`
      yield* AuditTrail.decision({ action: "run.cancel", runId: record.runId, outcome: "requested", detail: message })
      return yield* new CliExit({ code: ExitCode.Failure, message })
    })))
  if (json) return yield* printJson(outcome)
  yield* printLines([`run ${outcome.runId} ${outcome.status}: ${outcome.detail}`])
})

/**
 * `mcpflow prune --older-than <age> [--state-dir] [--json]`: deletes the finished runs that
 * finished longer ago than `age` (unfinished runs are kept, whatever their age).
 *
 * @example
 * ```sh
 * npx mcpflow prune --older-than 30d
 * ```
 */
export const prune = Effect.fn("mcpflow.prune")(function*({ database, json, olderThan, retain, stateDir }: {
  readonly json: boolean
  readonly stateDir: string
  readonly olderThan: Duration.Duration
  readonly retain?: Option.Option<Duration.Duration> | undefined
  /** A cluster's Postgres journal (and audit log) instead of the state directory's. */
  readonly database?: Option.Option<Redacted.Redacted<string>> | undefined
}) {
  const at: HistoryAt = { stateDir, database: databaseOf(database ?? Option.none(), process.env) }
  const before = Date.now() - Duration.toMillis(olderThan)
  const pruned = yield* withHistory(at, (journal) => journal.prune(before))
  // Audit retention (--retain, else MCPFLOW_AUDIT_RETAIN): the audit entries older than it.
  const retention = Option.getOrUndefined(retain ?? Option.none()) ??
    Option.getOrUndefined(yield* Effect.mapError(AuditTrail.configuredRetention, (e) => usage(e.message)))
  const auditPruned = retention === undefined ? undefined : yield* AuditLog.use((log) =>
    Effect.flatMap(AuditTrail.actorOf, (actor) => log.prune(Date.now() - Duration.toMillis(retention), actor))
  ).pipe(
    Effect.provide(auditStore(at)),
    Effect.mapError((e) => usage(e.message))
  )
  if (json) return yield* printJson({ pruned, before: new Date(before).toISOString(), ...(auditPruned === undefined ? {} : { auditPruned }) })
  yield* printLines([`pruned ${pruned.length} run(s) finished before ${when(before)} UTC`])
  if (auditPruned !== undefined) yield* printLines([`pruned ${auditPruned} audit entr${auditPruned === 1 ? "y" : "ies"} older than ${Duration.format(retention!)}`])
})

/**
 * `mcpflow signal <runId> <name> [--payload '{…}']`: records a signal for a run waiting in
 * `Flow.waitFor`; the process running the run delivers it (at once if it is running, else when
 * the run is resumed). A finished run records nothing (exit 2), nor does a payload that does not
 * fit the Schema of the signal the run waits for (exit 2, with the issue's path).
 *
 * @example
 * ```sh
 * npx mcpflow signal 3f2a… approval --payload '{"approvedBy":"ana"}'
 * ```
 */
export const signal = Effect.fn("mcpflow.signal")(function*({ database, json, name, payload, runId, stateDir }: {
  readonly json?: boolean | undefined
  readonly runId: string
  readonly name: string
  readonly payload: unknown
  readonly stateDir: string
  /** A cluster's Postgres journal instead of the state directory's. */
  readonly database?: Option.Option<Redacted.Redacted<string>> | undefined
}) {
  const at: HistoryAt = { stateDir, database: databaseOf(database ?? Option.none(), process.env) }
  const record = yield* audited(
    at,
    withRun(at, runId, (journal, r) =>
      Effect.gen(function*() {
        // Checked at the door: its name against the signals the run waits for, its payload against
        // the Schema the run recorded when it started waiting.
        if (r.status === "running") {
          const rejected = checkSignal(yield* journal.events(r.runId), name, payload)
          if (rejected !== undefined) {
            yield* AuditTrail.decision({
              action: "signal.sent",
              runId: r.runId,
              target: name,
              outcome: "refused",
              detail: rejected.message,
              args: redact(payload).value
            })
            return yield* usage(`${rejected.message}; nothing recorded, run ${r.runId} still waits`)
          }
        }
        return yield* Effect.tap(journal.signal(r.runId, name, payload), (recorded) =>
          AuditTrail.decision({
            action: "signal.sent",
            runId: recorded.runId,
            target: name,
            outcome: recorded.status === "running" ? "recorded" : "refused",
            ...(recorded.status === "running" ? {} : { detail: `run already ${recorded.status}` }),
            args: redact(payload).value
          }))
      }))
  )
  if (record.status !== "running") return yield* usage(`run ${record.runId} already ${record.status}; nothing waits for ${name}`)
  if (json === true) return yield* printJson({ runId: record.runId, signal: name, recorded: true })
  yield* printLines([`signal ${name} recorded for run ${record.runId}; the process running it delivers it (or the next resume does)`])
})
