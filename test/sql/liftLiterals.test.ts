/**
 * `liftLiterals`: the SQLite driver binds long integer literals of "unprepared" statements as
 * parameters so that they share one prepared statement. Lifted and unlifted statements must
 * return the same rows; what must stay literal (short constants, quoted text, names, decimals,
 * statements with named or numbered parameters, DDL) stays literal.
 */
import { DatabaseSync } from "node:sqlite"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { liftLiterals } from "../../src/runtime/sql/sqlite/internal/liftLiterals.ts"
import { SqliteClient } from "../../src/runtime/sql/sqlite/index.ts"

describe("liftLiterals", () => {
  it("lifts ids and timestamps in place, keeping the order of the other parameters", () => {
    assert.deepStrictEqual(
      liftLiterals("UPDATE m SET a = ? WHERE id IN (255097885660549120,255097885660549121) AND at <= 1765000000000 AND b = ?", [1, 2]),
      {
        sql: "UPDATE m SET a = ? WHERE id IN (?,?) AND at <= ? AND b = ?",
        params: [1, 255097885660549120n, 255097885660549121n, 1765000000000n, 2]
      }
    )
  })

  it("leaves short constants, quoted text, comments, names and decimals alone", () => {
    assert.isUndefined(liftLiterals("SELECT * FROM m WHERE processed = 0 ORDER BY 1 LIMIT 300", []))
    assert.isUndefined(liftLiterals("SELECT '1234567890', \"c1234567890\", [d1234567890], `e1234567890` FROM m", []))
    assert.isUndefined(liftLiterals("SELECT t1234567890, 1234567890.5, 0x1234567890, 1234567890e3 FROM m -- 1234567890", []))
    assert.isUndefined(liftLiterals("SELECT 1 /* 1234567890 */ FROM m", []))
    assert.isUndefined(liftLiterals("SELECT 1234567890123456789 FROM m", []), "19 digits may not fit in 64 bits")
  })

  it("leaves statements with numbered or named parameters, and DDL, alone", () => {
    assert.isUndefined(liftLiterals("SELECT * FROM m WHERE id = ?1 OR id = 1234567890", [1]))
    assert.isUndefined(liftLiterals("SELECT * FROM m WHERE id = :id OR id = 1234567890", []))
    assert.isUndefined(liftLiterals("SELECT * FROM m WHERE id = $id OR id = 1234567890", []))
    assert.isUndefined(liftLiterals("CREATE TABLE m (id INTEGER DEFAULT 1234567890)", []))
    assert.isUndefined(liftLiterals("SELECT * FROM m WHERE id = 1234567890", [7]), "more parameters than placeholders")
  })

  it("a lifted statement returns what the literal one returns", () => {
    const db = new DatabaseSync(":memory:")
    db.exec("CREATE TABLE m (id INTEGER PRIMARY KEY, at INTEGER, name TEXT, score REAL)")
    const ids = [255097885660549120n, 255097885660549121n, 9007199254740993n, 1234567890n]
    const insert = db.prepare("INSERT INTO m VALUES (?, ?, ?, ?)")
    ids.forEach((id, i) => insert.run(id, 1765000000000 + i, `n${i}`, i + 0.5))
    const queries = [
      "SELECT CAST(id AS TEXT) AS id, at FROM m WHERE id IN (255097885660549120, 9007199254740993) ORDER BY id",
      "SELECT CAST(id AS TEXT) AS id, typeof(1765000000001) AS t FROM m WHERE at <= 1765000000001 AND score > 0 ORDER BY 1",
      "SELECT count(*) AS n FROM m WHERE id > 1234567890 AND -1234567890 < at",
      "SELECT CAST(1234567890 AS TEXT) || name AS s FROM m WHERE name = ? ORDER BY id"
    ]
    for (const query of queries) {
      const params = query.includes("?") ? ["n1"] : []
      const lifted = liftLiterals(query, params)
      assert.isDefined(lifted, query)
      const read = (sql: string, args: ReadonlyArray<unknown>) => {
        const statement = db.prepare(sql)
        statement.setReadBigInts(true)
        return statement.all(...(args as Array<null>))
      }
      assert.deepStrictEqual(read(lifted!.sql, lifted!.params), read(query, params), query)
    }
    db.close()
  })

  it.effect("the client runs unprepared statements with inlined ids like any other", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT)`
      yield* sql`INSERT INTO m VALUES (255097885660549120, 'a'), (255097885660549121, 'b')`
      for (const id of ["255097885660549120", "255097885660549121"]) {
        const rows = yield* sql<{ id: string; v: string }>`SELECT CAST(id AS TEXT) AS id, v FROM m WHERE id IN (${sql.literal(id)})`.unprepared
        assert.deepStrictEqual(rows, [{ id, v: id.endsWith("0") ? "a" : "b" }])
      }
      yield* sql`UPDATE m SET v = 'c' WHERE id IN (${sql.literal("255097885660549121")})`.unprepared
      assert.deepStrictEqual(yield* sql<{ v: string }>`SELECT v FROM m ORDER BY id`, [{ v: "a" }, { v: "c" }])
      const raw = yield* sql`DELETE FROM m WHERE id = ${sql.literal("255097885660549120")}`.raw
      assert.strictEqual((raw as { changes: number }).changes, 1)
    }).pipe(Effect.provide(SqliteClient.layerMemory())))
})
