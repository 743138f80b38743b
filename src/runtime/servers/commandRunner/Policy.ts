/**
 * The command runner's rules, checked before anything is started: the command allowlist, the
 * root the working directory must stay in, the argument rules (deny lists, `--allow-args`,
 * path arguments inside the root), the timeout bounds and the environment filter.
 * A rule that refuses answers a {@link Refusal} naming itself.
 *
 * @example
 * ```ts
 * const checked = checkCommand(config, "rm") // => { _tag: "Refusal", rule: "command allowlist", message: '"rm" is not an allowed command (allowed: npm, node)' }
 * ```
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { checkAllowArgs, checkArgRules, scriptArgIndices } from "./ArgRules.ts"
import type { AllowedCommand, RunnerConfig } from "./Config.ts"
import { isWithin, outsidePathArg } from "./PathArgs.ts"

/**
 * Why a call was refused: the rule and a message for the caller.
 *
 * @example
 * ```ts
 * const r: Refusal = { _tag: "Refusal", rule: "root", message: "cwd '..' is outside the root" }
 * ```
 */
export interface Refusal {
  readonly _tag: "Refusal"
  readonly rule: "command allowlist" | "root" | "arguments" | "concurrency"
  readonly message: string
}

/**
 * A refusal of `rule`.
 *
 * @example
 * ```ts
 * refuse("root", "cwd '..' is outside the root")
 * ```
 */
export const refuse = (rule: Refusal["rule"], message: string): Refusal => ({ _tag: "Refusal", rule, message })

/**
 * Whether a value is a {@link Refusal}.
 *
 * @example
 * ```ts
 * isRefusal(checkCommand(config, "rm")) // => true
 * ```
 */
export const isRefusal = (u: unknown): u is Refusal =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === "Refusal"

/**
 * The allowlisted command a call names, compared exactly with the `--allow` entries: `npm`
 * does not match `/usr/bin/npm`, `./npm` or `npm ` (no lookup happens at call time).
 *
 * @example
 * ```ts
 * checkCommand(config, "node") // => { name: "node", path: "/usr/local/bin/node" }
 * ```
 */
export const checkCommand = (config: RunnerConfig, command: string): AllowedCommand | Refusal =>
  config.commands.find((c) => c.name === command) ??
    refuse(
      "command allowlist",
      `${JSON.stringify(command)} is not an allowed command (allowed: ${config.commands.map((c) => c.name).join(", ")})`
    )

/**
 * The most arguments a call may pass, and the longest one (bytes): far below what `spawn`
 * would refuse (E2BIG), far above what a build needs.
 *
 * @example
 * ```ts
 * ARG_LIMITS.maxArgBytes // => 65536
 * ```
 */
export const ARG_LIMITS = { maxArgs: 4_096, maxArgBytes: 65_536 } as const

/**
 * The argument rules, checked after {@link resolveCwd}: no NUL byte (it cannot reach a
 * process's argv; refused rather than letting `spawn` throw), the sizes in
 * {@link ARG_LIMITS}, the deny lists of the executables the runner knows (matched by the
 * command's name and by its executable's name), the `--allow-args` patterns of the command,
 * and no path argument outside the root (`cwd` is the checked real working directory).
 *
 * @example
 * ```ts
 * checkArguments(config, { name: "git", path: "/usr/bin/git" }, config.root, ["-c", "core.pager=sh"])
 * // => { _tag: "Refusal", rule: "arguments", message: 'git: "-c" is denied (-c: runs programs, …)' }
 * ```
 */
