/**
 * The `node:sqlite` SqlClient on its own: parameters, transactions (nested through savepoints),
 * WAL readers in this process and in another one while a write is open, effect's Migrator, and
 * typed errors for a corrupt file, a locked file and a missing directory.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Stream } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { SqlError } from "effect/sql/SqlError"
import { SqliteClient, SqliteError } from "../../src/runtime/sql/sqlite/index.ts"

const dir = mkdtempSync(join(tmpdir(), "mcpflow-sqlite-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const freshFile = () => join(dir, `db-${files++}.db`)

const Sql = SqlClient.SqlClient

/** Builds the layer in a scope of its own and returns its failure. */
const openError = (layer: Layer.Layer<SqlClient.SqlClient, SqlError>) =>
  Effect.flip(Effect.scoped(Layer.build(layer)))

const createKv = Effect.flatMap(Sql, (sql) => sql`CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)`)
const keys = Effect.flatMap(Sql, (sql) => sql<{ k: string }>`SELECT k FROM kv ORDER BY k`).pipe(
  Effect.map((rows) => rows.map((row) => row.k))
)
const put = (k: string, v = k) => Effect.flatMap(Sql, (sql) => sql`INSERT INTO kv ${sql.insert({ k, v })}`)

describe("SqliteClient: queries", () => {
  it.effect("binds parameters and returns rows, values and raw results", () =>
    Effect.gen(function*() {
      const sql = yield* Sql
      yield* sql`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, flag INTEGER, at TEXT, blob BLOB, missing TEXT)`
      const raw = yield* sql`INSERT INTO t ${
        sql.insert({ name: "a'; DROP TABLE t; --", flag: true, at: new Date(0), blob: new Uint8Array([1, 2]), missing: undefined })
      }`.raw
      assert.deepStrictEqual(raw, { changes: 1, lastInsertRowid: 1 })
      yield* sql`INSERT INTO t ${sql.insert([{ name: "b", flag: false }, { name: "c", flag: false }])}`

      const rows = yield* sql<{ id: number; name: string; flag: number; at: string | null; missing: null }>`
        SELECT id, name, flag, at, missing FROM t WHERE id = ${1}`
      assert.deepStrictEqual(rows, [
        { id: 1, name: "a'; DROP TABLE t; --", flag: 1, at: "1970-01-01T00:00:00.000Z", missing: null }
      ])
      assert.deepStrictEqual(
        yield* sql`SELECT name FROM t WHERE ${sql.in("name", ["b", "c"])} ORDER BY name`.values,
        [["b"], ["c"]]
      )
      assert.deepStrictEqual(yield* sql`SELECT blob FROM t WHERE id = 1`.values, [[new Uint8Array([1, 2])]])
      const streamed = yield* Stream.runCollect(sql<{ id: number }>`SELECT id FROM t ORDER BY id`.stream)
      assert.deepStrictEqual(Array.from(streamed), [{ id: 1 }, { id: 2 }, { id: 3 }])
    }).pipe(Effect.provide(SqliteClient.layerMemory())))

  it.effect("reads integers as bigint under SafeIntegers", () =>
    Effect.gen(function*() {
      const sql = yield* Sql
      const rows = yield* sql<{ n: bigint }>`SELECT ${9007199254740993n} AS n`.pipe(
        Effect.provideService(SqlClient.SafeIntegers, true)
      )
      assert.strictEqual(rows[0]?.n, 9007199254740993n)
    }).pipe(Effect.provide(SqliteClient.layerMemory())))

  it.effect("fails a bad statement with a typed SqlError, and constraint violations by kind", () =>
    Effect.gen(function*() {
      const sql = yield* Sql
      yield* createKv
      const syntax = yield* Effect.flip(sql`SELEC 1`)
      assert.instanceOf(syntax, SqlError)
      assert.strictEqual(SqliteError.sqliteErrorCode(syntax), "SQLITE_ERROR")
      yield* put("a")
      // effect files a PRIMARY KEY violation (SQLITE_CONSTRAINT_PRIMARYKEY) under ConstraintError…
      const duplicateKey = yield* Effect.flip(put("a"))
      assert.strictEqual(duplicateKey.reason._tag, "ConstraintError")
      assert.strictEqual(SqliteError.sqliteErrorCode(duplicateKey), "SQLITE_CONSTRAINT")
      // …and a UNIQUE one under UniqueViolation, naming the constraint.
      yield* sql`CREATE UNIQUE INDEX kv_v ON kv (v)`
      const duplicate = yield* Effect.flip(put("b", "a"))
      assert.strictEqual(duplicate.reason._tag, "UniqueViolation")
      assert.strictEqual(duplicate.reason._tag === "UniqueViolation" && duplicate.reason.constraint, "kv.v")
    }).pipe(Effect.provide(SqliteClient.layerMemory())))
})

