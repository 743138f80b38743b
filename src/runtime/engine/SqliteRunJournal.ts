/**
 * The SQLite implementation of the run-history port (`dsl/ports/RunJournal.ts`): one row per run (flow, status, input, code fingerprint, outcome) and
 * every event of the run, in mcpflow's own tables next to the workflow engine's journal in the
 * same SQLite file (`.mcpflow/runs.db`). `mcpflow runs` and `mcpflow show` read it; resume
 * reads a run's input and fingerprint from it and finds the steps a crash left in flight.
 *
 * Writes are synchronous (`node:sqlite`), so an event is on disk before the step it announces
 * does anything: a crash never loses a `StepStarted`.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite"
import { existsSync } from "node:fs"
import { hostname } from "node:os"
import { dirname, resolve } from "node:path"
import { type Duration, Effect, Layer, Schedule } from "effect"
import type { FlowEvent } from "../../../dsl/flow/FlowEvents.ts"
import { JournalError, RunJournal } from "../../../dsl/ports/RunJournal.ts"
import { type RunRow, toRecord } from "../sql/Rows.ts"
import { failureReason } from "../sql/sqlite/FailureReason.ts"

/** Format N is what the first N migrations make; a journal records the format it is at. */
const migrations: ReadonlyArray<string> = [
  // format 1
  `CREATE TABLE IF NOT EXISTS mcpflow_runs (
     run_id TEXT PRIMARY KEY, flow TEXT NOT NULL, status TEXT NOT NULL,
     started_at INTEGER NOT NULL, finished_at INTEGER, input TEXT NOT NULL, fingerprint TEXT NOT NULL, source TEXT,
     failed_step TEXT, error TEXT, error_tag TEXT);
   CREATE TABLE IF NOT EXISTS mcpflow_signals (
     run_id TEXT NOT NULL, name TEXT NOT NULL, payload TEXT NOT NULL, sent_at INTEGER NOT NULL, delivered_at INTEGER,
     PRIMARY KEY (run_id, name));
   CREATE TABLE IF NOT EXISTS mcpflow_events (
     run_id TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, tag TEXT NOT NULL, body TEXT NOT NULL,
     PRIMARY KEY (run_id, seq));`,
  // format 2: who runs a run (liveness for `mcpflow runs`), cancel requests (`mcpflow cancel`)
  `ALTER TABLE mcpflow_runs ADD COLUMN owner_pid INTEGER;
   ALTER TABLE mcpflow_runs ADD COLUMN owner_host TEXT;
   ALTER TABLE mcpflow_runs ADD COLUMN heartbeat_at INTEGER;
   ALTER TABLE mcpflow_runs ADD COLUMN cancel_requested_at INTEGER;`,
  // format 3: what started a run (`cli`, `http`, `schedule <cron>`)
  `ALTER TABLE mcpflow_runs ADD COLUMN started_by TEXT;`,
  // format 4: a succeeded run's output (its JSON form, sensitive parts sealed)
  `ALTER TABLE mcpflow_runs ADD COLUMN output TEXT;`,
  // format 5: the durable engine keeps its messages in one shard per group (`JournalShards.ts`
  // moves them when it opens the file); no table of this journal changes, but a version that
  // reads ≤ 4 would look for them in 300 shards, so it must refuse the file.
  `SELECT 1;`
]

/** The journal format this version writes; older formats are migrated, newer ones refused. */
export const journalFormat = migrations.length

const classify = (file: string, thrown: unknown): JournalError => {
  const text = thrown instanceof Error ? thrown.message : String(thrown)
  const reason = failureReason(text)
  const detail = reason === "Corrupt"
    ? `${text} (the file is not an mcpflow journal or is damaged; move it away to start a new one)`
    : reason === "Locked"
    ? `${text} (another process is using it)`
    : text
  return new JournalError({ file, reason, detail })
}

