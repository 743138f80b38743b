/**
 * Turns `node:sqlite` exceptions into effect's `SqlError`, and reads the SQLite result code back
 * out of one. `node:sqlite` throws plain `Error`s carrying `errcode` (the extended SQLite result
 * code) and `errstr`; effect's `classifySqliteError` picks the `SqlError` reason from that code
 * (`SQLITE_BUSY` → `LockTimeoutError`, `SQLITE_CANTOPEN` → `ConnectionError`, …). Codes without
 * a reason of their own (`SQLITE_NOTADB`, `SQLITE_CORRUPT`, `SQLITE_FULL`, …) become
 * `UnknownError`; {@link sqliteErrorCode} tells them apart.
 *
 * @module
 */
import { Predicate } from "effect"
import { classifySqliteError, SqlError } from "effect/sql/SqlError"

/**
 * The primary SQLite result codes (https://sqlite.org/rescode.html), by name.
 *
 * @example
 * ```ts
 * const code: SqliteResultCode = "SQLITE_NOTADB"
 * ```
 */
export type SqliteResultCode =
  | "SQLITE_ERROR"
  | "SQLITE_INTERNAL"
  | "SQLITE_PERM"
  | "SQLITE_ABORT"
  | "SQLITE_BUSY"
  | "SQLITE_LOCKED"
  | "SQLITE_NOMEM"
  | "SQLITE_READONLY"
  | "SQLITE_INTERRUPT"
  | "SQLITE_IOERR"
  | "SQLITE_CORRUPT"
  | "SQLITE_NOTFOUND"
  | "SQLITE_FULL"
  | "SQLITE_CANTOPEN"
  | "SQLITE_PROTOCOL"
  | "SQLITE_EMPTY"
  | "SQLITE_SCHEMA"
  | "SQLITE_TOOBIG"
  | "SQLITE_CONSTRAINT"
  | "SQLITE_MISMATCH"
  | "SQLITE_MISUSE"
  | "SQLITE_NOLFS"
  | "SQLITE_AUTH"
  | "SQLITE_FORMAT"
  | "SQLITE_RANGE"
  | "SQLITE_NOTADB"

const codeNames: ReadonlyArray<SqliteResultCode | undefined> = [
  undefined,
  "SQLITE_ERROR",
  "SQLITE_INTERNAL",
  "SQLITE_PERM",
  "SQLITE_ABORT",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_NOMEM",
  "SQLITE_READONLY",
  "SQLITE_INTERRUPT",
  "SQLITE_IOERR",
  "SQLITE_CORRUPT",
  "SQLITE_NOTFOUND",
  "SQLITE_FULL",
  "SQLITE_CANTOPEN",
  "SQLITE_PROTOCOL",
  "SQLITE_EMPTY",
  "SQLITE_SCHEMA",
  "SQLITE_TOOBIG",
  "SQLITE_CONSTRAINT",
  "SQLITE_MISMATCH",
  "SQLITE_MISUSE",
  "SQLITE_NOLFS",
  "SQLITE_AUTH",
  "SQLITE_FORMAT",
  "SQLITE_RANGE",
  "SQLITE_NOTADB"
]

/**
 * What a `SqlError` from this driver keeps as its reason's `cause`: the extended result code
 * (as `code` and `errno`, which `classifySqliteError` reads), its primary code's name, SQLite's
 * own message, and the original exception.
 *
 * @example
 * ```ts
 * const cause: SqliteErrorCause = {
 *   _tag: "SqliteErrorCause", code: 26, errno: 26, name: "SQLITE_NOTADB",
 *   message: "file is not a database", cause: new Error("file is not a database")
 * }
 * ```
 */
export interface SqliteErrorCause {
  readonly _tag: "SqliteErrorCause"
  readonly code: number
  readonly errno: number
  readonly name: SqliteResultCode | undefined
  readonly message: string
  readonly cause: unknown
}

const isSqliteErrorCause = (u: unknown): u is SqliteErrorCause =>
  Predicate.hasProperty(u, "_tag") && u._tag === "SqliteErrorCause"

/**
 * The SQLite result code of a thrown value, if it carries one (`node:sqlite` sets `errcode`).
 *
 * @example
 * ```ts
 * resultCodeOf(Object.assign(new Error("database is locked"), { errcode: 5 })) // 5
 * ```
 */
export const resultCodeOf = (thrown: unknown): number | undefined => {
  if (Predicate.hasProperty(thrown, "errcode") && typeof thrown.errcode === "number") return thrown.errcode
  if (Predicate.hasProperty(thrown, "errno") && typeof thrown.errno === "number") return thrown.errno
  return undefined
}

/**
 * Wraps a value thrown by `node:sqlite` in a `SqlError` whose reason is picked by effect's
 * `classifySqliteError` from the SQLite result code.
 *
 * @example
 * ```ts
 * Effect.try({ try: () => db.exec(sql), catch: (e) => toSqlError(e, "Failed to execute statement", "execute") })
 * ```
 */
export const toSqlError = (thrown: unknown, message: string, operation: string): SqlError => {
  const code = resultCodeOf(thrown)
  const sqliteMessage = Predicate.hasProperty(thrown, "message") && typeof thrown.message === "string"
    ? thrown.message
    : String(thrown)
  if (code === undefined) {
    return new SqlError({ reason: classifySqliteError(thrown, { message: `${message}: ${sqliteMessage}`, operation }) })
  }
  const name = codeNames[code & 0xff]
  const cause: SqliteErrorCause = {
    _tag: "SqliteErrorCause",
    code,
    errno: code,
    name,
    message: sqliteMessage,
    cause: thrown
  }
  return new SqlError({
    reason: classifySqliteError(cause, {
      message: `${message}: ${sqliteMessage}${name ? ` (${name})` : ""}`,
      operation
    })
  })
}

/**
 * The primary SQLite result code behind a `SqlError` raised by this driver, or `undefined` for
 * errors that did not come from SQLite. Use it to tell a corrupt file (`SQLITE_NOTADB`,
 * `SQLITE_CORRUPT`) or a full disk (`SQLITE_FULL`) apart: effect's `SqlError` reasons file
 * those under `UnknownError`.
 *
 * @example
 * ```ts
 * Effect.catchTag(program, "SqlError", (e) =>
 *   sqliteErrorCode(e) === "SQLITE_NOTADB" ? Effect.fail("not a database") : Effect.fail(e))
 * ```
 */
export const sqliteErrorCode = (error: SqlError): SqliteResultCode | undefined => {
  const cause = error.reason.cause
  return isSqliteErrorCause(cause) ? cause.name : undefined
}
