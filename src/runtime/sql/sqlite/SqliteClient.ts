/**
 * An effect `SqlClient` for SQLite on Node's built-in `node:sqlite` (`DatabaseSync`), needing
 * no native package. One connection per client, shared through a semaphore (SQLite serialises
 * writers anyway); WAL mode so other connections and processes keep reading while it writes;
 * a busy timeout; transactions nest through savepoints; every failure is a typed `SqlError`.
 *
 * Nothing here is specific to mcpflow.
 *
 * @module
 */
import { Context, Effect, Layer, type Scope, Semaphore } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, Statement } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { type OpenOptions, openConnection } from "./SqliteConnection.ts"

/**
 * Marks values built by this module.
 *
 * @example
 * ```ts
 * const isOurs = (client: object) => TypeId in client
 * ```
 */
export const TypeId = "~mcpflow/sql-sqlite/SqliteClient" as const

/**
 * The type of {@link TypeId}.
 *
 * @example
 * ```ts
 * const id: TypeId = TypeId
 * ```
 */
export type TypeId = typeof TypeId

/**
 * Configuration of a client: where and how to open the database, plus the generic `SqlClient`
 * options (span attributes, name transforms).
 *
 * @example
 * ```ts
 * const config: SqliteClientConfig = { filename: ".state/app.db", busyTimeout: "2 seconds" }
 * ```
 */
export interface SqliteClientConfig extends OpenOptions {
  readonly spanAttributes?: Record<string, unknown> | undefined
  /** Applied to column names of results, e.g. `String.snakeToCamel`. */
  readonly transformResultNames?: ((name: string) => string) | undefined
  /** Applied to identifiers in queries, e.g. `String.camelToSnake`. */
  readonly transformQueryNames?: ((name: string) => string) | undefined
}

/**
 * The client: a full effect `SqlClient` (dialect `"sqlite"`, driver `"sqlite-node"`) plus its
 * configuration and a WAL checkpoint.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const sql = yield* SqliteClient
 *   yield* sql`CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)`
 *   yield* sql.checkpoint
 * })
 * ```
 */
export interface SqliteClient extends SqlClient.SqlClient {
  readonly [TypeId]: TypeId
  readonly config: SqliteClientConfig
  /** Copies the WAL into the database file and truncates it (`PRAGMA wal_checkpoint(TRUNCATE)`). */
  readonly checkpoint: Effect.Effect<void, SqlError>
}

/**
 * The service tag of {@link SqliteClient}. Its layers also provide the generic
 * `SqlClient.SqlClient`.
 *
 * @example
 * ```ts
 * const tables = Effect.flatMap(SqliteClient, (sql) => sql`SELECT name FROM sqlite_schema`)
 * ```
 */
export const SqliteClient = Context.Service<SqliteClient>("mcpflow/sql/sqlite/SqliteClient")

/**
 * Opens the database in the current scope (it is closed when the scope closes) and builds the
 * client on it.
 *
 * @example
 * ```ts
 * const rows = Effect.scoped(Effect.gen(function*() {
 *   const sql = yield* make({ filename: ":memory:" })
 *   return yield* sql<{ one: number }>`SELECT 1 AS one`
 * })).pipe(Effect.provide(Reactivity.layer))
 * ```
 */
export const make = Effect.fnUntraced(function*(
  config: SqliteClientConfig
): Effect.fn.Return<SqliteClient, SqlError, Scope.Scope | Reactivity.Reactivity> {
  const connection = yield* openConnection(config)
  const acquirers = SqlClient.makeSqliteAcquirers({
    connection: Effect.succeed(connection),
    semaphore: yield* Semaphore.make(1),
    isTransaction: (conn) => conn.isTransaction()
  })
  const client = yield* SqlClient.make({
    ...acquirers,
    compiler: Statement.makeCompilerSqlite(config.transformQueryNames),
    transformRows: config.transformResultNames
      ? Statement.defaultTransforms(config.transformResultNames).array
      : undefined,
    driver: "sqlite-node",
    spanAttributes: [
      ...(config.spanAttributes ? Object.entries(config.spanAttributes) : []),
      ["db.system.name", "sqlite"]
    ],
    prepareTransactionControls: true,
    releaseSavepoint: (name) => `RELEASE SAVEPOINT ${name}`
  })
  return Object.assign(client, {
    [TypeId]: TypeId,
    config,
    checkpoint: acquirers.borrower(() => connection.checkpoint)
  })
})

/**
 * A layer providing {@link SqliteClient} and `SqlClient.SqlClient` on the given file. The
 * database is closed when the layer's scope closes. Fails with a `SqlError` when the file
 * cannot be opened: missing directory (`ConnectionError`), not a database (`UnknownError`; see
 * `sqliteErrorCode`), locked by another process (`LockTimeoutError`).
 *
 * @example
 * ```ts
 * const SqlLive = layer({ filename: "state/app.db" })
 * const count = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT count(*) AS n FROM kv`)
 * Effect.runPromise(count.pipe(Effect.provide(SqlLive)))
 * ```
 */
export const layer = (config: SqliteClientConfig): Layer.Layer<SqliteClient | SqlClient.SqlClient, SqlError> =>
  Layer.effectContext(
    Effect.map(make(config), (client) =>
      Context.make(SqliteClient, client).pipe(
        Context.add(SqlClient.SqlClient, client)
      ))
  ).pipe(Layer.provide(Reactivity.layer))

/**
 * {@link layer} on a private in-memory database (no WAL, nothing on disk), for tests.
 *
 * @example
 * ```ts
 * it.effect("stores", () => program.pipe(Effect.provide(layerMemory())))
 * ```
 */
export const layerMemory = (
  config?: Omit<SqliteClientConfig, "filename"> | undefined
): Layer.Layer<SqliteClient | SqlClient.SqlClient, SqlError> => layer({ ...config, filename: ":memory:" })
