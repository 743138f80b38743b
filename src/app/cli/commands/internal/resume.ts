/**
 * `mcpflow resume <runId>`, apart from the other history commands (`history.ts`): it alone loads
 * a flow file and runs it through the gateway, so `runs`, `show`, `signal`, `cancel` and `prune`
 * start without the MCP SDK or a flow loader.
 *
 * @example
 * ```sh
 * npx mcpflow resume 3f2a… --json
 * ```
 * @module
 */
import * as path from "node:path"
import { Effect, Option, type Redacted } from "effect"
import { runFlow } from "../../../run/RunFlow.ts"
import { databaseOf, defaultRunSettings } from "../../Flags.ts"
import { printJson, printLines } from "../../output.ts"
import { type HistoryAt, usage, withRun } from "./history.ts"
import { load } from "./run.ts"
import { webhookOf } from "./webhook.ts"

/**
 * `mcpflow resume <runId>`: continues a run a crash left unfinished, from the flow file recorded
 * in the journal (or the one given), with the same flags as `mcpflow run`.
 *
 * @example
 * ```sh
 * npx mcpflow resume 3f2a… --json
 * ```
 */
export const resume = Effect.fn("mcpflow.resume")(function*({ database, file, runId, ...flags }: {
  readonly runId: string
  readonly file: Option.Option<string>
  readonly config: Option.Option<string>
  readonly sandbox: boolean
  readonly json: boolean
  readonly quiet: boolean
  readonly verbose: boolean
  readonly otlp: Option.Option<string>
  readonly stateDir: string
  readonly force: boolean
  /** A cluster's Postgres journal: its runners resume runs themselves. */
  readonly database?: Option.Option<Redacted.Redacted<string>> | undefined
}) {
  const at = { stateDir: flags.stateDir, database: databaseOf(database ?? Option.none(), process.env) } satisfies HistoryAt
  const record = yield* withRun(at, runId, (_, record) => Effect.succeed(record))
  if (Option.isSome(at.database)) {
    if (record.status !== "running") return yield* usage(`run ${record.runId} already ${record.status}; there is nothing to resume`)
    const message = `run ${record.runId} is a cluster's: its runners continue it on their own (a dead runner's runs move to another within seconds); nothing to resume. Follow it with  npx mcpflow show ${record.runId.slice(0, 8)} --follow --database …`
    if (flags.json) return yield* printJson({ runId: record.runId, resumed: false, detail: message })
    return yield* printLines([message])
  }
  const source = Option.getOrUndefined(file) ?? record.source
  if (source === undefined) return yield* usage(`run ${record.runId} does not record its flow file; pass --file flows/x.ts`)
  const webhook = yield* webhookOf(Option.none(), flags.config)
  const { flow, local, sandbox } = yield* load(source)
  yield* runFlow(flow, { ...defaultRunSettings, ...flags, resume: Option.some(record.runId) }, { sandbox, local, file: path.resolve(source), webhook })
})
