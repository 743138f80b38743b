/**
 * The chaos harness: fake MCP servers built from contracts (and, later, faults and properties).
 *
 * @example
 * ```ts
 * import { FakeServer } from "mcpflow/chaos"
 * ```
 * @module
 */
export * as FakeServer from "./FakeServer.ts"
export { ToolRefusal } from "./FakeServer.ts"
