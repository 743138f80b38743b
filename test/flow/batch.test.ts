/**
 * `Flow.batch`: single calls collected into one batch tool call, flushed by size, by time or by
 * priority; each caller gets its own value or error — also under faults on the batch tool.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Result, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Chaos, FakeServer, Fault } from "../../chaos/index.ts"
import { type BatchFlush, BatchItemMissing, Flow, forEach, parallel, Plan, step } from "../../dsl/flow/index.ts"
import { McpGateway, Tool } from "../../dsl/index.ts"
import { CallSites } from "../../dsl/ports/McpGateway.ts"

class Rejected extends Schema.TaggedError<Rejected>()("Rejected", { id: Schema.Int }) {}

const Scores = Tool.server("scores", {
  score_batch: Tool.define({
    description: "Score many ids at once (answers in any order; rejects some)",
    input: Schema.Struct({ ids: Schema.Array(Schema.Int) }),
    output: Schema.Struct({ results: Schema.Array(Schema.Struct({ id: Schema.Int, score: Schema.optionalKey(Schema.Int), rejected: Schema.optionalKey(Schema.Boolean) })) }),
    annotations: { readOnly: true, idempotent: true }
  })
})

type Answer = typeof Scores.score_batch.output.Type

/** The server's rule: id × 10; multiples of 5 rejected; 7 left out of the answer. */
const answer = (ids: ReadonlyArray<number>): Answer => ({
  results: [...ids].reverse().filter((id) => id !== 7).map((id) => (id % 5 === 0 ? { id, rejected: true } : { id, score: id * 10 }))
})

const scoring = (flush: BatchFlush, name = "scores") =>
  Flow.batch(name, {
    tool: Scores.score_batch,
    args: (ids: ReadonlyArray<number>) => ({ ids }),
    result: (out, id) => {
      const hit = out.results.find((r) => r.id === id)
      if (hit === undefined) return undefined
      return hit.rejected === true || hit.score === undefined ? Result.fail(new Rejected({ id })) : Result.succeed({ id, score: hit.score })
    },
    flush,
    call: { timeout: "2 seconds" }
  })

/** A gateway answering the batch tool itself and recording each batch (ids) and when (virtual ms). */
const recording = () => {
  const batches: Array<{ ids: ReadonlyArray<number>; at: number; path: string | undefined }> = []
  const gateway = McpGateway.of({
    servers: [],
    call: (_contract, input) =>
      Effect.withFiber((fiber) => {
        const ids = (input as { ids: ReadonlyArray<number> }).ids
        return Effect.map(Clock.currentTimeMillis, (at) => {
          batches.push({ ids, at, path: fiber.getRef(CallSites)?.path })
          return answer(ids) as never
        })
      }),
    callRaw: () => Effect.die("unused"),
    listTools: () => Effect.succeed([]),
    checkContracts: () => Effect.succeed([]),
    status: Effect.succeed([])
  })
  return { batches, gateway }
}

describe("Flow.batch", () => {
  it.effect("flushes by size, then by time on the clock; each caller gets its own value or error", () =>
    Effect.gen(function*() {
      const { batches, gateway } = recording()
      const fiber = yield* Effect.gen(function*() {
        const score = yield* scoring({ size: 3, after: "1 second" }, "sized")
        return yield* Effect.forEach([1, 2, 3, 4, 5, 6, 7], (id) => Effect.result(score(id)), { concurrency: "unbounded" })
      }).pipe(Effect.provideService(McpGateway, gateway), Effect.forkChild)
      yield* TestClock.adjust("999 millis")
      assert.deepStrictEqual(batches.map((b) => b.ids), [[1, 2, 3], [4, 5, 6]], "two full batches at once, the seventh waits")
      yield* TestClock.adjust("1 millis")
      const outcomes = yield* Fiber.join(fiber)
      assert.deepStrictEqual(batches.map((b) => [b.ids, b.at, b.path]), [[[1, 2, 3], 0, "sized"], [[4, 5, 6], 0, "sized"], [[7], 1000, "sized"]])
      assert.deepStrictEqual(outcomes.slice(0, 4).map((r) => Result.isSuccess(r) ? r.success : r.failure), [
        { id: 1, score: 10 },
        { id: 2, score: 20 },
        { id: 3, score: 30 },
        { id: 4, score: 40 }
      ])
      const five = outcomes[4]!
      assert.isTrue(Result.isFailure(five) && five.failure instanceof Rejected && five.failure.id === 5, "5 is rejected: its own error")
      const seven = outcomes[6]!
      assert.isTrue(Result.isFailure(seven) && seven.failure instanceof BatchItemMissing && seven.failure.index === 0)
    }))

  it.effect("a priority item sends its batch at once, first in it", () =>
    Effect.gen(function*() {
      const { batches, gateway } = recording()
      const fiber = yield* Effect.gen(function*() {
        const score = yield* scoring({ size: 10, after: "1 minute", priority: 5 }, "urgent")
        return yield* parallel("callers", {
          a: score(1),
          b: score(2),
          urgent: Effect.andThen(Effect.sleep("10 seconds"), score(3, { priority: 5 }))
        })
      }).pipe(Effect.provideService(McpGateway, gateway), Effect.forkChild)
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(batches.map((b) => [b.ids, b.at]), [[[3, 1, 2], 10_000]], "flushed at 10 s, not after the minute")
      assert.deepStrictEqual(result, { a: { id: 1, score: 10 }, b: { id: 2, score: 20 }, urgent: { id: 3, score: 30 } })
    }))

  it.effect("a plan shows the batch: its kind, tool and flush settings, and the calls it makes", () =>
    Effect.gen(function*() {
      const flow = Flow.make({
        name: "batched",
        input: Schema.Struct({}),
        output: Schema.Unknown,
        uses: [Scores.score_batch],
        run: () =>
          Effect.gen(function*() {
            const score = yield* scoring({ size: 50, after: "100 millis", priority: 9 })
            return yield* forEach("score", [1, 2], (id) => step("score", score(id)))
          })
      })
      const plan = yield* Flow.plan(flow)
      const node = plan.nodes.find((n) => n.path === "scores")
      assert.strictEqual(node?.kind, "batch")
      assert.strictEqual(node?.description, "scores.score_batch: up to 50 items, after 100ms, at once for priority ≥ 9")
      assert.deepStrictEqual(node?.tools, ["scores.score_batch"], "the batch call is the batch's, not a caller step's")
      assert.include(Plan.toText(plan), "▤ scores [batch]")
    }))
})

