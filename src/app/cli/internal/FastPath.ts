/**
 * The start-up fast path of `bin/mcpflow.js`: `mcpflow --version`, `mcpflow --help` and
 * `mcpflow <command> --help` answered from a snapshot of the CLI's own output, rendered at build
 * time by `HelpSnapshot.ts` (`dist/help-snapshot.json`), without loading Effect. Anything else —
 * or a missing snapshot, or `MCPFLOW_FULL_CLI=1` — falls through to the full CLI. Kept free of
 * imports so the bin can load it in a few milliseconds.
 *
 * @example
 * ```ts
 * import { fastOutput } from "./FastPath.ts"
 * const text = fastOutput(snapshot, ["--version"], process.env, process.stdout.isTTY === true)
 * if (text !== undefined) process.stdout.write(text)
 * ```
 * @module
 */

/**
 * What the full CLI printed on stdout for one argument list (with exit code 0 and nothing on
 * stderr), without and with colour.
 *
 * @example
 * ```ts
 * const entry: SnapshotEntry = { plain: "mcpflow v0.1.0\n", color: "mcpflow v0.1.0\n" }
 * ```
 */
export interface SnapshotEntry {
  readonly plain: string
  readonly color: string
}

/**
 * The rendered help and version output, keyed by {@link snapshotKey} of the arguments.
 *
 * @example
 * ```ts
 * const snapshot: HelpSnapshot = { version: "0.1.0", entries: {} }
 * ```
 */
export interface HelpSnapshot {
  readonly version: string
  readonly entries: Readonly<Record<string, SnapshotEntry>>
}

/**
 * The key of an argument list in a {@link HelpSnapshot}: its JSON, so that `["run --help"]` (one
 * argument) and `["run", "--help"]` differ.
 *
 * @example
 * ```ts
 * snapshotKey(["run", "--help"]) // => '["run","--help"]'
 * ```
 */
export const snapshotKey = (args: ReadonlyArray<string>): string => JSON.stringify(args)

/**
 * The argument lists the snapshot covers: none, `--help`/`-h`, `--version`/`-v`, and
 * `<command> --help`/`-h` for each subcommand.
 *
 * @example
 * ```ts
 * snapshotCases(["run"]).length // => 7
 * ```
 */
export const snapshotCases = (commands: ReadonlyArray<string>): ReadonlyArray<ReadonlyArray<string>> => [
  [],
  ["--help"],
  ["-h"],
  ["--version"],
  ["-v"],
  ...commands.flatMap((command) => [[command, "--help"], [command, "-h"]])
]

const present = (value: string | undefined): value is string => value !== undefined && value.length > 0

/**
 * Whether the CLI colours its help: the rule of `effect/cli`'s `TerminalCapabilities` (`TERM=dumb`
 * never; a non-empty `NO_COLOR` never; a `FORCE_COLOR` other than `0`/`false` always; else on a
 * terminal).
 *
 * @example
 * ```ts
 * canColor({ NO_COLOR: "1", FORCE_COLOR: "1" }, true) // => false
 * canColor({ FORCE_COLOR: "1" }, false)               // => true
 * canColor({}, true)                                  // => true
 * ```
 */
export const canColor = (env: Readonly<Record<string, string | undefined>>, stdoutIsTerminal: boolean): boolean => {
  if (env["TERM"] === "dumb" || present(env["NO_COLOR"])) return false
  const force = env["FORCE_COLOR"]
  if (present(force) && force !== "0" && force.toLowerCase() !== "false") return true
  return stdoutIsTerminal
}

/**
 * What to print for `args` from `snapshot`, or `undefined` when the full CLI must answer (an
 * argument list the snapshot does not hold, no snapshot, or `MCPFLOW_FULL_CLI=1`).
 *
 * @example
 * ```ts
 * const snapshot = { version: "0.1.0", entries: { '["--version"]': { plain: "mcpflow v0.1.0\n", color: "mcpflow v0.1.0\n" } } }
 * fastOutput(snapshot, ["--version"], {}, false)            // => "mcpflow v0.1.0\n"
 * fastOutput(snapshot, ["tools"], {}, false)                // => undefined
 * fastOutput(snapshot, ["--version"], { MCPFLOW_FULL_CLI: "1" }, false) // => undefined
 * ```
 */
export const fastOutput = (
  snapshot: HelpSnapshot | undefined,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>,
  stdoutIsTerminal: boolean
): string | undefined => {
  if (snapshot === undefined || present(env["MCPFLOW_FULL_CLI"])) return undefined
  const key = snapshotKey(args)
  const entry = Object.hasOwn(snapshot.entries, key) ? snapshot.entries[key] : undefined
  if (entry === undefined) return undefined
  return canColor(env, stdoutIsTerminal) ? entry.color : entry.plain
}