describe("SqliteClient: transactions", () => {
  it.effect("commits, rolls back on failure, and nests through savepoints", () =>
    Effect.gen(function*() {
      const sql = yield* Sql
      yield* createKv
      yield* sql.withTransaction(Effect.all([put("a"), put("b")]))
      assert.deepStrictEqual(yield* keys, ["a", "b"])

      const failed = yield* Effect.flip(sql.withTransaction(Effect.andThen(put("c"), Effect.fail("boom" as const))))
      assert.strictEqual(failed, "boom")
      assert.deepStrictEqual(yield* keys, ["a", "b"])

      // The inner savepoint rolls back; the outer transaction still commits.
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* put("d")
        yield* Effect.ignore(sql.withTransaction(Effect.andThen(put("e"), Effect.fail("inner"))))
        yield* sql.withTransaction(put("f"))
      }))
      assert.deepStrictEqual(yield* keys, ["a", "b", "d", "f"])

      // A failure in the outer transaction undoes the committed savepoint too.
      yield* Effect.ignore(sql.withTransaction(Effect.andThen(sql.withTransaction(put("g")), Effect.fail("outer"))))
      assert.deepStrictEqual(yield* keys, ["a", "b", "d", "f"])
    }).pipe(Effect.provide(SqliteClient.layerMemory())))

  it.effect("rolls back an interrupted transaction and keeps the connection usable", () =>
    Effect.gen(function*() {
      const sql = yield* Sql
      yield* createKv
      const inside = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        sql.withTransaction(Effect.andThen(put("x"), Effect.andThen(Deferred.succeed(inside, undefined), Effect.never)))
      )
      yield* Deferred.await(inside)
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(yield* keys, [])
      yield* sql.withTransaction(put("y"))
      assert.deepStrictEqual(yield* keys, ["y"])
    }).pipe(Effect.provide(SqliteClient.layerMemory())))
})

describe("SqliteClient: files, WAL and concurrent readers", () => {
  it.effect("sets the WAL auto-checkpoint when asked, and keeps SQLite's default otherwise", () =>
    Effect.gen(function*() {
      const checkpointAt = (layer: Layer.Layer<SqlClient.SqlClient, SqlError>) =>
        Effect.scoped(Effect.gen(function*() {
          const sql = Context.get(yield* Layer.build(layer), Sql)
          const rows = yield* sql<{ wal_autocheckpoint: number }>`PRAGMA wal_autocheckpoint`
          return rows[0]?.wal_autocheckpoint
        }))
      assert.strictEqual(yield* checkpointAt(SqliteClient.layer({ filename: freshFile(), walAutocheckpoint: 8_000 })), 8_000)
      assert.strictEqual(yield* checkpointAt(SqliteClient.layer({ filename: freshFile() })), 1_000)
    }))

  it.effect("uses WAL; readers in this process and another one read while a write is open", () => {
    const file = freshFile()
    const writer = SqliteClient.layer({ filename: file })
    const reader = SqliteClient.layer({ filename: file, busyTimeout: "50 millis" })
    const readInChild = () =>
      execFileSync(process.execPath, [
        "-e",
        `const { DatabaseSync } = require("node:sqlite");
         const db = new DatabaseSync(process.argv[1], { readOnly: true, timeout: 50 });
         process.stdout.write(JSON.stringify(db.prepare("SELECT k FROM kv ORDER BY k").all().map((r) => r.k)))`,
        file
      ], { encoding: "utf8" })
    return Effect.gen(function*() {
      const write = yield* Layer.build(writer)
      const read = yield* Layer.build(reader)
      const writeSql = Context.get(write, Sql)
      const readSql = Context.get(read, Sql)
      const readKeys = Effect.provideService(keys, Sql, readSql)
      const mode = yield* writeSql<{ journal_mode: string }>`PRAGMA journal_mode`
      assert.strictEqual(mode[0]?.journal_mode, "wal")

      yield* Effect.provideService(Effect.andThen(createKv, put("a")), Sql, writeSql)
      const inside = yield* Deferred.make<void>()
      const commit = yield* Deferred.make<void>()
      const tx = yield* Effect.forkChild(
        writeSql.withTransaction(Effect.gen(function*() {
          yield* put("b")
          yield* Deferred.succeed(inside, undefined)
          yield* Deferred.await(commit)
        })).pipe(Effect.provideService(Sql, writeSql))
      )
      yield* Deferred.await(inside)
      // The write transaction is open: both readers see the last committed state.
      assert.deepStrictEqual(yield* readKeys, ["a"])
      assert.strictEqual(readInChild(), JSON.stringify(["a"]))
      // A second writer cannot get the lock: a typed error after the busy timeout.
      const locked = yield* Effect.flip(Effect.provideService(put("z"), Sql, readSql))
      assert.strictEqual(locked.reason._tag, "LockTimeoutError")
      assert.strictEqual(SqliteError.sqliteErrorCode(locked), "SQLITE_BUSY")

      yield* Deferred.succeed(commit, undefined)
      yield* Fiber.join(tx)
      assert.deepStrictEqual(yield* readKeys, ["a", "b"])
      assert.strictEqual(readInChild(), JSON.stringify(["a", "b"]))
    }).pipe(Effect.scoped)
  })

  it.effect("closes the database when the layer's scope closes", () => {
    const file = freshFile()
    return Effect.gen(function*() {
      yield* Effect.scoped(Effect.provide(Effect.andThen(createKv, put("a")), SqliteClient.layer({ filename: file })))
      // The last connection closed: SQLite checkpointed and removed the WAL.
      assert.isFalse(existsSync(`${file}-wal`))
      const db = new DatabaseSync(file)
      db.exec("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT")
      assert.deepStrictEqual(db.prepare("SELECT v FROM kv").all().map((r) => ({ ...r })), [{ v: "a" }])
      db.close()
    })
  })

  it.effect("runs migrations with effect's Migrator, once", () =>
    Effect.gen(function*() {
      const migrate = Migrator.make({})({
        loader: Migrator.fromRecord({
          "1_create_runs": Effect.flatMap(Sql, (sql) => sql`CREATE TABLE runs (id TEXT PRIMARY KEY)`),
          "2_add_status": Effect.flatMap(Sql, (sql) => sql`ALTER TABLE runs ADD COLUMN status TEXT`)
        })
      })
      assert.deepStrictEqual(yield* migrate, [[1, "create_runs"], [2, "add_status"]])
      assert.deepStrictEqual(yield* migrate, [])
      const sql = yield* Sql
      yield* sql`INSERT INTO runs ${sql.insert({ id: "r1", status: "done" })}`
      const applied = yield* sql<{ migration_id: number }>`SELECT migration_id FROM effect_sql_migrations`
      assert.deepStrictEqual(applied.map((r) => r.migration_id), [1, 2])

      // A failing migration rolls back with everything it did.
      const failing = Migrator.make({})({
        loader: Migrator.fromRecord({
          "3_half": Effect.flatMap(Sql, (sql) => Effect.andThen(sql`CREATE TABLE half (x)`, sql`NOT SQL`))
        })
      })
      const error = yield* Effect.flip(failing)
      assert.strictEqual(error._tag, "MigrationError")
      const half = yield* sql`SELECT name FROM sqlite_schema WHERE name = 'half'`
      assert.lengthOf(half, 0)
    }).pipe(Effect.provide(SqliteClient.layer({ filename: freshFile() }))))
})

