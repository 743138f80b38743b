/**
 * Every flag and argument of the `mcpflow` command line, each defined once, and the records of
 * flags a flow run takes ({@link runFlags}, {@link resumeFlags}). Commands pick the ones they
 * use, so `--help` shows only those. This module loads nothing but `effect`: `mcpflow --help`
 * and `--version` stay fast.
 *
 * @example
 * ```ts
 * import { Command } from "effect/cli"
 * import * as Flags from "./Flags.ts"
 *
 * const tools = Command.make("tools", { config: Flags.config, json: Flags.json }, (input) => …)
 * ```
 * @module
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { Argument, CliError, Flag } from "effect/cli"
import { type Address, parseAddress } from "../../runtime/observe/Address.ts"

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const invalid = (option: string, value: string, expected: string) =>
  new CliError.InvalidValue({ option, value, expected, kind: "flag" })

/**
 * Reads a JSON flag value, or `@file.json` to read it from a file. Fails with a
 * `CliError.InvalidValue` naming `option` (a usage error, exit 2).
 *
 * @example
 * ```ts
 * readJson("input", '{"service":"api"}') // succeeds with { service: "api" }
 * readJson("input", "@input.json")       // reads input.json
 * ```
 */
export const readJson = Effect.fnUntraced(function*(
  option: string,
  text: string
): Effect.fn.Return<unknown, CliError.InvalidValue, FileSystem.FileSystem> {
  const fromFile = text.startsWith("@")
  const file = text.slice(1)
  const json = fromFile
    ? yield* FileSystem.FileSystem.use((fs) => fs.readFileString(file)).pipe(
      Effect.mapError((error) => invalid(option, text, `a readable JSON file: ${error.message}`))
    )
    : text
  return yield* Effect.try({
    try: (): unknown => JSON.parse(json),
    catch: (cause) => invalid(option, text, `JSON${fromFile ? ` (in ${file})` : ""}; it is not valid JSON: ${messageOf(cause)}`)
  })
})

/** The tool's arguments: a JSON object. */
const ArgsObject = Schema.Record(Schema.String, Schema.Unknown)

/**
 * Reads `--args`: a JSON object, or `@file.json` to read the object from a file. Fails with a
 * `CliError.InvalidValue` that says what is wrong (a usage error, exit 2).
 *
 * @example
 * ```ts
 * readArgs('{"a":1}')    // succeeds with { a: 1 }
 * readArgs("@args.json") // reads args.json
 * readArgs("[1]")        // fails: Expected a JSON object …
 * ```
 */
export const readArgs = Effect.fnUntraced(function*(
  text: string
): Effect.fn.Return<Readonly<Record<string, unknown>>, CliError.InvalidValue, FileSystem.FileSystem> {
  const fromFile = text.startsWith("@")
  const file = text.slice(1)
  const source = fromFile ? ` (in ${file})` : ""
  const json = fromFile
    ? yield* FileSystem.FileSystem.use((fs) => fs.readFileString(file)).pipe(
      Effect.mapError((error) => invalid("args", text, `a readable JSON file: ${error.message}`))
    )
    : text
  const shown = fromFile ? text : json
  const value = yield* Effect.try({
    try: (): unknown => JSON.parse(json),
    catch: (cause) => invalid("args", shown, `a JSON object${source}; it is not valid JSON: ${messageOf(cause)}`)
  })
  return yield* Schema.decodeUnknownEffect(ArgsObject)(value).pipe(
    Effect.mapError(() => invalid("args", shown, `a JSON object such as '{"message":"hi"}'${source}`))
  )
})

const durationPattern = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/

const unitMillis = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const

/** The longest delay Node's timers honour (about 24.8 days); a longer one fires at once. */
const maxTimerMillis = 2_147_483_647

const durationExpected = "a positive duration such as 500ms, 5s, 2m or a number of milliseconds (at most 24 days)"

/**
 * Reads a duration: `500ms`, `5s`, `2m`, `1h`, a plain number of milliseconds, or Effect's own
 * form (`5 seconds`). Zero, negative, infinite and longer than Node's timers (24.8 days) fail
 * with what was expected.
 *
 * @example
 * ```ts
 * parseDuration("5s")   // => Result.succeed(Duration.seconds(5))
 * parseDuration("1500") // => Result.succeed(Duration.millis(1500))
 * parseDuration("-5s")  // => Result.fail("a positive duration such as 500ms, 5s, 2m or a number of milliseconds (at most 24 days)")
 * ```
 */
