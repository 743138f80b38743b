/**
 * The sandboxes flow files gave to `main`, by flow, so `mcpflow run` finds a flow's sandbox even
 * when the file does not export it.
 *
 * @example
 * ```ts
 * import { register, registered } from "./Registry.ts"
 * register(cicd, { sandbox: cicdSandbox })
 * registered(cicd)?.sandbox // => cicdSandbox
 * ```
 * @module
 */
import type { AnyFlow } from "../../../dsl/flow/Flow.ts"
import type { FlowSource } from "./RunFlow.ts"

// One map per process, shared by every copy of this module: the compiled CLI (dist/) and a flow
// file that imports mcpflow's TypeScript sources register and look up in the same place.
const key = Symbol.for("mcpflow/FlowFile/sources")
const sources: WeakMap<AnyFlow, FlowSource> = ((globalThis as Record<symbol, unknown>)[key] ??= new WeakMap()) as WeakMap<
  AnyFlow,
  FlowSource
>

/**
 * Remembers what a flow file gave to `main` for its flow.
 *
 * @example
 * ```ts
 * register(cicd, { sandbox: cicdSandbox })
 * ```
 */
export const register = (flow: AnyFlow, source: FlowSource): void => void sources.set(flow, source)

/**
 * What a flow file gave to `main` for `flow`, if it called it.
 *
 * @example
 * ```ts
 * registered(cicd)?.sandbox
 * ```
 */
export const registered = (flow: AnyFlow): FlowSource | undefined => sources.get(flow)
