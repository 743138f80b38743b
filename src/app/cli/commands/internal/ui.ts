/**
 * Runs `mcpflow ui`: starts the run viewer (`src/app/viewer/Viewer.ts`), prints its URL and
 * serves until interrupted.
 *
 * @example
 * ```ts
 * ui({ stateDir: ".mcpflow", port: 0, host: "127.0.0.1" }) // prints "mcpflow ui: http://127.0.0.1:41873/ …"
 * ```
 * @module
 */
import { Effect } from "effect"
import * as AuditTrail from "../../../../runtime/audit/AuditTrail.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import * as Viewer from "../../../viewer/Viewer.ts"
import { CliExit, printLines } from "../../output.ts"

const causeText = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * `mcpflow ui [--state-dir] [--port] [--host]` (see `../ui.ts`).
 *
 * @example
 * ```ts
 * ui({ stateDir: ".mcpflow", port: 7070, host: "127.0.0.1" })
 * ```
 */
export const ui = Effect.fn("mcpflow.ui")(function*({ host, port, stateDir }: {
  readonly stateDir: string
  readonly port: number
  readonly host: string
}) {
  yield* Effect.scoped(Effect.gen(function*() {
    const { url } = yield* Viewer.start({
      stateDir,
      port,
      host,
      // The audit panel: the run's entries from the audit log next to the journal.
      audit: (runId) => (runId === undefined ? Effect.succeed([]) : AuditTrail.runEntries(stateDir, runId))
    }).pipe(
      Effect.mapError((error) =>
        new CliExit({ code: ExitCode.Failure, message: `mcpflow ui cannot listen on ${host}:${port}: ${causeText(error.cause)}` })
      )
    )
    yield* printLines([
      `mcpflow ui: ${url}  (runs in ${stateDir}; Ctrl-C to stop)`,
      ...(Viewer.isLoopback(host) ? [] : [`warning: listening on ${host}, not loopback: anyone who can reach it sees your runs`])
    ])
    return yield* Effect.never
  }))
})
