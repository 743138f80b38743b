/**
 * The Postgres implementation of the run-history port (`dsl/ports/RunJournal.ts`), for runs on
 * an Effect Cluster: the same records as the SQLite journal (one row per run with its status,
 * owner and heartbeat, trigger and output; every event of the run; signals), in mcpflow's tables
 * of the cluster's Postgres (created by `PostgresSchema.migrate`, format 2). Every runner writes
 * the runs it executes into it, so `mcpflow runs`/`show`/`signal`/`cancel --database` see a run
 * whichever runner has it, and a run that moves to another runner continues the same record.
 *
 * Events are ordered by a database sequence (not a per-process counter), so two runners that
 * take turns on a run never collide. `appendUnsafe` cannot write synchronously to a server: it
 * queues the event and a writer sends the queue in order, in one statement per batch; `finish`,
 * `get` and `events` wait for the queue first, and so does a durable step before its body runs
 * (`stored`): a runner killed mid-batch may lose its last events from the history (never from the
 * run: the cluster's own journal is Effect's message storage), but never the `StepStarted` of a
 * step whose body ran; a write failure is thrown by the next `appendUnsafe`, which stops the run as on SQLite.
 *
 * @example
 * ```ts
 * const journal = yield* PgRunJournal.make({ file: "postgres db:5432/mcpflow", heartbeat: "2 seconds" })
 * ```
 * @module
 */
import { hostname } from "node:os"
import { type Duration, Effect, Layer, type Redacted, Schedule, Semaphore } from "effect"
import { SqlClient } from "effect/sql"
import type { FlowEvent } from "../../../../dsl/flow/FlowEvents.ts"
import { JournalError, RunJournal } from "../../../../dsl/ports/RunJournal.ts"
import { DatabaseError } from "../../cluster/DatabaseError.ts"
import { type RunRow, toRecord } from "../Rows.ts"

/**
 * How a cluster's journal is named in messages (its `file`): its host and database, never the password.
 *
 * @example
 * ```ts
 * journalName(Redacted.make("postgres://u:secret@db:5432/app")) // => "postgres db:5432/app"
 * ```
 */
export const journalName = (database: Redacted.Redacted<string>): string => `postgres ${DatabaseError.where(database)}`



/**
 * The run journal on the Postgres `SqlClient` in context (its tables migrated). `file` names the
 * database in messages (host and database, never the password). A process that runs runs passes
 * `heartbeat`: the runs it starts record it as their owner and it stamps them every interval.
 *
 * @example
 * ```ts
 * const journal = yield* make({ file: "postgres db:5432/mcpflow" })
 * ```
 */