export const parseDuration = (text: string): Result.Result<Duration.Duration, string> => {
  const trimmed = text.trim()
  const match = durationPattern.exec(trimmed)
  const millis = match !== null
    ? Number(match[1]) * unitMillis[(match[2] ?? "ms") as keyof typeof unitMillis]
    : Option.match(Duration.fromInput(trimmed as Duration.Input), { onNone: () => NaN, onSome: Duration.toMillis })
  return Number.isFinite(millis) && millis > 0 && millis <= maxTimerMillis
    ? Result.succeed(Duration.millis(millis))
    : Result.fail(durationExpected)
}

/**
 * The flags whose value may start with a dash: a negative number or duration (`-5`, `-5s`,
 * `-0.5`). See {@link attachDashValues}.
 */
const signedValueFlags: ReadonlySet<string> = new Set(["timeout", "poll", "runs", "seed", "chaos", "rate"])

/**
 * Joins a numeric flag and a next argument that starts with a dash into one `--flag=value`
 * argument, so `--timeout -5s` is read as the flag's (invalid) value, one clear error, instead
 * of as the unknown flags `-5` and `-s`. Nothing after `--` is touched.
 *
 * @example
 * ```ts
 * attachDashValues(["call", "a.b", "--timeout", "-5s"]) // => ["call", "a.b", "--timeout=-5s"]
 * attachDashValues(["--json", "-5"])                     // => ["--json", "-5"]
 * ```
 */
