/**
 * Typed contracts for mcpflow's own command-runner MCP server (`src/runtime/servers/commandRunner/`),
 * server key `commands`, and a helper that starts it over stdio.
 *
 * The server runs allowlisted executables (no shell: `;`, `$(…)`, backticks, `&&` and globs
 * are plain characters) in a directory below its root, with a timeout that kills the command's
 * whole process tree, an output cap per stream and a filtered environment. A call the rules
 * refuse fails with `ToolFailed` whose text names the rule (`refused by the root rule: …`).
 * A command that ran answers its exit code whatever it is: a failing test run is a result,
 * not an error — check `exitCode` (or use {@link succeeded}). A silent command sends no
 * progress, so a call's gateway timeout must outlast the command's: {@link commandRunnerServer}
 * sets the server's call timeout above the longest command timeout.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
 * import { Commands, commandRunnerServer } from "./commandRunner.ts"
 *
 * const typecheck = Commands.run_command({ command: "npx", args: ["tsc", "--noEmit", "-p", "."], timeoutMs: 120_000 })
 * typecheck.pipe(
 *   Effect.provide(GatewayLayer.layer({ servers: { commands: commandRunnerServer({ root: ".", allow: ["npx", "npm", "node"] }) } }))
 * )
 * ```
 * @module
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Redacted, Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import type { ServerLimits, StdioServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"

/**
 * What `run_command` answers for a command that ran.
 *
 * @example
 * ```ts
 * const r: typeof RunResult.Type = {
 *   exitCode: 0, signal: null, stdout: "ok\n", stderr: "", stdoutTruncated: false, stderrTruncated: false,
 *   timedOut: false, durationMs: 812, timeoutMs: 60_000
 * }
 * ```
 */
export const RunResult = Schema.Struct({
  /** The exit code, or `null` when a signal ended the process. */
  exitCode: Schema.NullOr(Schema.Int),
  /** The signal that ended the process (`SIGTERM`, `SIGKILL`), or `null`. */
  signal: Schema.NullOr(Schema.String),
  /** stdout; when longer than the cap, its head and tail with a `[… N bytes omitted …]` line between. */
  stdout: Schema.String,
  stderr: Schema.String,
  stdoutTruncated: Schema.Boolean,
  stderrTruncated: Schema.Boolean,
  /** The timeout ended the command and every process it started. */
  timedOut: Schema.Boolean,
  durationMs: Schema.Finite,
  /** The timeout the command ran with (the call's, else the server's default; never above its maximum). */
  timeoutMs: Schema.Int
})

/**
 * What `list_allowed` answers: the server's rules.
 *
 * @example
 * ```ts
 * const rules: typeof AllowedRules.Type = {
 *   root: "/home/me/repo", commands: [{ name: "npm", path: "/usr/lib/node_modules/npm/bin/npm-cli.js" }],
 *   env: ["PATH", "HOME", "LC_*"], defaultTimeoutMs: 60_000, maxTimeoutMs: 600_000, maxOutputBytes: 1_048_576,
 *   maxConcurrent: 4, maxQueue: 32
 * }
 * ```
 */
export const AllowedRules = Schema.Struct({
  /** The real path of the root directory. */
  root: Schema.String,
  /** The allowed command names and the executables they run. */
  commands: Schema.Array(Schema.Struct({ name: Schema.String, path: Schema.String })),
  /** Environment variables passed to commands (`PREFIX*` matches a prefix). */
  env: Schema.Array(Schema.String),
  defaultTimeoutMs: Schema.Int,
  maxTimeoutMs: Schema.Int,
  /** Output kept per stream, in bytes. */
  maxOutputBytes: Schema.Int,
  /** Commands running at once. */
  maxConcurrent: Schema.Int,
  /** Calls waiting for a slot; past it a call is refused at once (`refused by the concurrency rule`). */
  maxQueue: Schema.Int
})

/**
 * Contracts of the command runner (server key `commands`).
 *
 * @example
 * ```ts
 * const r = yield* Commands.run_command({ command: "npm", args: ["pack", "--dry-run"], cwd: "." })
 * if (r.exitCode !== 0) yield* Effect.fail(new Error(r.stderr))
 * const rules = yield* Commands.list_allowed({})
 * ```
 */
export const Commands = Tool.server("commands", {
  run_command: Tool.define({
    description: "Run an allowlisted command (no shell) below the root, with a timeout and an output cap",
    input: Schema.Struct({
      /** An allowed command name, exactly as `--allow` gave it. */
      command: Schema.String,
      /** Arguments, as they are: no shell interprets them. */
      args: Schema.optionalKey(Schema.Array(Schema.String)),
      /** Working directory relative to the root (default: the root). */
      cwd: Schema.optionalKey(Schema.String),
      /** Timeout in ms; at most the server's maximum. */
      timeoutMs: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)))
    }),
    output: RunResult,
    annotations: { readOnly: false, destructive: true, idempotent: false, openWorld: false }
  }),
  list_allowed: Tool.define({
    description: "The allowed commands, the root, the environment passed through, the timeouts and the output cap",
    input: Schema.Struct({}),
    output: AllowedRules,
    annotations: { readOnly: true, destructive: false, idempotent: true, openWorld: false }
  })
})

/**
 * Every contract of this module, for `gateway.checkContracts`.
 *
 * @example
 * ```ts
 * yield* gateway.checkContracts(commandRunnerContracts) // => [] when nothing drifted
 * ```
 */
