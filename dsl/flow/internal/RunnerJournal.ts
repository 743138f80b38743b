/**
 * Internal: the run history of runs a process executes for another (a cluster runner adopting a
 * run through its `RunHost`), when the services its host lends include a `RunJournal`: the run's
 * record (started, or continued with this process as its owner when it moved here), every event
 * (its `Redacted` parts sealed as on any journal), the cancel requests recorded for it, and its
 * end. (Signals, and cancels of parked runs, are the runner's: `PgRunJournal.tend`.)
 *
 * @internal
 * @module
 */
import { Effect, Exit, Option, Schedule, type Schema } from "effect"
import { inFlight, type RunJournal, type RunRecord } from "../../ports/RunJournal.ts"
import { cancelWait } from "../Durable.ts"
import { fingerprint, type Flow } from "../FlowDefinition.ts"
import { emit, isSuspension, now, type RunState, type StepScope } from "../RunScope.ts"
import { journalSink } from "./JournalSink.ts"
import { outcomeOf, settle } from "./Settle.ts"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"

/**
 * Records the adopted run in `journal` and returns its state reporting into it too. A run new to
 * the journal starts (`FlowStarted`); a run another process owned continues the same record
 * (`FlowStarted` with `resumed`, listing the steps it had in flight); a replay on this process
 * after a durable wait adds nothing.
 */
export const open = <I extends Schema.Top, O extends Schema.Top, E, R>(flow: Flow<I, O, E, R>, state: RunState, sealedInput: unknown, journal: RunJournal["Service"]) =>
  Effect.gen(function*() {
    const known = yield* Effect.option(journal.get(state.runId))
    const owner = Option.getOrUndefined(known)?.owner
    const mine = owner !== undefined && owner.pid === process.pid && Option.isSome(known) && known.value.status === "running"
    const moved = Option.isSome(known) && !mine
    const events = moved ? yield* Effect.orElseSucceed(journal.events(state.runId), () => []) : []
    yield* journal.start({
      runId: state.runId,
      flow: flow.name,
      input: sealedInput,
      fingerprint: fingerprint(flow),
      startedAt: Option.isSome(known) ? known.value.startedAt : yield* now,
      trigger: "cluster"
    })
    const sink = journalSink({ emit: state.emit }, journal, state.runId, () => {
      state.journalBroken = true
    })
    // A write that failed stops the run where it is, as a failed append does.
    const eventsStored = journal.stored === undefined ? undefined : Effect.catch(journal.stored, (error) =>
      Effect.andThen(Effect.sync(() => void (state.journalBroken = true)), Effect.die(error)))
    // Cancelled (`mcpflow cancel`) before this runner took the run over (its runner died, or it
    // was parked): the body replays its completed steps (their compensations registered), and no
    // step starts afresh — the one in flight at the move included — until the body has failed; the
    // compensations then run as usual, once, here. A step whose outcome the ledger holds (a runner
    // that gave the run up finished it) counts as completed.
    const cancelled = Option.isSome(known) && known.value.cancelRequestedAt !== undefined
    const ledger = state.stepLedger
    const journaled: RunState = {
      ...state,
      emit: sink.emit,
      listening: true,
      journalSealer: state.sealer,
      eventsStored,
      stepLedger: !cancelled || ledger === undefined ? ledger : {
        ...ledger,
        started: (executionId, path) =>
          Effect.suspend(() =>
            journaled.failure !== undefined
              ? ledger.started(executionId, path)
              : Effect.flatMap(ledger.started(executionId, path), (start) =>
                start.finished !== undefined
                  ? Effect.succeed(start)
                  : Effect.die(new Error(`run ${state.runId} cancelled (mcpflow cancel) before step ${JSON.stringify(path)} started`)))
          )
      }
    }
    if (!mine) {
      const top: StepScope = { run: journaled, path: "", names: undefined, inActivity: false, saga: undefined }
      yield* emit(top, {
        _tag: "FlowStarted",
        flow: flow.name,
        engine: "postgres",
        ...(moved ? { resumed: true, inFlight: [...inFlight(events)] } : {})
      })
    }
    return journaled
  })

/**
 * The adopted run's execution with its history kept: a cancel request acted on (the run stops, its completed steps are compensated, the run ends
 * `cancelled`), and its end recorded — unless the engine only suspended it (a durable wait) or
 * interrupted it (this process stops: another takes the run over).
 */
export const around = <A, E, R, I extends Schema.Top, O extends Schema.Top, FE, FR>(
  flow: Flow<I, O, FE, FR>,
  run: Effect.Effect<A, E, R>,
  journal: RunJournal["Service"],
  state: RunState
): Effect.Effect<A, E, R | WorkflowEngine> =>
  Effect.scoped(Effect.gen(function*() {
    // Woken to be cancelled (parked when `mcpflow cancel` asked: its wait now fails): it compensates.
    const cancel = { requested: yield* Effect.orElseSucceed(journal.cancelRequested(state.runId), () => false) }
    const cancelled = Effect.andThen(
      journal.cancelRequested(state.runId).pipe(
        Effect.orElseSucceed(() => false),
        Effect.repeat({ until: (requested) => requested, schedule: Schedule.spaced("200 millis") })
      ),
      Effect.suspend(() => {
        cancel.requested = true
        // Parked on a signal: failing its wait wakes the body to compensate.
        return state.waitingFor !== undefined
          ? Effect.andThen(cancelWait(flow, state.runId, state.waitingFor), Effect.never)
          : Effect.interrupt
      })
    )
    const exit = yield* Effect.exit(cancel.requested ? run : Effect.raceFirst(run, cancelled))
    if (yield* isSuspension(exit)) return yield* exit
    if (Exit.isFailure(exit) && !cancel.requested && isInterruptOnly(exit)) return yield* exit
    const result = yield* settle(flow, exit, state)
    const ended = cancel.requested && !Exit.isSuccess(result)
      ? { outcome: "failure" as const, error: "cancelled (mcpflow cancel)", errorTag: "Cancelled" }
      : outcomeOf(result)
    const record = yield* Effect.option(journal.get(state.runId))
    const finishedAt = yield* now
    const failedStep = ended.outcome === "failure" ? state.failedStep : undefined
    const top: StepScope = { run: state, path: "", names: undefined, inActivity: false, saga: undefined }
    yield* emit(top, {
      _tag: "FlowFinished",
      flow: flow.name,
      durationMs: finishedAt - (Option.isSome(record) ? record.value.startedAt : finishedAt),
      failedStep,
      ...ended
    })
    const status: RunRecord["status"] = ended.outcome === "success"
      ? "succeeded"
      : cancel.requested
      ? "cancelled"
      : ended.outcome === "failure"
      ? "failed"
      : "interrupted"
    const output = status === "succeeded" && state.output?._tag === "Valid" ? { output: state.output.json } : {}
    const failure = ended.outcome === "failure" ? { error: ended.error, errorTag: ended.errorTag } : {}
    yield* Effect.ignore(journal.finish({ runId: state.runId, status, finishedAt, failedStep, ...failure, ...output }))
    return yield* (cancel.requested && Exit.isFailure(exit)
      ? Effect.die(new Error(`run ${state.runId} cancelled (mcpflow cancel)`))
      : exit)
  }))

const isInterruptOnly = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause.reasons.length > 0 && exit.cause.reasons.every((r) => r._tag === "Interrupt")

