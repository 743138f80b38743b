/**
 * Reading the run history: which runs match the history filters (`--flow`, `--status`,
 * `--since`, `--limit`), each as the history shows it (its status view, its sensitive input
 * fields as `<redacted>`). `mcpflow runs` and the run viewer (`mcpflow ui`) both list runs with it.
 *
 * @example
 * ```ts
 * import { selectRuns } from "./RunQuery.ts"
 * const runs = yield* selectRuns(journal, { status: "failed", limit: 10 }, RunStatus.localLiveness())
 * ```
 * @module
 */
import { Effect } from "effect"
import type { FlowEvent } from "../../../dsl/flow/FlowEvents.ts"
import { redactEnvelopes } from "../../../dsl/flow/internal/Sealing.ts"
import type { JournalError, RunJournal, RunRecord } from "../../../dsl/ports/RunJournal.ts"
import * as RunStatus from "./RunStatus.ts"

/**
 * The history filters; every field is optional.
 *
 * @example
 * ```ts
 * const filter: RunFilter = { flow: "cicd", status: "crashed", sinceMs: 7 * 86_400_000, limit: 20 }
 * ```
 */
export interface RunFilter {
  readonly flow?: string | undefined
  readonly status?: RunStatus.RunStatus | undefined
  /** Only runs started within this many milliseconds before `probe.now`. */
  readonly sinceMs?: number | undefined
  readonly limit?: number | undefined
}

/**
 * A run as the history shows it: the record (input redacted), its status and, for a parked
 * run, what it waits for.
 *
 * @example
 * ```ts
 * const v: RunView = { ...record, status: "waiting", parked: { status: "waiting", step: "wait:approval", waitingFor: "approval" } }
 * ```
 */
export type RunView = Omit<RunRecord, "status"> & {
  readonly status: RunStatus.RunStatus
  readonly parked?: RunStatus.StatusView | undefined
}

/**
 * A run's record as the history shows it: its sensitive input and output fields (sealed in the
 * journal) as `<redacted>`.
 *
 * @example
 * ```ts
 * shown(record).input // => { service: "api", token: "<redacted>" }
 * ```
 */
export const shown = (record: RunRecord): RunRecord => ({
  ...record,
  input: redactEnvelopes(record.input),
  ...(record.output === undefined ? {} : { output: redactEnvelopes(record.output) })
})

/**
 * The run as the history shows it (see {@link RunView}).
 *
 * @example
 * ```ts
 * runView(record, events, RunStatus.localLiveness()).status // => "crashed"
 * ```
 */
export const runView = (record: RunRecord, events: ReadonlyArray<FlowEvent>, probe: RunStatus.Liveness): RunView => {
  const status = RunStatus.runStatus(record, events, probe)
  return { ...shown(record), status: status.status, ...(status.step === undefined ? {} : { parked: status }) }
}

/**
 * The runs of the journal that match `filter`, newest first. Only unfinished runs have their
 * events read (to tell parked from live from crashed).
 *
 * @example
 * ```ts
 * const failed = yield* selectRuns(journal, { status: "failed" }, RunStatus.localLiveness())
 * ```
 */
export const selectRuns = (
  journal: RunJournal["Service"],
  filter: RunFilter,
  probe: RunStatus.Liveness
): Effect.Effect<ReadonlyArray<RunView>, JournalError> =>
  Effect.gen(function*() {
    const after = filter.sinceMs === undefined ? 0 : probe.now - filter.sinceMs
    const max = filter.limit ?? Number.POSITIVE_INFINITY
    const out: Array<RunView> = []
    for (const record of yield* journal.list) {
      if (out.length >= max) break
      if (record.startedAt < after || (filter.flow !== undefined && record.flow !== filter.flow)) continue
      const view = runView(record, record.status === "running" ? yield* journal.events(record.runId) : [], probe)
      if (filter.status === undefined || view.status === filter.status) out.push(view)
    }
    return out
  })
