/**
 * The cluster engine's {@link StepLedger} on Postgres: one row per (execution, step path) in
 * `mcpflow_step_starts`, its `starts` counted up by one upsert each time the step's body starts.
 * The upsert commits before the body does anything, so a runner SIGKILLed mid-step leaves its
 * count behind and the runner that takes the run over sees 2. `keyed` is set when the step reads
 * `Flow.idempotencyKey`, before it can send it anywhere.
 *
 * A start holds the step with a session advisory lock on a connection of its own (`locks`, a pool
 * nothing else uses, so a held step never starves the cluster's queries) until the body ended and
 * its outcome is in the row (`outcome`). A runner that gave the run up on a rebalance lets its
 * body finish (Effect Cluster runs activities uninterruptibly): the new owner's start waits for the
 * lock, finds the outcome and does not run the body again. A SIGKILLed runner's session ends with
 * it, and its lock with the session: the new owner starts at once and counts the second start.
 *
 * Postgres briefly away (a restart): the upsert is retried for up to about half a minute, then the
 * step dies — a body never runs unrecorded.
 *
 * @example
 * ```ts
 * const ledger = yield* PgStepLedger.make(locks)
 * const { starts } = yield* Effect.scoped(ledger.started(executionId, "deploy/apply"))
 * ```
 * @module
 */
import { Duration, Effect, Exit, Schedule, Scope } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import type { StepLedger, StepOutcome } from "../../../../dsl/ports/StepLedger.ts"

const retry = Schedule.min([Schedule.exponential(Duration.millis(50), 1.5), Schedule.spaced(Duration.seconds(2))]).pipe(
  Schedule.upTo({ duration: Duration.seconds(30) })
)

/**
 * Creates `mcpflow_step_starts` if missing and returns the ledger; `locks` holds the steps in
 * flight (one connection each), the client in context does the rest.
 *
 * @example
 * ```ts
 * const ledger = yield* make(locks)
 * ```
 */
export const make = (locks: SqlClient.SqlClient): Effect.Effect<StepLedger, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
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
      yield* sql`alter table mcpflow_step_starts add column if not exists outcome jsonb`
    }))
    // One attempt: a connection of `locks` holding the step's lock (the execution and path hashed
    // to a bigint; a collision only makes two steps wait for each other), then the row read and counted.
    const hold = (executionId: string, path: string) =>
      Effect.gen(function*() {
        const connection = yield* locks.reserve
        const key = [`${executionId} ${path}`]
        yield* connection.execute("select pg_advisory_lock(hashtextextended($1, 7270432))", key, undefined)
        yield* Effect.addFinalizer(() =>
          Effect.ignore(connection.execute("select pg_advisory_unlock(hashtextextended($1, 7270432))", key, undefined))
        )
        const done = (yield* connection.execute(
          "select outcome from mcpflow_step_starts where execution_id = $1 and path = $2 and outcome is not null",
          [executionId, path],
          undefined
        )) as ReadonlyArray<{ readonly outcome: unknown }>
        if (done.length > 0) return { starts: 0, keyed: false, finished: parsed(done[0]!.outcome) }
        const rows = (yield* connection.execute(
          `insert into mcpflow_step_starts (execution_id, path, starts) values ($1, $2, 1)
            on conflict (execution_id, path) do update set starts = mcpflow_step_starts.starts + 1
            returning starts, keyed`,
          [executionId, path],
          undefined
        )) as ReadonlyArray<{ readonly starts: number; readonly keyed: boolean }>
        return { starts: Number(rows[0]?.starts ?? 1), keyed: rows[0]?.keyed === true, finished: undefined }
      })
    return {
      started: (executionId, path) =>
        Effect.flatMap(Effect.scope, (outer) =>
          // A failed attempt gives its connection (and lock) back before the next one.
          Effect.flatMap(Scope.fork(outer), (attempt) =>
            hold(executionId, path).pipe(
              Scope.provide(attempt),
              Effect.onError((cause) => Scope.close(attempt, Exit.failCause(cause)))
            )).pipe(Effect.retry(retry), Effect.orDie)),
      finished: (executionId, path, outcome) =>
        sql`update mcpflow_step_starts set outcome = ${JSON.stringify(outcome)}::jsonb
          where execution_id = ${executionId} and path = ${path}`.pipe(
          Effect.retry(retry),
          Effect.orDie,
          Effect.asVoid
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

/** `jsonb` comes back parsed, or as text from drivers that leave it alone. */
const parsed = (outcome: unknown): StepOutcome => (typeof outcome === "string" ? JSON.parse(outcome) : outcome) as StepOutcome
