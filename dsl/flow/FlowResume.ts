/**
 * Resuming a journaled run: what the journal says of it (its input, the steps that completed,
 * the ones a crash left in flight, whether the flow changed since), checked, then run again.
 *
 * @module
 */
import { Deferred, Effect, Option, Result, type Schema } from "effect"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import type { FlowEngine } from "../ports/FlowEngine.ts"
import { inFlight, type JournalError, RunJournal } from "../ports/RunJournal.ts"
import { fingerprint, type Flow } from "./FlowDefinition.ts"
import type { FlowEvent } from "./FlowEvents.ts"
import { FlowError, NotResumable } from "./FlowError.ts"
import { execute } from "./FlowRun.ts"
import * as Sealing from "./internal/Sealing.ts"
import type { ResumeState } from "./RunScope.ts"

/**
 * Continues a journaled run that a crash (or a killed process) left unfinished: the steps that
 * completed are replayed from the journal, not run again; a step that was in flight runs again
 * and is reported as "re-run after crash". Needs a `RunJournal` and a durable engine. Refused
 * with `NotResumable` when the run does not exist, already finished, belongs to another flow, or
 * the flow's step structure changed since it started (unless `force`).
 *
 * @example
 * ```ts
 * const result = yield* Flow.resume(deploy, "9b0c…").pipe(Effect.provide(Engines.durable(".mcpflow")))
 * ```
 */
export const resume = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  runId: string,
  options?: { readonly force?: boolean | undefined; readonly sandbox?: boolean | undefined }
): Effect.Effect<
  O["Type"],
  E | FlowError | JournalError,
  Exclude<R, WorkflowEngine> | FlowEngine | WorkflowEngine | RunJournal
> =>
  Effect.gen(function*() {
    const journal = yield* RunJournal
    const refuse = (detail: string) => Effect.fail(new FlowError({ flow: flow.name, reason: new NotResumable({ runId, detail }) }))
    const record = yield* journal.get(runId).pipe(
      Effect.mapError((e): FlowError | JournalError =>
        e.reason === "NotFound"
          ? new FlowError({ flow: flow.name, reason: new NotResumable({ runId, detail: "no such run in the journal" }) })
          : e
      )
    )
    if (record.flow !== flow.name) return yield* refuse(`it is a run of ${JSON.stringify(record.flow)}, not of ${JSON.stringify(flow.name)}`)
    if (record.status !== "running") return yield* refuse(`it already ${record.status === "interrupted" ? "was interrupted (and compensated)" : record.status}`)
    const events = yield* journal.events(runId)
    // Sensitive values were journaled sealed: refuse before anything runs unless the key opens them all.
    const sealedWith = new Set(Sealing.keyIdsIn(record.input))
    for (const e of events) if (e._tag === "StepSucceeded" && e.sealedWith !== undefined) sealedWith.add(e.sealedWith)
    const sealer = Sealing.make(runId, sealedWith.size === 0 ? Option.none() : yield* Sealing.journalKey)
    const problem = Sealing.keyProblem(sealedWith, sealer.keyId)
    if (problem !== undefined) return yield* refuse(problem)
    const input = sealer.openEncoded(record.input)
    if (Result.isFailure(input)) return yield* refuse(input.failure)
    const resumed = resumeState(events, {
      force: options?.force === true,
      codeChanged: fingerprint(flow) !== record.fingerprint
    })
    return yield* execute(flow, input.success as I["Encoded"], { runId, sandbox: options?.sandbox }, resumed)
  })

/** What a resumed run knows from its journaled events. */
const resumeState = (
  events: ReadonlyArray<FlowEvent>,
  options: { readonly force: boolean; readonly codeChanged: boolean }
): ResumeState => {
  const completed = new Set(events.flatMap((e) => (e._tag === "StepSucceeded" && e.kind === "step" ? [e.path] : [])))
  const attemptsBefore = new Map<string, number>()
  for (const e of events) {
    // Each failed attempt of a step, before the crash.
    if (e._tag === "Policy" && e.event._tag === "AttemptFailed") attemptsBefore.set(e.path, (attemptsBefore.get(e.path) ?? 0) + 1)
  }
  return {
    inFlight: new Set(inFlight(events)),
    attemptsBefore,
    completed,
    pending: new Set(completed),
    force: options.force,
    codeChanged: options.codeChanged,
    diverged: undefined,
    divergedSignal: Deferred.makeUnsafe<void>()
  }
}
