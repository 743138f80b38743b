/**
 * One process at a time per journal. effect's `SingleRunner` gives every process the same
 * runner address, so two processes on one journal both believe they own every shard and both
 * run the same in-flight activity (seen). This lock prevents that: an exclusive SQLite lock on a
 * side file `<journal>-lock`, held while the scope is open and released by the operating system
 * when the process dies, so a restart after SIGKILL takes it at once.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite"
import { Duration, Effect, type Scope } from "effect"
import { LockTimeoutError, SqlError } from "effect/sql/SqlError"
import { toSqlError } from "../sql/sqlite/SqliteError.ts"

/**
 * Takes the journal's process lock for the current scope. Fails with a `SqlError` whose reason
 * is `LockTimeoutError` when another process (or another scope of this one) holds it for longer
 * than `wait` (default: fail at once).
 *
 * @example
 * ```ts
 * yield* acquireJournalLock(".mcpflow/runs.db")
 * ```
 */
export const acquireJournalLock = Effect.fnUntraced(function*(
  journal: string,
  options?: { readonly wait?: Duration.Input | undefined } | undefined
): Effect.fn.Return<void, SqlError, Scope.Scope> {
  const path = `${journal}-lock`
  yield* Effect.acquireRelease(
    Effect.try({
      try: () => {
        const db = new DatabaseSync(path, { timeout: Duration.toMillis(options?.wait ?? Duration.zero) })
        try {
          db.exec("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE")
        } catch (thrown) {
          db.close()
          throw thrown
        }
        return db
      },
      catch: (thrown) => {
        const error = toSqlError(thrown, `Cannot lock journal ${journal}`, "lock")
        return error.reason._tag === "LockTimeoutError"
          ? new SqlError({
            reason: new LockTimeoutError({
              cause: error.reason.cause,
              operation: "lock",
              message: `The journal ${journal} is in use by another process (lock file ${path})`
            })
          })
          : error
      }
    }),
    (db) =>
      Effect.sync(() => {
        if (db.isTransaction) db.exec("ROLLBACK")
        db.close()
      })
  )
})
