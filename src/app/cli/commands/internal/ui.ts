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
import { Context, Effect, Layer, Option, type Redacted } from "effect"
import { AuditLog } from "../../../../../dsl/ports/AuditLog.ts"
import { RunJournal } from "../../../../../dsl/ports/RunJournal.ts"
import { DatabaseError } from "../../../../runtime/cluster/DatabaseError.ts"
import * as PgAuditLog from "../../../../runtime/sql/postgres/PgAuditLog.ts"
import * as PgRunJournal from "../../../../runtime/sql/postgres/PgRunJournal.ts"
import { databaseOf } from "../../Flags.ts"
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
export const ui = Effect.fn("mcpflow.ui")(function*({ database, host, port, stateDir }: {
  readonly stateDir: string
  readonly port: number
  readonly host: string
  /** A cluster's Postgres journal instead of the state directory's. */
  readonly database?: Option.Option<Redacted.Redacted<string>> | undefined
}) {
  const cluster = databaseOf(database ?? Option.none(), process.env)
  yield* Effect.scoped(Effect.gen(function*() {
    const stores = Option.isSome(cluster) ? yield* clusterStores(cluster.value) : undefined
    const journal = stores?.journal
    const { url } = yield* Viewer.start({
      stateDir,
      port,
      host,
      journal,
      // The audit panel: the run's entries from the audit log next to the journal.
      audit: (runId) =>
        runId === undefined
          ? Effect.succeed([])
          : stores === undefined
          ? AuditTrail.runEntries(stateDir, runId)
          : stores.audit.entries({ runId })
    }).pipe(
      Effect.mapError((error) =>
        new CliExit({ code: ExitCode.Failure, message: `mcpflow ui cannot listen on ${host}:${port}: ${causeText(error.cause)}` })
      )
    )
    yield* printLines([
      `mcpflow ui: ${url}  (runs in ${journal?.file ?? stateDir}; Ctrl-C to stop)`,
      ...(Viewer.isLoopback(host) ? [] : [`warning: listening on ${host}, not loopback: anyone who can reach it sees your runs`])
    ])
    return yield* Effect.never
  }))
})

/** A cluster's Postgres journal and audit log for the viewer's lifetime; an unusable database is one line, exit 2. */
const clusterStores = (database: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const invalid = DatabaseError.checkUrl(database)
    if (invalid !== undefined) return yield* new CliExit({ code: ExitCode.Usage, message: invalid.message })
    const ClusterEngine = yield* Effect.promise(() => import("../../../../runtime/cluster/ClusterEngine.ts"))
    const context = yield* Layer.build(
      Layer.mergeAll(
        PgRunJournal.layer({ file: PgRunJournal.journalName(database) }),
        PgAuditLog.layer({ location: PgRunJournal.journalName(database) })
      ).pipe(Layer.provide(ClusterEngine.postgres({ database })))
    ).pipe(Effect.mapError((e) => new CliExit({ code: ExitCode.Usage, message: e.message })))
    return { journal: Context.get(context, RunJournal), audit: Context.get(context, AuditLog) }
  })
