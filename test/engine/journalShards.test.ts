/**
 * The SQLite engine keeps its messages in one shard per group (`JournalShards.ts`): a journal
 * written with effect's default of 300 shards has an unfinished run in some shard other than 1;
 * opened by the engine, its messages move to shard 1 and the run finishes. Without the move the
 * new runner never reads the old message and the run waits forever (here: the timeout).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { Activity, Workflow } from "effect/workflow"
import * as JournalShards from "../../src/runtime/engine/JournalShards.ts"
import * as SqliteEngine from "../../src/runtime/engine/SqliteEngine.ts"
import { SqliteClient } from "../../src/runtime/sql/sqlite/index.ts"

const dir = mkdtempSync(join(tmpdir(), "mcpflow-shards-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const Job = Workflow.make("ShardedJob", {
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const shardsOf = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly shard_id: string }>`SELECT DISTINCT shard_id FROM cluster_messages ORDER BY shard_id`
  return rows.map((row) => row.shard_id)
})

describe("the SQLite engine's shards", () => {
  it.live("an unfinished run of a 300-shard journal finishes after the move to one shard", () =>
    Effect.gen(function*() {
      const file = join(dir, "legacy.db")
      const client = SqliteClient.layer({ filename: file })

      // Written as before: effect's 300 shards; the step starts and the engine closes under it.
      const started = yield* Deferred.make<void>()
      const blocked = Job.toLayer(({ id }) =>
        Activity.make({
          name: "work",
          success: Schema.String,
          execute: Effect.andThen(Deferred.succeed(started, undefined), Effect.never)
        }).pipe(Effect.map(() => id)))
      const legacyShards = yield* Effect.scoped(Effect.gen(function*() {
        yield* Job.execute({ id: "job-7" }, { discard: true })
        yield* Deferred.await(started)
        return yield* shardsOf
      }).pipe(
        Effect.provide(blocked.pipe(
          Layer.provideMerge(SqliteEngine.layerWithSql({ shardingConfig: { shardsPerGroup: 300, entityTerminationTimeout: 0 } })),
          Layer.provideMerge(client)
        ))
      ))
      assert.isTrue(legacyShards.some((shard) => shard !== "default:1"), `messages in ${legacyShards}`)

      // Opened by the engine: moved to shard 1, recorded, and the run resumes and finishes.
      const done = Job.toLayer(({ id }) =>
        Activity.make({ name: "work", success: Schema.String, execute: Effect.succeed(`${id} done`) }))
      const { result, shards, recorded } = yield* Effect.scoped(Effect.gen(function*() {
        const result = yield* Job.execute({ id: "job-7" }).pipe(Effect.timeout("10 seconds"))
        const sql = yield* SqlClient.SqlClient
        const recorded = yield* sql<{ readonly value: string }>`SELECT value FROM mcpflow_meta WHERE key = 'engine_shards'`
        return { result, shards: yield* shardsOf, recorded: recorded[0]?.value }
      }).pipe(
        Effect.provide(done.pipe(Layer.provideMerge(SqliteEngine.layer({ filename: file }))))
      ))
      assert.strictEqual(result, "job-7 done")
      assert.deepStrictEqual(shards, ["default:1"])
      assert.strictEqual(recorded, String(JournalShards.journalShards))
    }), { timeout: 30_000 })

  it.live("a new journal starts at one shard, and opening it again changes nothing", () =>
    Effect.gen(function*() {
      const file = join(dir, "new.db")
      const Quick = Job.toLayer(({ id }) =>
        Activity.make({ name: "work", success: Schema.String, execute: Effect.succeed(id) }))
      const runOnce = (id: string) =>
        Effect.scoped(Effect.gen(function*() {
          const result = yield* Job.execute({ id })
          return { result, shards: yield* shardsOf }
        }).pipe(Effect.provide(Quick.pipe(Layer.provideMerge(SqliteEngine.layer({ filename: file }))))))
      assert.deepStrictEqual(yield* runOnce("a"), { result: "a", shards: ["default:1"] })
      assert.deepStrictEqual(yield* runOnce("b"), { result: "b", shards: ["default:1"] })
    }), { timeout: 30_000 })
})
