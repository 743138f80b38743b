/**
 * The chaos harness (`mcpflow/chaos`): fake MCP servers built from contracts, a fault catalogue
 * injected at the handler or the transport, stateful models, invariants, and a property kit that
 * searches fault plans in virtual time and shrinks failures to a replayable minimal plan.
 *
 * @example
 * ```ts
 * import { Chaos, Fault, FakeServer, Models } from "mcpflow/chaos"
 * const report = yield* Chaos.check({ servers, program, runs: 200, seed: 42, faults: { rate: 0.2 } })
 * const flowReport = yield* Chaos.checkFlow(orderFlow, { input: { orderId: "o1" }, servers, invariants, runs: 200, seed: 42 })
 * ```
 *
 * Flows: `Chaos.checkFlow` / `runFlowOnce` / `replayFlow`; facts for a flow suite's invariants
 * (`FlowFacts`: calls sent, faults fired, request keys, a sandbox's definitions); the fast-check
 * arbitraries of faults and plans (`Arbitraries`); a `ChaosSuite` is what `flows/<name>.chaos.ts`
 * exports as `chaos` for `mcpflow chaos`; vitest cases in a few lines: `mcpflow/vitest`. Every
 * run's `Random` is seeded from its plan.
 * @module
 */
export * as Arbitraries from "./Arbitraries.ts"
export * as Chaos from "./Chaos.ts"
export type { ChaosSuite } from "./Runner.ts"
export * as FakeServer from "./FakeServer.ts"
export * as FakeState from "./FakeState.ts"
export { ToolRefusal } from "./FakeServer.ts"
export * as Fault from "./Fault.ts"
export * as FlowFacts from "./FlowFacts.ts"
export * as Injector from "./Injector.ts"
export * as Models from "./models/index.ts"
