/**
 * mcpflow: typed workflows over MCP servers. Tool contracts and their errors, the flow algebra
 * (steps, parallel branches, DAGs, sagas, batches, conditions, topics), resilience policies, the
 * gateway that calls the servers, the flow engines (in memory, or durable on SQLite), and `main`
 * to make a flow file runnable. The chaos harness is `mcpflow/chaos`, its vitest cases
 * `mcpflow/vitest`, contracts for the reference MCP servers `mcpflow/contracts`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Flow, Gateway, Engines, Tool, step, main } from "mcpflow"
 *
 * const echo = Tool.make({ server: "everything", name: "echo", input: Schema.Struct({ message: Schema.String }), output: Schema.Unknown })
 * const hello = Flow.make({ name: "hello", input: Schema.Struct({}), output: Schema.Unknown, run: () => step("echo", echo, { message: "hi" }) })
 * export default hello
 * main(import.meta, hello)
 * ```
 * @module
 */
export * from "../dsl/index.ts"
export * from "../dsl/flow/index.ts"
export { JournalError, RunJournal, type RunRecord } from "../dsl/ports/RunJournal.ts"
export type {
  GatewayConfig,
  HttpServerConfig,
  InProcessServerConfig,
  ServerConfig,
  ServerLimits,
  StdioServerConfig
} from "./runtime/gateway/ServerConfig.ts"
export { McpflowConfigError } from "./runtime/gateway/McpJson.ts"
export * as Gateway from "./runtime/gateway/GatewayLayer.ts"
export * as Engines from "./runtime/engine/Engines.ts"
export type { FlowSource, RunServices, Sandbox } from "./app/run/RunFlow.ts"
export { main } from "./app/run/FlowFile.ts"
