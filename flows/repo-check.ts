/**
 * This repository's own pipeline — type check, tests on a chosen subset, `npm pack --dry-run` —
 * run for real through real MCP server processes, with no network, and a markdown report
 * written through `@modelcontextprotocol/server-filesystem`.
 *
 * The servers are **real local processes, not a sandbox**:
 *
 * - `commands`: mcpflow's command runner (`src/runtime/servers/commandRunner/`, over stdio), allowed to
 *   run `npm`, `npx` and `node` only, without a shell, in the repository and below, with a
 *   timeout and an output cap per command and a filtered environment;
 * - `filesystem`: `@modelcontextprotocol/server-filesystem` (over stdio), allowed to touch the
 *   repository and below.
 *
 * Both are started by this Node binary from `node_modules` (no `npx`, no download). The gateway
 * allows only the tools the flow calls. They are the flow's default servers (its report's first
 * line says "real servers"); give `--config` to use others.
 *
 * What it does:
 *
 * 1. **rules**: asks the command runner what it allows (its root, its commands); a command of
 *    the pipeline that is not allowed is reported as refused and not sent.
 * 2. **each command**, one after the other (a failing command is a result, not an error: the
 *    next one still runs unless `stopOnFailure`): its exit code, duration and output tail.
 * 3. **report**: `<reportDir>/repo-check-<time>.md` (relative to the command runner's root;
 *    default `./.mcpflow/reports`), with a summary table and each command's exit code,
 *    duration and the last `tailLines` lines of its output; then read back to check it.
 * 4. The run fails with `ChecksFailed` (exit 1) when any command failed — after the report was
 *    written.
 *
 * ```sh
 * npx tsx flows/repo-check.ts                                              # tsc, vitest test/config.test.ts, npm pack --dry-run
 * npx tsx flows/repo-check.ts --input '{"tests":["test/config.test.ts","test/fakeServer.test.ts"]}'
 * npx tsx flows/repo-check.ts --input '{"commands":[{"name":"node","command":"node","args":["--version"]}]}'
 * npx tsx flows/repo-check.ts --input '{"reportDir":"./.mcpflow/reports/nightly"}' --json
 * npx tsx flows/repo-check.ts --config .mcp.json                           # servers of your own config (keys commands, filesystem)
 * npx mcpflow run flows/repo-check.ts                                      # the same through the CLI
 * npx mcpflow plan flows/repo-check.ts                                     # its structure, without calling anything
 * npx vitest run test/flows/repo-check.test.ts                             # runs the real servers on a tiny package
 * ```
 * @module
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Clock, DateTime, Duration, Effect, Redacted, Result, Schema } from "effect"
import { Flow, step, when } from "../dsl/flow/index.ts"
import type { McpflowToolError, McpGateway } from "../dsl/index.ts"
import type { StdioServerConfig } from "../src/runtime/gateway/ServerConfig.ts"
import { main } from "../src/app/run/FlowFile.ts"
import { commandRunnerServer, Commands, type RunResult } from "./servers/commandRunner.ts"
import { Filesystem, referenceServerEntry } from "./servers/reference.ts"

// -----------------------------------------------------------------------------
// Input and output
// -----------------------------------------------------------------------------

const orDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/**
 * One command of the pipeline.
 *
 * @example
 * ```ts
 * const c: typeof CommandSpec.Type = { name: "typecheck", command: "npx", args: ["tsc", "--noEmit", "-p", "."], timeoutMs: 600_000 }
 * ```
 */
export const CommandSpec = Schema.Struct({
  /** Its step name and report heading (no `/`). */
  name: Schema.String.check(Schema.isPattern(/^[^/]+$/)),
  /** An executable the command runner allows (`npm`, `npx`, `node`). */
  command: Schema.String,
  args: orDefault(Schema.Array(Schema.String), []),
  /** Working directory relative to the command runner's root (default: the root). */
  cwd: Schema.optionalKey(Schema.String),
  /** Its timeout (default 10 minutes; the server caps it). */
  timeoutMs: orDefault(Schema.Int.check(Schema.isGreaterThan(0)), 600_000)
})
type CommandSpec = typeof CommandSpec.Type

const Input = Schema.Struct({
  /** The test files `vitest run` gets in the default pipeline. */
  tests: orDefault(Schema.Array(Schema.String), ["test/config.test.ts"]),
  /** The whole pipeline instead of the default (type check, tests, pack). */
  commands: Schema.optionalKey(Schema.Array(CommandSpec).check(Schema.isMinLength(1))),
  /** Where the report goes, relative to the command runner's root unless absolute. */
  reportDir: orDefault(Schema.String, "./.mcpflow/reports"),
  /** How many lines of each command's output the report keeps. */
  tailLines: orDefault(Schema.Int.check(Schema.isGreaterThan(0)), 40),
  /** Stop at the first failing command (the report says which were not run). */
  stopOnFailure: orDefault(Schema.Boolean, false)
})

