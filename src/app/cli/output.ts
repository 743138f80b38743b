/**
 * How the `mcpflow` command line writes: results to stdout, diagnostics to stderr, and every
 * failure as one line on stderr plus an exit code (the table is in `../run/ExitCode.ts`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { printJson, reportFailure } from "./output.ts"
 *
 * const program = printJson({ ok: true }).pipe(Effect.catch(reportFailure))
 * ```
 * @module
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import { type CliError, CliOutput } from "effect/cli"
import type { McpflowToolError } from "../../../dsl/ToolError.ts"
import type { GatewayEvent } from "../../../dsl/ports/McpGateway.ts"
import type { McpflowConfigError } from "../../runtime/gateway/McpJson.ts"
import { ExitCode } from "../run/ExitCode.ts"
import { gatewayText } from "../run/Text.ts"

/**
 * Ends the command with an exit code. `message` (when not empty) is printed to stderr by
 * {@link reportFailure}; the runtime does not log it again.
 *
 * @example
 * ```ts
 * Effect.fail(new CliExit({ code: ExitCode.Failure, message: "1 of 3 servers could not be reached" }))
 * ```
 */
export class CliExit extends Schema.TaggedError<CliExit>()("CliExit", {
  code: Schema.Int,
  message: Schema.String,
  /** The command's JSON output already says what failed: no `{"error":…}` line is added. */
  reported: Schema.optionalKey(Schema.Boolean)
}) {
  override readonly [Runtime.errorExitCode] = this.code
  override readonly [Runtime.errorReported] = false
}

/**
 * Every failure a command can end with: a config error, a tool error, a command-line error
 * from `effect/cli` (`ShowHelp` wraps parse errors), or an explicit {@link CliExit}.
 *
 * @example
 * ```ts
 * const failure: CliFailure = new CliExit({ code: ExitCode.Failure, message: "" })
 * ```
 */
export type CliFailure = CliExit | McpflowConfigError | McpflowToolError | CliError.CliError

/**
 * The exit code for a failure: a config error or a usage error (`ShowHelp` with parse errors)
 * is `2`; `ShowHelp` for `--help` is `0`; a tool error or anything else is `1`.
 *
 * @example
 * ```ts
 * exitCodeOf(new CliExit({ code: 2, message: "" })) // => 2
 * ```
 */
export const exitCodeOf = (failure: CliFailure): number => {
  switch (failure._tag) {
    case "CliExit":
      return failure.code
    case "McpflowConfigError":
      return ExitCode.Usage
    case "ShowHelp":
      return failure.errors.length > 0 ? ExitCode.Usage : ExitCode.Success
    default:
      return ExitCode.Failure
  }
}

/**
 * What {@link reportFailure} prints to stderr for a failure: a tool that answered with an error
 * prints the server's own text; `ShowHelp` prints nothing (the help presenter already did).
 *
 * @example
 * ```ts
 * failureText(new CliExit({ code: 1, message: "boom" })) // => "boom"
 * ```
 */
export const failureText = (failure: CliFailure): string => {
  switch (failure._tag) {
    case "ShowHelp":
      return ""
    case "McpflowToolError":
      return failure.reason._tag === "ToolFailed" ? failure.reason.text : failure.message
    default:
      return failure.message
  }
}

/**
 * The one JSON shape of a failure, printed on stdout by every command run with `--json` (plan:
 * `--format json`): `{"error":{"tag":…,"message":…,"exitCode":…}}`. `tag` names the kind:
 * `UsageError` (exit 2: command line, input, config, journal), `Failure` (exit 1),
 * `Interrupted` (130), or the error's own tag (`McpflowToolError.ToolFailed`,
 * `McpflowConfigError`, …).
 *
 * @example
 * ```ts
 * errorJson(new CliExit({ code: 2, message: "no run with id or id prefix \"x\"" }))
 * // => { error: { tag: "UsageError", message: "no run with id or id prefix \"x\"", exitCode: 2 } }
 * ```
 */
export const errorJson = (
  failure: CliFailure
): { readonly error: { readonly tag: string; readonly message: string; readonly exitCode: number } } => {
  const exitCode = exitCodeOf(failure)
  const tag = failure._tag === "CliExit" || failure._tag === "ShowHelp"
    ? exitCode === ExitCode.Usage ? "UsageError" : exitCode === ExitCode.Interrupted ? "Interrupted" : "Failure"
    : failure._tag === "McpflowToolError"
    ? `McpflowToolError.${failure.reason._tag}`
    : failure._tag
  const message = failure._tag === "ShowHelp" ? failure.errors.map((e) => e.message).join("; ") : failureText(failure)
  return { error: { tag, message, exitCode } }
}

/**
 * Whether a command line asks for JSON: `--json`, or `--format json` (`plan`), before any `--`.
 *
 * @example
 * ```ts
 * wantsJson(["runs", "--json"])                   // => true
 * wantsJson(["plan", "f.ts", "--format", "json"]) // => true
 * ```
 */
export const wantsJson = (args: ReadonlyArray<string>): boolean => {
  const end = args.indexOf("--")
  const head = end === -1 ? args : args.slice(0, end)
  return head.some((arg, i) =>
    arg === "--json" || arg === "--format=json" || ((arg === "--format" || arg === "-f") && head[i + 1] === "json")
  )
}