export const attachDashValues = (args: ReadonlyArray<string>): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const next = args[i + 1]
    if (arg === "--") return [...out, ...args.slice(i)]
    if (arg.startsWith("--") && signedValueFlags.has(arg.slice(2)) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

/**
 * A numeric flag read by `pattern` and accepted when `valid`: anything else (not a number, a
 * fraction where a whole number is wanted, out of range) is one usage error naming the flag, the
 * value as typed and `expected`, the same for every numeric flag. (Effect's own number flags
 * answer `abc` with "Expected a string representing a finite number" and `2.5` with "Expected an
 * integer", and say nothing of the range.)
 */
const numberFlag = (pattern: RegExp, representable: (n: number) => boolean) =>
(name: string, metavar: string, valid: (n: number) => boolean, expected: string): Flag.Flag<number> =>
  Flag.String(name).pipe(
    Flag.withMetavar(metavar),
    Flag.mapEffect((text) => {
      const n = pattern.test(text) ? Number(text) : Number.NaN
      return representable(n) && valid(n) ? Effect.succeed(n) : Effect.fail(invalid(name, text, expected))
    })
  )

/**
 * A whole-number flag, `--name <metavar>`, accepted when `valid`; otherwise a usage error (exit 2)
 * naming the flag, the value as typed and `expected`.
 *
 * @example
 * ```ts
 * const runs = Flags.wholeNumber("runs", "n", (n) => n >= 1, "a whole number, at least 1")
 * // --runs abc → error: Invalid value for flag --runs: "abc". Expected: a whole number, at least 1
 * ```
 */
export const wholeNumber = numberFlag(/^\s*[+-]?\d+\s*$/, Number.isSafeInteger)

/**
 * A decimal-number flag, `--name <metavar>` (`0.1`, `.5`, `1e-3`), accepted when `valid`; otherwise
 * a usage error (exit 2) naming the flag, the value as typed and `expected`.
 *
 * @example
 * ```ts
 * const rate = Flags.decimalNumber("rate", "p", (p) => p >= 0 && p <= 1, "a number in [0, 1], such as 0.1")
 * ```
 */
export const decimalNumber = numberFlag(/^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/, Number.isFinite)

const anyWholeNumber = () => true

/**
 * A tool named on the command line.
 *
 * @example
 * ```ts
 * const id: ToolId = { server: "everything", tool: "echo" }
 * ```
 */
export interface ToolId {
  readonly server: string
  readonly tool: string
}

/**
 * Splits `server.tool` at its first dot (tool names may contain dots, server keys may not).
 *
 * @example
 * ```ts
 * parseToolId("everything.echo") // => Option.some({ server: "everything", tool: "echo" })
 * parseToolId("echo")            // => Option.none()
 * ```
 */
export const parseToolId = (text: string): Option.Option<ToolId> => {
  const dot = text.indexOf(".")
  return dot <= 0 || dot === text.length - 1
    ? Option.none()
    : Option.some({ server: text.slice(0, dot), tool: text.slice(dot + 1) })
}

// ---------------------------------------------------------------------------------------------
// Arguments

/**
 * `<file>`: a flow file (`run`, `plan`, `chaos`).
 *
 * @example
 * ```ts
 * Command.make("plan", { file: Flags.flowFile }, ({ file }) => …)
 * ```
 */
export const flowFile: Argument.Argument<string> = Argument.String("file").pipe(
  Argument.withMetavar("flow.ts"),
  Argument.withDescription(
    "A flow file: a module whose default export is a flow made with Flow.make (for chaos also a flows/x.chaos.ts suite file)"
  )
)

/**
 * `<runId>`: a journaled run (`show`, `resume`, `signal`).
 *
 * @example
 * ```ts
 * Command.make("show", { runId: Flags.runId }, ({ runId }) => …)
 * ```
 */
export const runId: Argument.Argument<string> = Argument.String("runId").pipe(
  Argument.withDescription("The run's id (see mcpflow runs)")
)

/**
 * `<name>`: the signal's name (`signal`).
 *
 * @example
 * ```ts
 * Command.make("signal", { name: Flags.signalName }, ({ name }) => …)
 * ```
 */
export const signalName: Argument.Argument<string> = Argument.String("name").pipe(
  Argument.withDescription("The signal's name (as in Flow.signal(name, …))")
)

/**
 * `<server.tool>`: the tool to call (`call`).
 *
 * @example
 * ```ts
 * Command.make("call", { tool: Flags.tool }, ({ tool }) => tool.server)
 * ```
 */
export const tool: Argument.Argument<ToolId> = Argument.String("tool").pipe(
  Argument.withMetavar("server.tool"),
  Argument.withDescription("The tool to call, as <server key>.<tool name>, e.g. everything.echo"),
  Argument.mapEffect((text) =>
    Option.match(parseToolId(text), {
      onNone: () =>
        Effect.fail(
          new CliError.InvalidValue({
            option: "tool",
            value: text,
            expected: "a tool name as server.tool, e.g. everything.echo",
            kind: "argument"
          })
        ),
      onSome: Effect.succeed
    })
  )
)

/**
 * `[server[.tool]]`: what `tools` shows — every server (absent), one server's tools, or one
 * tool's arguments and output.
 *
 * @example
 * ```ts
 * Command.make("tools", { target: Flags.toolsTarget }, ({ target }) => …)
 * ```
 */
export const toolsTarget: Argument.Argument<Option.Option<string>> = Argument.String("target").pipe(
  Argument.withMetavar("server[.tool]"),
  Argument.withDescription("Show one server's tools (fs), or one tool's arguments and output (fs.read_text_file)"),
  Argument.optional
)

// ---------------------------------------------------------------------------------------------
// Servers and output

/**
 * `--config <file>` (`-c`): the `.mcp.json` of the real MCP servers to use. Absent means
 * `./.mcp.json`, except for a flow run whose flow has a sandbox (then the sandbox).
 *
 * @example
 * ```ts
 * Command.make("tools", { config: Flags.config }, ({ config }) => Option.getOrElse(config, () => defaultConfig))
 * ```
 */
export const config: Flag.Flag<Option.Option<string>> = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withMetavar("file"),
  Flag.withDescription(
    "The .mcp.json file listing the real MCP servers (default: ./.mcp.json; a flow with a sandbox runs on its sandbox)"
  ),
  Flag.optional
)

/**
 * The config file used when `--config` is absent.
 *
 * @example
 * ```ts
 * Option.getOrElse(config, () => defaultConfig) // => "./.mcp.json"
 * ```
 */
export const defaultConfig = "./.mcp.json"

/**
 * `--json`: print JSON on stdout instead of text (what exactly: see each command's help).
 *
 * @example
 * ```ts
 * Command.make("tools", { json: Flags.json }, ({ json }) => json ? printJson(report) : printLines(lines))
 * ```
 */
export const json: Flag.Flag<boolean> = Flag.Boolean("json").pipe(
  Flag.withDescription("Print JSON on stdout instead of text (see the command's description); nothing else goes to stdout"),
  Flag.withDefault(false)
)

