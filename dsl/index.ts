/**
 * What flow authors import: tool contracts, their errors, and resilience policies.
 *
 * @example
 * ```ts
 * import { Tool, McpflowToolError } from "mcpflow/dsl"
 * ```
 * @module
 */
export * as Tool from "./Tool.ts"
export type { ContractInfo, ContractSchema, ToolAnnotations, ToolContract, ToolDefinition } from "./Contract.ts"
export * from "./ToolError.ts"
export { type CallOptions, McpGateway } from "../src/gateway/McpGateway.ts"
