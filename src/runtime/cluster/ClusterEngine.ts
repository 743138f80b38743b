/**
 * Flows on an Effect Cluster over Postgres: `effect/workflow`'s `ClusterWorkflowEngine` on
 * `NodeClusterSocket` runners whose shard locks, mailboxes and replies live in Postgres
 * (`SqlRunnerStorage`, `SqlMessageStorage` on `@effect/sql-pg`).
 *
 * - {@link runner}: a runner process (`mcpflow worker --database`): it listens on a socket,
 *   registers in Postgres, takes its share of the shards (rebalanced when runners join or leave)
 *   and runs the runs of the flows it serves (`Flow.serve`, with a `RunHost`).
 * - {@link client}: a process that submits runs and awaits their results without running any
 *   (`mcpflow run --database`).
 *
 * A runner that dies (SIGKILL) loses its Postgres session, so its advisory shard locks are
 * released at once; the others take its shards at their next assignment refresh and replay its
 * runs from the journal: completed activities are not run again. The one in flight (counted in
 * `mcpflow_step_starts`, see `PgStepLedger`) is re-run and reported so (`StepStarted` with
 * `rerunAfterCrash`) when it is idempotent; otherwise it fails with `AmbiguousStep` and is
 * never re-sent (the saga compensates the completed steps).
 *
 * Steps' circuit breakers and rate limits (the `FlowEngine`'s policy registry) live in the same
 * Postgres (`PgBreakerStore`, `PgRateLimiterStore`): a circuit opened on one runner is open on all.
 *
 * @example
 * ```ts
 * const engine = ClusterEngine.runner({ database: Redacted.make(url), port: 34431 })
 * yield* Flow.serve(deploy).pipe(Effect.provide(host), Effect.provide(engine))
 * ```
 * @module
 */
import { NodeClusterSocket } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Option, type Redacted } from "effect"
import { ClusterWorkflowEngine, RunnerAddress, type Sharding, type ShardingConfig } from "effect/cluster"
import { RateLimiter } from "effect/persistence"
import * as Reactivity from "effect/reactivity/Reactivity"
import type { SqlClient } from "effect/sql"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import * as FlowEngine from "../../../dsl/ports/FlowEngine.ts"
import { registry, SharedState } from "../../../dsl/policy/Policy.ts"
import * as PgBreakerStore from "../sql/postgres/PgBreakerStore.ts"
import * as PgRateLimiterStore from "../sql/postgres/PgRateLimiterStore.ts"
import * as PgStepLedger from "../sql/postgres/PgStepLedger.ts"
import * as PostgresSchema from "../sql/postgres/PostgresSchema.ts"
import { DatabaseError } from "./DatabaseError.ts"

/**
 * Options shared by runners and clients.
 *
 * @example
 * ```ts
 * const options: ClusterOptions = { database: Redacted.make("postgres://mcpflow@db/mcpflow") }
 * ```
 */
export interface ClusterOptions {
  /** `postgres://user:password@host:port/database`. */
  readonly database: Redacted.Redacted<string>
  /** How long to wait for Postgres at start (default 5 s). */
  readonly connectTimeout?: Duration.Input | undefined
  /** Shards per group; every process of one cluster must agree (default 300, Effect's default). */
  readonly shards?: number | undefined
  /**
   * How often runners poll Postgres for messages and clients for replies (default 100 ms).
   * Bounds how late a durable sleep, a signal or a moved run is picked up.
   */
  readonly pollInterval?: Duration.Input | undefined
  /**
   * Postgres connections a runner keeps for its steps in flight (default 64): each holds one
   * (its lock in the step ledger) for as long as its body runs, more wait their turn. Count them,
   * per runner, against the server's `max_connections` (100 by default) with each process's
   * pool for the rest (10).
   */
  readonly stepConnections?: number | undefined
  /** Further `ShardingConfig` overrides, applied last. */
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
}

/**
 * Timings that make a dead runner's runs move within seconds (Effect's defaults take about a
 * minute: a 1-minute health check and 35-second lock expiry).
 */
const failover = (options: ClusterOptions): Partial<ShardingConfig.ShardingConfig["Service"]> => ({
  shardsPerGroup: options.shards ?? 300,
  entityMessagePollInterval: options.pollInterval ?? Duration.millis(100),
  entityReplyPollInterval: options.pollInterval ?? Duration.millis(100),
  refreshAssignmentsInterval: Duration.seconds(1),
  runnerHealthCheckInterval: Duration.seconds(1),
  shardLockRefreshInterval: Duration.seconds(2),
  shardLockExpiration: Duration.seconds(6),
  entityTerminationTimeout: Duration.seconds(2)
})