/**
 * `--verbose`: also report policy events, tool progress, connection changes and the servers'
 * log lines (on stderr).
 *
 * @example
 * ```ts
 * Command.make("call", { verbose: Flags.verbose }, ({ verbose }) => …)
 * ```
 */
export const verbose: Flag.Flag<boolean> = Flag.Boolean("verbose").pipe(
  Flag.withDescription(
    "Also report policy events (retries, breakers, bulkheads, caches), tool progress, connection changes and the servers' log lines, on stderr"
  ),
  Flag.withDefault(false)
)

/**
 * `--quiet` (`-q`): print only the summary.
 *
 * @example
 * ```ts
 * Command.make("run", { quiet: Flags.quiet }, ({ quiet }) => …)
 * ```
 */
export const quiet: Flag.Flag<boolean> = Flag.Boolean("quiet").pipe(
  Flag.withAlias("q"),
  Flag.withDescription("Print only the summary"),
  Flag.withDefault(false)
)

/**
 * `--timeout <duration>`: how long a call may take (`5s`, `500ms`, `2m`, or milliseconds);
 * absent means the server's own setting.
 *
 * @example
 * ```ts
 * Command.make("call", { timeout: Flags.timeout }, ({ timeout }) => Option.isSome(timeout))
 * ```
 */
export const timeout: Flag.Flag<Option.Option<Duration.Duration>> = Flag.String("timeout").pipe(
  Flag.withMetavar("duration"),
  Flag.withDescription("How long the call may take: 5s, 500ms, 2m or a number of milliseconds (default: the server's setting)"),
  Flag.mapEffect((text) =>
    Result.match(parseDuration(text), {
      onSuccess: Effect.succeed,
      onFailure: (expected) => Effect.fail(invalid("timeout", text, expected))
    })
  ),
  Flag.optional
)

/**
 * `--otlp <url>`: export the run's spans to this OTLP/HTTP endpoint; default
 * `OTEL_EXPORTER_OTLP_ENDPOINT` when set.
 *
 * @example
 * ```ts
 * Command.make("run", { otlp: Flags.otlp }, ({ otlp }) => …)
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
 * `--webhook <url>`: where each finished run is announced (default `$MCPFLOW_WEBHOOK_URL`, else
 * the `--config` file's `mcpflow.webhook`), signed with `MCPFLOW_WEBHOOK_SECRET`. The URL is
 * checked when the command starts.
 *
 * @example
 * ```ts
 * Command.make("run", { webhook: Flags.webhook }, ({ webhook }) => …)
 * ```
 */
export const webhook: Flag.Flag<Option.Option<string>> = Flag.String("webhook").pipe(
  Flag.withMetavar("url"),
  Flag.withDescription(
    "POST each finished run's outcome there (default: $MCPFLOW_WEBHOOK_URL, else mcpflow.webhook {url, secret} of the --config file), HMAC-SHA256-signed with $MCPFLOW_WEBHOOK_SECRET (header x-mcpflow-signature), retried with backoff; a webhook that keeps failing is reported and never fails the run"
  ),
  Flag.optional
)

/**
 * `--metrics <[host]:port>`: serve Prometheus metrics on `http://host:port/metrics` (loopback
 * when no host is given: `:9464`); default `$MCPFLOW_METRICS`. Attach it to any command that
 * runs flows and provide `Observe.layer` around its work.
 *
 * @example
 * ```ts
 * Command.make("worker", { metrics: Flags.metrics }, ({ metrics }) => work.pipe(Effect.provide(Observe.layer({ metrics }))))
 * ```
 */
export const metrics: Flag.Flag<Option.Option<Address>> = Flag.String("metrics").pipe(
  Flag.withMetavar("[host]:port"),
  Flag.withDescription(
    "Serve Prometheus metrics at http://host:port/metrics, e.g. :9464 (loopback unless a host is given; default: $MCPFLOW_METRICS)"
  ),
  Flag.mapEffect((text) =>
    Result.match(parseAddress(text), {
      onSuccess: Effect.succeed,
      onFailure: (expected) => Effect.fail(invalid("metrics", text, expected))
    })
  ),
  Flag.optional
)

// ---------------------------------------------------------------------------------------------
// Inputs

/**
 * `--input <json|@file>` (`-i`): the flow's input as JSON, or `@file.json`. Absent is
 * `Option.none()`: `run` then uses `{}`, `chaos` the suite's input, `plan` a sample input.
 *
 * @example
 * ```ts
 * Command.make("plan", { input: Flags.input }, ({ input }) => Option.getOrUndefined(input))
 * ```
 */
