/**
 * Signals are checked at the door: a run records its signal's payload shape when it starts
 * waiting; `Flow.sendSignal` and `mcpflow signal` refuse a payload that does not fit it (with the
 * issue's path) and deliver or record nothing, so the run keeps waiting instead of dying on a
 * `SchemaError`. In-process: the memory engine on the TestClock, and the `signal` command's
 * implementation over a SQLite journal in a temp directory.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Flow, FlowEngine, FlowEvents, SignalRejected, step } from "../../dsl/flow/index.ts"
import type { FlowEvent } from "../../dsl/flow/FlowEvents.ts"
import { checkPayload, checkSignal, payloadShape, recordedShape } from "../../dsl/flow/SignalCheck.ts"
import { RunJournal } from "../../dsl/ports/RunJournal.ts"
import { signal as signalCommand } from "../../src/app/cli/commands/internal/history.ts"
import { layer as journalLayer } from "../../src/runtime/engine/SqliteRunJournal.ts"

const Approval = Flow.signal("approval", Schema.Struct({ approvedBy: Schema.String }))
/** The same signal as a careless sender declares it: any `approvedBy` type-checks. */
const LooseApproval = Flow.signal("approval", Schema.Struct({ approvedBy: Schema.Unknown }))

const release = Flow.make({
  name: "checked-release",
  input: Schema.Struct({}),
  output: Schema.String,
  run: () =>
    Effect.gen(function*() {
      const { approvedBy } = yield* Flow.waitFor(Approval)
      return yield* step("deploy", Effect.succeed(`deployed, approved by ${approvedBy}`))
    })
})

describe("signal payload shapes", () => {
  it("a recorded shape survives JSON and checks payloads with the issue's path, filters included", () => {
    const schema = Schema.Struct({
      approvedBy: Schema.String,
      ticket: Schema.optional(Schema.NumberFromString),
      reviewers: Schema.Array(Schema.String.check(Schema.isMinLength(2)))
    })
    const shape = JSON.parse(JSON.stringify(payloadShape(schema)))
    assert.isUndefined(checkPayload("approval", shape, { approvedBy: "ana", ticket: "12", reviewers: ["bo"] }))
    assert.strictEqual(
      checkPayload("approval", shape, { approvedBy: 42, reviewers: [] })?.message,
      "signal approval: approvedBy: Expected string, got 42"
    )
    assert.strictEqual(checkPayload("approval", shape, { approvedBy: "ana", reviewers: ["b"] })?.path, "reviewers.0")
    assert.strictEqual(checkPayload("approval", shape, "yes")?.path, "")
    assert.isUndefined(checkPayload("approval", undefined, 42), "nothing recorded: nothing to check against")
    // A misspelled optional field is refused, not dropped on the way to the run.
    const typo = checkPayload("approval", shape, { approvedBy: "ana", tikcet: "12", reviewers: [] })
    assert.deepStrictEqual([typo?.path, typo?.issue], ["tikcet", `Unknown field; did you mean "ticket"?`])
  })

  it("a name within a typo of one the run waits for is refused; a name far from all is kept for later", () => {
    const events = [{ runId: "r", at: 0, _tag: "StepWaiting", path: "wait:approval", kind: "wait", signal: "approval" } as unknown as FlowEvent]
    assert.strictEqual(checkSignal(events, "aproval", {})?.issue, `not a signal this run waits for; did you mean "approval"?`)
    assert.isUndefined(checkSignal(events, "approval", {}))
    assert.isUndefined(checkSignal(events, "rollback", {}), "a signal the flow may wait for later")
    assert.isUndefined(checkSignal([], "aproval", {}), "a run that has waited for nothing: nothing to compare with")
  })

  it("the last wait for the signal names the shape", () => {
    const ev = (e: Record<string, unknown>) => ({ runId: "r", at: 0, ...e }) as unknown as FlowEvent
    const events = [
      ev({ _tag: "StepWaiting", path: "wait:approval", kind: "wait", signal: "approval", payloadSchema: "old" }),
      ev({ _tag: "StepWaiting", path: "soak", kind: "wait", until: 5 }),
      ev({ _tag: "StepWaiting", path: "wait:approval", kind: "wait", signal: "approval", payloadSchema: "new" })
    ]
    assert.strictEqual(recordedShape(events, "approval"), "new")
    assert.isUndefined(recordedShape(events, "other"))
  })
})

