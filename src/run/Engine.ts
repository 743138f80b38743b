/**
 * The one place that picks the engine flows run on. Today the in-memory `effect/workflow`
 * engine; the durable engine is a change of this layer only.
 *
 * @example
 * ```ts
 * import * as Engine from "./Engine.ts"
 * Flow.run(flow, input).pipe(Effect.provide(Engine.layer))
 * ```
 * @module
 */
import type { Layer } from "effect"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import * as FlowEngine from "../../dsl/flow/FlowEngine.ts"

/**
 * The engine of `mcpflow run` and `Flow.main`.
 *
 * @example
 * ```ts
 * Flow.run(flow, input).pipe(Effect.provide(Engine.layer))
 * ```
 */
export const layer: Layer.Layer<FlowEngine.FlowEngine | WorkflowEngine> = FlowEngine.layerMemory