/** Opens (creating, migrating) the journal tables in `file`. */
const open = (file: string): Effect.Effect<DatabaseSync, JournalError> =>
  Effect.try({
    try: () => {
      if (file !== ":memory:" && !existsSync(dirname(resolve(file)))) {
        throw new JournalError({ file, reason: "Missing", detail: `directory ${dirname(resolve(file))} does not exist` })
      }
      const db = new DatabaseSync(file, { timeout: 5000 })
      try {
        db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
        db.exec("CREATE TABLE IF NOT EXISTS mcpflow_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        const row = db.prepare("SELECT value FROM mcpflow_meta WHERE key = 'format'").get() as { value: string } | undefined
        const format = row === undefined ? 0 : Number(row.value)
        if (!Number.isInteger(format) || format > journalFormat) {
          throw new JournalError({
            file,
            reason: "Incompatible",
            detail: `written by a newer mcpflow (journal format ${row?.value}, this version reads ≤ ${journalFormat}); ` +
              `upgrade mcpflow or use another --state-dir`
          })
        }
        for (let f = format; f < journalFormat; f++) {
          db.exec("BEGIN")
          db.exec(migrations[f]!)
          db.prepare("INSERT OR REPLACE INTO mcpflow_meta (key, value) VALUES ('format', ?)").run(String(f + 1))
          db.exec("COMMIT")
        }
        return db
      } catch (thrown) {
        db.close()
        throw thrown
      }
    },
    catch: (thrown) => (thrown instanceof JournalError ? thrown : classify(file, thrown))
  })



/**
 * The run history in `file` (created with its directory's parent required to exist). A process
 * that runs flows passes `heartbeat`: the runs it starts record it as their owner (pid, host),
 * and every `heartbeat` interval it stamps them, so `mcpflow runs` tells a live run from a
 * crashed one.
 *
 * @example
 * ```ts
 * const history = RunJournal.layer(".mcpflow/runs.db")
 * const owning = RunJournal.layer(".mcpflow/runs.db", { heartbeat: "2 seconds" })
 * ```
 */
export const layer = (
  file: string,
  options?: { readonly heartbeat?: Duration.Input | undefined } | undefined
): Layer.Layer<RunJournal, JournalError> =>
  Layer.effect(RunJournal)(
    Effect.gen(function*() {
      const db = yield* Effect.acquireRelease(open(file), (db) => Effect.sync(() => db.close()))
      const host = hostname()
      if (options?.heartbeat !== undefined) {
        const beat = db.prepare(
          "UPDATE mcpflow_runs SET heartbeat_at = ? WHERE owner_pid = ? AND owner_host = ? AND status = 'running'"
        )
        yield* Effect.forkScoped(
          Effect.sync(() => void beat.run(Date.now(), process.pid, host)).pipe(
            Effect.ignore,
            Effect.repeat(Schedule.spaced(options.heartbeat))
          )
        )
      }
      const attempt = <A>(f: () => A): Effect.Effect<A, JournalError> =>
        Effect.try({ try: f, catch: (thrown) => classify(file, thrown) })
      const insertRun = db.prepare(
        `INSERT INTO mcpflow_runs (run_id, flow, status, started_at, input, fingerprint, source, owner_pid, owner_host, heartbeat_at, started_by)
         VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL, failed_step = NULL, error = NULL, error_tag = NULL, output = NULL,
           owner_pid = excluded.owner_pid, owner_host = excluded.owner_host, heartbeat_at = excluded.heartbeat_at`
      )
      const nextSeq = db.prepare("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM mcpflow_events WHERE run_id = ?")
      const insertEvent = db.prepare("INSERT INTO mcpflow_events (run_id, seq, at, tag, body) VALUES (?, ?, ?, ?, ?)")
      const selectRun = db.prepare("SELECT * FROM mcpflow_runs WHERE run_id = ?")
      const insertSignal = db.prepare(
        `INSERT INTO mcpflow_signals (run_id, name, payload, sent_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (run_id, name) DO UPDATE SET payload = excluded.payload, sent_at = excluded.sent_at
         WHERE delivered_at IS NULL`
      )
      const notFound = (runId: string) =>
        new JournalError({ file, reason: "NotFound", detail: `no run with id ${JSON.stringify(runId)}` })
      const seqs = new Map<string, number>()
      return RunJournal.of({
        file,
        start: (run) =>
          attempt(() => {
            insertRun.run(
              run.runId,
              run.flow,
              run.startedAt,
              JSON.stringify(run.input ?? null),
              run.fingerprint,
              run.source ?? null,
              process.pid,
              host,
              Date.now(),
              run.trigger ?? null
            )
          }),
        appendUnsafe: (event) => {
          let seq = seqs.get(event.runId)
          if (seq === undefined) seq = Number((nextSeq.get(event.runId) as { seq: number }).seq)
          seqs.set(event.runId, seq + 1)
          insertEvent.run(event.runId, seq, event.at, event._tag, JSON.stringify(event))
        },
        finish: (run) =>
          attempt(() => {
            db.prepare(
              "UPDATE mcpflow_runs SET status = ?, finished_at = ?, failed_step = ?, error = ?, error_tag = ?, output = ? WHERE run_id = ?"
            ).run(
              run.status,
              run.finishedAt,
              run.failedStep ?? null,
              run.error ?? null,
              run.errorTag ?? null,
              run.output === undefined ? null : JSON.stringify(run.output),
              run.runId
            )
          }),
        get: (runId) =>
          attempt(() => selectRun.get(runId) as RunRow | undefined).pipe(
            Effect.flatMap((row) => (row === undefined ? Effect.fail(notFound(runId)) : Effect.succeed(toRecord(row))))
          ),
        list: attempt(() =>
          (db.prepare("SELECT * FROM mcpflow_runs ORDER BY started_at DESC").all() as unknown as Array<RunRow>).map(toRecord)
        ),
        signal: (runId, name, payload) =>
          attempt(() => {
            // One write transaction: the run's status read and the insert see the same journal.
            db.exec("BEGIN IMMEDIATE")
            try {
              const row = selectRun.get(runId) as RunRow | undefined
              if (row?.status === "running") insertSignal.run(runId, name, JSON.stringify(payload ?? null), Date.now())
              db.exec("COMMIT")
              return row
            } catch (thrown) {
              db.exec("ROLLBACK")
              throw thrown
            }
          }).pipe(Effect.flatMap((row) => (row === undefined ? Effect.fail(notFound(runId)) : Effect.succeed(toRecord(row))))),
        pendingSignals: (runId) =>
          attempt(() =>
            (db.prepare("SELECT name, payload FROM mcpflow_signals WHERE run_id = ? AND delivered_at IS NULL").all(runId) as Array<
              { name: string; payload: string }
            >).map((r) => ({ name: r.name, payload: JSON.parse(r.payload) as unknown }))
          ),
        markDelivered: (runId, name) =>
          attempt(() => {
            db.prepare("UPDATE mcpflow_signals SET delivered_at = ? WHERE run_id = ? AND name = ?").run(Date.now(), runId, name)
          }),
        find: (prefix, limit = 10) =>
          attempt(() =>
            (db.prepare("SELECT * FROM mcpflow_runs WHERE substr(run_id, 1, length(?)) = ? ORDER BY started_at DESC LIMIT ?").all(
              prefix,
              prefix,
              limit
            ) as unknown as Array<RunRow>).map(toRecord)
          ),
        requestCancel: (runId) =>
          attempt(() => {
            db.prepare(
              "UPDATE mcpflow_runs SET cancel_requested_at = COALESCE(cancel_requested_at, ?) WHERE run_id = ? AND status = 'running'"
            ).run(Date.now(), runId)
          }),
        cancelRequested: (runId) =>
          attempt(() =>
            (db.prepare("SELECT cancel_requested_at FROM mcpflow_runs WHERE run_id = ?").get(runId) as
              | { cancel_requested_at: number | null }
              | undefined)?.cancel_requested_at != null
          ),
        prune: (before) =>
          attempt(() => {
            const ids = (db.prepare(
              "SELECT run_id FROM mcpflow_runs WHERE status <> 'running' AND finished_at IS NOT NULL AND finished_at < ?"
            ).all(before) as Array<{ run_id: string }>).map((r) => r.run_id)
            db.exec("BEGIN")
            try {
              for (const id of ids) {
                db.prepare("DELETE FROM mcpflow_events WHERE run_id = ?").run(id)
                db.prepare("DELETE FROM mcpflow_signals WHERE run_id = ?").run(id)
                db.prepare("DELETE FROM mcpflow_runs WHERE run_id = ?").run(id)
                seqs.delete(id)
              }
              db.exec("COMMIT")
            } catch (thrown) {
              db.exec("ROLLBACK")
              throw thrown
            }
            return ids
          }),
        events: (runId) =>
          attempt(() =>
            (db.prepare("SELECT body FROM mcpflow_events WHERE run_id = ? ORDER BY seq").all(runId) as Array<{ body: string }>)
              .map((r) => JSON.parse(r.body) as FlowEvent)
          )
      })
    })
  )
