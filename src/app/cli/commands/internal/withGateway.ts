/**
 * {@link withGateway}: runs a command against the gateway of a config file.
 *
 * @example
 * ```ts
 * McpGateway.use((g) => g.listTools("everything")).pipe(withGateway({ config: ".mcp.json", verbose: false }))
 * ```
 * @module
 */
import { Effect } from "effect"
import { GatewayEvents, type McpGateway } from "../../../../../dsl/ports/McpGateway.ts"
import * as GatewayLayer from "../../../../runtime/gateway/GatewayLayer.ts"
import type { McpflowConfigError } from "../../../../runtime/gateway/McpJson.ts"
import { stderrEvents } from "../../output.ts"

/**
 * Runs an effect against the gateway of a config file, with the gateway's diagnostics on
 * stderr (see `stderrEvents`). A missing or malformed config fails with `McpflowConfigError`;
 * every server is closed when the effect ends.
 *
 * @example
 * ```ts
 * McpGateway.use((g) => g.listTools("everything")).pipe(withGateway({ config: ".mcp.json", verbose: false }))
 * ```
 */
export const withGateway = (options: { readonly config: string; readonly verbose: boolean }) =>
<A, Err, R>(self: Effect.Effect<A, Err, R>): Effect.Effect<A, Err | McpflowConfigError, Exclude<R, McpGateway>> =>
  self.pipe(
    Effect.provideService(GatewayEvents, stderrEvents(options.verbose)),
    Effect.provide(GatewayLayer.layerFromFile(options.config))
  )
