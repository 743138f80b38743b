import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { FakeServer } from "../../chaos/index.ts"
import * as Hedge from "../../dsl/policy/Hedge.ts"
import { Tool } from "../../dsl/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { failureOf, recorder, settle, waitUntil } from "./support.ts"

type Step = { readonly ms: number; readonly fail?: string | undefined } | "never"

/**
 * An effect whose n-th run follows `steps[n]` (the last repeats): succeed with `#n` (or fail)
 * after `ms` of Clock time, or never answer. The log says when each run started, ended or was
 * interrupted.
 */
const attempts = (steps: ReadonlyArray<Step>) => {
  const log: Array<string> = []
  let runs = 0
  let running = 0
  const effect = Effect.suspend(() => {
    const n = ++runs
    const step = steps[Math.min(n - 1, steps.length - 1)]!
    running++
    log.push(`start ${n}`)
    const body: Effect.Effect<string, string> = step === "never"
      ? Effect.never
      : Effect.andThen(
        Effect.sleep(step.ms),
        step.fail === undefined ? Effect.succeed(`#${n}`) : Effect.fail(`${step.fail}#${n}`)
      )
    return body.pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          running--
          log.push(Exit.isSuccess(exit) ? `done ${n}` : Exit.hasInterrupts(exit) ? `interrupted ${n}` : `failed ${n}`)
        })
      )
    )
  })
  return {
    effect,
    log,
    get runs() {
      return runs
    },
    get running() {
      return running
    }
  }
}

const repeatable = { readOnly: true } as const

describe("Hedge: fixed delay", () => {
  it.effect("a slow first attempt gets a hedge after the delay; the first success wins, the loser is interrupted", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const hedge = yield* Hedge.make({ delay: "200 millis" })
      const a = attempts([{ ms: 1000 }, { ms: 100 }])
      const fiber = yield* Effect.forkChild(hedge.apply(a.effect, repeatable).pipe(rec.provide))
      yield* TestClock.adjust(199)
      assert.deepStrictEqual(a.log, ["start 1"])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(a.log, ["start 1", "start 2"])
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed("#2"))
      // the loser was interrupted before the hedge returned
      assert.deepStrictEqual(a.log, ["start 1", "start 2", "done 2", "interrupted 1"])
      assert.strictEqual(a.running, 0)
      assert.deepStrictEqual(rec.events, [{ _tag: "HedgeStarted", policy: "hedge", hedge: 1, afterMs: 200 }])
    }))

  it.effect("a first attempt faster than the delay starts no hedge", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const hedge = yield* Hedge.make({ delay: 200, maxHedges: 3 })
      const a = attempts([{ ms: 150 }])
      const fiber = yield* Effect.forkChild(hedge.apply(a.effect, repeatable).pipe(rec.provide))
      yield* TestClock.adjust(150)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed("#1"))
      yield* TestClock.adjust(10_000)
      assert.strictEqual(a.runs, 1)
      assert.deepStrictEqual(rec.events, [])
    }))

  it.effect("starts up to maxHedges hedges, each `delay` after the previous one, and no more", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const hedge = yield* Hedge.make({ delay: 200, maxHedges: 2 })
      const a = attempts(["never"])
      const fiber = yield* Effect.forkChild(hedge.apply(a.effect, repeatable).pipe(rec.provide))
      yield* TestClock.adjust(200)
      assert.strictEqual(a.runs, 2)
      yield* TestClock.adjust(199)
      assert.strictEqual(a.runs, 2)
      yield* TestClock.adjust(1)
      assert.strictEqual(a.runs, 3)
      yield* TestClock.adjust(60_000)
      assert.strictEqual(a.runs, 3)
      assert.deepStrictEqual(rec.of("HedgeStarted").map((e) => [e.hedge, e.afterMs]), [[1, 200], [2, 200]])
      // interrupting the hedged call interrupts every attempt
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(a.running, 0)
      assert.deepStrictEqual(a.log.filter((l) => l.startsWith("interrupted")).sort(), ["interrupted 1", "interrupted 2", "interrupted 3"])
    }))

  it.effect("a failed attempt starts the next hedge at once", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const hedge = yield* Hedge.make({ delay: 500, maxHedges: 2 })
      const a = attempts([{ ms: 50, fail: "down" }, { ms: 30, fail: "down" }, { ms: 100 }])
      const fiber = yield* Effect.forkChild(hedge.apply(a.effect, repeatable).pipe(rec.provide))
      yield* TestClock.adjust(50)
      assert.strictEqual(a.runs, 2)
      yield* TestClock.adjust(30)
      assert.strictEqual(a.runs, 3)
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed("#3"))
      assert.deepStrictEqual(rec.of("HedgeStarted").map((e) => [e.hedge, e.afterMs]), [[1, 50], [2, 30]])
    }))

  it.effect("a failure does not win: a running attempt can still succeed", () =>
    Effect.gen(function*() {
      const hedge = yield* Hedge.make({ delay: 100, maxHedges: 1 })
      const a = attempts([{ ms: 300 }, { ms: 10, fail: "down" }])
      const fiber = yield* Effect.forkChild(hedge.apply(a.effect, repeatable))
      yield* TestClock.adjust(110)
      assert.deepStrictEqual(a.log, ["start 1", "start 2", "failed 2"])
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust(190)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed("#1"))
    }))

  it.effect("when every attempt fails, it fails with a typed failure after all of them ran", () =>
    Effect.gen(function*() {
      const hedge = yield* Hedge.make({ delay: 100, maxHedges: 2 })
      const a = attempts([{ ms: 10, fail: "a" }, { ms: 10, fail: "b" }, { ms: 10, fail: "c" }])
      const fiber = yield* Effect.forkChild(hedge.apply(a.effect, repeatable))
      yield* TestClock.adjust(100)
      const exit = yield* Fiber.await(fiber)
      assert.strictEqual(a.runs, 3)
      assert.include(["a#1", "b#2", "c#3"], failureOf(exit))
      assert.strictEqual(a.running, 0)
    }))
})