/**
 * The Postgres client of a cluster process, with mcpflow's tables checked (a schema from a newer
 * mcpflow is refused before anything is written). Fails with a {@link DatabaseError} naming the
 * host (never the password).
 *
 * @example
 * ```ts
 * const pg = ClusterEngine.postgres({ database: Redacted.make(url) })
 * ```
 */
export const postgres = (
  options: Pick<ClusterOptions, "database" | "connectTimeout">
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, DatabaseError> => {
  const where = DatabaseError.where(options.database)
  return Layer.effectDiscard(PostgresSchema.migrate).pipe(
    Layer.provideMerge(
      PgClient.layer({
        url: options.database,
        connectTimeout: options.connectTimeout ?? Duration.seconds(5),
        applicationName: "mcpflow"
      })
    ),
    Layer.catch((error) => Layer.effectDiscard(Effect.fail(DatabaseError.from(error, where))))
  ) as Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, DatabaseError>
}

/**
 * A runner: serves its share of the cluster's shards on `host:port` (default `127.0.0.1`, and
 * port 34431), with the `FlowEngine` (`kind: "postgres"`), the `WorkflowEngine`, the `SqlClient` and
 * the `Sharding` (for singletons and `ClusterCron` jobs).
 *
 * @example
 * ```ts
 * const engine = runner({ database: Redacted.make(url), port: 34432 })
 * ```
 */
export const runner = (
  options: ClusterOptions & { readonly host?: string | undefined; readonly port?: number | undefined }
): Layer.Layer<FlowEngine.FlowEngine | WorkflowEngine | SqlClient.SqlClient | Sharding.Sharding, DatabaseError> => {
  const address = RunnerAddress.make(options.host ?? "127.0.0.1", options.port ?? 34431)
  return engineOver(
    NodeClusterSocket.layer({
      storage: "sql",
      shardingConfig: { ...failover(options), runnerAddress: Option.some(address), ...options.shardingConfig }
    }),
    options
  )
}

/**
 * A client: submits runs and awaits their results; runs nothing itself.
 *
 * @example
 * ```ts
 * yield* Flow.run(deploy, input).pipe(Effect.provide(client({ database: Redacted.make(url) })))
 * ```
 */
export const client = (
  options: ClusterOptions
): Layer.Layer<FlowEngine.FlowEngine | WorkflowEngine | SqlClient.SqlClient | Sharding.Sharding, DatabaseError> =>
  engineOver(
    NodeClusterSocket.layer({
      clientOnly: true,
      storage: "sql",
      shardingConfig: { ...failover(options), runnerAddress: Option.none(), ...options.shardingConfig }
    }),
    options
  )

const engineOver = (
  sharding: ReturnType<typeof NodeClusterSocket.layer<boolean, "sql">>,
  options: ClusterOptions
): Layer.Layer<FlowEngine.FlowEngine | WorkflowEngine | SqlClient.SqlClient | Sharding.Sharding, DatabaseError> => {
  const where = DatabaseError.where(options.database)
  // Steps' breakers and rate limits are shared by every process of the cluster.
  // Gateways built with this context (`Policy.SharedState`) share them too.
  const engine = Layer.unwrap(Effect.gen(function*() {
    const breakers = yield* PgBreakerStore.make()
    const rateLimiter = yield* RateLimiter.make.pipe(Effect.provide(PgRateLimiterStore.layer))
    const shared = { breakerStore: breakers.store, rateLimiter }
    // A step's body starts are counted in Postgres: a step in flight on a runner that died is
    // known as such on the runner that takes the run over (reported, and re-run only if idempotent).
    // Steps in flight hold a connection each (their lock) from a pool of their own.
    const locks = yield* PgClient.make({
      url: options.database,
      connectTimeout: options.connectTimeout ?? Duration.seconds(5),
      applicationName: "mcpflow-steps",
      maxConnections: options.stepConnections ?? 64
    }).pipe(Effect.provide(Reactivity.layer))
    const stepLedger = yield* PgStepLedger.make(locks)
    return Layer.merge(
      FlowEngine.layer("postgres", { policies: registry(shared), stepLedger }),
      Layer.succeed(SharedState)(shared)
    )
  }))
  return engine.pipe(
    Layer.provideMerge(ClusterWorkflowEngine.layer),
    // Sharding stays in the output: a runner's cluster cron jobs (`ClusterCron`) register on it.
    Layer.provideMerge(sharding as Layer.Layer<Layer.Success<typeof sharding>, unknown, SqlClient.SqlClient>),
    Layer.catch((error) => Layer.effectDiscard(Effect.fail(DatabaseError.from(error, where)))),
    Layer.provideMerge(postgres(options))
  ) as never
}
