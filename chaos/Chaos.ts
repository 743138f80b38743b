/**
 * The `Chaos` namespace: the property kit for programs (`Check.ts`) and for flows
 * (`FlowCheck.ts`).
 *
 * @example
 * ```ts
 * import { Chaos } from "mcpflow/chaos"
 * const report = yield* Chaos.checkFlow(flow, { input, servers, runs: 200, seed: 42 })
 * ```
 * @module
 */
export * from "./Check.ts"
export * from "./FlowCheck.ts"
