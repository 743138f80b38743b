/**
 * The engines flows run on, chosen in one place by a Layer:
 * - {@link memory}: `effect/workflow`'s in-memory engine — tests, embedding, `--no-journal`;
 * - {@link durable}: the SQLite journal under a state directory (`.mcpflow/runs.db`) —
 *   `ClusterWorkflowEngine` over `SingleRunner`, plus the run history; a crashed run resumes.
 * - {@link clusterRunner} / {@link clusterClient}: an Effect Cluster of runner processes on
 *   Postgres — many processes, one journal; a dead runner's runs move to the others.
 *
 * @example
 * ```ts
 * import { Engines, Flow } from "mcpflow"
 * yield* Flow.run(deploy, input).pipe(Effect.provide(Engines.durable(".mcpflow")))
 * ```
 * @module
 */
import { join } from "node:path"
import { Effect, Layer } from "effect"
import type { ConfigError } from "effect/Config"
import type { SqlError } from "effect/sql/SqlError"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import * as FlowEngine from "../../../dsl/ports/FlowEngine.ts"
import { JournalError, type RunJournal } from "../../../dsl/ports/RunJournal.ts"
import { ensureDirectory } from "./StateDir.ts"
import type { ClusterOptions } from "../cluster/ClusterEngine.ts"
import type { DatabaseError } from "../cluster/DatabaseError.ts"

/**
 * Flows in memory: nothing is journaled.
 *
 * @example
 * ```ts
 * yield* Flow.run(deploy, input).pipe(Effect.provide(Engines.memory))
 * ```
 */
export const memory: Layer.Layer<FlowEngine.FlowEngine | WorkflowEngine> = FlowEngine.layerMemory

/**
 * The journal file of a state directory.
 *
 * @example
 * ```ts
 * journalFile(".mcpflow") // => ".mcpflow/runs.db"
 * ```
 */
export const journalFile = (stateDir: string): string => join(stateDir, "runs.db")

/**
 * Durable flows journaled in `stateDir/runs.db` (the directory is created): every step's result
 * is recorded, a killed process's run resumes with `Flow.resume`, and the run history is kept.
 * One process at a time per state directory (a second one is refused).
 *
 * @example
 * ```ts
 * yield* Flow.run(deploy, input).pipe(Effect.provide(Engines.durable(".mcpflow")))
 * ```
 */
export const durable = (
  stateDir: string
): Layer.Layer<
  FlowEngine.FlowEngine | WorkflowEngine | RunJournal,
  JournalError | SqlError | ConfigError
> => {
  const file = journalFile(stateDir)
  const prepare = Layer.effectDiscard(
    Effect.suspend(() => {
      const problem = ensureDirectory(stateDir)
      return problem === undefined ? Effect.void : Effect.fail(new JournalError({ file, reason: "Io", detail: problem }))
    })
  )
  // `node:sqlite` is loaded when the layer is built, not when this module is imported.
  const sqlite = Layer.unwrap(
    Effect.promise(() => Promise.all([import("./SqliteEngine.ts"), import("./SqliteRunJournal.ts")])).pipe(
      Effect.map(([SqliteEngine, SqliteRunJournal]) =>
        Layer.mergeAll(
          FlowEngine.layer("sqlite").pipe(Layer.provideMerge(SqliteEngine.layer({ filename: file }))),
          // This process runs flows: its runs name it as their owner, with a heartbeat.
          SqliteRunJournal.layer(file, { heartbeat: "2 seconds" })
        )
      )
    )
  )
  return sqlite.pipe(Layer.provide(prepare))
}

/**
 * A cluster runner on Postgres (see `ClusterEngine.runner`): this process takes its share of the
 * cluster's shards and runs the runs of the flows it serves (`Flow.serve`, with a `RunHost`
 * lending each flow its services). The cluster modules load when the layer is built.
 *
 * @example
 * ```ts
 * yield* Flow.serve(deploy).pipe(Effect.provide(host), Effect.provide(Engines.clusterRunner({ database, port: 34431 })))
 * ```
 */
export const clusterRunner = (
  options: ClusterOptions & { readonly host?: string | undefined; readonly port?: number | undefined }
): Layer.Layer<FlowEngine.FlowEngine | WorkflowEngine, DatabaseError> =>
  Layer.unwrap(Effect.promise(() => import("../cluster/ClusterEngine.ts")).pipe(Effect.map((m) => m.runner(options))))

/**
 * A cluster client on Postgres (see `ClusterEngine.client`): `Flow.run` submits the run to the
 * cluster's runners and awaits its result; `Flow.submit` returns its id at once.
 *
 * @example
 * ```ts
 * yield* Flow.run(deploy, input).pipe(Effect.provide(Engines.clusterClient({ database })))
 * ```
 */
export const clusterClient = (options: ClusterOptions): Layer.Layer<FlowEngine.FlowEngine | WorkflowEngine, DatabaseError> =>
  Layer.unwrap(Effect.promise(() => import("../cluster/ClusterEngine.ts")).pipe(Effect.map((m) => m.client(options))))
