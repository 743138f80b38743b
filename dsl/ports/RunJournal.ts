/**
 * The run-history port: the service a flow run records itself in (one row per run and every
 * event of the run), its error, and what a resume reads back. The SQLite implementation lives in
 * the runtime (`src/runtime/engine/RunJournal.ts`).
 *
 * @module
 */
import { Context, type Effect, Schema } from "effect"
import type { FlowEvent } from "../flow/FlowEvents.ts"

/**
 * Why the journal could not be used. Every reason names the file.
 *
 * @example
 * ```ts
 * new JournalError({ file: ".mcpflow/runs.db", reason: "Corrupt", detail: "file is not a database" }).message
 * ```
 */
export class JournalError extends Schema.TaggedError<JournalError>()("JournalError", {
  file: Schema.String,
  reason: Schema.Literals(["Corrupt", "Locked", "Missing", "Incompatible", "NotFound", "Io"]),
  detail: Schema.String
}) {
  override get message(): string {
    return `journal ${this.file}: ${this.detail}`
  }
}

/**
 * One run as the history shows it.
 *
 * @example
 * ```ts
 * const r: RunRecord = { runId: "r1", flow: "cicd", status: "succeeded", startedAt: 0, finishedAt: 900, input: {}, fingerprint: "ab12", source: "flows/cicd.ts", failedStep: undefined, error: undefined, errorTag: undefined }
 * ```
 */
export interface RunRecord {
  readonly runId: string
  readonly flow: string
  /**
   * As stored: `running` means unfinished (live, parked or crashed: see `owner` and the events;
   * `mcpflow runs` tells them apart); `cancelled` by `mcpflow cancel`; `interrupted` by Ctrl-C.
   */
  readonly status: "running" | "succeeded" | "failed" | "interrupted" | "cancelled"
  readonly startedAt: number
  readonly finishedAt: number | undefined
  readonly input: unknown
  /** A hash of the flow's code when the run started (a resume under changed code is checked). */
  readonly fingerprint: string
  /** The flow file the run was started from, when known. */
  readonly source: string | undefined
  readonly failedStep: string | undefined
  readonly error: string | undefined
  readonly errorTag: string | undefined
  /**
   * What started the run, when known: `cli` (`mcpflow run`), `http` (`mcpflow serve`),
   * `schedule <cron>` (a flow's schedule).
   */
  readonly trigger?: string | undefined
  /** The process running the run (recorded when it starts or resumes) and its last heartbeat. */
  readonly owner?: RunOwner | undefined
  /** When `mcpflow cancel` asked for the run to be cancelled. */
  readonly cancelRequestedAt?: number | undefined
  /**
   * A succeeded run's output, in its Schema's JSON form, its sensitive (`Redacted`) parts sealed
   * as in the input (shown as `<redacted>`); undefined for other runs and older journals.
   */
  readonly output?: unknown
}

/**
 * The process that runs a run, as the journal knows it: its pid and host, and its last heartbeat
 * (written every few seconds while the process lives).
 *
 * @example
 * ```ts
 * const o: RunOwner = { pid: 4242, host: "ci-7", heartbeatAt: 1_700_000_000_000 }
 * ```
 */
export interface RunOwner {
  readonly pid: number
  readonly host: string
  readonly heartbeatAt: number
}

/**
 * The run history service.
 *
 * @example
 * ```ts
 * const runs = yield* (yield* RunJournal).list
 * ```
 */
export class RunJournal extends Context.Service<RunJournal, {
  readonly file: string
  /** Records a new run (or, for a resume, marks it running again). */
  readonly start: (run: {
    readonly runId: string
    readonly flow: string
    readonly input: unknown
    readonly fingerprint: string
    readonly startedAt: number
    /** The flow file, so `mcpflow resume <runId>` can find the flow again. */
    readonly source?: string | undefined
    /** What started the run (`cli`, `http`, `schedule 0 3 * * *`); kept as first recorded on a resume. */
    readonly trigger?: string | undefined
  }) => Effect.Effect<void, JournalError>
  /** Appends an event (synchronously, so it survives a crash right after). */
  readonly appendUnsafe: (event: FlowEvent) => void
  /**
   * Where `appendUnsafe` only queues (a journal on a server): waits until every event appended so
   * far is stored. A durable step on a cluster waits for its `StepStarted` before its body runs.
   */
  readonly stored?: Effect.Effect<void, JournalError> | undefined
  readonly finish: (run: {
    readonly runId: string
    readonly status: RunRecord["status"]
    readonly finishedAt: number
    readonly failedStep?: string | undefined
    readonly error?: string | undefined
    readonly errorTag?: string | undefined
    /** A succeeded run's output (JSON form, sealed; see {@link RunRecord.output}). */
    readonly output?: unknown
  }) => Effect.Effect<void, JournalError>
  readonly get: (runId: string) => Effect.Effect<RunRecord, JournalError>
  readonly list: Effect.Effect<ReadonlyArray<RunRecord>, JournalError>
  readonly events: (runId: string) => Effect.Effect<ReadonlyArray<FlowEvent>, JournalError>
  /**
   * Records a signal for a run that is still `running` (delivered by the process running it, now
   * or when resumed) and returns the run as it was. For a finished run nothing is written: the
   * returned status says why. The check and the write are one transaction; an unknown run fails
   * with `NotFound`.
   */
  readonly signal: (runId: string, name: string, payload: unknown) => Effect.Effect<RunRecord, JournalError>
  /** Signals recorded for a run and not delivered yet. */
  readonly pendingSignals: (runId: string) => Effect.Effect<ReadonlyArray<{ readonly name: string; readonly payload: unknown }>, JournalError>
  readonly markDelivered: (runId: string, name: string) => Effect.Effect<void, JournalError>
  /**
   * The runs whose id starts with `prefix` (at most `limit`, default 10), for unique-prefix ids.
   */
  readonly find: (prefix: string, limit?: number) => Effect.Effect<ReadonlyArray<RunRecord>, JournalError>
  /** Records a request to cancel an unfinished run; the process running it acts on it. */
  readonly requestCancel: (runId: string) => Effect.Effect<void, JournalError>
  /** Whether someone asked for the run to be cancelled. */
  readonly cancelRequested: (runId: string) => Effect.Effect<boolean, JournalError>
  /** Deletes finished runs (not `running`) that finished before `before`, with their events and signals; returns their ids. */
  readonly prune: (before: number) => Effect.Effect<ReadonlyArray<string>, JournalError>
}>()("mcpflow/engine/RunJournal") {}

/**
 * The steps a crash left in flight: started, neither finished nor skipped.
 *
 * @example
 * ```ts
 * inFlight(yield* journal.events(runId)) // => ["deploy/apply"]
 * ```
 */
export const inFlight = (events: ReadonlyArray<FlowEvent>): ReadonlyArray<string> => {
  const open = new Set<string>()
  for (const e of events) {
    if (e._tag === "StepStarted" && e.kind === "step") open.add(e.path)
    else if (e._tag === "StepSucceeded" || e._tag === "StepFailed" || e._tag === "StepSkipped") open.delete(e.path)
  }
  return [...open]
}
