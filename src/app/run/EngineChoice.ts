/**
 * The one place that picks the engine flows run on: journaled in SQLite under a state
 * directory by default (`.mcpflow/runs.db`: resume, history), or in memory (`--no-journal`).
 *
 * @example
 * ```ts
 * import * as EngineChoice from "./EngineChoice.ts"
 * Flow.run(flow, input).pipe(Effect.provide(Engine.layerFor({ journal: true, stateDir: ".mcpflow" })))
 * ```
 * @module
 */
import type { Layer } from "effect"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import type { FlowEngine } from "../../../dsl/ports/FlowEngine.ts"
import * as Engines from "../../runtime/engine/Engines.ts"
import type { RunJournal } from "../../../dsl/ports/RunJournal.ts"

/**
 * The engine of `mcpflow run` and flow files: durable in `stateDir` unless `journal` is off.
 * Building it fails (exit 2) when the journal is unusable: corrupt, from a newer mcpflow, or in
 * use by another process.
 *
 * @example
 * ```ts
 * Engine.layerFor({ journal: false, stateDir: ".mcpflow" }) // in memory
 * ```
 */
export const layerFor = (options: {
  readonly journal: boolean
  readonly stateDir: string
}): Layer.Layer<FlowEngine | WorkflowEngine, unknown> => (options.journal ? durable(options.stateDir) : Engines.memory)

/**
 * The durable engine with its run history (what `--resume` and `mcpflow resume` need).
 *
 * @example
 * ```ts
 * Flow.resume(flow, runId).pipe(Effect.provide(Engine.durable(".mcpflow")))
 * ```
 */
export const durable = (stateDir: string): Layer.Layer<FlowEngine | WorkflowEngine | RunJournal, unknown> =>
  Engines.durable(stateDir)
