/**
 * Renders the {@link HelpSnapshot} that `bin/mcpflow.js` answers `--version` and `--help` from
 * (see `FastPath.ts`): the full CLI, run in process once per covered argument list, without and
 * with colour, its stdout captured. Only answers that exit 0 with nothing on stderr are kept, so
 * the fast path never answers differently from the CLI. Run at build time by
 * `writeHelpSnapshot.ts`.
 *
 * @example
 * ```ts
 * import * as NodeServices from "@effect/platform-node/NodeServices"
 * import { Effect } from "effect"
 * import { renderHelpSnapshot } from "./HelpSnapshot.ts"
 *
 * const snapshot = await Effect.runPromise(renderHelpSnapshot.pipe(Effect.provide(NodeServices.layer)))
 * ```
 * @module
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { TerminalCapabilities } from "effect/cli"
import { format } from "node:util"
import packageJson from "../../../../package.json" with { type: "json" }
import { runArgs, subcommands } from "../Program.ts"
import { type HelpSnapshot, snapshotCases, snapshotKey, type SnapshotEntry } from "./FastPath.ts"

/**
 * What the CLI printed for `args`: stdout, whether anything went to stderr, and whether it
 * succeeded.
 */
const capture = Effect.fn("HelpSnapshot.capture")(function*(args: ReadonlyArray<string>, canColor: boolean) {
  let out = ""
  let err = ""
  const console: Console.Console = Object.assign(Object.create(globalThis.console), {
    log: (...parts: ReadonlyArray<unknown>) => void (out += `${format(...parts)}\n`),
    info: (...parts: ReadonlyArray<unknown>) => void (out += `${format(...parts)}\n`),
    error: (...parts: ReadonlyArray<unknown>) => void (err += `${format(...parts)}\n`),
    warn: (...parts: ReadonlyArray<unknown>) => void (err += `${format(...parts)}\n`)
  })
  const exit = yield* runArgs(args).pipe(
    Effect.provideService(Console.Console, console),
    Effect.provideService(TerminalCapabilities.TerminalCapabilities, { canColor, canAnimate: false, canPrompt: false }),
    Effect.exit
  )
  return Exit.isSuccess(exit) && err === "" ? out : undefined
})

/**
 * The snapshot of every argument list in `snapshotCases` the CLI answers with exit 0 and nothing
 * on stderr.
 *
 * @example
 * ```ts
 * const snapshot = yield* renderHelpSnapshot
 * snapshot.entries['["--version"]']?.plain // => "mcpflow v0.1.0\n"
 * ```
 */
export const renderHelpSnapshot = Effect.gen(function*() {
  const entries: Record<string, SnapshotEntry> = {}
  for (const args of snapshotCases(subcommands.map((command) => command.name))) {
    const plain = yield* capture(args, false)
    const color = yield* capture(args, true)
    if (plain !== undefined && color !== undefined) entries[snapshotKey(args)] = { plain, color }
  }
  const snapshot: HelpSnapshot = { version: packageJson.version, entries }
  return snapshot
})
