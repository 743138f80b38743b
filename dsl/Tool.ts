/**
 * `Tool`: declare typed MCP tool contracts (`Tool.make`, `Tool.define`, `Tool.server`) and give
 * them resilience policies (`Tool.define({ …, policy })`, `Tool.withPolicy`); mark input fields
 * safe to show in traces (`Tool.traceSafe`).
 *
 * @example
 * ```ts
 * import { Tool } from "mcpflow"
 * const Fs = Tool.server("fs", { read_text_file: Tool.define({ description: "Read", input: In, output: Schema.String }) })
 * ```
 * @module
 */
export { contractsOf, define, isContract, make, server, withPolicy } from "./Contract.ts"
export { traceSafe } from "./TraceSafe.ts"
export type { ContractInfo, ContractPolicy, ContractSchema, ServerContracts, ToolAnnotations, ToolContract, ToolDefinition, ToolOptions } from "./Contract.ts"