/**
 * One command's outcome.
 *
 * @example
 * ```ts
 * const o: typeof CommandOutcome.Type = { name: "pack", commandLine: "npm pack --dry-run", status: "passed", exitCode: 0, durationMs: 1840, timedOut: false, tail: "…" }
 * ```
 */
export const CommandOutcome = Schema.Struct({
  name: Schema.String,
  commandLine: Schema.String,
  status: Schema.Literals(["passed", "failed", "refused", "error", "not run"]),
  exitCode: Schema.NullOr(Schema.Int),
  durationMs: Schema.Finite,
  timedOut: Schema.Boolean,
  /** The last lines of stdout then stderr (or the error). */
  tail: Schema.String
})
type CommandOutcome = typeof CommandOutcome.Type

const Output = Schema.Struct({
  /** The report file (absolute). */
  report: Schema.String,
  passed: Schema.Boolean,
  root: Schema.String,
  commands: Schema.Array(CommandOutcome)
})

/**
 * Some commands of the pipeline did not pass; the report says how.
 *
 * @example
 * ```ts
 * new ChecksFailed({ failed: ["typecheck"], report: "/repo/.mcpflow/reports/repo-check-20240923T100000Z.md" }).message
 * ```
 */
export class ChecksFailed extends Schema.TaggedError<ChecksFailed>()("ChecksFailed", {
  failed: Schema.Array(Schema.String),
  report: Schema.String
}) {
  override get message(): string {
    return `${this.failed.join(", ")} did not pass; report: ${this.report}`
  }
}

/**
 * A command of the pipeline is not one the command runner allows: it is not sent.
 *
 * @example
 * ```ts
 * new CommandNotAllowed({ command: "bash", allowed: ["npm", "npx", "node"] }).message
 * // => "not sent: the command runner allows only npm, npx, node (not bash)"
 * ```
 */
export class CommandNotAllowed extends Schema.TaggedError<CommandNotAllowed>()("CommandNotAllowed", {
  command: Schema.String,
  allowed: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `not sent: the command runner allows only ${this.allowed.join(", ") || "nothing"} (not ${this.command})`
  }
}

/**
 * The report file was written but does not read back as written.
 *
 * @example
 * ```ts
 * new ReportUnreadable({ report: "/repo/.mcpflow/reports/x.md", detail: "first line differs" }).message
 * ```
 */
export class ReportUnreadable extends Schema.TaggedError<ReportUnreadable>()("ReportUnreadable", {
  report: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `the report ${this.report} does not read back: ${this.detail}`
  }
}

/**
 * The default pipeline: this repository's type check, the given tests, the package's contents.
 *
 * @example
 * ```ts
 * defaultPipeline(["test/config.test.ts"]).map((c) => c.name) // => ["typecheck", "tests", "pack"]
 * ```
 */
export const defaultPipeline = (tests: ReadonlyArray<string>): ReadonlyArray<CommandSpec> => [
  { name: "typecheck", command: "npx", args: ["tsc", "--noEmit", "-p", "."], timeoutMs: 900_000 },
  { name: "tests", command: "npx", args: ["vitest", "run", ...tests], timeoutMs: 900_000 },
  { name: "pack", command: "npm", args: ["pack", "--dry-run"], timeoutMs: 300_000 }
]

// -----------------------------------------------------------------------------
// The report
// -----------------------------------------------------------------------------

const ansi = new RegExp(String.raw`\u001b\[[0-9;?]*[A-Za-z]`, "g")

/** The last `n` non-empty-at-the-end lines of a command's output, without terminal colours. */
const tailOf = (text: string, n: number): string => {
  const lines = text.replace(ansi, "").replace(/\r\n?/g, "\n").trimEnd().split("\n")
  return lines.slice(-n).join("\n")
}

const quoteArg = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)
const commandLineOf = (c: CommandSpec) => [c.command, ...c.args].map(quoteArg).join(" ")

/** A fence longer than any run of backticks in the text. */
const fenceFor = (text: string) => "`".repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)))

