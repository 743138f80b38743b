/**
 * One `node:sqlite` `DatabaseSync` as effect's `SqlConnection.Connection`: opened with a busy
 * timeout, WAL and the chosen `synchronous` level, checked to really be a SQLite database, with
 * a bounded cache of prepared statements, and closed with the scope it was opened in.
 *
 * @module
 */
import { existsSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite"
import { Context, Duration, Effect, Scope, Stream } from "effect"
import { SqlClient } from "effect/sql"
import type { Connection } from "effect/sql/SqlConnection"
import { SqlError } from "effect/sql/SqlError"
import { liftLiterals } from "./internal/liftLiterals.ts"
import { toSqlError } from "./SqliteError.ts"

/**
 * How to open the database.
 *
 * @example
 * ```ts
 * const options: OpenOptions = { filename: "state/runs.db", busyTimeout: "2 seconds", synchronous: "NORMAL" }
 * ```
 */
export interface OpenOptions {
  /** Path of the database file, or `":memory:"`. The directory must exist. */
  readonly filename: string
  /** Open read-only (default `false`). */
  readonly readonly?: boolean | undefined
  /** How long a statement waits for another connection's lock before failing (default 5 seconds). */
  readonly busyTimeout?: Duration.Input | undefined
  /** Keep SQLite's rollback journal instead of switching to WAL (default `false`). */
  readonly disableWAL?: boolean | undefined
  /**
   * `PRAGMA synchronous`. Default `"NORMAL"` with WAL (a commit survives a process crash; the
   * last commits may be lost on power loss) and `"FULL"` without.
   */
  readonly synchronous?: "OFF" | "NORMAL" | "FULL" | "EXTRA" | undefined
  /** Enforce foreign keys (default `true`). */
  readonly foreignKeys?: boolean | undefined
  /** How many prepared statements to keep (default 200). */
  readonly prepareCacheSize?: number | undefined
  /**
   * `PRAGMA wal_autocheckpoint`: after how many WAL pages a commit copies the WAL into the
   * database file (default SQLite's 1 000). Each such checkpoint syncs both files (with
   * `synchronous = NORMAL` the only syncs there are), so a larger value means fewer, longer
   * stalls and a larger `-wal` file; it changes nothing about what a commit guarantees.
   */
  readonly walAutocheckpoint?: number | undefined
}

/**
 * A connection of this driver: effect's `Connection` plus a few SQLite extras.
 *
 * @example
 * ```ts
 * const conn: SqliteConnection = yield* openConnection({ filename: ":memory:" })
 * const open = conn.isTransaction()
 * ```
 */
export interface SqliteConnection extends Connection {
  /** Whether a transaction is open on this connection. */
  readonly isTransaction: () => boolean
  /** Checkpoints the WAL into the database file and truncates it. */
  readonly checkpoint: Effect.Effect<void, SqlError>
}

const bindable = (value: unknown): SQLInputValue => {
  if (value === undefined) return null
  if (value instanceof Date) return value.toISOString()
  if (typeof value === "boolean") return value ? 1 : 0
  return value as SQLInputValue
}

const bind = (params: ReadonlyArray<unknown>): Array<SQLInputValue> => {
  const out = new Array<SQLInputValue>(params.length)
  for (let i = 0; i < params.length; i++) out[i] = bindable(params[i])
  return out
}

const plainRows = (rows: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> => {
  const out = new Array<Record<string, unknown>>(rows.length)
  for (let i = 0; i < rows.length; i++) out[i] = { ...rows[i] }
  return out
}

const openFailure = (thrown: unknown, filename: string): SqlError => {
  const error = toSqlError(thrown, `Cannot open SQLite database ${filename}`, "open")
  if (error.reason._tag === "ConnectionError" && filename !== ":memory:") {
    const directory = dirname(resolve(filename))
    if (!existsSync(directory)) {
      return toSqlError(thrown, `Cannot open SQLite database ${filename}: directory ${directory} does not exist`, "open")
    }
  }
  return error
}

/**
 * Opens the database in the current scope and closes it when the scope closes. Fails with a
 * `SqlError` when the directory is missing (`ConnectionError`), the file is not a database
 * (`UnknownError`, code `SQLITE_NOTADB`), or another connection holds a lock for longer than
 * the busy timeout (`LockTimeoutError`).
 *
 * @example
 * ```ts
 * const conn = yield* openConnection({ filename: "runs.db" })
 * const rows = yield* conn.execute("SELECT 1 AS one", [], undefined)
 * ```
 */
export const openConnection = Effect.fnUntraced(function*(
  options: OpenOptions
): Effect.fn.Return<SqliteConnection, SqlError, Scope.Scope> {
  const filename = options.filename
  const db = yield* Effect.acquireRelease(
    Effect.try({
      try: () =>
        new DatabaseSync(filename, {
          readOnly: options.readonly ?? false,
          timeout: Duration.toMillis(options.busyTimeout ?? Duration.seconds(5)),
          enableForeignKeyConstraints: options.foreignKeys ?? true
        }),
      catch: (thrown) => openFailure(thrown, filename)
    }),
    (db) => Effect.sync(() => db.isOpen && db.close())
  )

  const wal = options.disableWAL !== true && filename !== ":memory:" && options.readonly !== true
  yield* Effect.try({
    try: () => {
      // Reads page 1: a file that is not a database fails here, not at the first query.
      db.prepare("SELECT count(*) FROM sqlite_schema").get()
      if (wal) db.exec("PRAGMA journal_mode = WAL")
      if (wal && options.walAutocheckpoint !== undefined) {
        db.exec(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.floor(options.walAutocheckpoint))}`)
      }
      db.exec(`PRAGMA synchronous = ${options.synchronous ?? (wal ? "NORMAL" : "FULL")}`)
    },
    catch: (thrown) => openFailure(thrown, filename)
  })

  const capacity = Math.max(1, options.prepareCacheSize ?? 200)
  const cache = new Map<string, StatementSync>()
  const prepare = (sql: string): StatementSync => {
    const cached = cache.get(sql)
    if (cached !== undefined) {
      cache.delete(sql)
      cache.set(sql, cached)
      return cached
    }
    const statement = db.prepare(sql)
    cache.set(sql, statement)
    if (cache.size > capacity) cache.delete(cache.keys().next().value!)
    return statement
  }
  // Whether a statement returns rows, asked once per statement: `columns()` builds a
  // description of every column at each call (≈ 30 µs for a 20-column select).
  const readers = new WeakMap<StatementSync, boolean>()
  const isReader = (statement: StatementSync): boolean => {
    let reader = readers.get(statement)
    if (reader === undefined) {
      reader = statement.columns().length > 0
      readers.set(statement, reader)
    }
    return reader
  }

  const run = (
    sql: string,
    params: ReadonlyArray<unknown>,
    mode: "rows" | "raw" | "values",
    prepared: boolean
  ): Effect.Effect<ReadonlyArray<any>, SqlError> =>
    Effect.withFiber((fiber) => {
      try {
        // "Unprepared" statements (built with their values inlined) share one prepared
        // statement once their ids and timestamps are parameters (see `liftLiterals`).
        const lifted = prepared ? undefined : liftLiterals(sql, params)
        const statement = prepare(lifted === undefined ? sql : lifted.sql)
        statement.setReadBigInts(Context.get(fiber.context, SqlClient.SafeIntegers))
        statement.setReturnArrays(mode === "values")
        const args = bind(lifted === undefined ? params : lifted.params)
        if (mode !== "raw" || isReader(statement)) {
          // `all` also runs a statement that returns no rows (and returns `[]`).
          const rows = statement.all(...args)
          return Effect.succeed(mode === "values" ? rows : plainRows(rows))
        }
        const result = statement.run(...args)
        return Effect.succeed({ changes: result.changes, lastInsertRowid: result.lastInsertRowid } as any)
      } catch (thrown) {
        return Effect.fail(toSqlError(thrown, "Failed to execute statement", "execute"))
      }
    })

  const connection: SqliteConnection = {
    execute: (sql, params, transformRows) =>
      transformRows ? Effect.map(run(sql, params, "rows", true), transformRows) : run(sql, params, "rows", true),
    executeRaw: (sql, params) => run(sql, params, "raw", true),
    executeValues: (sql, params) => run(sql, params, "values", true),
    executeValuesUnprepared: (sql, params) => run(sql, params, "values", false),
    executeUnprepared: (sql, params, transformRows) =>
      transformRows ? Effect.map(run(sql, params, "rows", false), transformRows) : run(sql, params, "rows", false),
    executeStream: (sql, params, transformRows) =>
      Stream.suspend(() => {
        const statement = db.prepare(sql)
        statement.setReturnArrays(false)
        const rows = statement.iterate(...bind(params)) as Iterator<Record<string, unknown>>
        return Stream.fromIterable({ [Symbol.iterator]: () => rows }).pipe(
          Stream.map((row) => ({ ...row })),
          transformRows ? Stream.mapArray((chunk) => transformRows(chunk) as any) : (s) => s
        )
      }).pipe(
        Stream.catchDefect((thrown) => Stream.fail(toSqlError(thrown, "Failed to stream statement", "executeStream")))
      ),
    isTransaction: () => db.isTransaction,
    checkpoint: Effect.try({
      try: () => {
        db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
      },
      catch: (thrown) => toSqlError(thrown, "Failed to checkpoint", "checkpoint")
    })
  }
  return connection
})