export const input: Flag.Flag<Option.Option<unknown>> = Flag.String("input").pipe(
  Flag.withAlias("i"),
  Flag.withMetavar("json|@file"),
  Flag.withDescription(
    "The flow's input as JSON, or @file.json to read it from a file (default: {} for run; the suite's input for chaos; a sample generated from the input Schema for plan)"
  ),
  Flag.optional,
  Flag.mapEffect(Option.match({
    onNone: () => Effect.succeedNone,
    onSome: (text) => Effect.map(readJson("input", text), Option.some)
  }))
)

/**
 * `--args <json|@file>` (`-a`): the tool's arguments as a JSON object; default `{}`.
 *
 * @example
 * ```ts
 * Command.make("call", { args: Flags.args }, ({ args }) => …)
 * ```
 */
export const args: Flag.Flag<Readonly<Record<string, unknown>>> = Flag.String("args").pipe(
  Flag.withAlias("a"),
  Flag.withMetavar("json|@file"),
  Flag.withDescription("The tool's arguments as a JSON object, or @file.json to read them from a file (default: {})"),
  Flag.optional,
  Flag.mapEffect(Option.match({
    onNone: () => Effect.succeed<Readonly<Record<string, unknown>>>({}),
    onSome: readArgs
  }))
)

/**
 * `--payload <json|@file>`: a signal's payload; default `null`.
 *
 * @example
 * ```ts
 * Command.make("signal", { payload: Flags.payload }, ({ payload }) => …)
 * ```
 */
export const payload: Flag.Flag<unknown> = Flag.String("payload").pipe(
  Flag.withMetavar("json|@file"),
  Flag.withDescription("The signal's payload as JSON, or @file.json (default: null); the run checks it against the signal's Schema"),
  Flag.optional,
  Flag.mapEffect(Option.match({ onNone: () => Effect.succeed<unknown>(null), onSome: (text) => readJson("payload", text) }))
)

/**
 * `--format <text|mermaid|json>` (`-f`): how `plan` prints the plan.
 *
 * @example
 * ```ts
 * Command.make("plan", { format: Flags.format }, ({ format }) => …)
 * ```
 */
export const format: Flag.Flag<"text" | "mermaid" | "json"> = Flag.Literals("format", ["text", "mermaid", "json"]).pipe(
  Flag.withAlias("f"),
  Flag.withDescription("text (for people), mermaid (a flowchart for docs and reviews) or json (everything, with the tools' JSON Schemas)"),
  Flag.withDefault("text")
)

// ---------------------------------------------------------------------------------------------
// Flow runs

/**
 * `--sandbox`: run against the flow's in-process fake servers (the default when it has some).
 *
 * @example
 * ```ts
 * Command.make("run", { sandbox: Flags.sandbox }, ({ sandbox }) => …)
 * ```
 */
export const sandbox: Flag.Flag<boolean> = Flag.Boolean("sandbox").pipe(
  Flag.withDescription("Run against the flow's sandbox: in-process fake servers, nothing real is touched (default when the flow has one)"),
  Flag.withDefault(false)
)

/**
 * `--dry-run`: a rehearsal on the sandbox that journals nothing and prints the path taken.
 *
 * @example
 * ```ts
 * Command.make("run", { dryRun: Flags.dryRun }, ({ dryRun }) => …)
 * ```
 */
export const dryRun: Flag.Flag<boolean> = Flag.Boolean("dry-run").pipe(
  Flag.withDescription(
    "Rehearse on the sandbox: run the flow for real against its in-process fake servers (implies --sandbox), journal nothing, and print the path actually taken"
  ),
  Flag.withDefault(false)
)

/**
 * `--state-dir <dir>`: where runs are journaled (default `$MCPFLOW_STATE_DIR` or `.mcpflow`).
 *
 * @example
 * ```ts
 * Command.make("runs", { stateDir: Flags.stateDir }, ({ stateDir }) => …)
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
 * Command.make("run", { noJournal: Flags.noJournal }, ({ noJournal }) => …)
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
 * Command.make("run", { resume: Flags.resume }, ({ resume }) => …)
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
 * Command.make("resume", { force: Flags.force }, ({ force }) => …)
 * ```
 */
export const force: Flag.Flag<boolean> = Flag.Boolean("force").pipe(
  Flag.withDescription("When resuming: continue even if the flow's steps changed since the run started"),
  Flag.withDefault(false)
)