describe("Hedge: adaptive delay", () => {
  it.effect("uses the configured delay until minSamples successes, then their percentile, clamped", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const hedge = yield* Hedge.make({
        delay: 500,
        maxHedges: 1,
        adaptive: { percentile: 0.9, window: 10, minSamples: 5, min: 20, max: 400 }
      })
      assert.strictEqual(hedge.currentDelayMs, 500)
      // five calls answered in 10, 20, 30, 40, 50 ms
      for (const ms of [10, 20, 30, 40, 50]) {
        const fiber = yield* Effect.forkChild(hedge.apply(Effect.as(Effect.sleep(ms), ms), repeatable))
        yield* TestClock.adjust(ms)
        yield* Fiber.join(fiber)
      }
      // nearest-rank p90 of [10..50] is 50
      assert.strictEqual(hedge.currentDelayMs, 50)
      const slow = attempts([{ ms: 1000 }, { ms: 5 }])
      const fiber = yield* Effect.forkChild(hedge.apply(slow.effect, repeatable).pipe(rec.provide))
      yield* TestClock.adjust(49)
      assert.strictEqual(slow.runs, 1)
      yield* TestClock.adjust(1)
      assert.strictEqual(slow.runs, 2)
      yield* TestClock.adjust(5)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed("#2"))
      assert.deepStrictEqual(rec.of("HedgeStarted").map((e) => e.afterMs), [50])
      // the winner's latency (5 ms since it started) joined the window; failures and losers do not count
      const fails = yield* Effect.forkChild(Effect.exit(hedge.apply(Effect.andThen(Effect.sleep(1), Effect.fail("x")), repeatable)))
      yield* TestClock.adjust(10)
      yield* Fiber.join(fails)
      // samples 10, 20, 30, 40, 50, 5 → p90 is 50; clamp: a tiny percentile gives the `min` 20
      assert.strictEqual(hedge.currentDelayMs, 50)
      const low = yield* Hedge.make({ delay: 500, adaptive: { percentile: 0.01, minSamples: 1, min: 20, max: 400 } })
      const once = yield* Effect.forkChild(low.apply(Effect.as(Effect.sleep(3), 3), repeatable))
      yield* TestClock.adjust(3)
      yield* Fiber.join(once)
      assert.strictEqual(low.currentDelayMs, 20)
      const high = yield* Hedge.make({ delay: 5, adaptive: { percentile: 1, minSamples: 1, max: 400 } })
      const long = yield* Effect.forkChild(high.apply(Effect.as(Effect.sleep(2000), 1), { idempotent: true, readOnly: false }))
      yield* TestClock.adjust(2000)
      yield* Fiber.join(long)
      assert.strictEqual(high.currentDelayMs, 400)
    }))

  it.effect("the window keeps only the last `window` latencies", () =>
    Effect.gen(function*() {
      const hedge = yield* Hedge.make({ delay: 1000, maxHedges: 0, force: true, adaptive: { percentile: 1, window: 3, minSamples: 3 } })
      // maxHedges 0 means no hedging at all, so nothing is measured either
      yield* hedge.apply(Effect.succeed(1), repeatable)
      assert.strictEqual(hedge.currentDelayMs, 1000)
      const measured = yield* Hedge.make({ delay: 1000, maxHedges: 1, adaptive: { percentile: 1, window: 3, minSamples: 3 } })
      for (const ms of [300, 10, 20, 30]) {
        const fiber = yield* Effect.forkChild(measured.apply(Effect.as(Effect.sleep(ms), ms), repeatable))
        yield* TestClock.adjust(ms)
        yield* Fiber.join(fiber)
      }
      // 300 slid out: max of [10, 20, 30]
      assert.strictEqual(measured.currentDelayMs, 30)
    }))
})

