/**
 * Flows: named steps, parallel branches, DAGs, sagas, batches, conditions and event handlers,
 * run on an `effect/workflow` engine.
 *
 * @example
 * ```ts
 * import { Flow, FlowEngine, step, parallel, dag, saga, forEach, when } from "mcpflow"
 * ```
 * @module
 */
export * as Flow from "./Flow.ts"
export * as Plan from "./Plan.ts"
export * as Alternatives from "./Alternatives.ts"
export { CapabilityLost } from "./Alternatives.ts"
export type { FlowPlan, PlannedTool } from "./Plan.ts"
export type { AnyFlow } from "./FlowDefinition.ts"
export type { RunOptions } from "./FlowRun.ts"
export * as FlowEngine from "../ports/FlowEngine.ts"
export * from "./FlowError.ts"
export * as EventFold from "./EventFold.ts"
export * as FlowEvents from "./FlowEvents.ts"
export type { FlowEvent, StepKind } from "./FlowEvents.ts"
export { step, type StepOptions } from "./Step.ts"
export { parallel, type ParallelMode, type ParallelOptions, type ParallelResult } from "./Parallel.ts"
export { dag, type Dag, type DagResult, type Deps, type NodeOptions, type NodeOutcome } from "./Dag.ts"
export { saga } from "./Saga.ts"
export { forEach, type ForEachOptions, type ItemOutcome } from "./ForEach.ts"
export { when } from "./When.ts"
export { GateClosed } from "./Gate.ts"
export { SignalRejected } from "./SignalCheck.ts"
export type { FlowSchedule } from "./FlowSchedule.ts"
export { type Polled, type PollOptions, PollTimedOut } from "./Poll.ts"
export { CallbackTimedOut, type CallbackOptions, type Completion, type PollFallback } from "./Callback.ts"
export { type BatchFlush, BatchItemMissing, type Batcher, type BatchOptions } from "./Batch.ts"
export type { FlowFailure } from "./FailureHook.ts"
export type { StepResult, StepResults } from "./StepResults.ts"
export { on, publish, topic, type Topic } from "./EventBus.ts"
export { OutcomeUnknown, resolveByLookup, verifiedUndo } from "./Reconcile.ts"
export { AmbiguousStep, isAmbiguousStep } from "./AmbiguousStep.ts"