/**
 * `--file <flow.ts>`: the flow file of a run being resumed, when it moved.
 *
 * @example
 * ```ts
 * Command.make("resume", { file: Flags.resumeFile }, ({ file }) => …)
 * ```
 */
export const resumeFile: Flag.Flag<Option.Option<string>> = Flag.String("file").pipe(
  Flag.withMetavar("flow.ts"),
  Flag.withDescription("The flow file, when it moved since the run started (default: the one recorded in the journal)"),
  Flag.optional
)

/**
 * `--chaos <seed>`: run on the sandbox with faults injected, or with `--config` with wire faults
 * in front of the real servers (see `LiveChaos.ts`).
 *
 * @example
 * ```ts
 * Command.make("run", { chaos: Flags.chaos }, ({ chaos }) => …)
 * ```
 */
export const chaos: Flag.Flag<Option.Option<number>> = wholeNumber("chaos", "seed", anyWholeNumber, "a whole number (the seed)").pipe(
  Flag.withDescription(
    "Run on the sandbox with faults injected (tool errors, JSON-RPC errors, dropped connections, rate limits, lost responses, latency), decided by this seed; with --config, wire faults in front of the real servers (drops, delays, lost, duplicated or corrupted messages, a down window; not time-deterministic). The summary lists the faults that fired"
  ),
  Flag.optional
)

/**
 * `--rate <p>`: the injection rate of each fault kind, in [0, 1]. Absent: 0.1 for
 * `run --chaos`; for `mcpflow chaos` each drawn fault gets 1, 0.5 or 0.2.
 *
 * @example
 * ```ts
 * Command.make("chaos", { rate: Flags.rate }, ({ rate }) => Option.getOrUndefined(rate))
 * ```
 */
export const rate: Flag.Flag<Option.Option<number>> = decimalNumber("rate", "p", (p) => p >= 0 && p <= 1, "a number in [0, 1], such as 0.1").pipe(
  Flag.withDescription(
    "The injection rate of each fault kind, in [0, 1] (default: 0.1 with run --chaos; for mcpflow chaos each drawn fault gets 1, 0.5 or 0.2)"
  ),
  Flag.optional
)

// ---------------------------------------------------------------------------------------------
// Chaos checks

/**
 * `--runs <n>`: how many fault plans `mcpflow chaos` tries.
 *
 * @example
 * ```ts
 * Command.make("chaos", { runs: Flags.runs }, ({ runs }) => …)
 * ```
 */
export const runs: Flag.Flag<Option.Option<number>> = wholeNumber("runs", "n", (n) => n >= 1, "a whole number, at least 1").pipe(
  Flag.withDescription("How many fault plans to try (default: the suite's, else 100)"),
  Flag.optional
)

/**
 * `--workers <n>`: how many threads run `mcpflow chaos`'s runs, the main one included (1: all in the main thread).
 *
 * @example
 * ```ts
 * Command.make("chaos", { workers: Flags.workers }, ({ workers }) => …)
 * ```
 */
export const workers: Flag.Flag<Option.Option<number>> = wholeNumber("workers", "n", (n) => n >= 1 && n <= 64, "a whole number from 1 to 64").pipe(
  Flag.withDescription("Threads that run the fault plans, the main one included (default: one per core for 400 runs or more; 1: no worker thread). Same seed, same report, whatever the number"),
  Flag.optional
)

/**
 * `--seed <n>`: the seed of `mcpflow chaos`'s search.
 *
 * @example
 * ```ts
 * Command.make("chaos", { seed: Flags.seed }, ({ seed }) => …)
 * ```
 */
export const seed: Flag.Flag<Option.Option<number>> = wholeNumber("seed", "n", anyWholeNumber, "a whole number").pipe(
  Flag.withDescription("The seed of the search (default: now; printed, so a run can be repeated)"),
  Flag.optional
)

/**
 * `--faults <kinds>`: the fault kinds `mcpflow chaos` draws, comma-separated.
 *
 * @example
 * ```ts
 * Command.make("chaos", { faults: Flags.faults }, ({ faults }) => …)
 * ```
 */
export const faults: Flag.Flag<Option.Option<string>> = Flag.String("faults").pipe(
  Flag.withMetavar("kinds"),
  Flag.withDescription(
    "The fault kinds to draw, comma-separated, e.g. latency,drop,lost-response (default: all; an unknown name prints the known ones)"
  ),
  Flag.optional
)

