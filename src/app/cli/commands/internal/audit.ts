/**
 * `mcpflow audit`: reads the audit log of a state directory (see `commands/audit.ts`), with the
 * run id prefixes the history commands take, and prints it as a table or as JSON.
 *
 * @example
 * ```sh
 * npx mcpflow audit --run 3d87 --since 7d --json
 * ```
 * @module
 */
import { existsSync } from "node:fs"
import { Duration, Effect, Layer, Option, type Redacted } from "effect"
import { DatabaseError } from "../../../../runtime/cluster/DatabaseError.ts"
import * as PgAuditLog from "../../../../runtime/sql/postgres/PgAuditLog.ts"
import * as PgRunJournal from "../../../../runtime/sql/postgres/PgRunJournal.ts"
import { databaseOf } from "../../Flags.ts"
import { type AuditEntry, AuditLog } from "../../../../../dsl/ports/AuditLog.ts"
import { type JournalError, RunJournal } from "../../../../../dsl/ports/RunJournal.ts"
import * as AuditTrail from "../../../../runtime/audit/AuditTrail.ts"
import * as SqliteAuditLog from "../../../../runtime/audit/SqliteAuditLog.ts"
import * as Engines from "../../../../runtime/engine/Engines.ts"
import { layer as journalLayer } from "../../../../runtime/engine/SqliteRunJournal.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { formatMs } from "../../../run/Text.ts"
import { CliExit, columns, printJson, printLines } from "../../output.ts"

const usage = (message: string) => new CliExit({ code: ExitCode.Usage, message })

const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19)

