/**
 * mcpflow: typed workflows over MCP servers. Tool contracts and their errors, the flow algebra
 * (steps, parallel branches, DAGs, sagas, batches, conditions, topics), resilience policies, the
 * gateway that calls the servers, the flow engines (in memory, or durable on SQLite), `main`
 * to make a flow file runnable, and the metrics the CLI exports (`Metrics`, `PrometheusEndpoint`,
 * `Observe.metrics`) for an app that runs flows itself. The chaos harness is `mcpflow/chaos`, its vitest cases
 * `mcpflow/vitest`, contracts for the reference MCP servers `mcpflow/contracts`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Flow, main, step, Tool } from "mcpflow"
 *
 * const Shop = Tool.server("shop", {
 *   reserve: Tool.define({ description: "Hold stock", input: Schema.Struct({ sku: Schema.String }), output: Schema.Struct({ hold: Schema.String }) })
 * })
 * const order = Flow.make({
 *   name: "order",
 *   input: Schema.Struct({ sku: Schema.String }),
 *   output: Schema.Struct({ hold: Schema.String }),
 *   uses: [Shop],
 *   run: ({ sku }) => step("reserve", Shop.reserve({ sku }))
 * })
 * export default order
 * main(import.meta, order) // `node order.mjs --input '{"sku":"A-1"}'` runs it against ./.mcp.json
 * ```
 * ```
 * @module
 */
export * from "../dsl/index.ts"
export * from "../dsl/flow/index.ts"
export { JournalError, RunJournal, type RunRecord } from "../dsl/ports/RunJournal.ts"
export { RunHost } from "../dsl/ports/RunHost.ts"
export { DatabaseError } from "./runtime/cluster/DatabaseError.ts"
export type { ClusterOptions } from "./runtime/cluster/ClusterEngine.ts"
export * as PgBreakerStore from "./runtime/sql/postgres/PgBreakerStore.ts"
export * as PgRateLimiterStore from "./runtime/sql/postgres/PgRateLimiterStore.ts"
export type {
  GatewayConfig,
  HealthSettings,
  HttpServerConfig,
  InProcessServerConfig,
  ReplicaConfig,
  ReplicaGroupConfig,
  ReplicaStrategy,
  ServerConfig,
  ServerLimits,
  StdioServerConfig
} from "./runtime/gateway/ServerConfig.ts"
export type { GatewayEvent, HealthState, ServerHealth } from "../dsl/ports/McpGateway.ts"
export { McpflowConfigError } from "./runtime/gateway/McpJson.ts"
export * as Gateway from "./runtime/gateway/GatewayLayer.ts"
export * as Engines from "./runtime/engine/Engines.ts"
export type { FlowSource, RunServices, Sandbox } from "./app/run/RunFlow.ts"
export { main } from "./app/run/FlowFile.ts"
export * as Metrics from "./runtime/observe/Metrics.ts"
export * as PrometheusEndpoint from "./runtime/observe/PrometheusEndpoint.ts"
export type { Address } from "./runtime/observe/Address.ts"
export type { Telemetry } from "./runtime/observe/Telemetry.ts"
export * as Observe from "./app/run/Observe.ts"
