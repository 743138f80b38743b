/**
 * `mcpflow health`: probes every configured server (each replica of a group as `group/replica`)
 * with MCP `ping`, or the tool its `health` settings name, and prints each one's state. With
 * `--watch`, probes again every `--interval` seconds and prints each change until interrupted.
 * Exits 0 when every server is healthy, 1 when some is not, 2 for a bad config.
 * The work is in `internal/health.ts`, loaded when the command runs.
 *
 * @example
 * ```sh
 * mcpflow health --config .mcp.json
 * mcpflow health --json | jq '.servers[] | select(.state != "healthy")'
 * mcpflow health --watch --interval 5
 * ```
 * @module
 */
import { Command, Flag } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

/**
 * `--watch`: keep probing and print each change of state.
 *
 * @example
 * ```ts
 * Command.make("health", { watch }, ({ watch }) => …)
 * ```
 */
export const watch: Flag.Flag<boolean> = Flag.Boolean("watch").pipe(
  Flag.withDescription("Keep probing every --interval seconds and print each change of state, until interrupted"),
  Flag.withDefault(false)
)

/**
 * `--interval <seconds>`: how often `--watch` probes (default 10).
 *
 * @example
 * ```ts
 * Command.make("health", { interval }, ({ interval }) => …)
 * ```
 */
export const interval: Flag.Flag<number> = Flags.wholeNumber("interval", "seconds", (n) => n >= 1 && n <= 86_400, "whole seconds from 1 to 86400").pipe(
  Flag.withDescription("How often --watch probes, in whole seconds (default 10)"),
  Flag.withDefault(10)
)

/**
 * `mcpflow health [--config .mcp.json] [--json] [--watch] [--interval seconds] [--verbose]`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([health]))
 * ```
 */
export const health = Command.make(
  "health",
  { config: Flags.config, json: Flags.json, watch, interval, verbose: Flags.verbose },
  lazyHandler(() => import("./internal/health.ts").then((m) => m.health))
).pipe(
  Command.withShortDescription("Probe every configured server (and replica) and print its health"),
  Command.withDescription(
    "Probe every configured MCP server, and each replica of a replica group as group/replica, with MCP ping (or the tool its health settings name) and print its state (healthy or unhealthy), the probe's latency and why it failed. With --json, one JSON document (with --watch, one JSON line per change). With --watch, probe again every --interval seconds and print each change until interrupted. Exit 0 when every server is healthy, 1 when some is not, 2 for a bad config."
  ),
  Command.withExamples([
    { command: "mcpflow health", description: "The health of the servers in ./.mcp.json" },
    { command: "mcpflow health --watch --interval 5", description: "Print each change of state, probing every 5 s" }
  ])
)