const compact = (value: unknown, max = 80): string => {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? ""
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/**
 * The text lines of audit entries: one row per entry (time UTC, run, step, action, target,
 * actor, outcome, duration, then the detail or the arguments).
 *
 * @example
 * ```ts
 * auditLines([{ seq: 1, at: 0, runId: "3d87c2c5-…", action: "run.started", target: "cicd", actor: "ana", outcome: "ok" }])
 * // => ["TIME (UTC)  RUN  STEP  ACTION  TARGET  ACTOR  OUTCOME  DURATION  DETAIL", "1970-01-01 00:00:00  3d87c2c5  …"]
 * ```
 */
export const auditLines = (entries: ReadonlyArray<AuditEntry>): ReadonlyArray<string> =>
  columns([
    ["TIME (UTC)", "RUN", "STEP", "ACTION", "TARGET", "ACTOR", "OUTCOME", "DURATION", "DETAIL"],
    ...entries.map((e) => [
      when(e.at),
      e.runId?.slice(0, 8) ?? "—",
      e.step ?? "",
      e.action,
      e.target ?? "",
      e.actor,
      e.outcome,
      e.durationMs === undefined ? "" : formatMs(e.durationMs),
      e.detail !== undefined ? compact(e.detail, 100) : e.args !== undefined ? `args ${compact(e.args)}` : ""
    ])
  ])

/**
 * The run a user means by `idOrPrefix`, among the runs of the journal and of the audit log (a
 * pruned run keeps its audit entries): the exact id, else the one run whose id starts with it.
 * None, or several (listed), is a usage error.
 *
 * @example
 * ```ts
 * const runId = yield* resolveAuditRun(journal, log, "3d87")
 * ```
 */
export const resolveAuditRun = (
  journal: RunJournal["Service"],
  log: AuditLog["Service"],
  idOrPrefix: string
): Effect.Effect<string, CliExit> =>
  Effect.gen(function*() {
    if (idOrPrefix.trim() === "") return yield* usage("the run id is empty; see mcpflow runs")
    const [runs, audited] = yield* Effect.all([journal.find(idOrPrefix, 11), log.runIds(idOrPrefix, 11)]).pipe(
      Effect.mapError((e) => usage(e.message))
    )
    const ids = [...new Set([...runs.map((r) => r.runId), ...audited])]
    if (ids.includes(idOrPrefix)) return idOrPrefix
    if (ids.length === 1) return ids[0]!
    if (ids.length === 0) return yield* usage(`no run with id or id prefix ${JSON.stringify(idOrPrefix)} in ${journal.file}`)
    return yield* usage(
      `the id prefix ${JSON.stringify(idOrPrefix)} is ambiguous: ${ids.length > 10 ? "more than 10" : ids.length} runs match (${
        ids.slice(0, 10).join(", ")
      }); give more characters`
    )
  })

/**
 * `mcpflow audit [--run <id-prefix>] [--since <age>] [--limit n] [--retain <age>] [--state-dir] [--json]`.
 *
 * @example
 * ```sh
 * npx mcpflow audit --since 7d
 * ```
 */
export const audit = Effect.fn("mcpflow.audit")(function*({ database, json, limit, retain, run, since, stateDir }: {
  readonly json: boolean
  readonly stateDir: string
  /** A cluster's Postgres audit log instead of the state directory's. */
  readonly database?: Option.Option<Redacted.Redacted<string>> | undefined
  readonly run?: Option.Option<string> | undefined
  readonly since?: Option.Option<Duration.Duration> | undefined
  readonly limit?: Option.Option<number> | undefined
  readonly retain?: Option.Option<Duration.Duration> | undefined
}) {
  const cluster = databaseOf(database ?? Option.none(), process.env)
  const file = Engines.journalFile(stateDir)
  if (Option.isNone(cluster) && !existsSync(file)) return yield* usage(`no journal in ${stateDir} (${file} does not exist)`)
  const where = Option.isSome(cluster) ? PgRunJournal.journalName(cluster.value) : stateDir
  const stores: Layer.Layer<AuditLog | RunJournal, CliExit | JournalError> = Option.isSome(cluster)
    ? yield* clusterStores(cluster.value)
    : Layer.mergeAll(SqliteAuditLog.layer(file), journalLayer(file))
  const now = Date.now()
  const entries = yield* Effect.gen(function*() {
    const log = yield* AuditLog
    const journal = yield* RunJournal
    const retention = Option.getOrUndefined(retain ?? Option.none()) ?? Option.getOrUndefined(yield* AuditTrail.configuredRetention)
    if (retention !== undefined) yield* log.prune(now - Duration.toMillis(retention), yield* AuditTrail.actorOf)
    const prefix = Option.getOrUndefined(run ?? Option.none())
    const runId = prefix === undefined ? undefined : yield* resolveAuditRun(journal, log, prefix)
    return yield* log.entries({
      runId,
      since: Option.match(since ?? Option.none(), { onNone: () => undefined, onSome: (d) => now - Duration.toMillis(d) }),
      limit: Option.getOrUndefined(limit ?? Option.none())
    })
  }).pipe(
    Effect.provide(stores),
    Effect.catchTag("JournalError", (e) => Effect.fail(usage(e.message)))
  )
  if (json) return yield* printJson(entries)
  if (entries.length === 0) return yield* printLines([`no audit entries in ${where}${run !== undefined && Option.isSome(run) ? ` for run ${run.value}` : ""}`])
  yield* printLines(auditLines(entries))
})

/** A cluster's audit log and run journal in Postgres; an unusable database is one line, exit 2. */
const clusterStores = (database: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const invalid = DatabaseError.checkUrl(database)
    if (invalid !== undefined) return yield* usage(invalid.message)
    // Loaded only here: `audit` on a state directory does not load the cluster's modules.
    const ClusterEngine = yield* Effect.promise(() => import("../../../../runtime/cluster/ClusterEngine.ts"))
    const name = PgRunJournal.journalName(database)
    return Layer.mergeAll(PgAuditLog.layer({ location: name }), PgRunJournal.layer({ file: name })).pipe(
      Layer.provide(ClusterEngine.postgres({ database })),
      // A database error is a usage error (one line, exit 2); the layer still provides both stores.
      Layer.catch((e) => Layer.effectDiscard(Effect.fail(usage(e.message))))
    ) as Layer.Layer<AuditLog | RunJournal, CliExit>
  })
