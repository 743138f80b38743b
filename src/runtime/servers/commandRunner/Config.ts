/**
 * The command runner's configuration: parsed from its command line (and `COMMAND_RUNNER_*`
 * environment variables), then resolved once at start — the root to its real path, every
 * allowlisted command to the absolute path of the executable it names.
 *
 * @example
 * ```ts
 * const options = parseOptions(["--root", ".", "--allow", "npm,node"], process.env)
 * const config = await resolveConfig(options) // { root: "/home/me/repo", commands: [{ name: "npm", path: "/usr/lib/node_modules/npm/bin/npm-cli.js" }, …], … }
 * ```
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { type AllowArgsPattern, parseAllowArgs } from "./ArgRules.ts"
import { safePathEntry } from "./ChildPath.ts"

/**
 * Environment variables passed to commands unless the server is told otherwise. A trailing `*`
 * matches any suffix (`LC_*`). Nothing else of the server's environment reaches a command.
 *
 * @example
 * ```ts
 * DEFAULT_ENV_ALLOW.includes("PATH") // => true
 * ```
 */
export const DEFAULT_ENV_ALLOW: ReadonlyArray<string> = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "LC_*",
  "TERM",
  "TZ",
  "TMPDIR",
  "CI",
  "NO_COLOR",
  "FORCE_COLOR",
  "NODE_ENV"
]

/**
 * The limits used when neither the command line nor the environment sets them.
 *
 * @example
 * ```ts
 * DEFAULT_LIMITS.timeoutMs // => 60000
 * ```
 */
export const DEFAULT_LIMITS = {
  /** A command's timeout when the call gives none. */
  timeoutMs: 60_000,
  /** The longest timeout a call may ask for. */
  maxTimeoutMs: 600_000,
  /** The most output kept per stream (stdout, stderr), in bytes. */
  maxOutputBytes: 1_048_576,
  /** How long a timed-out or cancelled command has between SIGTERM and SIGKILL. */
  killGraceMs: 2_000,
  /** The least time between two progress notifications of one call. */
  progressIntervalMs: 1_000,
  /** Commands running at once; more calls wait in the queue. */
  maxConcurrent: 4,
  /** Calls waiting for a slot; past it a call is rejected at once. */
  maxQueue: 32
} as const

/**
 * The server's options as given, before anything is resolved.
 *
 * @example
 * ```ts
 * const o: RunnerOptions = { root: ".", allow: ["npm"], envAllow: [...DEFAULT_ENV_ALLOW], allowArgs: [], ...DEFAULT_LIMITS }
 * ```
 */
export interface RunnerOptions {
  /** The directory commands run in and below. */
  readonly root: string
  /** Executable names (looked up on PATH) or paths. */
  readonly allow: ReadonlyArray<string>
  /** Names (or `PREFIX*` patterns) of environment variables passed to commands. */
  readonly envAllow: ReadonlyArray<string>
  /** `cmd:regex` allow patterns: every argument of `cmd` must match one of its patterns. */
  readonly allowArgs: ReadonlyArray<string>
  readonly timeoutMs: number
  readonly maxTimeoutMs: number
  readonly maxOutputBytes: number
  readonly killGraceMs: number
  readonly progressIntervalMs: number
  readonly maxConcurrent: number
  readonly maxQueue: number
}

/**
 * One allowlisted command: the name a call uses and the executable it runs.
 *
 * @example
 * ```ts
 * const c: AllowedCommand = { name: "node", path: "/usr/local/bin/node" }
 * ```
 */
export interface AllowedCommand {
  /** Exactly as given in `--allow`: a call's `command` must equal it. */
  readonly name: string
  /** The real absolute path of the executable, fixed at start. */
  readonly path: string
}

/**
 * The resolved configuration the server runs with.
 *
 * @example
 * ```ts
 * const config: RunnerConfig = await resolveConfig(parseOptions(["--root", "/srv/repo", "--allow", "git"], {}))
 * ```
 */
export interface RunnerConfig extends Omit<RunnerOptions, "root" | "allow" | "allowArgs"> {
  /** The real path of the root directory. */
  readonly root: string
  readonly commands: ReadonlyArray<AllowedCommand>
  readonly allowArgs: ReadonlyArray<AllowArgsPattern>
}

/**
 * A configuration the server cannot start with; `main.ts` prints it and exits with code 2.
 *
 * @example
 * ```ts
 * try { parseOptions([], {}) } catch (e) { if (e instanceof ConfigError) console.error(e.message) }
 * ```
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError"
}

/**
 * The command line help.
 *
 * @example
 * ```ts
 * process.stdout.write(USAGE)
 * ```
 */
