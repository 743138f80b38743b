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
import { Argument, Command, Flag } from "effect/cli"
import * as Engines from "../../../runtime/engine/Engines.ts"
import { type JournalError, type RunRecord, RunJournal } from "../../../../dsl/ports/RunJournal.ts"
import { layer as journalLayer } from "../../../runtime/engine/SqliteRunJournal.ts"
import { RunExitCode } from "../../run/ExitCode.ts"
import * as RunFlags from "../../run/Flags.ts"
import { readInput } from "../../run/Flags.ts"
import * as Model from "../../run/Model.ts"
import { runFlow } from "../../run/RunFlow.ts"
import * as Summary from "../../run/Summary.ts"
import * as Tree from "../../run/Tree.ts"
import { CliExit, columns, printJson, printLines } from "../output.ts"
import { load } from "./run.ts"

/** Runs `f` with the run history of a state directory (no engine, no lock). */
const withHistory = <A>(
  stateDir: string,
  f: (journal: RunJournal["Service"]) => Effect.Effect<A, JournalError>
): Effect.Effect<A, CliExit> =>
  Effect.gen(function*() {
    const file = Engines.journalFile(stateDir)
    if (!existsSync(file)) {
      return yield* new CliExit({ code: RunExitCode.Usage, message: `no journal in ${stateDir} (${file} does not exist)` })
    }
    return yield* RunJournal.use(f).pipe(
      Effect.provide(journalLayer(file)),
      Effect.mapError((e) => new CliExit({ code: RunExitCode.Usage, message: e.message }))
    )
  })

const usage = (message: string) => new CliExit({ code: RunExitCode.Usage, message })

const when = (ms: number | undefined) => (ms === undefined ? "—" : new Date(ms).toISOString().replace("T", " ").slice(0, 19))
const took = (r: RunRecord) => (r.finishedAt === undefined ? "—" : Model.formatMs(r.finishedAt - r.startedAt))

/**
 * `mcpflow runs [--state-dir .mcpflow] [--json]`: the journaled runs, newest first.
 *
 * @example
 * ```sh
 * npx mcpflow runs --json | jq -r '.[] | select(.status == "running") | .runId'
 * ```
 */
export const runs = Command.make(
  "runs",
  { stateDir: RunFlags.stateDir, json: Flag.Boolean("json").pipe(Flag.withDescription("Print the runs as JSON"), Flag.withDefault(false)) },
  Effect.fn("mcpflow.runs")(function*({ json, stateDir }) {
    const list = yield* withHistory(stateDir, (journal) => journal.list)
    if (json) return yield* printJson(list)
    if (list.length === 0) return yield* printLines([`no runs in ${stateDir}`])
    yield* printLines(
      columns([
        ["RUN", "FLOW", "STATUS", "STARTED", "DURATION", "FAILED STEP"],
        ...list.map((r) => [r.runId, r.flow, r.status, when(r.startedAt), took(r), r.failedStep ?? ""])
      ])
    )
  })
).pipe(
  Command.withShortDescription("List journaled runs"),
  Command.withDescription(
    "List the runs journaled in the state directory (default .mcpflow): id, flow, status (running means unfinished: the process died; resume it), start time, duration and the failing step."
  )
)

/**
 * `mcpflow show <runId> [--state-dir] [--json]`: one run's step tree and summary from the journal.
 *
 * @example
 * ```sh
 * npx mcpflow show 3f2a… --json
 * ```
 */
