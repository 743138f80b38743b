/**
 * The cluster engine's {@link StepLedger} on Postgres: one row per (execution, step path) in
 * `mcpflow_step_starts`, its `starts` counted up by one upsert each time the step's body starts.
 * The upsert commits before the body does anything, so a runner SIGKILLed mid-step leaves its
 * count behind and the runner that takes the run over sees 2. `keyed` is set when the step reads
 * `Flow.idempotencyKey`, before it can send it anywhere.
 *
 * Postgres briefly away (a restart): the upsert is retried for up to about half a minute, then the
 * step dies — a body never runs unrecorded.
 *
 * @example
 * ```ts
 * const ledger = yield* PgStepLedger.make
 * const starts = yield* ledger.started(executionId, "deploy/apply")
 * ```
 * @module
 */
import { Duration, Effect, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import type { StepLedger } from "../../../../dsl/ports/StepLedger.ts"

const retry = Schedule.min([Schedule.exponential(Duration.millis(50), 1.5), Schedule.spaced(Duration.seconds(2))]).pipe(
  Schedule.upTo({ duration: Duration.seconds(30) })
)

/**
 * Creates `mcpflow_step_starts` if missing and returns the ledger.
 *
 * @example
 * ```ts
 * const ledger = yield* make
 * ```
 */
export const make: Effect.Effect<StepLedger, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Runners start together: one `create table` at a time (concurrent ones race in Postgres's catalog).
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`select pg_advisory_xact_lock(7270431)`
    yield* sql`create table if not exists mcpflow_step_starts (
      execution_id text not null,
      path text not null,
      starts integer not null,
      keyed boolean not null default false,
      primary key (execution_id, path))`
  }))
  return {
    started: (executionId, path) =>
      sql<{ readonly starts: number; readonly keyed: boolean }>`insert into mcpflow_step_starts (execution_id, path, starts)
        values (${executionId}, ${path}, 1)
        on conflict (execution_id, path) do update set starts = mcpflow_step_starts.starts + 1
        returning starts, keyed`.pipe(
        Effect.map((rows) => ({ starts: Number(rows[0]?.starts ?? 1), keyed: rows[0]?.keyed === true })),
        Effect.retry(retry),
        Effect.orDie
      ),
    // The step itself, or the journaled step a nested step runs in (`charge` for `charge/card`).
    keyed: (executionId, path) =>
      sql`update mcpflow_step_starts set keyed = true
        where execution_id = ${executionId} and not keyed and (path = ${path} or starts_with(${path}, path || '/'))`.pipe(
        Effect.retry(retry),
        Effect.orDie,
        Effect.asVoid
      )
  }
})