export const make = Effect.fn("PgRunJournal.make")(function*(options: {
  readonly file: string
  readonly heartbeat?: Duration.Input | undefined
}) {
  const sql = yield* SqlClient.SqlClient
  const file = options.file
  const host = hostname()
  const pid = process.pid
  const io = (error: unknown) =>
    new JournalError({ file, reason: "Io", detail: error instanceof Error ? error.message : String(error) })
  const attempt = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, JournalError, R> =>
    Effect.mapError(effect, io)
  const notFound = (runId: string) =>
    new JournalError({ file, reason: "NotFound", detail: `no run with id ${JSON.stringify(runId)}` })

  // The event queue: filled synchronously by appendUnsafe, sent in order by one writer at a time.
  let queue: Array<FlowEvent> = []
  let failure: JournalError | undefined
  const writer = Semaphore.makeUnsafe(1)
  const flush: Effect.Effect<void> = writer.withPermit(Effect.suspend(() => {
    if (queue.length === 0) return Effect.void
    const batch = queue
    queue = []
    const rows = batch.map((e) => ({ run_id: e.runId, at: e.at, tag: e._tag, body: JSON.stringify(e) }))
    return sql`insert into mcpflow_run_events ${sql.insert(rows as unknown as readonly [Record<string, unknown>])}`.pipe(
      Effect.asVoid,
      Effect.catch((error) =>
        Effect.sync(() => {
          failure ??= io(error)
        })
      )
    )
  }))
  const context = yield* Effect.context<never>()
  let scheduled = false
  const schedule = () => {
    if (scheduled) return
    scheduled = true
    // Sent after the current synchronous burst: events emitted together go in one statement.
    queueMicrotask(() => {
      scheduled = false
      Effect.runForkWith(context)(flush)
    })
  }
  const drained = Effect.andThen(flush, Effect.suspend(() => (failure === undefined ? Effect.void : Effect.fail(failure))))
  yield* Effect.addFinalizer(() => flush)

  if (options.heartbeat !== undefined) {
    yield* Effect.forkScoped(
      Effect.suspend(() =>
        sql`update mcpflow_runs set heartbeat_at = ${Date.now()} where owner_pid = ${pid} and owner_host = ${host} and status = 'running'`
      ).pipe(Effect.ignore, Effect.repeat(Schedule.spaced(options.heartbeat)))
    )
  }

  const selectRun = (runId: string) =>
    attempt(sql<RunRow>`select * from mcpflow_runs where run_id = ${runId}`).pipe(
      Effect.map((rows) => (rows[0] === undefined ? undefined : toRecord(rows[0])))
    )

  return RunJournal.of({
    file,
    start: (run) =>
      attempt(sql`insert into mcpflow_runs
        (run_id, flow, status, started_at, input, fingerprint, source, owner_pid, owner_host, heartbeat_at, started_by)
        values (${run.runId}, ${run.flow}, 'running', ${run.startedAt}, ${JSON.stringify(run.input ?? null)},
          ${run.fingerprint}, ${run.source ?? null}, ${pid}, ${host}, ${Date.now()}, ${run.trigger ?? null})
        on conflict (run_id) do update set status = 'running', finished_at = null, failed_step = null, error = null,
          error_tag = null, output = null,
          owner_pid = excluded.owner_pid, owner_host = excluded.owner_host, heartbeat_at = excluded.heartbeat_at`).pipe(
        Effect.asVoid
      ),
    appendUnsafe: (event) => {
      if (failure !== undefined) throw failure
      queue.push(event)
      schedule()
    },
    stored: drained,
    finish: (run) =>
      Effect.andThen(
        drained,
        attempt(sql`update mcpflow_runs set status = ${run.status}, finished_at = ${run.finishedAt},
          failed_step = ${run.failedStep ?? null}, error = ${run.error ?? null}, error_tag = ${run.errorTag ?? null},
          output = ${run.output === undefined ? null : JSON.stringify(run.output)}
          where run_id = ${run.runId}`)
      ).pipe(Effect.asVoid),
    get: (runId) =>
      Effect.andThen(flush, selectRun(runId)).pipe(
        Effect.flatMap((record) => (record === undefined ? Effect.fail(notFound(runId)) : Effect.succeed(record)))
      ),
    list: attempt(sql<RunRow>`select * from mcpflow_runs order by started_at desc`).pipe(
      Effect.map((rows) => rows.map(toRecord))
    ),
    events: (runId) =>
      Effect.andThen(
        flush,
        attempt(sql<{ readonly body: string }>`select body from mcpflow_run_events where run_id = ${runId} order by id`)
      ).pipe(Effect.map((rows) => rows.map((r) => JSON.parse(r.body) as FlowEvent))),
    signal: (runId, name, payload) =>
      attempt(sql.withTransaction(Effect.gen(function*() {
        // The run's row locked: its status read and the insert see the same journal.
        const rows = yield* sql<RunRow>`select * from mcpflow_runs where run_id = ${runId} for update`
        const row = rows[0]
        if (row?.status === "running") {
          yield* sql`insert into mcpflow_signals (run_id, name, payload, sent_at)
            values (${runId}, ${name}, ${JSON.stringify(payload ?? null)}, ${Date.now()})
            on conflict (run_id, name) do update set payload = excluded.payload, sent_at = excluded.sent_at
            where mcpflow_signals.delivered_at is null`
        }
        return row
      }))).pipe(Effect.flatMap((row) => (row === undefined ? Effect.fail(notFound(runId)) : Effect.succeed(toRecord(row))))),
    pendingSignals: (runId) =>
      attempt(
        sql<{ readonly name: string; readonly payload: string }>`select name, payload from mcpflow_signals
          where run_id = ${runId} and delivered_at is null`
      ).pipe(Effect.map((rows) => rows.map((r) => ({ name: r.name, payload: JSON.parse(r.payload) as unknown })))),
    markDelivered: (runId, name) =>
      attempt(sql`update mcpflow_signals set delivered_at = ${Date.now()} where run_id = ${runId} and name = ${name}`).pipe(
        Effect.asVoid
      ),
    find: (prefix, limit = 10) =>
      attempt(
        sql<RunRow>`select * from mcpflow_runs where left(run_id, ${prefix.length}) = ${prefix}
          order by started_at desc limit ${limit}`
      ).pipe(Effect.map((rows) => rows.map(toRecord))),
    requestCancel: (runId) =>
      attempt(sql`update mcpflow_runs set cancel_requested_at = coalesce(cancel_requested_at, ${Date.now()})
        where run_id = ${runId} and status = 'running'`).pipe(Effect.asVoid),
    cancelRequested: (runId) =>
      attempt(sql<{ readonly at: string | null }>`select cancel_requested_at as at from mcpflow_runs where run_id = ${runId}`).pipe(
        Effect.map((rows) => rows[0]?.at != null)
      ),
    prune: (before) =>
      attempt(sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql<{ readonly run_id: string }>`delete from mcpflow_runs
          where status <> 'running' and finished_at is not null and finished_at < ${before} returning run_id`
        const ids = rows.map((r) => r.run_id)
        if (ids.length > 0) {
          yield* sql`delete from mcpflow_run_events where run_id in ${sql.in(ids)}`
          yield* sql`delete from mcpflow_signals where run_id in ${sql.in(ids)}`
        }
        return ids
      })))
  })
})

