/**
 * The rows of the run journal's and the audit log's tables, as SQLite and Postgres return them
 * (Postgres hands back `bigint` columns as strings), and what they read as.
 *
 * @example
 * ```ts
 * const record = toRecord(row) // row: a `mcpflow_runs` row from either database
 * ```
 * @module
 */
import type { AuditEntry } from "../../../dsl/ports/AuditLog.ts"
import type { RunRecord } from "../../../dsl/ports/RunJournal.ts"

/** A bigint column: a number from SQLite, a string from Postgres. */
type Int = string | number

/**
 * A row of `mcpflow_runs`.
 *
 * @example
 * ```ts
 * const rows = statement.all() as Array<RunRow>
 * ```
 */
export interface RunRow {
  readonly run_id: string
  readonly flow: string
  readonly status: RunRecord["status"]
  readonly started_at: Int
  readonly finished_at: Int | null
  readonly input: string
  readonly fingerprint: string
  readonly source: string | null
  readonly failed_step: string | null
  readonly error: string | null
  readonly error_tag: string | null
  readonly owner_pid: Int | null
  readonly owner_host: string | null
  readonly heartbeat_at: Int | null
  readonly cancel_requested_at: Int | null
  readonly started_by: string | null
  readonly output?: string | null | undefined
}

/**
 * The run record a `mcpflow_runs` row holds.
 *
 * @example
 * ```ts
 * toRecord(row).status // => "succeeded"
 * ```
 */
export const toRecord = (r: RunRow): RunRecord => ({
  runId: r.run_id,
  flow: r.flow,
  status: r.status,
  startedAt: Number(r.started_at),
  finishedAt: r.finished_at === null ? undefined : Number(r.finished_at),
  input: JSON.parse(r.input),
  fingerprint: r.fingerprint,
  source: r.source ?? undefined,
  trigger: r.started_by ?? undefined,
  failedStep: r.failed_step ?? undefined,
  error: r.error ?? undefined,
  errorTag: r.error_tag ?? undefined,
  owner: r.owner_pid === null
    ? undefined
    : { pid: Number(r.owner_pid), host: r.owner_host ?? "", heartbeatAt: Number(r.heartbeat_at ?? 0) },
  cancelRequestedAt: r.cancel_requested_at === null ? undefined : Number(r.cancel_requested_at),
  ...(r.output === null || r.output === undefined ? {} : { output: JSON.parse(r.output) })
})

/**
 * A row of `mcpflow_audit`.
 *
 * @example
 * ```ts
 * const rows = statement.all() as Array<AuditRow>
 * ```
 */
export interface AuditRow {
  readonly seq: Int
  readonly at: Int
  readonly run_id: string | null
  readonly step: string | null
  readonly action: AuditEntry["action"]
  readonly target: string | null
  readonly actor: string
  readonly outcome: string
  readonly duration_ms: Int | null
  readonly detail: string | null
  readonly args: string | null
  readonly result: string | null
}

/**
 * The audit entry a `mcpflow_audit` row holds.
 *
 * @example
 * ```ts
 * toEntry(row).action // => "tool.call"
 * ```
 */
export const toEntry = (r: AuditRow): AuditEntry => ({
  seq: Number(r.seq),
  at: Number(r.at),
  ...(r.run_id === null ? {} : { runId: r.run_id }),
  ...(r.step === null ? {} : { step: r.step }),
  action: r.action,
  ...(r.target === null ? {} : { target: r.target }),
  actor: r.actor,
  outcome: r.outcome,
  ...(r.duration_ms === null ? {} : { durationMs: Number(r.duration_ms) }),
  ...(r.detail === null ? {} : { detail: r.detail }),
  ...(r.args === null ? {} : { args: JSON.parse(r.args) as unknown }),
  ...(r.result === null ? {} : { result: JSON.parse(r.result) as unknown })
})

/**
 * A value as a JSON column (`null` for `undefined`).
 *
 * @example
 * ```ts
 * jsonColumn({ a: 1 }) // => '{"a":1}'
 * ```
 */
export const jsonColumn = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value) ?? null)
