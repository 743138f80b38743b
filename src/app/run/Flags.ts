/**
 * The flags of a flow run, shared by `mcpflow run <file>` and every flow file's own command
 * line (`npx tsx flows/x.ts …`, see `main.ts`).
 *
 * @example
 * ```ts
 * import { Command } from "effect/cli"
 * import * as RunFlags from "./Flags.ts"
 * const command = Command.make("cicd", RunFlags.all, (settings) => …)
 * ```
 * @module
 */
import { Effect, FileSystem, Option } from "effect"
import { CliError, Flag } from "effect/cli"

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const invalidInput = (value: string, expected: string) =>
  new CliError.InvalidValue({ option: "input", value, expected, kind: "flag" })

/**
 * Reads `--input`: JSON, or `@file.json` to read it from a file. Fails with a
 * `CliError.InvalidValue` (a usage error, exit 2). Whether the value fits the flow's input
 * Schema is checked by the run (also exit 2).
 *
 * @example
 * ```ts
 * readInput('{"service":"api"}') // succeeds with { service: "api" }
 * readInput("@input.json")       // reads input.json
 * ```
 */
export const readInput = Effect.fnUntraced(function*(
  text: string
): Effect.fn.Return<unknown, CliError.InvalidValue, FileSystem.FileSystem> {
  const fromFile = text.startsWith("@")
  const file = text.slice(1)
  const json = fromFile
    ? yield* FileSystem.FileSystem.use((fs) => fs.readFileString(file)).pipe(
      Effect.mapError((error) => invalidInput(text, `a readable JSON file: ${error.message}`))
    )
    : text
  return yield* Effect.try({
    try: (): unknown => JSON.parse(json),
    catch: (cause) => invalidInput(text, `JSON${fromFile ? ` (in ${file})` : ""}; it is not valid JSON: ${messageOf(cause)}`)
  })
})

/**
 * `--input <json|@file>` (`-i`): the flow's input as JSON, or `@file.json`; default `{}`.
 *
 * @example
 * ```ts
 * Command.make("run", { input: RunFlags.input }, ({ input }) => …)
 * ```
 */
export const input: Flag.Flag<unknown> = Flag.String("input").pipe(
  Flag.withAlias("i"),
  Flag.withMetavar("json|@file"),
  Flag.withDescription("The flow's input as JSON, or @file.json to read it from a file (default: {})"),
  Flag.optional,
  Flag.mapEffect(Option.match({ onNone: () => Effect.succeed<unknown>({}), onSome: readInput }))
)

/**
 * `--config <file>` (`-c`): run against the real MCP servers of this `.mcp.json`.
 *
 * @example
 * ```ts
 * Command.make("run", { config: RunFlags.config }, ({ config }) => …)
 * ```
 */
export const config: Flag.Flag<Option.Option<string>> = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withMetavar("file"),
  Flag.withDescription(
    "Run against the real MCP servers listed in this .mcp.json (default: the flow's sandbox when it has one, else ./.mcp.json)"
  ),
  Flag.optional
)

/**
 * `--sandbox`: run against the flow's in-process fake servers (the default when it has some).
 *
 * @example
 * ```ts
 * Command.make("run", { sandbox: RunFlags.sandbox }, ({ sandbox }) => …)
 * ```
 */
export const sandbox: Flag.Flag<boolean> = Flag.Boolean("sandbox").pipe(
  Flag.withDescription("Run against the flow's sandbox: in-process fake servers, nothing real is touched (default when the flow has one)"),
  Flag.withDefault(false)
)

/**
 * `--dry-run`: run on the sandbox and print the path actually taken.
 *
 * @example
 * ```ts
 * Command.make("run", { dryRun: RunFlags.dryRun }, ({ dryRun }) => …)
 * ```
 */
export const dryRun: Flag.Flag<boolean> = Flag.Boolean("dry-run").pipe(
  Flag.withDescription("Run on the sandbox (implies --sandbox) and print the path actually taken"),
  Flag.withDefault(false)
)

/**
 * `--json`: one JSON object per event per line on stdout, then a `RunSummary` line.
 *
 * @example
 * ```ts
 * Command.make("run", { json: RunFlags.json }, ({ json }) => …)
 * ```
 */
export const json: Flag.Flag<boolean> = Flag.Boolean("json").pipe(
  Flag.withDescription(
    "Print one JSON object per event per line on stdout, the last one the RunSummary (with the result on success); nothing else goes to stdout"
  ),
  Flag.withDefault(false)
)

/**
 * `--quiet` (`-q`): print only the summary.
 *
 * @example
 * ```ts
 * Command.make("run", { quiet: RunFlags.quiet }, ({ quiet }) => …)
 * ```
 */
export const quiet: Flag.Flag<boolean> = Flag.Boolean("quiet").pipe(
  Flag.withAlias("q"),
  Flag.withDescription("Print only the summary"),
  Flag.withDefault(false)
)

/**
 * `--verbose`: also report every policy event, tool progress and the servers' log lines.
 *
 * @example
 * ```ts
 * Command.make("run", { verbose: RunFlags.verbose }, ({ verbose }) => …)
 * ```
 */
export const verbose: Flag.Flag<boolean> = Flag.Boolean("verbose").pipe(
  Flag.withDescription("Also report every policy event (retries, breakers, bulkheads, caches), tool progress and server logs"),
  Flag.withDefault(false)
)