export const checkArguments = (
  config: Pick<RunnerConfig, "root" | "allowArgs">,
  command: AllowedCommand,
  cwd: string,
  args: ReadonlyArray<string>
): Refusal | undefined => {
  const nul = args.findIndex((a) => a.includes("\0"))
  if (nul !== -1) return refuse("arguments", `args[${nul}] contains a NUL byte`)
  if (args.length > ARG_LIMITS.maxArgs) return refuse("arguments", `${args.length} arguments, more than ${ARG_LIMITS.maxArgs}`)
  const long = args.findIndex((a) => Buffer.byteLength(a) > ARG_LIMITS.maxArgBytes)
  if (long !== -1) return refuse("arguments", `args[${long}] is longer than ${ARG_LIMITS.maxArgBytes} bytes`)
  const denied = checkArgRules(command.name, args, false, command.path)
  if (denied !== undefined) return refuse("arguments", denied)
  const unmatched = checkAllowArgs(config.allowArgs, command.name, args)
  if (unmatched !== undefined) return refuse("arguments", unmatched)
  const out = outsidePathArg(config.root, cwd, args, scriptArgIndices(command.name, args, command.path))
  return out === undefined
    ? undefined
    : refuse("arguments", `${command.name}: ${JSON.stringify(out.arg)} names a path outside the root`)
}

/**
 * The real working directory for a call's `cwd`, relative to the root (an absolute `cwd` is
 * taken as is). Refused, by the `root` rule, when it lies outside the root as written (`..`,
 * `/etc`), when its real path does (a symlink pointing outside), or when it is not an existing
 * directory. The returned path is the real path, so the process starts where it was checked.
 *
 * @example
 * ```ts
 * await resolveCwd(config, "packages/app") // => "/home/me/repo/packages/app"
 * await resolveCwd(config, "../other")     // => { _tag: "Refusal", rule: "root", message: "cwd \"../other\" is outside the root" }
 * ```
 */
export const resolveCwd = async (config: RunnerConfig, cwd: string | undefined): Promise<string | Refusal> => {
  if (cwd === undefined || cwd === "" || cwd === ".") return config.root
  const shown = JSON.stringify(cwd)
  if (cwd.includes("\0")) return refuse("root", `cwd ${shown} contains a NUL byte`)
  const candidate = path.resolve(config.root, cwd)
  if (!isWithin(config.root, candidate)) return refuse("root", `cwd ${shown} is outside the root`)
  let real: string
  try {
    real = await fs.promises.realpath(candidate)
  } catch {
    return refuse("root", `cwd ${shown} does not exist below the root`)
  }
  if (!isWithin(config.root, real)) {
    return refuse("root", `cwd ${shown} resolves (through a symlink) to a directory outside the root`)
  }
  const stat = await fs.promises.stat(real).catch(() => undefined)
  if (stat === undefined || !stat.isDirectory()) return refuse("root", `cwd ${shown} is not a directory`)
  return real
}

/**
 * The timeout a call runs with: its own `timeoutMs`, else the server's default, never above
 * the server's maximum.
 *
 * @example
 * ```ts
 * effectiveTimeout({ timeoutMs: 60_000, maxTimeoutMs: 600_000 }, 300) // => 300
 * effectiveTimeout({ timeoutMs: 60_000, maxTimeoutMs: 600_000 }, 10 ** 9) // => 600000
 * ```
 */
export const effectiveTimeout = (
  config: Pick<RunnerConfig, "timeoutMs" | "maxTimeoutMs">,
  requested: number | undefined
): number => Math.min(requested ?? config.timeoutMs, config.maxTimeoutMs)

/**
 * Whether a variable name matches an allowlist pattern: the exact name, or `PREFIX*`.
 *
 * @example
 * ```ts
 * envNameAllowed(["PATH", "LC_*"], "LC_ALL") // => true
 * ```
 */
export const envNameAllowed = (patterns: ReadonlyArray<string>, name: string): boolean =>
  patterns.some((p) => (p.endsWith("*") ? name.startsWith(p.slice(0, -1)) : name === p))

/**
 * The environment a command gets: only the allowlisted variables of `env` (the server's own
 * environment), and none whose value is an exported shell function (`() {…}`).
 *
 * @example
 * ```ts
 * filterEnv(["PATH"], { PATH: "/usr/bin", AWS_SECRET_ACCESS_KEY: "…" }) // => { PATH: "/usr/bin" }
 * ```
 */
export const filterEnv = (
  patterns: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.startsWith("()")) continue
    if (envNameAllowed(patterns, name)) out[name] = value
  }
  return out
}
