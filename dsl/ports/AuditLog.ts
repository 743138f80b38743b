/**
 * The audit-log port: an append-only record of every tool call and run decision (who, what,
 * where, when, with what outcome), with sensitive values already redacted by whoever appends.
 * The SQLite store lives in the runtime (`src/runtime/audit/SqliteAuditLog.ts`), next to the
 * run journal in the same file; another store (Postgres) implements the same service.
 *
 * @module
 */
import { Context, type Effect } from "effect"
import type { JournalError } from "./RunJournal.ts"

/**
 * What an entry records:
 * - `tool.call`: one call through the gateway (`target` = `server.tool`, `args`/`result` redacted);
 * - `run.started` / `run.resumed` / `run.finished`: a run's life (`target` = the flow);
 * - `run.cancel`: `mcpflow cancel` asked for a run to be cancelled (its `outcome` says what happened);
 * - `signal.sent`: `mcpflow signal` recorded a signal (`target` = its name, `args` its payload, redacted);
 * - `signal.received`: the run's `Flow.waitFor` step got its signal and went on;
 * - `compensation`: a completed step's compensation ran (`step` = the step it undoes);
 * - `audit.pruned`: retention deleted the entries older than `detail` says.
 *
 * @example
 * ```ts
 * const action: AuditAction = "tool.call"
 * ```
 */
export type AuditAction =
  | "tool.call"
  | "run.started"
  | "run.resumed"
  | "run.finished"
  | "run.cancel"
  | "signal.sent"
  | "signal.received"
  | "compensation"
  | "audit.pruned"

/**
 * One audit entry, as appended (the store adds `seq`).
 *
 * @example
 * ```ts
 * const entry: AuditRecord = {
 *   at: 1_764_950_400_000, runId: "3d87c2c5-…", step: "deploy/apply", action: "tool.call", target: "k8s.apply",
 *   actor: "ana", outcome: "ok", durationMs: 412, args: { manifest: "app.yaml", token: "<redacted>" }
 * }
 * ```
 */
export interface AuditRecord {
  /** Epoch milliseconds (the start of a tool call). */
  readonly at: number
  /** The run it belongs to (`undefined`: outside any run). */
  readonly runId?: string | undefined
  /** The step path (`deploy/apply`, `charge/compensate`), when inside a step. */
  readonly step?: string | undefined
  readonly action: AuditAction
  /** `server.tool`, the flow's name, or the signal's name. */
  readonly target?: string | undefined
  /** Who: `MCPFLOW_ACTOR`, else the OS user running mcpflow. */
  readonly actor: string
  /** `ok`, an error tag (`ToolError.ToolFailed`), or a run's `success` / `failure` / `interrupted` / `cancelled`. */
  readonly outcome: string
  readonly durationMs?: number | undefined
  /** A failure's message (secrets masked), or a note. */
  readonly detail?: string | undefined
  /** The arguments (JSON, sensitive fields as `<redacted>`). */
  readonly args?: unknown
  /** The result (JSON, sensitive fields as `<redacted>`). */
  readonly result?: unknown
}

/**
 * An entry as read back: its place in the log (`seq`, increasing) and the record.
 *
 * @example
 * ```ts
 * const e: AuditEntry = { seq: 1, at: 0, action: "run.started", target: "cicd", actor: "ana", outcome: "ok" }
 * ```
 */
export interface AuditEntry extends AuditRecord {
  readonly seq: number
}

/**
 * Which entries to read: of one run, since a time, at most `limit` (the newest ones); oldest first.
 *
 * @example
 * ```ts
 * const query: AuditQuery = { runId: "3d87c2c5-…", since: Date.now() - 86_400_000 }
 * ```
 */
export interface AuditQuery {
  readonly runId?: string | undefined
  readonly since?: number | undefined
  readonly limit?: number | undefined
}

/**
 * The audit log service. Append-only: entries are never changed; only {@link AuditLog} `prune`
 * (retention) deletes them, oldest first, and it records that it did.
 *
 * @example
 * ```ts
 * const log = yield* AuditLog
 * yield* log.append({ at: Date.now(), action: "signal.sent", runId, target: "approval", actor: "ana", outcome: "ok" })
 * const entries = yield* log.entries({ runId })
 * ```
 */
export class AuditLog extends Context.Service<AuditLog, {
  /** Where the log lives (a file, a database URL), for messages. */
  readonly location: string
  /** Appends one entry. */
  readonly append: (record: AuditRecord) => Effect.Effect<void, JournalError>
  /** Appends synchronously (an event sink cannot wait); throws on a write failure. */
  readonly appendUnsafe: (record: AuditRecord) => void
  /** The entries a query selects, oldest first. */
  readonly entries: (query?: AuditQuery) => Effect.Effect<ReadonlyArray<AuditEntry>, JournalError>
  /** The run ids of the log that start with `prefix` (at most `limit`, default 10), for unique-prefix ids. */
  readonly runIds: (prefix: string, limit?: number) => Effect.Effect<ReadonlyArray<string>, JournalError>
  /**
   * Retention: deletes the entries older than `before` (epoch ms) and appends an `audit.pruned`
   * entry saying so (by `actor`); returns how many were deleted.
   */
  readonly prune: (before: number, actor: string) => Effect.Effect<number, JournalError>
}>()("mcpflow/audit/AuditLog") {}
