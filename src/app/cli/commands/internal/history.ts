/**
 * The run history commands: `mcpflow runs` lists journaled runs, `mcpflow show <runId>` prints
 * one run's step tree (timings, attempts, failures) from the journal, `mcpflow resume <runId>`
 * continues a run a crash left unfinished.
 *
 * @example
 * ```sh
 * npx mcpflow runs
 * npx mcpflow show 3f2a…
 * npx mcpflow resume 3f2a…
 * ```
 * @module
 */
import * as path from "node:path"
import { existsSync } from "node:fs"
import { Effect, Option } from "effect"
import * as Engines from "../../../../runtime/engine/Engines.ts"
import { fold } from "../../../../../dsl/flow/EventFold.ts"
import { redactEnvelopes } from "../../../../../dsl/flow/internal/Sealing.ts"
import { type JournalError, type RunRecord, RunJournal } from "../../../../../dsl/ports/RunJournal.ts"
import { layer as journalLayer } from "../../../../runtime/engine/SqliteRunJournal.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { runFlow } from "../../../run/RunFlow.ts"
import * as Summary from "../../../run/Summary.ts"
import { formatMs } from "../../../run/Text.ts"
import * as Tree from "../../../run/Tree.ts"
import { defaultRunSettings } from "../../Flags.ts"
import { CliExit, columns, printJson, printLines } from "../../output.ts"
import { load } from "./run.ts"

/** Runs `f` with the run history of a state directory (no engine, no lock). */
const withHistory = <A>(
  stateDir: string,
  f: (journal: RunJournal["Service"]) => Effect.Effect<A, JournalError>
): Effect.Effect<A, CliExit> =>
  Effect.gen(function*() {
    const file = Engines.journalFile(stateDir)
    if (!existsSync(file)) {
      return yield* new CliExit({ code: ExitCode.Usage, message: `no journal in ${stateDir} (${file} does not exist)` })
    }
    return yield* RunJournal.use(f).pipe(
      Effect.provide(journalLayer(file)),
      Effect.mapError((e) => new CliExit({ code: ExitCode.Usage, message: e.message }))
    )
  })

/** A run as the history shows it: its sensitive input fields (sealed in the journal) as `<redacted>`. */
const shown = (record: RunRecord): RunRecord => ({ ...record, input: redactEnvelopes(record.input) })

const usage = (message: string) => new CliExit({ code: ExitCode.Usage, message })

const when = (ms: number | undefined) => (ms === undefined ? "—" : new Date(ms).toISOString().replace("T", " ").slice(0, 19))
const took = (r: RunRecord) => (r.finishedAt === undefined ? "—" : formatMs(r.finishedAt - r.startedAt))

/**
 * `mcpflow runs [--state-dir .mcpflow] [--json]`: the journaled runs, newest first.
 *
 * @example
 * ```sh
 * npx mcpflow runs --json | jq -r '.[] | select(.status == "running") | .runId'
 * ```
 */
export const runs = Effect.fn("mcpflow.runs")(function*({ json, stateDir }: { readonly json: boolean; readonly stateDir: string }) {
  const list = yield* withHistory(stateDir, (journal) => journal.list)
  if (json) return yield* printJson(list.map(shown))
  if (list.length === 0) return yield* printLines([`no runs in ${stateDir}`])
  yield* printLines(
    columns([
      ["RUN", "FLOW", "STATUS", "STARTED", "DURATION", "FAILED STEP"],
      ...list.map((r) => [r.runId, r.flow, r.status, when(r.startedAt), took(r), r.failedStep ?? ""])
    ])
  )
})

/**
 * `mcpflow show <runId> [--state-dir] [--json]`: one run's step tree and summary from the journal.
 *
 * @example
 * ```sh
 * npx mcpflow show 3f2a… --json
 * ```
 */
export const show = Effect.fn("mcpflow.show")(function*({ json, runId, stateDir }: {
  readonly runId: string
  readonly json: boolean
  readonly stateDir: string
}) {
  const [record, events] = yield* withHistory(stateDir, (journal) => Effect.all([journal.get(runId), journal.events(runId)]))
  if (json) {
    return yield* printJson({ ...shown(record), events })
  }
  const state = fold(events)
  const last = events.at(-1)?.at ?? record.startedAt
  yield* printLines([
    `run ${record.runId} · flow ${record.flow} · ${record.status}${record.source ? ` · ${record.source}` : ""}`,
    "",
    ...Tree.treeLines(state, { now: last, color: false, level: "normal" }),
    "",
    ...(record.status === "running"
      ? [`unfinished (its process stopped): resume with  npx mcpflow resume ${record.runId}`]
      : Summary.summaryLines(Summary.summarize(state), { color: false }))
  ])
})

/**
 * `mcpflow resume <runId>`: continues a run a crash left unfinished, from the flow file recorded
 * in the journal (or the one given), with the same flags as `mcpflow run`.
 *
 * @example
 * ```sh
 * npx mcpflow resume 3f2a… --json
 * ```
 */
export const resume = Effect.fn("mcpflow.resume")(function*({ file, runId, ...flags }: {
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
}) {
  const record = yield* withHistory(flags.stateDir, (journal) => journal.get(runId))
  const source = Option.getOrUndefined(file) ?? record.source
  if (source === undefined) return yield* usage(`run ${runId} does not record its flow file; pass --file flows/x.ts`)
  const { flow, local, sandbox } = yield* load(source)
  yield* runFlow(flow, { ...defaultRunSettings, ...flags, resume: Option.some(runId) }, { sandbox, local, file: path.resolve(source) })
})

/**
 * `mcpflow signal <runId> <name> [--payload '{…}']`: records a signal for a run waiting in
 * `Flow.waitFor`; the process running the run delivers it (at once if it is running, else when
 * the run is resumed).
 *
 * @example
 * ```sh
 * npx mcpflow signal 3f2a… approval --payload '{"approvedBy":"ana"}'
 * ```
 */
export const signal = Effect.fn("mcpflow.signal")(function*({ name, payload, runId, stateDir }: {
  readonly runId: string
  readonly name: string
  readonly payload: unknown
  readonly stateDir: string
}) {
  const record = yield* withHistory(stateDir, (journal) =>
    Effect.flatMap(journal.get(runId), (r) => Effect.as(journal.signal(runId, name, payload), r)))
  if (record.status !== "running") return yield* usage(`run ${runId} already ${record.status}; nothing waits for ${name}`)
  yield* printLines([`signal ${name} recorded for run ${runId}; the process running it delivers it (or the next resume does)`])
})
