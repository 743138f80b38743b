/**
 * The `Flow` namespace: defining a flow (`make`), running it (`run`), resuming a journaled run
 * (`resume`), planning it (`plan`), durable waits and signals, a cron schedule, polling a long-running job, the
 * step idempotency key, gates, the failure hook, `attempt` (an outcome that says which step
 * failed) and the run's step results.
 *
 * @example
 * ```ts
 * import { Flow } from "mcpflow"
 * const result = yield* Flow.run(deploy, { service: "api", version: "1.4.2" })
 * ```
 * @module
 */
export { type AnyFlow, type Flow, isFlow, make } from "./FlowDefinition.ts"
export { run, type RunOptions, serve, submit } from "./FlowRun.ts"
export { resume } from "./FlowResume.ts"
export { plan } from "./Plan.ts"
export { sendSignal, type Signal, signal, sleep, waitFor } from "./Durable.ts"
export { idempotencyKey } from "./Step.ts"
export { gate } from "./Gate.ts"
export { pollUntil } from "./Poll.ts"
export { type FlowSchedule, schedule } from "./FlowSchedule.ts"
export { batch } from "./Batch.ts"
export { awaitCallback } from "./Callback.ts"
export { attempt, type FlowFailure, messageOf, onFailure } from "./FailureHook.ts"
export { results, type StepResult, type StepResults } from "./StepResults.ts"
