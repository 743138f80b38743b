/**
 * Internal: where a run's events go — the `FlowEvents` sink, and the run's journal when there is
 * one. A journal that cannot be written (a full disk) stops the run where it is: nothing more is
 * attempted, no compensation runs (it could not be journaled either), and the run stays
 * resumable once there is room again.
 *
 * @internal
 * @module
 */
import { Deferred, Exit } from "effect"
import { JournalError, type RunJournal } from "../../ports/RunJournal.ts"
import type { FlowEvent } from "../FlowEvents.ts"

/** A run's event sink, and what it knows of the journal's health. */
export interface JournalSink {
  readonly emit: (event: FlowEvent) => void
  /** The journal's first write failure, if any. */
  readonly failure: () => JournalError | undefined
  /** Completed at the journal's first write failure. */
  readonly broken: Deferred.Deferred<void>
}

/** Emits to `sink`, and appends to `journal` (when given) until a write fails. */
export const journalSink = (
  sink: { readonly emit: (event: FlowEvent) => void },
  journal: RunJournal["Service"] | undefined,
  runId: string,
  onBroken: () => void
): JournalSink => {
  const broken = Deferred.makeUnsafe<void>()
  let failure: JournalError | undefined
  if (journal === undefined) return { emit: sink.emit, failure: () => undefined, broken }
  return {
    emit: (event) => {
      if (failure === undefined) {
        try {
          journal.appendUnsafe(event)
        } catch (thrown) {
          const detail = thrown instanceof Error ? thrown.message : String(thrown)
          failure = new JournalError({
            file: journal.file,
            reason: "Io",
            detail: `${detail}; the run stopped here and can be resumed (mcpflow resume ${runId}) once the journal can be written`
          })
          onBroken()
          Deferred.doneUnsafe(broken, Exit.void)
        }
      }
      sink.emit(event)
    },
    failure: () => failure,
    broken
  }
}