/**
 * `--otlp <url>`: export the run's spans (one per flow and per step) to this OTLP/HTTP
 * endpoint; default `OTEL_EXPORTER_OTLP_ENDPOINT` when set.
 *
 * @example
 * ```ts
 * Command.make("run", { otlp: RunFlags.otlp }, ({ otlp }) => …)
 * ```
 */
export const otlp: Flag.Flag<Option.Option<string>> = Flag.String("otlp").pipe(
  Flag.withMetavar("url"),
  Flag.withDescription(
    "Export spans (one per flow and per step) to this OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318 (default: $OTEL_EXPORTER_OTLP_ENDPOINT)"
  ),
  Flag.optional
)

/**
 * `--state-dir <dir>`: where runs are journaled (default `$MCPFLOW_STATE_DIR` or `.mcpflow`).
 *
 * @example
 * ```ts
 * Command.make("run", { stateDir: RunFlags.stateDir }, ({ stateDir }) => …)
 * ```
 */
export const stateDir: Flag.Flag<string> = Flag.String("state-dir").pipe(
  Flag.withMetavar("dir"),
  Flag.withDescription("Where runs are journaled (SQLite, runs.db) for resume and history (default: $MCPFLOW_STATE_DIR or .mcpflow)"),
  Flag.withDefault(process.env.MCPFLOW_STATE_DIR ?? ".mcpflow")
)

/**
 * `--no-journal`: a throwaway run in memory (nothing to resume, no history).
 *
 * @example
 * ```ts
 * Command.make("run", { noJournal: RunFlags.noJournal }, ({ noJournal }) => …)
 * ```
 */
export const noJournal: Flag.Flag<boolean> = Flag.Boolean("no-journal").pipe(
  Flag.withDescription("Do not journal the run (in memory: no resume, no history; default when MCPFLOW_NO_JOURNAL=1)"),
  Flag.withDefault(process.env.MCPFLOW_NO_JOURNAL === "1")
)

/**
 * `--resume <runId>`: continue a journaled run that a crash left unfinished.
 *
 * @example
 * ```ts
 * Command.make("run", { resume: RunFlags.resume }, ({ resume }) => …)
 * ```
 */
export const resume: Flag.Flag<Option.Option<string>> = Flag.String("resume").pipe(
  Flag.withMetavar("runId"),
  Flag.withDescription("Continue the journaled run with this id: completed steps are replayed, not re-run (--input is ignored: the run keeps its own)"),
  Flag.optional
)

/**
 * `--force`: resume even though the flow's code changed since the run started.
 *
 * @example
 * ```ts
 * Command.make("run", { force: RunFlags.force }, ({ force }) => …)
 * ```
 */
export const force: Flag.Flag<boolean> = Flag.Boolean("force").pipe(
  Flag.withDescription("With --resume: continue even if the flow's steps changed since the run started"),
  Flag.withDefault(false)
)

/**
 * `--chaos <seed>`: run on the sandbox with faults injected (see `LiveChaos.ts`).
 *
 * @example
 * ```ts
 * Command.make("run", { chaos: RunFlags.chaos }, ({ chaos }) => …)
 * ```
 */
export const chaos: Flag.Flag<Option.Option<number>> = Flag.Int("chaos").pipe(
  Flag.withMetavar("seed"),
  Flag.withDescription("Run on the sandbox with faults injected (tool errors, JSON-RPC errors, dropped connections, rate limits, lost responses, latency), decided by this seed; the summary lists the faults that fired"),
  Flag.optional
)

/**
 * `--rate <0..1>`: how often `--chaos` injects each kind of fault (default 0.1).
 *
 * @example
 * ```ts
 * Command.make("run", { rate: RunFlags.rate }, ({ rate }) => …)
 * ```
 */
export const rate: Flag.Flag<number> = Flag.Finite("rate").pipe(
  Flag.withDescription("With --chaos: the injection rate of each fault kind, 0..1 (default 0.1)"),
  Flag.withDefault(0.1)
)

/**
 * Every flag of a run, as one record for `Command.make`.
 *
 * @example
 * ```ts
 * Command.make("cicd", RunFlags.all, (settings) => runFlow(flow, settings, {}))
 * ```
 */
export const all = { input, config, sandbox, dryRun, json, quiet, verbose, otlp, stateDir, noJournal, resume, force, chaos, rate } as const

/**
 * What the flags of a run parse to.
 *
 * @example
 * ```ts
 * const settings: RunSettings = {
 *   input: {}, config: Option.none(), sandbox: false, dryRun: false, json: true, quiet: false, verbose: false, otlp: Option.none(),
 *   stateDir: ".mcpflow", noJournal: false, resume: Option.none(), force: false, chaos: Option.none(), rate: 0.1
 * }
 * ```
 */
export interface RunSettings {
  readonly input: unknown
  readonly config: Option.Option<string>
  readonly sandbox: boolean
  readonly dryRun: boolean
  readonly json: boolean
  readonly quiet: boolean
  readonly verbose: boolean
  readonly otlp: Option.Option<string>
  readonly stateDir: string
  readonly noJournal: boolean
  readonly resume: Option.Option<string>
  readonly force: boolean
  readonly chaos: Option.Option<number>
  readonly rate: number
}