describe("SqliteClient: typed errors on open", () => {
  it.effect("a file that is not a database: SqlError with SQLITE_NOTADB, not a crash", () =>
    Effect.gen(function*() {
      const file = freshFile()
      writeFileSync(file, "this is not a SQLite database\n".repeat(200))
      const error = yield* openError(SqliteClient.layer({ filename: file }))
      assert.instanceOf(error, SqlError)
      assert.strictEqual(error.reason._tag, "UnknownError")
      assert.strictEqual(error.reason.operation, "open")
      assert.strictEqual(SqliteError.sqliteErrorCode(error), "SQLITE_NOTADB")
      assert.include(error.message, file)
    }))

  it.effect("a file locked by another connection: LockTimeoutError after the busy timeout", () =>
    Effect.gen(function*() {
      const file = freshFile()
      const holder = new DatabaseSync(file)
      holder.exec("PRAGMA locking_mode = EXCLUSIVE; CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)")
      const error = yield* openError(SqliteClient.layer({ filename: file, busyTimeout: "50 millis" }))
      holder.close()
      assert.strictEqual(error.reason._tag, "LockTimeoutError")
      assert.isTrue(error.isRetryable)
      assert.strictEqual(SqliteError.sqliteErrorCode(error), "SQLITE_BUSY")
      // Once the holder is gone the file opens fine.
      yield* Effect.scoped(Layer.build(SqliteClient.layer({ filename: file })))
    }))

  it.effect("a missing directory: ConnectionError naming the directory", () =>
    Effect.gen(function*() {
      const error = yield* openError(SqliteClient.layer({ filename: join(dir, "no", "such", "dir", "x.db") }))
      assert.strictEqual(error.reason._tag, "ConnectionError")
      assert.strictEqual(SqliteError.sqliteErrorCode(error), "SQLITE_CANTOPEN")
      assert.include(error.message, join(dir, "no", "such", "dir"))
      assert.include(error.message, "does not exist")
    }))

  it.effect("a file corrupted after it was opened: the query fails with a typed error", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* Effect.scoped(
        Effect.provide(Effect.andThen(createKv, put("a")), SqliteClient.layer({ filename: file, disableWAL: true }))
      )
      const layer = SqliteClient.layer({ filename: file, disableWAL: true })
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const sql = Context.get(yield* Layer.build(layer), Sql)
        // Overwrite the pages under the open connection.
        writeFileSync(file, Buffer.alloc(8192, 0x5a))
        return yield* sql`SELECT * FROM kv`
      })))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(exit)
      assert.instanceOf(error, SqlError)
      assert.oneOf(SqliteError.sqliteErrorCode(error), ["SQLITE_NOTADB", "SQLITE_CORRUPT"])
    }))
})
