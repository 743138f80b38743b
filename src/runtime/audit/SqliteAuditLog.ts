/**
 * The SQLite audit log (`dsl/ports/AuditLog.ts`): the table `mcpflow_audit` in the run journal's
 * file (`.mcpflow/runs.db`), next to the runs it speaks of. Append-only, and SQLite enforces it:
 * a trigger refuses every `UPDATE`, another every `DELETE` except of entries older than the
 * retention bound `prune` sets for the length of its own transaction. Writes are synchronous
 * (`node:sqlite`), like the journal's events.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AuditLog } from "../../../dsl/ports/AuditLog.ts"
 * import * as SqliteAuditLog from "./SqliteAuditLog.ts"
 *
 * const entries = AuditLog.use((log) => log.entries({ runId })).pipe(Effect.provide(SqliteAuditLog.layer(".mcpflow/runs.db")))
 * ```
 * @module
 */
import { DatabaseSync } from "node:sqlite"
import { existsSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { Effect, Layer } from "effect"
import { AuditLog, type AuditRecord } from "../../../dsl/ports/AuditLog.ts"
import { JournalError } from "../../../dsl/ports/RunJournal.ts"
import { type AuditRow as Row, jsonColumn as json, toEntry } from "../sql/Rows.ts"
import { failureReason } from "../sql/sqlite/FailureReason.ts"

const schema = `
  CREATE TABLE IF NOT EXISTS mcpflow_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, run_id TEXT, step TEXT, action TEXT NOT NULL, target TEXT,
    actor TEXT NOT NULL, outcome TEXT NOT NULL, duration_ms INTEGER, detail TEXT, args TEXT, result TEXT);
  CREATE INDEX IF NOT EXISTS mcpflow_audit_run ON mcpflow_audit (run_id, seq);
  CREATE INDEX IF NOT EXISTS mcpflow_audit_at ON mcpflow_audit (at);
  CREATE TABLE IF NOT EXISTS mcpflow_audit_retention (before INTEGER NOT NULL);
  CREATE TRIGGER IF NOT EXISTS mcpflow_audit_no_update BEFORE UPDATE ON mcpflow_audit
    BEGIN SELECT RAISE(ABORT, 'mcpflow_audit is append-only: entries are never updated'); END;
  CREATE TRIGGER IF NOT EXISTS mcpflow_audit_no_delete BEFORE DELETE ON mcpflow_audit
    WHEN OLD.at >= COALESCE((SELECT MIN(before) FROM mcpflow_audit_retention), -1)
    BEGIN SELECT RAISE(ABORT, 'mcpflow_audit is append-only: only retention deletes, and only older entries'); END;`

const errorOf = (file: string, thrown: unknown): JournalError => {
  if (thrown instanceof JournalError) return thrown
  const text = thrown instanceof Error ? thrown.message : String(thrown)
  return new JournalError({ file, reason: failureReason(text), detail: `audit log: ${text}` })
}




/**
 * Opens the audit table in `file` (created if missing; the file's directory must exist) and
 * returns the service; the connection closes with `close`.
 *
 * @example
 * ```ts
 * const { service, close } = open(":memory:")
 * service.appendUnsafe({ at: 0, action: "run.started", target: "cicd", actor: "ana", outcome: "ok" })
 * close()
 * ```
 */
export const open = (file: string): { readonly service: AuditLog["Service"]; readonly close: () => void } => {
  if (file !== ":memory:" && !existsSync(dirname(resolve(file)))) {
    throw new JournalError({ file, reason: "Missing", detail: `directory ${dirname(resolve(file))} does not exist` })
  }
  const db = new DatabaseSync(file, { timeout: 5000 })
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
    db.exec(schema)
  } catch (thrown) {
    db.close()
    throw thrown
  }
  const insert = db.prepare(
    `INSERT INTO mcpflow_audit (at, run_id, step, action, target, actor, outcome, duration_ms, detail, args, result)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
  )
  const appendUnsafe = (r: AuditRecord): void => {
    insert.run(
      r.at,
      r.runId ?? null,
      r.step ?? null,
      r.action,
      r.target ?? null,
      r.actor,
      r.outcome,
      r.durationMs ?? null,
      r.detail ?? null,
      json(r.args),
      json(r.result)
    )
  }
  const attempt = <A>(f: () => A): Effect.Effect<A, JournalError> => Effect.try({ try: f, catch: (thrown) => errorOf(file, thrown) })
  const service = AuditLog.of({
    location: file,
    appendUnsafe,
    append: (record) => attempt(() => appendUnsafe(record)),
    entries: (query) =>
      attempt(() => {
        const where: Array<string> = []
        const params: Array<string | number> = []
        if (query?.runId !== undefined) {
          where.push("run_id = ?")
          params.push(query.runId)
        }
        if (query?.since !== undefined) {
          where.push("at >= ?")
          params.push(query.since)
        }
        const filter = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`
        // The newest `limit` entries, returned oldest first.
        const sql = query?.limit === undefined
          ? `SELECT * FROM mcpflow_audit ${filter} ORDER BY seq`
          : `SELECT * FROM (SELECT * FROM mcpflow_audit ${filter} ORDER BY seq DESC LIMIT ?) ORDER BY seq`
        if (query?.limit !== undefined) params.push(query.limit)
        return (db.prepare(sql).all(...params) as unknown as Array<Row>).map(toEntry)
      }),
    runIds: (prefix, limit = 10) =>
      attempt(() =>
        (db.prepare(
          "SELECT DISTINCT run_id FROM mcpflow_audit WHERE run_id IS NOT NULL AND substr(run_id, 1, length(?)) = ? LIMIT ?"
        ).all(prefix, prefix, limit) as Array<{ run_id: string }>).map((r) => r.run_id)
      ),
    prune: (before, actor) =>
      attempt(() => {
        db.exec("BEGIN IMMEDIATE")
        try {
          db.prepare("INSERT INTO mcpflow_audit_retention (before) VALUES (?)").run(before)
          const deleted = Number(db.prepare("DELETE FROM mcpflow_audit WHERE at < ?").run(before).changes)
          db.exec("DELETE FROM mcpflow_audit_retention")
          if (deleted > 0) {
            appendUnsafe({
              at: Date.now(),
              action: "audit.pruned",
              actor,
              outcome: "ok",
              detail: `retention deleted ${deleted} entries older than ${new Date(before).toISOString()}`
            })
          }
          db.exec("COMMIT")
          return deleted
        } catch (thrown) {
          db.exec("ROLLBACK")
          throw thrown
        }
      })
  })
  return { service, close: () => db.close() }
}

/**
 * The audit log in `file` (the run journal's, `.mcpflow/runs.db`), closed with the layer's scope.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(SqliteAuditLog.layer(".mcpflow/runs.db")))
 * ```
 */
export const layer = (file: string): Layer.Layer<AuditLog, JournalError> =>
  Layer.effect(AuditLog)(
    Effect.map(
      Effect.acquireRelease(
        Effect.try({ try: () => open(file), catch: (thrown) => errorOf(file, thrown) }),
        (opened) => Effect.sync(() => opened.close())
      ),
      (opened) => opened.service
    )
  )