/**
 * `--junit <file.xml>`: also write JUnit XML.
 *
 * @example
 * ```ts
 * Command.make("chaos", { junit: Flags.junit }, ({ junit }) => …)
 * ```
 */
export const junit: Flag.Flag<Option.Option<string>> = Flag.String("junit").pipe(
  Flag.withMetavar("file.xml"),
  Flag.withDescription("Also write JUnit XML (one test case per invariant) to this file"),
  Flag.optional
)

/**
 * `--replay <token>`: re-run the one chaos case a printed token names.
 *
 * @example
 * ```ts
 * Command.make("chaos", { replay: Flags.replay }, ({ replay }) => …)
 * ```
 */
export const replay: Flag.Flag<Option.Option<string>> = Flag.String("replay").pipe(
  Flag.withMetavar("token"),
  Flag.withDescription("Re-run the one case a printed token names, with its full event trace"),
  Flag.optional
)

// ---------------------------------------------------------------------------------------------
// Worker

/**
 * `--poll <seconds>`: how often `mcpflow worker` looks for runs to continue.
 *
 * @example
 * ```ts
 * Command.make("worker", { poll: Flags.poll }, ({ poll }) => …)
 * ```
 */
export const poll: Flag.Flag<number> = wholeNumber("poll", "seconds", (n) => n >= 1 && n <= maxTimerMillis / 1000, "a whole number of seconds, at least 1").pipe(
  Flag.withDescription("How often to look for runs to continue, in whole seconds (default 2)"),
  Flag.withDefault(2)
)

/**
 * `--once`: the worker continues what is pending now, waits for it, and exits.
 *
 * @example
 * ```ts
 * Command.make("worker", { once: Flags.once }, ({ once }) => …)
 * ```
 */
export const once: Flag.Flag<boolean> = Flag.Boolean("once").pipe(
  Flag.withDescription("Continue the runs pending now, wait for them, then exit (exit 1 if one failed)"),
  Flag.withDefault(false)
)

/**
 * `--database postgres://…`: run on an Effect Cluster over this Postgres (default:
 * `MCPFLOW_DATABASE_URL`; neither: the SQLite journal). Kept Redacted: never printed.
 *
 * @example
 * ```ts
 * Command.make("worker", { database: Flags.database }, ({ database }) => Option.isSome(database))
 * ```
 */
export const database: Flag.Flag<Option.Option<Redacted.Redacted<string>>> = Flag.Redacted("database").pipe(
  Flag.withMetavar("url"),
  Flag.withDescription(
    "Run on a cluster whose journal is this Postgres (postgres://user:password@host:port/database; default: MCPFLOW_DATABASE_URL). Never printed"
  ),
  Flag.optional
)

/**
 * `--database postgres://…` on the run history commands (`runs`, `show`, `signal`, `cancel`,
 * `resume`, `ui`): the cluster's Postgres journal instead of the state directory's (default:
 * `MCPFLOW_DATABASE_URL`). Kept Redacted: never printed.
 *
 * @example
 * ```ts
 * Command.make("runs", { database: Flags.historyDatabase }, ({ database }) => Option.isSome(database))
 * ```
 */
export const historyDatabase: Flag.Flag<Option.Option<Redacted.Redacted<string>>> = Flag.Redacted("database").pipe(
  Flag.withMetavar("url"),
  Flag.withDescription(
    "Read the runs of a cluster from its Postgres journal instead of the state directory (postgres://user:password@host:port/database; default: MCPFLOW_DATABASE_URL). Never printed"
  ),
  Flag.optional
)

/**
 * The database of {@link database}, else `MCPFLOW_DATABASE_URL`, else none.
 *
 * @example
 * ```ts
 * databaseOf(Option.none(), { MCPFLOW_DATABASE_URL: "postgres://db/mcpflow" }) // => Option.some(<redacted>)
 * ```
 */
export const databaseOf = (
  flag: Option.Option<Redacted.Redacted<string>>,
  env: Readonly<Record<string, string | undefined>>
): Option.Option<Redacted.Redacted<string>> =>
  Option.isSome(flag)
    ? flag
    : env.MCPFLOW_DATABASE_URL !== undefined && env.MCPFLOW_DATABASE_URL !== ""
    ? Option.some(Redacted.make(env.MCPFLOW_DATABASE_URL))
    : Option.none()