const seconds = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`)

/**
 * The markdown report.
 *
 * @example
 * ```ts
 * renderReport({ root: "/repo", startedAt: "…", finishedAt: "…", outcomes: [] }).split("\n")[0] // => "# Repository check: passed"
 * ```
 */
export const renderReport = (r: {
  readonly root: string
  readonly startedAt: string
  readonly finishedAt: string
  readonly outcomes: ReadonlyArray<CommandOutcome>
}): string => {
  const passed = r.outcomes.every((o) => o.status === "passed")
  const lines = [
    `# Repository check: ${passed ? "passed" : "failed"}`,
    "",
    `- root: \`${r.root}\``,
    `- started: ${r.startedAt}`,
    `- finished: ${r.finishedAt}`,
    "- servers: mcpflow command runner (stdio) and @modelcontextprotocol/server-filesystem (stdio): real local processes",
    "",
    "## Summary",
    "",
    "| command | status | exit code | duration |",
    "| --- | --- | --- | --- |",
    ...r.outcomes.map((o) =>
      `| ${o.name} | ${o.status}${o.timedOut ? " (timed out)" : ""} | ${o.exitCode ?? "—"} | ${o.status === "not run" ? "—" : seconds(o.durationMs)} |`
    )
  ]
  for (const o of r.outcomes) {
    const fence = fenceFor(o.tail)
    lines.push(
      "",
      `## ${o.name}`,
      "",
      `- command: \`${o.commandLine}\``,
      `- status: ${o.status}`,
      `- exit code: ${o.exitCode ?? "—"}`,
      `- duration: ${o.status === "not run" ? "—" : seconds(o.durationMs)}`,
      `- timed out: ${o.timedOut ? "yes" : "no"}`,
      "",
      "Output (tail):",
      "",
      `${fence}text`,
      o.tail === "" ? "(no output)" : o.tail,
      fence
    )
  }
  return `${lines.join("\n")}\n`
}

const now = Effect.map(DateTime.now, DateTime.formatIso)

// -----------------------------------------------------------------------------
// The flow
// -----------------------------------------------------------------------------

/**
 * The pipeline.
 *
 * @example
 * ```ts
 * const { report, passed } = yield* Flow.run(repoCheck, { tests: ["test/config.test.ts"] })
 * ```
 */
const repoCheck = Flow.make({
  name: "repo-check",
  description: "Run this repository's type check, tests and npm pack --dry-run through the command-runner MCP server, and write a markdown report through the filesystem MCP server",
  input: Input,
  output: Output,
  uses: [Commands.list_allowed, Commands.run_command, Filesystem.create_directory, Filesystem.write_file, Filesystem.read_text_file],
  run: (input) =>
    Effect.gen(function*() {
      const pipeline = input.commands ?? defaultPipeline(input.tests)
      const startedAt = yield* step("start", now, { description: "the run's start time (journaled)" })
      const rules = yield* step("rules", Commands.list_allowed({}), { policy: { retry: { maxAttempts: 3 }, timeout: "30 seconds" }, idempotent: true })
      const allowed = new Set(rules.commands.map((c) => c.name))

      const outcomes: Array<CommandOutcome> = []
      let stopped = false
      for (const spec of pipeline) {
        const commandLine = commandLineOf(spec)
        if (stopped) {
          yield* when(spec.name, false, Effect.void, { description: "no earlier command failed (stopOnFailure)" })
          outcomes.push({ name: spec.name, commandLine, status: "not run", exitCode: null, durationMs: 0, timedOut: false, tail: "an earlier command failed (stopOnFailure)" })
          continue
        }
        const call: Effect.Effect<typeof RunResult.Type, McpflowToolError | CommandNotAllowed, McpGateway> = allowed.has(spec.command)
          ? Commands.run_command(
            { command: spec.command, args: spec.args, ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}), timeoutMs: spec.timeoutMs },
            // The call outlasts the command: its own timeout answers first.
            { timeout: Duration.millis(spec.timeoutMs + 30_000) }
          )
          : Effect.fail(new CommandNotAllowed({ command: spec.command, allowed: [...allowed] }))
        const started = yield* Clock.currentTimeMillis
        const ran = yield* Effect.result(step(spec.name, call, { description: commandLine }))
        const outcome: CommandOutcome = Result.isSuccess(ran)
          ? {
            name: spec.name,
            commandLine,
            status: ran.success.exitCode === 0 && !ran.success.timedOut ? "passed" : "failed",
            exitCode: ran.success.exitCode,
            durationMs: ran.success.durationMs,
            timedOut: ran.success.timedOut,
            tail: tailOf(
              [ran.success.stdout, ran.success.stderr].filter((s) => s.trim() !== "").join("\n"),
              input.tailLines
            )
          }
          : {
            name: spec.name,
            commandLine,
            status: ran.failure._tag === "CommandNotAllowed" || /refused by the/.test(Flow.messageOf(ran.failure)) ? "refused" : "error",
            exitCode: null,
            durationMs: (yield* Clock.currentTimeMillis) - started,
            timedOut: false,
            tail: Flow.messageOf(ran.failure)
          }
        outcomes.push(outcome)
        if (outcome.status !== "passed") stopped = input.stopOnFailure
      }

      const finishedAt = yield* step("finish", now)
      const dir = path.resolve(rules.root, input.reportDir)
      const file = path.join(dir, `repo-check-${startedAt.replace(/[-:]/g, "").replace(/\.\d+/, "")}.md`)
      const content = renderReport({ root: rules.root, startedAt, finishedAt, outcomes })
      const fsPolicy = { retry: { maxAttempts: 3 }, timeout: "30 seconds" } as const
      yield* step("report dir", Filesystem.create_directory({ path: dir }), { policy: fsPolicy, idempotent: true })
      yield* step("write report", Filesystem.write_file({ path: file, content }), { policy: fsPolicy, idempotent: true })
      const title = content.split("\n")[0]!
      yield* step(
        "verify report",
        Effect.flatMap(Filesystem.read_text_file({ path: file, head: 1 }), ({ content: first }) =>
          first.trimEnd() === title
            ? Effect.succeed(first)
            : Effect.fail(new ReportUnreadable({ report: file, detail: `its first line is ${JSON.stringify(first.slice(0, 80))}` }))),
        { policy: fsPolicy, idempotent: true }
      )

      const failed = outcomes.filter((o) => o.status !== "passed").map((o) => o.name)
      if (failed.length > 0) return yield* new ChecksFailed({ failed, report: file })
      return { report: file, passed: true, root: rules.root, commands: outcomes }
    })
})

