/**
 * Flags shared by `mcpflow` subcommands (`--config`, `--json`, `--verbose`, `--timeout`) and
 * {@link withGateway}, which turns `--config`/`--verbose` into a running gateway.
 *
 * @example
 * ```ts
 * import { Command } from "effect/cli"
 * import * as Flags from "./flags.ts"
 *
 * const tools = Command.make("tools", { config: Flags.config, json: Flags.json }, (input) => …)
 * ```
 * @module
 */
import { Duration, Effect, Option, Result } from "effect"
import { CliError, Flag } from "effect/cli"
import * as GatewayLayer from "../../runtime/gateway/GatewayLayer.ts"
import { GatewayEvents, type McpGateway } from "../../../dsl/ports/McpGateway.ts"
import type { McpflowConfigError } from "../../runtime/gateway/McpJson.ts"
import { stderrEvents } from "./output.ts"

/**
 * `--config <file>` (`-c`): the `.mcp.json` file listing the MCP servers; default `./.mcp.json`.
 *
 * @example
 * ```ts
 * Command.make("tools", { config: Flags.config }, ({ config }) => Console.log(config))
 * ```
 */
export const config: Flag.Flag<string> = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withMetavar("file"),
  Flag.withDescription("The .mcp.json file listing the MCP servers (default: ./.mcp.json)"),
  Flag.withDefault("./.mcp.json")
)

/**
 * `--json`: print one JSON document on stdout instead of text.
 *
 * @example
 * ```ts
 * Command.make("tools", { json: Flags.json }, ({ json }) => json ? printJson(report) : printLines(lines))
 * ```
 */
export const json: Flag.Flag<boolean> = Flag.Boolean("json").pipe(
  Flag.withDescription("Print one JSON document on stdout instead of text"),
  Flag.withDefault(false)
)

/**
 * `--verbose`: also show connection changes and the servers' own log and stderr lines (on
 * stderr).
 *
 * @example
 * ```ts
 * Command.make("call", { verbose: Flags.verbose }, ({ verbose }) => …)
 * ```
 */
export const verbose: Flag.Flag<boolean> = Flag.Boolean("verbose").pipe(
  Flag.withDescription("Show connection changes and the servers' log and stderr lines on stderr"),
  Flag.withDefault(false)
)

const durationPattern = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/

const unitMillis = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const

/**
 * Reads a duration: `500ms`, `5s`, `2m`, `1h`, a plain number of milliseconds, or Effect's own
 * form (`5 seconds`). Fails with what was expected.
 *
 * @example
 * ```ts
 * parseDuration("5s")   // => Result.succeed(Duration.seconds(5))
 * parseDuration("1500") // => Result.succeed(Duration.millis(1500))
 * parseDuration("soon") // => Result.fail("a duration such as 500ms, 5s, 2m or a number of milliseconds")
 * ```
 */
export const parseDuration = (text: string): Result.Result<Duration.Duration, string> => {
  const trimmed = text.trim()
  const match = durationPattern.exec(trimmed)
  if (match !== null) {
    const unit = (match[2] ?? "ms") as keyof typeof unitMillis
    const millis = Number(match[1]) * unitMillis[unit]
    if (millis > 0) return Result.succeed(Duration.millis(millis))
  } else {
    const parsed = Duration.fromInput(trimmed as Duration.Input)
    if (Option.isSome(parsed) && Duration.isFinite(parsed.value) && Duration.toMillis(parsed.value) > 0) {
      return Result.succeed(parsed.value)
    }
  }
  return Result.fail("a positive duration such as 500ms, 5s, 2m or a number of milliseconds")
}

/**
 * `--timeout <duration>`: how long a call may take (`5s`, `500ms`, `2m`, or milliseconds);
 * absent means the server's own setting.
 *
 * @example
 * ```ts
 * Command.make("call", { timeout: Flags.timeout }, ({ timeout }) =>
 *   Option.match(timeout, { onNone: () => …, onSome: (d) => … }))
 * ```
 */
export const timeout: Flag.Flag<Option.Option<Duration.Duration>> = Flag.String("timeout").pipe(
  Flag.withMetavar("duration"),
  Flag.withDescription("How long the call may take: 5s, 500ms, 2m or a number of milliseconds (default: the server's setting)"),
  Flag.mapEffect((text) =>
    Result.match(parseDuration(text), {
      onSuccess: Effect.succeed,
      onFailure: (expected) => Effect.fail(new CliError.InvalidValue({ option: "timeout", value: text, expected, kind: "flag" }))
    })
  ),
  Flag.optional
)

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
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | McpflowConfigError, Exclude<R, McpGateway>> =>
  self.pipe(
    Effect.provideService(GatewayEvents, stderrEvents(options.verbose)),
    Effect.provide(GatewayLayer.layerFromFile(options.config))
  )
