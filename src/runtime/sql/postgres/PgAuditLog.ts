/**
 * The Postgres implementation of the audit log port (`dsl/ports/AuditLog.ts`), next to a
 * cluster's run journal: the same entries as the SQLite log (`SqliteAuditLog.ts`), in the table
 * `mcpflow_audit` (created by `PostgresSchema.migrate`, format 2). Append-only as there: a trigger
 * refuses every update, and every delete but retention's (`prune`, which records the bound it
 * deletes below in `mcpflow_audit_retention` within the same transaction, and appends an
 * `audit.pruned` entry).
 *
 * `appendUnsafe` cannot write synchronously to a server: it queues the entry and a writer sends
 * the queue in order; `append`, `entries` and `prune` wait for the queue first. A write failure is
 * thrown by the next `appendUnsafe` (the audit trail logs it once).
 *
 * @example
 * ```ts
 * const log = yield* PgAuditLog.make({ location: "postgres db:5432/mcpflow" })
 * ```
 * @module
 */
import { Effect, Layer, Semaphore } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog, type AuditRecord } from "../../../../dsl/ports/AuditLog.ts"
import { JournalError } from "../../../../dsl/ports/RunJournal.ts"
import { type AuditRow as Row, jsonColumn as json, toEntry } from "../Rows.ts"




const rowOf = (r: AuditRecord) => ({
  at: r.at,
  run_id: r.runId ?? null,
  step: r.step ?? null,
  action: r.action,
  target: r.target ?? null,
  actor: r.actor,
  outcome: r.outcome,
  duration_ms: r.durationMs === undefined ? null : Math.round(r.durationMs),
  detail: r.detail ?? null,
  args: json(r.args),
  result: json(r.result)
})

/**
 * The audit log on the Postgres `SqlClient` in context (its tables migrated); `location` names
 * it in messages (host and database, never the password).
 *
 * @example
 * ```ts
 * const log = yield* make({ location: "postgres db:5432/mcpflow" })
 * ```
 */
export const make = Effect.fn("PgAuditLog.make")(function*(options: { readonly location: string }) {
  const sql = yield* SqlClient.SqlClient
  const location = options.location
  const io = (error: unknown) =>
    new JournalError({ file: location, reason: "Io", detail: `audit log: ${error instanceof Error ? error.message : String(error)}` })
  const attempt = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, JournalError, R> => Effect.mapError(effect, io)

  let queue: Array<AuditRecord> = []
  let failure: JournalError | undefined
  const writer = Semaphore.makeUnsafe(1)
  const insert = (records: ReadonlyArray<AuditRecord>) =>
    sql`insert into mcpflow_audit ${sql.insert(records.map(rowOf) as unknown as readonly [Record<string, unknown>])}`
  const flush: Effect.Effect<void> = writer.withPermit(Effect.suspend(() => {
    if (queue.length === 0) return Effect.void
    const batch = queue
    queue = []
    return insert(batch).pipe(
      Effect.asVoid,
      Effect.catch((error) => Effect.sync(() => void (failure ??= io(error))))
    )
  }))
  const drained = Effect.andThen(flush, Effect.suspend(() => (failure === undefined ? Effect.void : Effect.fail(failure))))
  const context = yield* Effect.context<never>()
  let scheduled = false
  yield* Effect.addFinalizer(() => flush)

  return AuditLog.of({
    location,
    appendUnsafe: (record) => {
      if (failure !== undefined) throw failure
      queue.push(record)
      if (scheduled) return
      scheduled = true
      queueMicrotask(() => {
        scheduled = false
        Effect.runForkWith(context)(flush)
      })
    },
    append: (record) => Effect.andThen(drained, attempt(insert([record]))).pipe(Effect.asVoid),
    entries: (query) =>
      Effect.andThen(
        drained,
        attempt(Effect.suspend(() => {
          const conditions = [
            ...(query?.runId === undefined ? [] : [sql`run_id = ${query.runId}`]),
            ...(query?.since === undefined ? [] : [sql`at >= ${query.since}`])
          ]
          const where = conditions.length === 0 ? sql`` : sql`where ${sql.and(conditions)}`
          // The newest `limit` entries, returned oldest first.
          return query?.limit === undefined
            ? sql<Row>`select * from mcpflow_audit ${where} order by seq`
            : sql<Row>`select * from (select * from mcpflow_audit ${where} order by seq desc limit ${query.limit}) newest order by seq`
        }))
      ).pipe(Effect.map((rows) => rows.map(toEntry))),
    runIds: (prefix, limit = 10) =>
      attempt(
        sql<{ readonly run_id: string }>`select distinct run_id from mcpflow_audit
          where run_id is not null and left(run_id, ${prefix.length}) = ${prefix} limit ${limit}`
      ).pipe(Effect.map((rows) => rows.map((r) => r.run_id))),
    prune: (before, actor) =>
      Effect.andThen(
        drained,
        attempt(sql.withTransaction(Effect.gen(function*() {
          yield* sql`insert into mcpflow_audit_retention (before) values (${before})`
          const deleted = (yield* sql<{ readonly seq: string }>`delete from mcpflow_audit where at < ${before} returning seq`).length
          yield* sql`delete from mcpflow_audit_retention`
          if (deleted > 0) {
            yield* insert([{
              at: Date.now(),
              action: "audit.pruned",
              actor,
              outcome: "ok",
              detail: `retention deleted ${deleted} entries older than ${new Date(before).toISOString()}`
            }])
          }
          return deleted
        })))
      )
  })
})

/**
 * {@link make} as a layer over the Postgres `SqlClient` in context.
 *
 * @example
 * ```ts
 * const audit = PgAuditLog.layer({ location: "postgres db:5432/mcpflow" })
 * ```
 */
export const layer = (options: { readonly location: string }): Layer.Layer<AuditLog, never, SqlClient.SqlClient> =>
  Layer.effect(AuditLog)(make(options))
