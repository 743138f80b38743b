/**
 * How many shards the SQLite engine's single runner spreads its entities over, and the rewrite
 * of an older journal's messages to that count.
 *
 * One process owns a SQLite journal (`JournalLock`), so shards distribute nothing there; but
 * effect's mailbox read lists every shard the runner owns in its query (`shard_id IN (…)`), and
 * with effect's default of 300 SQLite built that list afresh at every durable step (≈ 100 µs of
 * ≈ 1 ms). The engine therefore uses one shard per group. Journals written before (300 shards)
 * have their messages moved to shard 1 of their group when the engine opens them — an entity's
 * shard is `hash(id) % shards + 1`, so with one shard every entity is in shard 1 — in one
 * transaction, before the runner reads anything. The count is recorded in `mcpflow_meta`
 * (`engine_shards`); a journal can move down to one shard, never back up.
 *
 * @module
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"

/**
 * The SQLite engine's shards per group.
 *
 * @example
 * ```ts
 * SingleRunner.layer({ shardingConfig: { shardsPerGroup: journalShards } })
 * ```
 */
export const journalShards = 1

/** Effect's default, which every journal without an `engine_shards` record was written with. */
const legacyShards = 300

/**
 * Brings the journal's messages to {@link journalShards} shards per group and records it; a
 * no-op on a new journal or one already there. Fails with a `SqlError` when the file cannot be
 * written.
 *
 * @example
 * ```ts
 * const Engine = engineLayer.pipe(Layer.provide(migrateShards), Layer.provideMerge(SqliteClient.layer(options)))
 * ```
 */
export const migrateShards: Layer.Layer<never, SqlError, SqlClient.SqlClient> = Layer.effectDiscard(
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`CREATE TABLE IF NOT EXISTS mcpflow_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`
      const recorded = yield* sql<{ readonly value: string }>`SELECT value FROM mcpflow_meta WHERE key = 'engine_shards'`
      const messages = yield* sql`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'cluster_messages'`
      const shards = recorded[0] !== undefined ? Number(recorded[0].value) : messages.length > 0 ? legacyShards : journalShards
      if (shards !== journalShards && messages.length > 0) {
        // `group:id` → `group:1`
        yield* sql`UPDATE cluster_messages SET shard_id = substr(shard_id, 1, instr(shard_id, ':')) || ${
          String(journalShards)
        } WHERE instr(shard_id, ':') > 0`
      }
      if (recorded[0]?.value !== String(journalShards)) {
        yield* sql`INSERT OR REPLACE INTO mcpflow_meta (key, value) VALUES ('engine_shards', ${String(journalShards)})`
      }
    }))
  })
)