/**
 * {@link make} as a layer over the Postgres `SqlClient` in context.
 *
 * @example
 * ```ts
 * const history = PgRunJournal.layer({ file: "postgres db:5432/mcpflow" })
 * ```
 */
export const layer = (options: {
  readonly file: string
  readonly heartbeat?: Duration.Input | undefined
}): Layer.Layer<RunJournal, never, SqlClient.SqlClient> => Layer.effect(RunJournal)(make(options))

/**
 * What the runners of a cluster do for the runs of the flow `flow` that the journal holds
 * requests for, every `interval` (default 200 ms), whichever runner has the run and even while
 * it is parked (a parked run has no fiber anywhere): each signal recorded by `mcpflow signal` is
 * claimed by one runner and delivered (`deliver`); a cancel requested by `mcpflow cancel` for a
 * run parked on a signal wakes it (`cancelWait`), so it compensates and ends `cancelled` (a
 * run that is executing sees the request itself).
 *
 * @example
 * ```ts
 * yield* Effect.forkScoped(PgRunJournal.tend("deploy", {
 *   deliver: (runId, name, payload) => deliverRaw(deploy, runId, name, payload),
 *   cancelWait: (runId, signal) => cancelWait(deploy, runId, signal)
 * }))
 * ```
 */
export const tend = (
  flow: string,
  handlers: {
    readonly deliver: (runId: string, name: string, payload: unknown) => Effect.Effect<void>
    readonly cancelWait: (runId: string, signal: string) => Effect.Effect<void>
  },
  interval: Duration.Input = "200 millis"
): Effect.Effect<never, never, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const woken = new Set<string>()
    const once = Effect.gen(function*() {
      // Claimed (marked delivered) and delivered: one runner delivers each signal.
      const signals = yield* sql<{ readonly run_id: string; readonly name: string; readonly payload: string }>`
        update mcpflow_signals s set delivered_at = ${Date.now()}
        from mcpflow_runs r
        where r.run_id = s.run_id and r.flow = ${flow} and r.status = 'running' and s.delivered_at is null
        returning s.run_id, s.name, s.payload`
      for (const s of signals) yield* handlers.deliver(s.run_id, s.name, JSON.parse(s.payload) as unknown)
      const cancels = yield* sql<{ readonly run_id: string }>`select run_id from mcpflow_runs
        where flow = ${flow} and status = 'running' and cancel_requested_at is not null`
      for (const { run_id } of cancels) {
        if (woken.has(run_id)) continue
        const events = (yield* sql<{ readonly body: string }>`select body from mcpflow_run_events
          where run_id = ${run_id} order by id`).map((r) => JSON.parse(r.body) as FlowEvent)
        const signal = waitingSignal(events)
        if (signal === undefined) continue
        woken.add(run_id)
        yield* handlers.cancelWait(run_id, signal)
      }
    })
    return yield* once.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(interval)), Effect.andThen(Effect.never))
  })

/** The signal a run is parked on: its last `StepWaiting` for a signal not followed by that step's end. */
const waitingSignal = (events: ReadonlyArray<FlowEvent>): string | undefined => {
  let open: { readonly path: string; readonly signal: string | undefined } | undefined
  for (const e of events) {
    if (e._tag === "StepWaiting") open = { path: e.path, signal: e.signal }
    else if (open !== undefined && (e._tag === "StepSucceeded" || e._tag === "StepFailed") && e.path === open.path) open = undefined
    else if (e._tag === "FlowFinished") open = undefined
  }
  return open?.signal
}
