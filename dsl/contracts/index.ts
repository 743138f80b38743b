/**
 * Ready-made tool contracts for the MCP reference servers (`memory`, `filesystem`,
 * `everything`): call them as typed effects through the gateway.
 *
 * @example
 * ```ts
 * import { Everything, referenceContracts } from "mcpflow/contracts"
 * const echoed = yield* Everything.echo({ message: "hi" }) // => "Echo: hi"
 * const drift = yield* gateway.checkContracts(referenceContracts)
 * ```
 * @module
 */
export * from "./reference.ts"