describe("Hedge: what may be hedged", () => {
  it.effect("a call not known to be repeatable runs once, unhedged, unless forced", () =>
    Effect.gen(function*() {
      const hedge = yield* Hedge.make({ delay: 10, maxHedges: 3 })
      for (const ctx of [undefined, {}, { idempotent: false }, { readOnly: false, idempotent: false, key: "pay" }]) {
        const a = attempts([{ ms: 1000 }])
        const fiber = yield* Effect.forkChild(hedge.apply(a.effect, ctx))
        yield* TestClock.adjust(1000)
        assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed("#1"))
        assert.strictEqual(a.runs, 1)
      }
      for (const ctx of [{ idempotent: true }, { readOnly: true }]) {
        const a = attempts([{ ms: 1000 }])
        const fiber = yield* Effect.forkChild(hedge.apply(a.effect, ctx))
        yield* TestClock.adjust(1000)
        yield* Fiber.await(fiber)
        assert.strictEqual(a.runs, 4)
      }
      const forced = yield* Hedge.make({ delay: 10, maxHedges: 1, force: true })
      const a = attempts([{ ms: 1000 }])
      const fiber = yield* Effect.forkChild(forced.apply(a.effect))
      yield* TestClock.adjust(1000)
      yield* Fiber.await(fiber)
      assert.strictEqual(a.runs, 2)
    }))

  it.effect("describes itself", () =>
    Effect.gen(function*() {
      const hedge = yield* Hedge.make({ delay: "150 millis", maxHedges: 2, adaptive: { percentile: 0.95, window: 200 } })
      assert.deepStrictEqual(hedge.descriptor, {
        kind: "hedge",
        settings: { delay: "150ms", maxHedges: 2, adaptive: "p95 of last 200" }
      })
      assert.strictEqual((yield* Hedge.make({ delay: 1, maxHedges: -3 })).maxHedges, 0)
    }))
})

// -----------------------------------------------------------------------------
// through the gateway: the loser is cancelled on its server
// -----------------------------------------------------------------------------

const Search = Tool.server("search", {
  query: Tool.define({
    description: "Search",
    input: Schema.Struct({ q: Schema.String }),
    output: Schema.Struct({ q: Schema.String, attempt: Schema.Number }),
    annotations: { readOnly: true }
  }),
  charge: Tool.define({
    description: "Charge a card",
    input: Schema.Struct({ cents: Schema.Number }),
    output: Schema.Struct({ attempt: Schema.Number }),
    annotations: { idempotent: false, destructive: true }
  })
})

/** A search server whose n-th call takes `latencies[n]` ms; its log says what each call did. */
const searchServer = (latencies: ReadonlyArray<number>) => {
  const log: Array<string> = []
  let calls = 0
  const slow = <A>(answer: (n: number) => A) =>
    Effect.suspend(() => {
      const n = ++calls
      log.push(`start ${n}`)
      return Effect.sleep(latencies[Math.min(n - 1, latencies.length - 1)]!).pipe(
        Effect.andThen(Effect.sync(() => {
          log.push(`done ${n}`)
          return answer(n)
        })),
        Effect.onInterrupt(() => Effect.sync(() => log.push(`cancelled ${n}`)))
      )
    })
  const server = FakeServer.make("search", [
    FakeServer.handle(Search.query, ({ q }) => slow((attempt) => ({ q, attempt }))),
    FakeServer.handle(Search.charge, () => slow((attempt) => ({ attempt })))
  ])
  const layer = Layer.unwrap(Effect.map(server, (search) => GatewayLayer.layer({ servers: { search } })))
  return { log, layer }
}

describe("Hedge: tool calls through the gateway", () => {
  it.effect("the losing call is cancelled on the server and never completes there", () => {
    const { log, layer } = searchServer([1000, 100])
    return Effect.gen(function*() {
      const hedge = yield* Hedge.make({ delay: 200 })
      const fiber = yield* Effect.forkChild(hedge.apply(Search.query({ q: "effect" }), Search.query.annotations))
      yield* waitUntil(() => log.includes("start 1"), "first call reached the server")
      yield* TestClock.adjust(200)
      yield* waitUntil(() => log.includes("start 2"), "hedge reached the server")
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(yield* Fiber.join(fiber), { q: "effect", attempt: 2 })
      yield* waitUntil(() => log.includes("cancelled 1"), "the loser was cancelled on the server")
      // long after the loser would have answered, it still has not completed
      yield* TestClock.adjust(5000)
      yield* settle
      assert.deepStrictEqual(log, ["start 1", "start 2", "done 2", "cancelled 1"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a tool whose contract is not safe to repeat reaches the server once", () => {
    const { log, layer } = searchServer([1000])
    return Effect.gen(function*() {
      const hedge = yield* Hedge.make({ delay: 50, maxHedges: 3 })
      const fiber = yield* Effect.forkChild(hedge.apply(Search.charge({ cents: 500 }), Search.charge.annotations))
      yield* waitUntil(() => log.includes("start 1"))
      yield* TestClock.adjust(500)
      yield* settle
      assert.deepStrictEqual(log, ["start 1"])
      yield* TestClock.adjust(500)
      assert.deepStrictEqual(yield* Fiber.join(fiber), { attempt: 1 })
      assert.deepStrictEqual(log, ["start 1", "done 1"])
    }).pipe(Effect.provide(layer))
  })
})