/**
 * Prints a failure as one message on stderr (and, with `json`, as {@link errorJson} on stdout)
 * and turns it into a {@link CliExit} with its exit code (see {@link exitCodeOf}); `--help`
 * becomes a success. A failure with no message (the run report already told it) prints nothing.
 *
 * @example
 * ```ts
 * Command.run(mcpflow, { version }).pipe(Effect.catch((f) => reportFailure(f, { json: true })))
 * ```
 */
export const reportFailure = (failure: CliFailure, options?: { readonly json?: boolean | undefined }): Effect.Effect<void, CliExit> => {
  const code = exitCodeOf(failure)
  if (code === ExitCode.Success) return Effect.void
  const text = failureText(failure)
  const reported = failure._tag === "CliExit" && failure.reported === true
  const asJson = options?.json === true && !reported && (text !== "" || failure._tag === "ShowHelp")
  return Effect.andThen(
    Effect.andThen(
      text === "" ? Effect.void : Console.error(text),
      asJson ? Console.log(JSON.stringify(errorJson(failure))) : Effect.void
    ),
    Effect.fail(new CliExit({ code, message: text }))
  )
}

/**
 * Prints a value as pretty JSON on stdout.
 *
 * @example
 * ```ts
 * printJson({ servers: [] }) // prints {\n  "servers": []\n}
 * ```
 */
export const printJson = (value: unknown): Effect.Effect<void> => Console.log(JSON.stringify(value, null, 2))

/**
 * Prints lines of text on stdout (the command's result).
 *
 * @example
 * ```ts
 * printLines(["everything", "  echo  Echoes back the input string"])
 * ```
 */
export const printLines = (lines: ReadonlyArray<string>): Effect.Effect<void> =>
  lines.length === 0 ? Effect.void : Console.log(lines.join("\n"))

/**
 * The first line of a text, trimmed (for tool descriptions).
 *
 * @example
 * ```ts
 * firstLine("Echoes back the input.\n\nLong details…") // => "Echoes back the input."
 * ```
 */
export const firstLine = (text: string | undefined): string =>
  (text ?? "").split(/\r?\n/).map((line) => line.trim()).find((line) => line !== "") ?? ""

/**
 * Formats rows as left-aligned columns separated by two spaces; trailing empty cells are
 * dropped.
 *
 * @example
 * ```ts
 * columns([["echo", "Echoes"], ["get-sum", "Adds"]]) // => ["echo     Echoes", "get-sum  Adds"]
 * ```
 */
export const columns = (rows: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => {
  const widths: Array<number> = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd()
  )
}

/**
 * A line on stderr for a gateway event: progress always, connection changes and the servers'
 * own log and stderr lines only when `verbose`; `undefined` when the event is not shown.
 *
 * @example
 * ```ts
 * describeEvent({ _tag: "ToolProgress", server: "e", tool: "t", progress: 2, total: 5 }, false)
 * // => "[e.t] progress 2/5"
 * ```
 */
export const describeEvent = (event: GatewayEvent, verbose: boolean): string | undefined => {
  switch (event._tag) {
    case "ToolProgress":
      return `[${event.server}.${event.tool}] progress ${event.progress}${event.total === undefined ? "" : `/${event.total}`}${
        event.message ? ` ${event.message}` : ""
      }`
    case "ServerConnecting":
      return verbose ? `[${event.server}] connecting (attempt ${event.attempt})` : undefined
    case "ServerConnected":
      return verbose
        ? `[${event.server}] connected${event.serverName ? ` to ${event.serverName}${event.serverVersion ? ` ${event.serverVersion}` : ""}` : ""}${
          event.pid === undefined ? "" : ` (pid ${event.pid})`
        }`
        : undefined
    case "ServerDisconnected":
      return verbose ? `[${event.server}] disconnected: ${event.detail}` : undefined
    case "ServerLog":
      return verbose
        ? `[${event.server}] ${event.level}: ${typeof event.data === "string" ? event.data : JSON.stringify(event.data)}`
        : undefined
    case "ReplicaServed":
      return verbose || event.skipped.length > 0 ? gatewayText(event) : undefined
    case "HealthChanged":
      return gatewayText(event)
  }
}

/**
 * A `GatewayEvents` sink that writes the events {@link describeEvent} shows to stderr, so they
 * never mix with the results on stdout.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provideService(GatewayEvents, stderrEvents(false)))
 * ```
 */
export const stderrEvents = (verbose: boolean): { readonly emit: (event: GatewayEvent) => void } => ({
  emit: (event) => {
    const line = describeEvent(event, verbose)
    if (line !== undefined) process.stderr.write(`${line}\n`)
  }
})

/**
 * Presents `effect/cli` output: help and version on stdout; for a wrong command line only the
 * errors and a pointer to `--help`, on stderr (the full help would bury the one line that
 * matters, and stdout is kept for results).
 *
 * @example
 * ```ts
 * Command.run(mcpflow, { version }).pipe(Effect.provide(CliOutput.layerPresenter(presenter)))
 * ```
 */
export const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Console.error(
        [
          ...event.errors.map((error) => `error: ${error.message}`),
          `Run '${event.commandPath.join(" ")} --help' for usage.`
        ].join("\n")
      )
      : CliOutput.defaultPresenter.present(event)
}
