/**
 * An effect `SqlClient` for SQLite on Node's built-in `node:sqlite`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SqlClient } from "effect/sql"
 * import { SqliteClient } from "./src/sql/sqlite/index.ts"
 *
 * const program = Effect.gen(function*() {
 *   const sql = yield* SqlClient.SqlClient
 *   yield* sql`CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)`
 *   yield* sql`INSERT INTO kv ${sql.insert({ k: "a", v: "1" })}`
 * }).pipe(Effect.provide(SqliteClient.layer({ filename: "app.db" })))
 * ```
 *
 * @module
 */
export * as SqliteClient from "./SqliteClient.ts"
export * as SqliteConnection from "./SqliteConnection.ts"
export * as SqliteError from "./SqliteError.ts"
