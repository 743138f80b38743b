/**
 * What flow authors import: tool contracts, their errors, and resilience policies (each policy
 * module as a namespace; the timeout policy is `TimeoutPolicy`, since `Timeout` is the tool
 * error reason). `./policy/index.ts` exports the same modules under their own names. Re-exported by
 * the public `mcpflow` entry (`src/index.ts`).
 *
 * @example
 * ```ts
 * import { Tool, McpflowToolError, Policy } from "mcpflow"
 * ```
 * @module
 */
export * as Tool from "./Tool.ts"
export type { ContractInfo, ContractPolicy, ContractSchema, ToolAnnotations, ToolContract, ToolDefinition } from "./Contract.ts"
export * from "./ToolError.ts"
export { type CallOptions, McpGateway } from "./ports/McpGateway.ts"
export {
  Backoff,
  BreakerStore,
  Bulkhead,
  Cache,
  CircuitBreaker,
  Fallback,
  Hedge,
  Policy,
  PolicyEvents,
  PolicySettings,
  RateLimit,
  Retry,
  // `Timeout` here is the tool error reason; the timeout policy module is `TimeoutPolicy`.
  Timeout as TimeoutPolicy
} from "./policy/index.ts"