/** The chaos flow: 12 callers in a forEach, each a step; the output is every caller's outcome. */
const chaosFlow = Flow.make({
  name: "batched-under-faults",
  input: Schema.Struct({}),
  output: Schema.Unknown,
  uses: [Scores.score_batch],
  run: () =>
    Effect.gen(function*() {
      const score = yield* scoring({ size: 4, after: "50 millis" })
      const outcomes = yield* forEach("score", Array.from({ length: 12 }, (_, i) => i + 1), (id) => step("score", score(id)), { concurrency: 12 })
      // As JSON: the value, or the error's tag (and the id a Rejected names).
      return outcomes.map((o) =>
        Result.isSuccess(o.result)
          ? { id: o.item, value: o.result.success }
          : { id: o.item, error: o.result.failure._tag, ...(o.result.failure instanceof Rejected ? { rejected: o.result.failure.id } : {}) }
      )
    })
})

const servers = Effect.succeed([{
  key: "scores",
  handlers: [FakeServer.handle(Scores.score_batch, (input) => Effect.succeed(answer(input.ids)))]
}] as ReadonlyArray<FakeServer.Definition>)

describe("Flow.batch under faults", () => {
  it("every caller gets exactly its own outcome: its value, its own error, or its batch's failure", async () => {
    const kinds = new Set<string>()
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const plan = Fault.plan(seed, [
        Fault.toolError("scores.score_batch", "injected", { rate: 0.3 }),
        Fault.lostResponse("scores.score_batch", { rate: 0.2 }),
        Fault.duplicateMessage("scores.score_batch", "response", { rate: 0.3 }),
        Fault.latency("scores.score_batch", Fault.uniform(0, 500))
      ])
      const run = await Effect.runPromise(Chaos.runFlowOnce({ flow: chaosFlow, input: {}, servers }, plan))
      const context = `seed ${seed}: ${Chaos.formatFlowRun(run)}`
      assert.strictEqual(run.outcome._tag, "Success", context)
      type Outcome = { id: number; value?: { id: number; score: number }; error?: string; rejected?: number }
      const outcomes = (run.outcome as { value: ReadonlyArray<Outcome> }).value
      assert.strictEqual(outcomes.length, 12, context)
      for (const { error, id, rejected, value } of outcomes) {
        if (value !== undefined) {
          assert.deepStrictEqual(value, { id, score: id * 10 }, context)
          assert.isTrue(id % 5 !== 0 && id !== 7, context)
        } else if (error === "Rejected") {
          assert.strictEqual(rejected, id, context)
          assert.strictEqual(id % 5, 0, context)
        } else if (error === "BatchItemMissing") {
          assert.strictEqual(id, 7, context)
        } else {
          assert.strictEqual(error, "McpflowToolError", context)
        }
        kinds.add(value !== undefined ? "value" : error!)
      }
      // Batches of at most 4; every caller's id sent in some batch.
      const sent = run.sent.filter((c) => c.tool === "score_batch").map((c) => (JSON.parse(c.args) as { ids: ReadonlyArray<number> }).ids)
      assert.isTrue(sent.every((ids) => ids.length <= 4), context)
      assert.sameMembers([...new Set(sent.flat())], outcomes.map((o) => o.id), context)
    }
    assert.sameMembers([...kinds], ["value", "Rejected", "BatchItemMissing", "McpflowToolError"], "the seeds cover every kind of outcome")
  })
})