/**
 * `--detach`: with `--database`, submit the run, print its id and return at once.
 *
 * @example
 * ```ts
 * Command.make("run", { detach: Flags.detach }, ({ detach }) => detach)
 * ```
 */
export const detach: Flag.Flag<boolean> = Flag.Boolean("detach").pipe(
  Flag.withDescription("With --database: submit the run, print its id on stdout and exit; a runner runs it"),
  Flag.withDefault(false)
)

/**
 * `--listen host:port`: where a cluster runner listens for the other runners (default 127.0.0.1:34431).
 *
 * @example
 * ```ts
 * Command.make("worker", { listen: Flags.listen }, ({ listen }) => listen)
 * ```
 */
export const listen: Flag.Flag<string> = Flag.String("listen").pipe(
  Flag.withMetavar("host:port"),
  Flag.withDescription("With --database: the address this runner listens on and other runners reach it at (default 127.0.0.1:34431)"),
  Flag.withDefault("127.0.0.1:34431")
)

// ---------------------------------------------------------------------------------------------
// Records

/**
 * The flags of a flow run (`mcpflow run <file>` and a flow file's own command line).
 *
 * @example
 * ```ts
 * Command.make("cicd", Flags.runFlags, (flags) => runFlow(cicd, toRunSettings(flags), source))
 * ```
 */
export const runFlags = {
  input,
  config,
  sandbox,
  dryRun,
  json,
  quiet,
  verbose,
  otlp,
  stateDir,
  noJournal,
  resume,
  force,
  chaos,
  rate
} as const

/**
 * The flags of `mcpflow resume <runId>`: the run keeps its input, is journaled, and runs
 * without injected faults, so `--input`, `--no-journal`, `--dry-run`, `--chaos` and `--rate`
 * are not offered.
 *
 * @example
 * ```ts
 * Command.make("resume", { runId: Flags.runId, ...Flags.resumeFlags }, (flags) => …)
 * ```
 */
export const resumeFlags = { file: resumeFile, config, sandbox, json, quiet, verbose, otlp, stateDir, force } as const

/**
 * What the flags of a run parse to, as `runFlow` takes them.
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

/**
 * The settings of a run with nothing asked for: an empty input, the flow's default servers,
 * journaled in `.mcpflow`, plain report. Callers override what their flags set.
 *
 * @example
 * ```ts
 * const settings: RunSettings = { ...defaultRunSettings, json: true }
 * ```
 */
export const defaultRunSettings: RunSettings = {
  input: {},
  config: Option.none(),
  sandbox: false,
  dryRun: false,
  json: false,
  quiet: false,
  verbose: false,
  otlp: Option.none(),
  stateDir: ".mcpflow",
  noJournal: false,
  resume: Option.none(),
  force: false,
  chaos: Option.none(),
  rate: 0.1
}

/**
 * The settings of a run from its parsed {@link runFlags}: an absent `--input` is `{}`, an absent
 * `--rate` is 0.1.
 *
 * @example
 * ```ts
 * toRunSettings({ ...parsed, input: Option.none(), rate: Option.none() }).input // => {}
 * ```
 */
export const toRunSettings = (
  flags: Omit<RunSettings, "input" | "rate"> & { readonly input: Option.Option<unknown>; readonly rate: Option.Option<number> }
): RunSettings => ({
  ...flags,
  input: Option.getOrElse(flags.input, () => ({})),
  rate: Option.getOrElse(flags.rate, () => defaultRunSettings.rate)
})

/**
 * `--server <key>`: only this server of the config (`contracts generate`).
 *
 * @example
 * ```ts
 * Command.make("generate", { server: Flags.server }, ({ server }) => Option.getOrUndefined(server))
 * ```
 */
export const server: Flag.Flag<Option.Option<string>> = Flag.String("server").pipe(
  Flag.withMetavar("key"),
  Flag.withDescription("Only the server with this key in the config (default: every server)"),
  Flag.optional
)

/**
 * `--out <file>`: where `contracts generate` writes the TypeScript source.
 *
 * @example
 * ```ts
 * Command.make("generate", { out: Flags.out }, ({ out }) => out)
 * ```
 */
export const out: Flag.Flag<string> = Flag.String("out").pipe(
  Flag.withAlias("o"),
  Flag.withMetavar("file"),
  Flag.withDescription("The .ts file to write the contracts to")
)