export const USAGE = `mcpflow command runner: an MCP server (stdio) that runs allowlisted commands below a root.

Usage: node --import tsx src/runtime/servers/commandRunner/Bin.ts --root <dir> --allow <cmd,cmd,...> [options]

  --root <dir>                 commands run in this directory or below it    (COMMAND_RUNNER_ROOT)
  --allow <cmd,...>            executable names (looked up on PATH outside the root), paths, or
                               name=path (pins a name to an executable)      (COMMAND_RUNNER_ALLOW)
  --env <NAME,PREFIX*,...>     more environment variables to pass through    (COMMAND_RUNNER_ENV)
  --no-default-env             pass only the --env variables, not the defaults:
                               ${DEFAULT_ENV_ALLOW.join(" ")}
  --timeout-ms <n>             default timeout per command (${DEFAULT_LIMITS.timeoutMs})     (COMMAND_RUNNER_TIMEOUT_MS)
  --max-timeout-ms <n>         the most a call may ask for (${DEFAULT_LIMITS.maxTimeoutMs})   (COMMAND_RUNNER_MAX_TIMEOUT_MS)
  --max-output-bytes <n>       output kept per stream (${DEFAULT_LIMITS.maxOutputBytes})   (COMMAND_RUNNER_MAX_OUTPUT_BYTES)
  --kill-grace-ms <n>          SIGTERM to SIGKILL delay (${DEFAULT_LIMITS.killGraceMs})      (COMMAND_RUNNER_KILL_GRACE_MS)
  --progress-interval-ms <n>   least time between progress notifications (${DEFAULT_LIMITS.progressIntervalMs})
  --max-concurrent <n>         commands running at once (${DEFAULT_LIMITS.maxConcurrent})            (COMMAND_RUNNER_MAX_CONCURRENT)
  --max-queue <n>              calls waiting for a slot; past it rejected at once (${DEFAULT_LIMITS.maxQueue}) (COMMAND_RUNNER_MAX_QUEUE)
  --allow-args <cmd:regex>     every argument of cmd must match regex (anchored); repeatable
  --help                       print this help
`

const listOf = (value: string): Array<string> =>
  value.split(",").map((s) => s.trim()).filter((s) => s !== "")

/** `--timeout-ms`, `--max-timeout-ms` and `--max-concurrent` must be at least 1, the others at least 0. */
const minimum = (key: keyof typeof DEFAULT_LIMITS): number =>
  key === "timeoutMs" || key === "maxTimeoutMs" || key === "maxConcurrent" ? 1 : 0

const integerOf = (flag: string, value: string, min: number): number => {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < min) throw new ConfigError(`${flag} must be an integer ≥ ${min}, got '${value}'`)
  return n
}

/**
 * Reads the options from command line arguments (`process.argv.slice(2)`), falling back on
 * `COMMAND_RUNNER_*` environment variables (a flag given on the command line replaces its
 * variable; `--allow` and `--env` may be repeated); throws {@link ConfigError} on anything unknown or
 * malformed, and when `--root` or `--allow` is missing.
 *
 * @example
 * ```ts
 * parseOptions(["--root", ".", "--allow", "npm,npx", "--allow", "node", "--timeout-ms", "5000"], {})
 * // => { root: ".", allow: ["npm", "npx", "node"], timeoutMs: 5000, … }
 * ```
 */
export const parseOptions = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): RunnerOptions => {
  let root = env["COMMAND_RUNNER_ROOT"]
  const cliAllow: Array<string> = []
  const cliEnv: Array<string> = []
  const allowArgs: Array<string> = []
  let defaultEnv = true
  const limits: Record<keyof typeof DEFAULT_LIMITS, number> = { ...DEFAULT_LIMITS }
  const limitFlags: Record<string, keyof typeof DEFAULT_LIMITS> = {
    "--timeout-ms": "timeoutMs",
    "--max-timeout-ms": "maxTimeoutMs",
    "--max-output-bytes": "maxOutputBytes",
    "--kill-grace-ms": "killGraceMs",
    "--progress-interval-ms": "progressIntervalMs",
    "--max-concurrent": "maxConcurrent",
    "--max-queue": "maxQueue"
  }
  const limitEnv: Record<string, keyof typeof DEFAULT_LIMITS> = {
    COMMAND_RUNNER_TIMEOUT_MS: "timeoutMs",
    COMMAND_RUNNER_MAX_TIMEOUT_MS: "maxTimeoutMs",
    COMMAND_RUNNER_MAX_OUTPUT_BYTES: "maxOutputBytes",
    COMMAND_RUNNER_KILL_GRACE_MS: "killGraceMs",
    COMMAND_RUNNER_MAX_CONCURRENT: "maxConcurrent",
    COMMAND_RUNNER_MAX_QUEUE: "maxQueue"
  }
  for (const [name, key] of Object.entries(limitEnv)) {
    const value = env[name]
    if (value !== undefined) limits[key] = integerOf(name, value, minimum(key))
  }

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined]
    const value = (): string => {
      if (inline !== undefined) return inline
      const next = argv[++i]
      if (next === undefined) throw new ConfigError(`${flag} needs a value`)
      return next
    }
    if (flag === "--root") root = value()
    else if (flag === "--allow") cliAllow.push(...listOf(value()))
    else if (flag === "--env") cliEnv.push(...listOf(value()))
    else if (flag === "--allow-args") allowArgs.push(value())
    else if (flag === "--no-default-env") defaultEnv = false
    else if (flag in limitFlags) {
      const key = limitFlags[flag]!
      limits[key] = integerOf(flag, value(), minimum(key))
    } else throw new ConfigError(`unknown argument '${arg}'\n\n${USAGE}`)
  }

  // The command line wins over the environment, list by list.
  const allow = cliAllow.length > 0 ? cliAllow : listOf(env["COMMAND_RUNNER_ALLOW"] ?? "")
  const extraEnv = cliEnv.length > 0 ? cliEnv : listOf(env["COMMAND_RUNNER_ENV"] ?? "")
  if (root === undefined || root === "") throw new ConfigError(`--root is required\n\n${USAGE}`)
  if (allow.length === 0) throw new ConfigError(`--allow needs at least one command\n\n${USAGE}`)
  if (limits.timeoutMs > limits.maxTimeoutMs) {
    throw new ConfigError(`--timeout-ms (${limits.timeoutMs}) is above --max-timeout-ms (${limits.maxTimeoutMs})`)
  }
  for (const pattern of extraEnv) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*\*?$/.test(pattern)) throw new ConfigError(`--env: '${pattern}' is not a variable name or PREFIX* pattern`)
  }
  for (const spec of allowArgs) {
    try {
      parseAllowArgs(spec)
    } catch (error) {
      throw new ConfigError(`--allow-args: ${(error as Error).message}`)
    }
  }
  return {
    root,
    allow: [...new Set(allow)],
    allowArgs,
    envAllow: [...new Set([...(defaultEnv ? DEFAULT_ENV_ALLOW : []), ...extraEnv])],
    ...limits
  }
}

