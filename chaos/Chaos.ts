/**
 * The `Chaos` namespace: the property kit for programs — a run's spec and result
 * (`RunSpec.ts`), one run (`RunOnce.ts`), replay tokens (`ReplayToken.ts`), the search
 * (`Check.ts`), reports as text (`ReportText.ts`) — and for flows (`FlowCheck.ts`).
 *
 * @example
 * ```ts
 * import { Chaos } from "mcpflow/chaos"
 * const report = yield* Chaos.checkFlow(flow, { input, servers, runs: 200, seed: 42 })
 * ```
 * @module
 */
export * from "./Check.ts"
export * from "./ReplayToken.ts"
export * from "./ReportText.ts"
export * from "./RunOnce.ts"
export * from "./RunSpec.ts"
export * from "./FlowCheck.ts"
