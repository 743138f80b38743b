/**
 * `mcpflow tools [server[.tool]]`: asks every configured server (or one), concurrently, for the
 * tools it publishes, or shows one tool's arguments, output and an example call. Exits 0 when
 * every server asked answered, 1 when some could not be reached, 2 for a bad config or a server
 * or tool that is not there.
 *
 * @example
 * ```sh
 * mcpflow tools --config .mcp.json
 * mcpflow tools --json | jq '.servers[] | select(.ok | not)'
 * mcpflow tools fs.read_text_file
 * ```
 * @module
 */
import type { Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Option } from "effect"
import { didYouMean } from "../../../../../dsl/internal/Typos.ts"
import { McpGateway } from "../../../../../dsl/ports/McpGateway.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { defaultConfig, parseToolId } from "../../Flags.ts"
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
 * Asks every configured server (or those in `only`) for its tools, concurrently; never fails
 * (an unreachable server is a report with `ok: false`). Servers keep their order from the config.
 *
 * @example
 * ```ts
 * const report = yield* collectTools()
 * report.servers.filter((s) => !s.ok).length
 * ```
 */
export const collectTools = (only?: ReadonlyArray<string>): Effect.Effect<ToolsReport, never, McpGateway> =>
  Effect.gen(function*() {
    const gateway = yield* McpGateway
    const servers = yield* Effect.forEach(
      only ?? gateway.servers,
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

/** A JSON Schema as far as {@link describeTool} reads it. */
interface JsonSchemaLike {
  readonly type?: string | ReadonlyArray<string>
  readonly enum?: ReadonlyArray<unknown>
  readonly const?: unknown
  readonly items?: JsonSchemaLike
  readonly anyOf?: ReadonlyArray<JsonSchemaLike>
  readonly oneOf?: ReadonlyArray<JsonSchemaLike>
  readonly properties?: Readonly<Record<string, JsonSchemaLike>>
  readonly required?: ReadonlyArray<string>
  readonly description?: string
  readonly default?: unknown
}

/**
 * A short type for a JSON Schema: `string`, `number[]`, `"text" | "blob"`, `string | null`.
 *
 * @example
 * ```ts
 * typeText({ type: "array", items: { type: "string" } }) // => "string[]"
 * typeText({ enum: ["text", "blob"] })                    // => '"text" | "blob"'
 * ```
 */
export const typeText = (schema: JsonSchemaLike | undefined): string => {
  if (schema === undefined || typeof schema !== "object") return "any"
  if (schema.enum !== undefined) return schema.enum.map((v) => JSON.stringify(v)).join(" | ")
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  const union = schema.anyOf ?? schema.oneOf
  if (union !== undefined) return union.map(typeText).join(" | ")
  const type = schema.type
  if (Array.isArray(type)) return type.join(" | ")
  if (type === "array") {
    const item = typeText(schema.items)
    return item.includes(" ") ? `(${item})[]` : `${item}[]`
  }
  return typeof type === "string" ? type : "any"
}

/** A placeholder value of a schema's type, for an example call. */
const placeholder = (schema: JsonSchemaLike | undefined): unknown => {
  if (schema?.default !== undefined) return schema.default
  if (schema?.enum !== undefined) return schema.enum[0]
  const type = Array.isArray(schema?.type) ? schema?.type[0] : schema?.type
  switch (type) {
    case "number":
    case "integer":
      return 0
    case "boolean":
      return false
    case "array":
      return []
    case "object":
      return {}
    default:
      return "…"
  }
}

/** Which MCP annotation hints a tool declares, in words. */
const hints = (tool: McpTool): ReadonlyArray<string> => {
  const a = tool.annotations ?? {}
  return [
    a.readOnlyHint === true ? "read-only" : undefined,
    a.destructiveHint === true ? "destructive" : undefined,
    a.idempotentHint === true ? "idempotent" : undefined,
    a.openWorldHint === true ? "open world" : undefined
  ].filter((h): h is string => h !== undefined)
}

/** How deep {@link fieldRows} goes into objects and arrays of objects. */
const maxFieldDepth = 4

/**
 * One row per field of an object schema (name, type, required/optional and default, first line
 * of its description), then the fields of each field that is an object or an array of objects,
 * named by their path (`entities[].name`).
 */
const fieldRows = (schema: JsonSchemaLike, prefix: string, side: "input" | "output", depth = 0): Array<Array<string>> => {
  const required = new Set(schema.required ?? [])
  const rows: Array<Array<string>> = []
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const path = `${prefix}${name}`
    const marks = [
      side === "input" ? (required.has(name) ? "required" : "") : (required.has(name) ? "" : "optional"),
      field.default !== undefined ? `default ${JSON.stringify(field.default)}` : ""
    ].filter((x) => x !== "").join(", ")
    rows.push([path, typeText(field), marks, firstLine(field.description)])
    if (depth + 1 >= maxFieldDepth) continue
    if (field.properties !== undefined) rows.push(...fieldRows(field, `${path}.`, side, depth + 1))
    else if (field.items?.properties !== undefined) rows.push(...fieldRows(field.items, `${path}[].`, side, depth + 1))
  }
  return rows
}

/**
 * The text form of one tool: its description, its arguments (type, required, default, first
 * line of the description), its output, its annotations and an example `mcpflow call` with the
 * required arguments.
 *
 * @example
 * ```ts
 * describeTool("fs", { name: "read_text_file", inputSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] } })
 * // => ["fs.read_text_file", "", "arguments:", "  path  string  required", "",
 * //     "output: not declared (the tool answers with content blocks)", "", "example:",
 * //     `  mcpflow call fs.read_text_file --args '{"path":"…"}'`]
 * ```
 */
export const describeTool = (server: string, tool: McpTool): ReadonlyArray<string> => {
  const input = tool.inputSchema as JsonSchemaLike
  const required = new Set(input.required ?? [])
  const properties = Object.entries(input.properties ?? {})
  const argumentRows = columns(fieldRows(input, "", "input"))
  const output = tool.outputSchema as JsonSchemaLike | undefined
  const outputRows = output === undefined ? [] : columns(fieldRows(output, "", "output"))
  const example: Record<string, unknown> = {}
  for (const [name, schema] of properties) if (required.has(name)) example[name] = placeholder(schema)
  const description = (tool.description ?? "").trim()
  const annotations = hints(tool)
  return [
    `${server}.${tool.name}${tool.title !== undefined && tool.title !== tool.name ? ` — ${tool.title}` : ""}`,
    ...(description === "" ? [] : ["", ...description.split(/\r?\n/).map((line) => line.trimEnd())]),
    "",
    properties.length === 0 ? "arguments: none" : "arguments:",
    ...argumentRows.map((row) => `  ${row}`),
    "",
    output === undefined ? "output: not declared (the tool answers with content blocks)" : "output (structured content):",
    ...outputRows.map((row) => `  ${row}`),
    ...(annotations.length === 0 ? [] : ["", `annotations: ${annotations.join(", ")}`]),
    "",
    "example:",
    `  mcpflow call ${server}.${tool.name} --args '${JSON.stringify(example)}'`
  ]
}

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

/** A server key the config does not have: a usage error naming the one meant, or those there are. */
const noSuchServer = (server: string, servers: ReadonlyArray<string>) =>
  new CliExit({ code: ExitCode.Usage, message: `no server "${server}" is configured${didYouMean(server, servers, "configured")}` })

/**
 * Runs `mcpflow tools` (see `../tools.ts` for its flags).
 *
 * @example
 * ```ts
 * tools({ target: Option.none(), config: Option.none(), json: true, verbose: false })
 * ```
 */
export const tools = Effect.fn("mcpflow.tools")(function*({ target, config, json, verbose }: {
  readonly target: Option.Option<string>
  readonly config: Option.Option<string>
  readonly json: boolean
  readonly verbose: boolean
}) {
  const program = Effect.gen(function*() {
    const gateway = yield* McpGateway
    if (Option.isNone(target)) return yield* report(yield* collectTools(), json)
    const id = parseToolId(target.value)
    const server = Option.isSome(id) ? id.value.server : target.value
    // A replica of a group (`search/b`, as `mcpflow health` lists it) may be asked by its own key.
    const replicas = (yield* gateway.status).map((status) => status.server)
    if (!gateway.servers.includes(server) && !replicas.includes(server)) return yield* noSuchServer(server, gateway.servers)
    if (Option.isNone(id)) return yield* report(yield* collectTools([server]), json)
    const name = id.value.tool
    const published = yield* gateway.listTools(server).pipe(
      Effect.mapError((error) => new CliExit({ code: ExitCode.Failure, reported: false, message: error.message }))
    )
    const found = published.find((t) => t.name === name)
    if (found === undefined) {
      const names = published.map((t) => t.name)
      return yield* new CliExit({ code: ExitCode.Usage, message: `${server} publishes no tool "${name}"${didYouMean(name, names, "it publishes")}` })
    }
    yield* json ? printJson({ server, tool: found }) : printLines(describeTool(server, found))
  })
  yield* program.pipe(withGateway({ config: Option.getOrElse(config, () => defaultConfig), verbose }))
})

/** Prints a report and fails when some server could not be reached. */
const report = (report: ToolsReport, json: boolean) =>
  Effect.gen(function*() {
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