const isExecutableFile = (file: string): boolean => {
  try {
    if (!fs.statSync(file).isFile()) return false
    fs.accessSync(file, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The real absolute path of the executable an allowlist entry names: a name without `/` is
 * looked up in the directories of `searchPath` that a command's PATH would keep (absolute,
 * outside `root`, not world-writable: a relative entry depends on the working directory, and
 * the caller can plant files below the root); a path is resolved against the server's
 * working directory and taken wherever it is (the operator named it). Throws
 * {@link ConfigError} when nothing executable is found.
 *
 * @example
 * ```ts
 * resolveExecutable("node", "/usr/local/bin:/usr/bin", "/repo") // => "/usr/local/bin/node"
 * ```
 */
export const resolveExecutable = (entry: string, searchPath: string, root: string): string => {
  if (entry.includes("\0")) throw new ConfigError(`--allow: '${entry}' contains a NUL byte`)
  if (entry.includes("/") || entry.includes(path.sep)) {
    const file = path.resolve(entry)
    if (!isExecutableFile(file)) throw new ConfigError(`--allow: '${entry}' is not an executable file`)
    return fs.realpathSync(file)
  }
  for (const dir of searchPath.split(path.delimiter)) {
    if (!safePathEntry(root, dir)) continue
    const file = path.join(dir, entry)
    if (isExecutableFile(file)) return fs.realpathSync(file)
  }
  throw new ConfigError(`--allow: '${entry}' was not found on PATH`)
}

/**
 * Resolves the options once, at start: the root to its real path (it must be a directory) and
 * every allowlisted command to its executable, looked up on `searchPath` (the server's PATH).
 * Throws {@link ConfigError}.
 *
 * @example
 * ```ts
 * const config = resolveConfig(parseOptions(["--root", ".", "--allow", "node"], process.env))
 * config.commands // => [{ name: "node", path: "/usr/local/bin/node" }]
 * ```
 */
export const resolveConfig = (options: RunnerOptions, searchPath: string = process.env["PATH"] ?? ""): RunnerConfig => {
  let root: string
  try {
    root = fs.realpathSync(path.resolve(options.root))
  } catch {
    throw new ConfigError(`--root: '${options.root}' does not exist`)
  }
  if (!fs.statSync(root).isDirectory()) throw new ConfigError(`--root: '${options.root}' is not a directory`)
  const { allow, allowArgs, root: _root, ...rest } = options
  return {
    ...rest,
    root,
    allowArgs: allowArgs.map(parseAllowArgs),
    commands: allow.map((entry) => {
      // `name=path` pins a name to an executable by path (`node=/repo/node_modules/node/bin/node`).
      const at = entry.indexOf("=")
      const name = at === -1 ? entry : entry.slice(0, at)
      if (at !== -1 && (name === "" || name.includes("/") || !entry.slice(at + 1).includes("/"))) {
        throw new ConfigError(`--allow: '${entry}' is not name=/path/to/executable`)
      }
      return { name, path: resolveExecutable(at === -1 ? entry : entry.slice(at + 1), searchPath, root) }
    })
  }
}