export default repoCheck

// -----------------------------------------------------------------------------
// Its servers: real local processes
// -----------------------------------------------------------------------------

/** This repository's root (the folder above `flows/`). */
export const repositoryRoot: string = fileURLToPath(new URL("..", import.meta.url)).replace(/[\\/]$/, "")

/**
 * What {@link localServers} takes.
 *
 * @example
 * ```ts
 * const options: LocalServersOptions = { root: "/tmp/pkg", allow: ["node", "npm"] }
 * ```
 */
export interface LocalServersOptions {
  /** Where commands run (and below); default: this repository. */
  readonly root?: string | undefined
  /** What the filesystem server may touch (and below); default: `root`. */
  readonly writable?: string | undefined
  /** The executables the command runner allows; default `npm`, `npx`, `node`. */
  readonly allow?: ReadonlyArray<string> | undefined
}

/**
 * The real servers of this flow, as gateway config entries: the command runner over stdio
 * (root, allowlist, 10 min default timeout, 15 min at most) and the filesystem server over
 * stdio, both started by this Node binary from `node_modules`.
 *
 * @example
 * ```ts
 * const Gateway = GatewayLayer.layer({ servers: localServers({ root: "/tmp/pkg" }), allow: localAllow })
 * ```
 */
export const localServers = (options: LocalServersOptions = {}): { readonly commands: StdioServerConfig; readonly filesystem: StdioServerConfig } => {
  const root = path.resolve(options.root ?? repositoryRoot)
  return {
    commands: commandRunnerServer({
      root,
      allow: options.allow ?? ["npm", "npx", "node"],
      timeoutMs: 600_000,
      maxTimeoutMs: 900_000,
      limits: { connectTimeoutMs: 30_000, callTimeoutMs: 960_000 }
    }),
    filesystem: {
      type: "stdio",
      command: process.execPath,
      args: [referenceServerEntry("filesystem"), path.resolve(options.writable ?? root)],
      env: {},
      connectTimeoutMs: 30_000,
      callTimeoutMs: 60_000
    }
  }
}

/** The only tools the gateway lets this flow call. */
export const localAllow: ReadonlyArray<string> = [
  "commands.list_allowed",
  "commands.run_command",
  "filesystem.create_directory",
  "filesystem.write_file",
  "filesystem.read_text_file"
]

/**
 * {@link localServers} in the `.mcp.json` format, with {@link localAllow} as its allowlist.
 *
 * @example
 * ```ts
 * JSON.stringify(localMcpJson(), null, 2) // what `npx tsx flows/repo-check.ts` writes to .mcpflow/repo-check.mcp.json
 * ```
 */
export const localMcpJson = (options: LocalServersOptions = {}) => {
  const entry = (c: StdioServerConfig) => ({
    type: "stdio" as const,
    command: c.command,
    args: [...c.args],
    env: Object.fromEntries(Object.entries(c.env).map(([k, v]) => [k, Redacted.value(v)])),
    ...(c.callTimeoutMs !== undefined ? { timeout: c.callTimeoutMs } : {}),
    ...(c.connectTimeoutMs !== undefined ? { connectTimeout: c.connectTimeoutMs } : {})
  })
  const servers = localServers(options)
  return { mcpServers: { commands: entry(servers.commands), filesystem: entry(servers.filesystem) }, allow: [...localAllow] }
}

/**
 * Its default servers are real: mcpflow's command runner and `@modelcontextprotocol/server-filesystem`
 * as local stdio processes (`--config` names others). The run is reported as a real-servers run.
 */
main(import.meta, repoCheck, { local: { servers: Effect.sync(() => localServers()), allow: localAllow } })
