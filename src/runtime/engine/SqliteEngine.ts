/**
 * The durable `WorkflowEngine`: effect's `ClusterWorkflowEngine` on a `SingleRunner` whose
 * mailbox, replies and runner state live in a SQLite file (through `src/runtime/sql/sqlite`). A workflow
 * run on it journals every activity result; after a crash, running the same workflow with the
 * same payload again (or `Workflow.resume`) replays the completed activities from the file and
 * runs only the rest.
 *
 * Swap it in for `WorkflowEngine.layerMemory`: both provide `WorkflowEngine.WorkflowEngine`.
 *
 * @module
 */
import { Duration, Layer } from "effect"
import { ClusterWorkflowEngine, SingleRunner } from "effect/cluster"
import type { ShardingConfig } from "effect/cluster"
import type { ConfigError } from "effect/Config"
import type { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import type { WorkflowEngine } from "effect/workflow"
import * as SynchronousDigest from "../../../dsl/ports/internal/SynchronousDigest.ts"
import { SqliteClient } from "../sql/sqlite/index.ts"
import { acquireJournalLock } from "./JournalLock.ts"
import { journalShards, migrateShards } from "./JournalShards.ts"

/**
 * Options of the durable engine.
 *
 * @example
 * ```ts
 * const options: DurableEngineOptions = { filename: ".mcpflow/runs.db", pollInterval: "100 millis" }
 * ```
 */
export interface DurableEngineOptions {
  /** The SQLite journal file. Its directory must exist. */
  readonly filename: string
  /**
   * How often the runner polls storage for messages it has not seen (default 100 ms). It bounds
   * how late a durable sleep or a resumed run is picked up: effect's default is 10 seconds.
   */
  readonly pollInterval?: Duration.Input | undefined
  /** Busy timeout of the SQLite connection (default 5 seconds). */
  readonly busyTimeout?: Duration.Input | undefined
  /** `PRAGMA synchronous` (default `"NORMAL"`: every commit survives a process crash). */
  readonly synchronous?: "OFF" | "NORMAL" | "FULL" | "EXTRA" | undefined
  /**
   * Take the journal's process lock (`<filename>-lock`, see `JournalLock.ts`) so that a second
   * process on the same journal is refused instead of re-running in-flight activities (default
   * `true`). With `false`, the caller must guarantee one process per journal. Under the lock the
   * runner keeps its shard locks in memory (no other runner can reach the file); without it, in
   * the journal as effect's SQL runner storage does.
   */
  readonly lock?: boolean | undefined
  /** How long to wait for another process to release the journal (default: fail at once). */
  readonly lockWait?: Duration.Input | undefined
  /**
   * Further `ShardingConfig` overrides, applied last. `shardsPerGroup` is the engine's own (one
   * shard: see `JournalShards.ts`) and cannot be overridden on a SQLite journal.
   */
  readonly shardingConfig?: Partial<Omit<ShardingConfig.ShardingConfig["Service"], "shardsPerGroup">> | undefined
}

/**
 * Options of {@link layerWithSql}: the poll interval and any `ShardingConfig` override (the
 * shard count included: on a database many runners share, shards are what they divide).
 *
 * @example
 * ```ts
 * const options: SqlEngineOptions = { pollInterval: "100 millis", shardingConfig: { shardsPerGroup: 300 } }
 * ```
 */
export interface SqlEngineOptions {
  readonly pollInterval?: Duration.Input | undefined
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
}

/**
 * The durable engine alone, over whatever `SqlClient` the caller provides (SQLite, Postgres, …).
 *
 * @example
 * ```ts
 * const Engine = layerWithSql({ pollInterval: "100 millis" }).pipe(Layer.provide(PgClient.layer(pg)))
 * ```
 */
export const layerWithSql = (
  options?: SqlEngineOptions | undefined
): Layer.Layer<WorkflowEngine.WorkflowEngine, ConfigError, SqlClient.SqlClient> => engineOn("sql", options)

/**
 * The engine with its runner storage (shard locks, runner registry) in `runnerStorage`. The
 * messages and replies — the journal proper — are always in SQL.
 */
const engineOn = (
  runnerStorage: "sql" | "memory",
  options?: SqlEngineOptions | undefined
): Layer.Layer<WorkflowEngine.WorkflowEngine, ConfigError, SqlClient.SqlClient> =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provide(
      SingleRunner.layer({
        runnerStorage,
        shardingConfig: {
          entityMessagePollInterval: options?.pollInterval ?? Duration.millis(100),
          ...options?.shardingConfig
        }
      })
    ),
    // Digests in the calling turn, not on the thread pool (see `SynchronousDigest`).
    Layer.provide(SynchronousDigest.digest)
  )

/**
 * The durable engine journaling to a SQLite file, which it opens (WAL) and closes with the
 * layer's scope. Also provides the `SqlClient` on that file, so run history can be read from
 * the same connection. Fails with a `SqlError` when the file cannot be opened (missing
 * directory, not a database, locked) or another process holds the journal
 * (`LockTimeoutError`).
 *
 * Starting it resumes every unfinished run of the workflows registered with it: the runner
 * reads the journal's unprocessed messages at startup.
 *
 * @example
 * ```ts
 * const Engine = layer({ filename: ".mcpflow/runs.db" })
 * const run = MyWorkflow.execute({ id: "42" }).pipe(
 *   Effect.provide(MyWorkflowLive.pipe(Layer.provideMerge(Engine)))
 * )
 * ```
 */
export const layer = (
  options: DurableEngineOptions
): Layer.Layer<WorkflowEngine.WorkflowEngine | SqlClient.SqlClient, SqlError | ConfigError> =>
  engineOn(options.lock === false ? "sql" : "memory", {
    pollInterval: options.pollInterval,
    shardingConfig: { ...options.shardingConfig, shardsPerGroup: journalShards }
  }).pipe(
    // Before the runner reads the journal: an older journal's messages moved to one shard.
    Layer.provide(migrateShards),
    Layer.provideMerge(
      SqliteClient.layer({
        filename: options.filename,
        busyTimeout: options.busyTimeout,
        synchronous: options.synchronous,
        // A durable step appends ≈ 7 WAL pages over its three commits (measured): checkpoint (and
        // sync) every ≈ 1 200 steps instead of every ≈ 150, for a `-wal` file of at most ≈ 32 MB
        // while open. What a commit guarantees does not change.
        walAutocheckpoint: 8_000
      })
    ),
    Layer.provide(
      options.lock === false
        ? Layer.empty
        : Layer.effectDiscard(acquireJournalLock(options.filename, { wait: options.lockWait }))
    )
  )
