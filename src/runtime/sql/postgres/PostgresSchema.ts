/**
 * mcpflow's own tables in a shared Postgres (Effect Cluster's tables are created by Effect's
 * `SqlMessageStorage` / `SqlRunnerStorage`): circuit-breaker records, rate-limit counters, the
 * run journal (runs, their events and signals: `PgRunJournal`), the audit log (`PgAuditLog`) and a
 * one-row format marker. {@link migrate} creates what is missing and refuses a database written
 * by a newer mcpflow, before anything is written.
 *
 * @example
 * ```ts
 * yield* PostgresSchema.migrate // in a program with a Postgres SqlClient
 * ```
 * @module
 */
import { Effect, Schema } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"

/** The format of mcpflow's Postgres tables this version writes; newer ones are refused. */
export const schemaFormat = 2

/**
 * The database holds mcpflow tables of a newer format than this version reads.
 *
 * @example
 * ```ts
 * new PostgresSchemaTooNew({ found: 2, supported: 1 }).message
 * ```
 */
export class PostgresSchemaTooNew extends Schema.TaggedError<PostgresSchemaTooNew>()("PostgresSchemaTooNew", {
  found: Schema.Number,
  supported: Schema.Number
}) {
  override get message(): string {
    return `the database was written by a newer mcpflow (format ${this.found}, this version reads ≤ ${this.supported}); upgrade mcpflow`
  }
}

/**
 * Checks the format marker (failing with {@link PostgresSchemaTooNew} before writing anything),
 * then creates mcpflow's tables if missing. Safe to run concurrently from several processes.
 *
 * @example
 * ```ts
 * yield* migrate
 * ```
 */
export const migrate: Effect.Effect<void, SqlError | PostgresSchemaTooNew, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const present = yield* sql<{ readonly present: boolean }>`select to_regclass('mcpflow_meta') is not null as present`
  const found = present[0]?.present === true
    ? (yield* sql<{ readonly found: number | null }>`select max(format) as found from mcpflow_meta`)[0]?.found
    : undefined
  if (found !== null && found !== undefined && Number(found) > schemaFormat) {
    return yield* new PostgresSchemaTooNew({ found: Number(found), supported: schemaFormat })
  }
  if (found !== null && found !== undefined && Number(found) === schemaFormat) return
  // One migration at a time across processes.
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`select pg_advisory_xact_lock(7270431)`
    yield* sql`create table if not exists mcpflow_meta (format integer not null)`
    yield* sql`create table if not exists mcpflow_breakers (
      breaker text not null,
      key text not null,
      record jsonb not null,
      version bigint not null,
      primary key (breaker, key))`
    yield* sql`create table if not exists mcpflow_rate_limits (
      key text primary key,
      count double precision not null,
      expires_at double precision not null)`
    yield* sql`create table if not exists mcpflow_token_buckets (
      key text primary key,
      tokens double precision not null,
      last_refill double precision not null)`
    // format 2: the run journal (`mcpflow runs`, `show`, `signal`, `cancel` against Postgres)
    yield* sql`create table if not exists mcpflow_runs (
      run_id text primary key, flow text not null, status text not null,
      started_at bigint not null, finished_at bigint, input text not null, fingerprint text not null, source text,
      failed_step text, error text, error_tag text,
      owner_pid integer, owner_host text, heartbeat_at bigint, cancel_requested_at bigint, started_by text, output text)`
    yield* sql`create index if not exists mcpflow_runs_started on mcpflow_runs (started_at desc)`
    yield* sql`create table if not exists mcpflow_run_events (
      id bigserial primary key, run_id text not null, at bigint not null, tag text not null, body text not null)`
    yield* sql`create index if not exists mcpflow_run_events_run on mcpflow_run_events (run_id, id)`
    yield* sql`create table if not exists mcpflow_signals (
      run_id text not null, name text not null, payload text not null, sent_at bigint not null, delivered_at bigint,
      primary key (run_id, name))`
    // format 2: the audit log, append-only (only retention deletes, and only older entries)
    yield* sql`create table if not exists mcpflow_audit (
      seq bigserial primary key, at bigint not null, run_id text, step text, action text not null, target text,
      actor text not null, outcome text not null, duration_ms bigint, detail text, args text, result text)`
    yield* sql`create index if not exists mcpflow_audit_run on mcpflow_audit (run_id, seq)`
    yield* sql`create index if not exists mcpflow_audit_at on mcpflow_audit (at)`
    yield* sql`create table if not exists mcpflow_audit_retention (before bigint not null)`
    yield* sql`create or replace function mcpflow_audit_guard() returns trigger language plpgsql as $$
      begin
        if tg_op = 'UPDATE' then
          raise exception 'mcpflow_audit is append-only: entries are never updated';
        end if;
        if old.at >= coalesce((select min(before) from mcpflow_audit_retention), -1) then
          raise exception 'mcpflow_audit is append-only: only retention deletes, and only older entries';
        end if;
        return old;
      end $$`
    yield* sql`drop trigger if exists mcpflow_audit_append_only on mcpflow_audit`
    yield* sql`create trigger mcpflow_audit_append_only before update or delete on mcpflow_audit
      for each row execute function mcpflow_audit_guard()`
    const rows = yield* sql<{ readonly n: number }>`select count(*)::int as n from mcpflow_meta`
    if ((rows[0]?.n ?? 0) === 0) yield* sql`insert into mcpflow_meta (format) values (${schemaFormat})`
    else yield* sql`update mcpflow_meta set format = ${schemaFormat} where format < ${schemaFormat}`
  }))
})