export const show = Command.make(
  "show",
  {
    runId: Argument.String("runId").pipe(Argument.withDescription("The run's id (see mcpflow runs)")),
    stateDir: RunFlags.stateDir,
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the run record and its events as JSON"), Flag.withDefault(false))
  },
  Effect.fn("mcpflow.show")(function*({ json, runId, stateDir }) {
    const [record, events] = yield* withHistory(stateDir, (journal) => Effect.all([journal.get(runId), journal.events(runId)]))
    if (json) {
      return yield* printJson({ ...record, events })
    }
    const model = Model.fold(events)
    const last = events.at(-1)?.at ?? record.startedAt
    yield* printLines([
      `run ${record.runId} · flow ${record.flow} · ${record.status}${record.source ? ` · ${record.source}` : ""}`,
      "",
      ...Tree.treeLines(model, { now: last, color: false, level: "normal" }),
      "",
      ...(record.status === "running"
        ? [`unfinished (its process stopped): resume with  npx mcpflow resume ${record.runId}`]
        : Summary.summaryLines(Summary.summarize(model), { color: false }))
    ])
  })
).pipe(
  Command.withShortDescription("Show a journaled run"),
  Command.withDescription(
    "Print a finished or interrupted run's step tree with timings, attempts and the failure cause, read from the journal (no server is contacted). Outputs are not printed: use --json for the full event list."
  )
)

/**
 * `mcpflow resume <runId>`: continues a run a crash left unfinished, from the flow file recorded
 * in the journal (or the one given), with the same flags as `mcpflow run`.
 *
 * @example
 * ```sh
 * npx mcpflow resume 3f2a… --json
 * ```
 */
export const resume = Command.make(
  "resume",
  {
    runId: Argument.String("runId").pipe(Argument.withDescription("The run's id (see mcpflow runs)")),
    file: Flag.String("file").pipe(
      Flag.withMetavar("flow.ts"),
      Flag.withDescription("The flow file, when it moved since the run started (default: the one recorded in the journal)"),
      Flag.optional
    ),
    ...RunFlags.all
  },
  Effect.fn("mcpflow.resume")(function*({ file, runId, ...settings }) {
    const record = yield* withHistory(settings.stateDir, (journal) => journal.get(runId))
    const source = Option.getOrUndefined(file) ?? record.source
    if (source === undefined) return yield* usage(`run ${runId} does not record its flow file; pass --file flows/x.ts`)
    const { flow, local, sandbox } = yield* load(source)
    yield* runFlow(flow, { ...settings, resume: Option.some(runId) }, { sandbox, local, file: path.resolve(source) })
  })
).pipe(
  Command.withShortDescription("Resume a journaled run a crash left unfinished"),
  Command.withDescription(
    "Continue the run: the steps that completed are replayed from the journal (not run again), the step that was in flight when the process died runs again (reported as re-run after crash), compensations that were under way finish. Refused (exit 2) for a run that does not exist or already finished, or whose flow's steps changed since it started (unless --force)."
  )
)

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
export const signal = Command.make(
  "signal",
  {
    runId: Argument.String("runId").pipe(Argument.withDescription("The run's id (see mcpflow runs)")),
    name: Argument.String("name").pipe(Argument.withDescription("The signal's name (as in Flow.signal(name, …))")),
    payload: Flag.String("payload").pipe(
      Flag.withMetavar("json|@file"),
      Flag.withDescription("The signal's payload as JSON, or @file.json (default: null); the run checks it against the signal's Schema"),
      Flag.optional
    ),
    stateDir: RunFlags.stateDir
  },
  Effect.fn("mcpflow.signal")(function*({ name, payload, runId, stateDir }) {
    const value = yield* Option.match(payload, {
      onNone: () => Effect.succeed<unknown>(null),
      onSome: (text) => readInput(text).pipe(Effect.mapError((e) => usage(`--payload: expected ${e.expected}`)))
    })
    const record = yield* withHistory(stateDir, (journal) =>
      Effect.flatMap(journal.get(runId), (r) => Effect.as(journal.signal(runId, name, value), r)))
    if (record.status !== "running") return yield* usage(`run ${runId} already ${record.status}; nothing waits for ${name}`)
    yield* printLines([`signal ${name} recorded for run ${runId}; the process running it delivers it (or the next resume does)`])
  })
).pipe(
  Command.withShortDescription("Send a signal to a run waiting for it"),
  Command.withDescription(
    "Record a signal (an approval, a webhook result) for a journaled run that waits for it with Flow.waitFor. The process running the run picks it up within a fraction of a second; a parked or crashed run gets it when resumed. Exit 2 for an unknown or finished run or bad JSON."
  )
)
