/**
 * The engines flows run on, chosen in one place by a Layer:
 * - {@link memory}: `effect/workflow`'s in-memory engine — tests, embedding, `--no-journal`;
 * - {@link durable}: the SQLite journal under a state directory (`.mcpflow/runs.db`) —
 *   `ClusterWorkflowEngine` over `SingleRunner`, plus the run history; a crashed run resumes.
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