export const commandRunnerContracts = Tool.contractsOf(Commands)

/**
 * Whether a command ran to exit code 0 (not timed out, not killed).
 *
 * @example
 * ```ts
 * const ok = succeeded(yield* Commands.run_command({ command: "npm", args: ["test"] }))
 * ```
 */
export const succeeded = (result: typeof RunResult.Type): boolean => result.exitCode === 0 && !result.timedOut

/**
 * The server's entry file (`src/runtime/servers/commandRunner/Bin.ts`), absolute.
 *
 * @example
 * ```ts
 * commandRunnerEntry // => "/…/mcpflow/src/runtime/servers/commandRunner/Bin.ts"
 * ```
 */
export const commandRunnerEntry: string = fileURLToPath(new URL("../../src/runtime/servers/commandRunner/Bin.ts", import.meta.url))

/**
 * What {@link commandRunnerServer} takes. Limits left out take the server's defaults
 * (60 s timeout, 10 min maximum, 1 MiB per stream, 2 s between SIGTERM and SIGKILL).
 *
 * @example
 * ```ts
 * const options: CommandRunnerOptions = { root: ".", allow: ["npm", "npx", "node"], timeoutMs: 120_000 }
 * ```
 */
export interface CommandRunnerOptions {
  /** The directory commands run in and below (resolved against this process's cwd). */
  readonly root: string
  /**
   * Executable names (looked up on the server's PATH, outside the root), paths, or `name=/path`.
   * `node` is pinned to the Node running this process (`node=<process.execPath>`).
   */
  readonly allow: ReadonlyArray<string>
  /** More environment variables (names or `PREFIX*`) to pass to commands, besides the defaults. */
  readonly env?: ReadonlyArray<string> | undefined
  /** Pass only `env`, not the default variables (PATH, HOME, LANG, TERM, CI, …). */
  readonly noDefaultEnv?: boolean | undefined
  readonly timeoutMs?: number | undefined
  readonly maxTimeoutMs?: number | undefined
  readonly maxOutputBytes?: number | undefined
  readonly killGraceMs?: number | undefined
  readonly progressIntervalMs?: number | undefined
  /** Commands running at once (default 4). */
  readonly maxConcurrent?: number | undefined
  /** Calls waiting for a slot (default 32); past it a call is refused at once. */
  readonly maxQueue?: number | undefined
  /** `cmd:regex` allow patterns (`--allow-args`): every argument of `cmd` must match one of its patterns. */
  readonly allowArgs?: ReadonlyArray<string> | undefined
  /**
   * The server process's own environment, on top of the few variables the MCP SDK passes on
   * (HOME, LOGNAME, PATH, SHELL, TERM, USER). Default PATH: this Node's directory first, so
   * that `node` is the Node running this flow.
   */
  readonly serverEnv?: Readonly<Record<string, string>> | undefined
  /**
   * Connect and call timeouts of the gateway. Default call timeout: the server's maximum command
   * timeout plus the kill grace plus 5 s, so the command's own timeout always answers first.
   */
  readonly limits?: ServerLimits | undefined
}

const requireHere = createRequire(import.meta.url)

/**
 * A gateway config entry that starts the command runner over stdio with this process's Node
 * binary and the `tsx` loader (both by absolute path: no `npx`, no network).
 *
 * @example
 * ```ts
 * const Gateway = GatewayLayer.layer({
 *   servers: { commands: commandRunnerServer({ root: ".", allow: ["npm", "npx", "node"], timeoutMs: 120_000 }) }
 * })
 * ```
 */
export const commandRunnerServer = (options: CommandRunnerOptions): StdioServerConfig => {
  const flag = (name: string, value: number | undefined): Array<string> => (value === undefined ? [] : [name, String(value)])
  const args = [
    "--import",
    pathToFileURL(requireHere.resolve("tsx")).href,
    commandRunnerEntry,
    "--root",
    path.resolve(options.root),
    "--allow",
    // `node` is this Node, pinned by path: the server does not look names up below its root.
    options.allow.map((name) => (name === "node" ? `node=${process.execPath}` : name)).join(","),
    ...(options.env !== undefined && options.env.length > 0 ? ["--env", options.env.join(",")] : []),
    ...(options.noDefaultEnv ? ["--no-default-env"] : []),
    ...flag("--timeout-ms", options.timeoutMs),
    ...flag("--max-timeout-ms", options.maxTimeoutMs),
    ...flag("--max-output-bytes", options.maxOutputBytes),
    ...flag("--kill-grace-ms", options.killGraceMs),
    ...flag("--progress-interval-ms", options.progressIntervalMs),
    ...flag("--max-concurrent", options.maxConcurrent),
    ...flag("--max-queue", options.maxQueue),
    ...(options.allowArgs ?? []).flatMap((spec) => ["--allow-args", spec])
  ]
  const env: Record<string, Redacted.Redacted<string>> = {
    PATH: Redacted.make([path.dirname(process.execPath), process.env["PATH"] ?? ""].filter((p) => p !== "").join(path.delimiter))
  }
  for (const [key, value] of Object.entries(options.serverEnv ?? {})) env[key] = Redacted.make(value)
  const callTimeoutMs = options.limits?.callTimeoutMs ??
    (options.maxTimeoutMs ?? 600_000) + (options.killGraceMs ?? 2_000) + 5_000
  return { type: "stdio", command: process.execPath, args, env, ...options.limits, callTimeoutMs }
}