describe("Flow.sendSignal checks the payload at the door (memory engine)", () => {
  it.effect("a payload that does not fit the waiting run's Schema is refused; the run keeps waiting", () =>
    Effect.gen(function*() {
      const sink = FlowEvents.collect()
      const fiber = yield* Flow.run(release, {}, { runId: "chk-1" }).pipe(
        Effect.provideService(FlowEvents.FlowEvents, sink),
        Effect.forkChild
      )
      for (let i = 0; i < 30 && !sink.events.some((e) => e._tag === "StepWaiting"); i++) yield* TestClock.adjust("1 second")
      const waiting = sink.events.find((e) => e._tag === "StepWaiting")
      assert.isDefined(waiting?._tag === "StepWaiting" ? waiting.payloadSchema : undefined, "the wait records its payload shape")

      const refused = yield* Effect.flip(Flow.sendSignal(release, "chk-1", LooseApproval, { approvedBy: 42 }))
      assert.instanceOf(refused, SignalRejected)
      assert.strictEqual(refused.message, "signal approval: approvedBy: Expected string, got 42")
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("1 second")
      assert.isUndefined(fiber.pollUnsafe(), "the run still waits")

      yield* Flow.sendSignal(release, "chk-1", LooseApproval, { approvedBy: "ana" })
      for (let i = 0; i < 50 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), "deployed, approved by ana")
    }).pipe(Effect.provide(FlowEngine.layerMemory)))
})

describe("mcpflow signal checks the payload at the door (journal)", () => {
  it("exit 2 with the issue's path and nothing recorded; a fitting payload is recorded", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "mcpflow-signalcheck-"))
    try {
      const file = join(stateDir, "runs.db")
      const runId = "abcd0000-0000-4000-8000-000000000001"
      const withJournal = <A, E>(f: (j: RunJournal["Service"]) => Effect.Effect<A, E>) =>
        Effect.runPromise(RunJournal.use(f).pipe(Effect.provide(journalLayer(file)), Effect.scoped))
      await withJournal((j) =>
        Effect.gen(function*() {
          yield* j.start({ runId, flow: "checked-release", input: {}, fingerprint: "f", startedAt: Date.now() })
          j.appendUnsafe({ runId, at: Date.now(), _tag: "StepWaiting", path: "wait:approval", kind: "wait", signal: "approval", payloadSchema: payloadShape(Approval.payload) } as FlowEvent)
        })
      )
      const bad = await Effect.runPromise(Effect.exit(signalCommand({ runId, name: "approval", payload: { approvedBy: 42 }, stateDir, json: true })))
      assert.isTrue(Exit.isFailure(bad))
      const failure = Exit.isFailure(bad) ? bad.cause.reasons[0] : undefined
      const error = failure?._tag === "Fail" ? failure.error : undefined
      assert.strictEqual(error?.code, 2)
      assert.include(error?.message, "approvedBy: Expected string, got 42")
      assert.deepStrictEqual(await withJournal((j) => j.pendingSignals(runId)), [], "nothing recorded")
      // A misspelled signal name would wait in the journal for a name nothing asks for.
      const misnamed = await Effect.runPromise(Effect.exit(signalCommand({ runId, name: "aproval", payload: { approvedBy: "ana" }, stateDir, json: true })))
      const refused = Exit.isFailure(misnamed) ? misnamed.cause.reasons[0] : undefined
      const refusal = refused?._tag === "Fail" ? refused.error : undefined
      assert.strictEqual(refusal?.code, 2)
      assert.include(refusal?.message, `signal aproval: not a signal this run waits for; did you mean "approval"?`)
      assert.deepStrictEqual(await withJournal((j) => j.pendingSignals(runId)), [], "nothing recorded")

      const good = await Effect.runPromise(Effect.exit(signalCommand({ runId, name: "approval", payload: { approvedBy: "ana" }, stateDir, json: true })))
      assert.isTrue(Exit.isSuccess(good))
      assert.deepStrictEqual(await withJournal((j) => j.pendingSignals(runId)), [{ name: "approval", payload: { approvedBy: "ana" } }])
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
  })
})
