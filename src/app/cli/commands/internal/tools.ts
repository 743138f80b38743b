/**
 * `mcpflow tools`: asks every configured server, concurrently, for the tools it publishes.
 * Exits 0 when every server answered, 1 when some could not be reached, 2 for a bad config.
 *
 * @example
 * ```sh
 * mcpflow tools --config .mcp.json
 * mcpflow tools --json | jq '.servers[] | select(.ok | not)'
 * ```
 * @module
 */
import type { Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Option } from "effect"
import { McpGateway } from "../../../../../dsl/ports/McpGateway.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { defaultConfig } from "../../Flags.ts"
import { CliExit, columns, firstLine, printJson, printLines } from "../../output.ts"
import { withGateway } from "./withGateway.ts"

/**
 * One published tool, as `mcpflow tools` shows it.
 *
 * @example
 * ```ts
 * const t: ToolSummary = { name: "echo", description: "Echoes back the input string", hasOutputSchema: false }
 * ```
 */
export interface ToolSummary {
  readonly name: string
  /** The first line of the tool's description. */
  readonly description: string
  readonly hasOutputSchema: boolean
}

/**
 * What one server answered: its tools, or the typed reason it could not be asked.
 *
 * @example
 * ```ts
 * const down: ServerReport = {
 *   server: "docker", ok: false,
 *   error: { reason: "ServerUnavailable", message: "docker.tools/list: server 'docker' is unavailable: spawn docker-mcp ENOENT" }
 * }
 * ```
 */
export type ServerReport =
  | { readonly server: string; readonly ok: true; readonly tools: ReadonlyArray<ToolSummary> }
  | { readonly server: string; readonly ok: false; readonly error: { readonly reason: string; readonly message: string } }

/**
 * The `--json` document of `mcpflow tools`.
 *
 * @example
 * ```ts
 * const report: ToolsReport = { servers: [{ server: "everything", ok: true, tools: [] }] }
 * ```
 */
export interface ToolsReport {
  readonly servers: ReadonlyArray<ServerReport>
}

/**
 * A published tool as a {@link ToolSummary}.
 *
 * @example
 * ```ts
 * summarize({ name: "echo", description: "Echoes\nmore", inputSchema: { type: "object" } })
 * // => { name: "echo", description: "Echoes", hasOutputSchema: false }
 * ```
 */
export const summarize = (tool: McpTool): ToolSummary => ({
  name: tool.name,
  description: firstLine(tool.description),
  hasOutputSchema: tool.outputSchema !== undefined
})

/**
 * Asks every configured server for its tools, concurrently; never fails (an unreachable server
 * is a report with `ok: false`). Servers keep their order from the config.
 *
 * @example
 * ```ts
 * const report = yield* collectTools
 * report.servers.filter((s) => !s.ok).length
 * ```
 */
export const collectTools: Effect.Effect<ToolsReport, never, McpGateway> = Effect.gen(function*() {
  const gateway = yield* McpGateway
  const servers = yield* Effect.forEach(
    gateway.servers,
    (server) =>
      gateway.listTools(server).pipe(
        Effect.map((tools): ServerReport => ({ server, ok: true, tools: tools.map(summarize) })),
        Effect.catch((error) =>
          Effect.succeed<ServerReport>({ server, ok: false, error: { reason: error.reason._tag, message: error.message } })
        )
      ),
    { concurrency: "unbounded" }
  )
  return { servers }
})

/**
 * The text form of a report: a heading per server, then its tools in aligned columns (name,
 * `output-schema` when the tool declares one, first line of the description).
 *
 * @example
 * ```ts
 * formatTools({ servers: [{ server: "e", ok: true, tools: [{ name: "echo", description: "Echoes", hasOutputSchema: false }] }] })
 * // => ["e: 1 tool", "  echo  Echoes"]
 * ```
 */
export const formatTools = (report: ToolsReport): ReadonlyArray<string> =>
  report.servers.flatMap((entry) => {
    if (!entry.ok) return [`${entry.server}: unreachable (${entry.error.reason}): ${entry.error.message}`]
    const heading = `${entry.server}: ${entry.tools.length} tool${entry.tools.length === 1 ? "" : "s"}`
    const rows = columns(
      entry.tools.map((tool) => [tool.name, tool.hasOutputSchema ? "output-schema" : "", tool.description])
    )
    return [heading, ...rows.map((row) => `  ${row}`)]
  })

/**
 * Runs `mcpflow tools` (see `../tools.ts` for its flags).
 *
 * @example
 * ```ts
 * tools({ config: Option.none(), json: true, verbose: false })
 * ```
 */
export const tools = Effect.fn("mcpflow.tools")(function*({ config, json, verbose }: {
  readonly config: Option.Option<string>
  readonly json: boolean
  readonly verbose: boolean
}) {
  const report = yield* collectTools.pipe(withGateway({ config: Option.getOrElse(config, () => defaultConfig), verbose }))
  yield* json ? printJson(report) : printLines(formatTools(report))
  const down = report.servers.filter((entry) => !entry.ok).length
  if (down > 0) {
    return yield* new CliExit({
      code: ExitCode.Failure,
      reported: json,
      message: `${down} of ${report.servers.length} server${report.servers.length === 1 ? "" : "s"} could not be reached`
    })
  }
})
