import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Bulkhead from "../../dsl/policy/Bulkhead.ts"
import { seedPools } from "../../flows/servers/pools.ts"
import { recorder } from "./support.ts"

/** Lets forked fibers run until they block. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

const rejection = <A, E>(exit: Exit.Exit<A, E>) => {
  if (Exit.isSuccess(exit)) return undefined
  const found = Cause.findErrorOption(exit.cause)
  return found._tag === "Some" ? found.value : undefined
}

describe("Bulkhead", () => {
  it.effect("runs at most maxConcurrent calls and queues the rest in FIFO order", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const b = yield* Bulkhead.make({ name: "p", maxConcurrent: 2, maxQueue: 3 })
      const gate = yield* Deferred.make<void>()
      const started: Array<number> = []
      const task = (i: number) =>
        b.apply(Effect.sync(() => started.push(i)).pipe(Effect.andThen(Deferred.await(gate)), Effect.as(i)))
      const fibers = []
      for (let i = 0; i < 5; i++) fibers.push(yield* Effect.forkChild(task(i).pipe(rec.provide)))
      yield* settle
      assert.deepStrictEqual(started, [0, 1])
      assert.strictEqual(b.inFlight, 2)
      assert.strictEqual(b.queued, 3)
      assert.deepStrictEqual(rec.of("BulkheadQueued").map((e) => e.queued), [1, 2, 3])
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(results, [0, 1, 2, 3, 4])
      assert.deepStrictEqual(started, [0, 1, 2, 3, 4])
      assert.strictEqual(b.inFlight, 0)
      assert.strictEqual(b.queued, 0)
      assert.deepStrictEqual(b.stats, { inFlight: 0, queued: 0, admitted: 5, rejected: 0, cancelled: 0 })
    }))

  it.effect("rejects with queue-full when the queue is full", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const b = yield* Bulkhead.make({ name: "p", maxConcurrent: 1, maxQueue: 1 })
      const gate = yield* Deferred.make<void>()
      const f1 = yield* Effect.forkChild(b.apply(Deferred.await(gate)))
      const f2 = yield* Effect.forkChild(b.apply(Deferred.await(gate)))
      yield* settle
      const exit = yield* Effect.exit(b.apply(Effect.succeed(1)).pipe(rec.provide))
      const error = rejection(exit)
      assert.instanceOf(error, Bulkhead.BulkheadRejected)
      assert.strictEqual(error?.why, "queue-full")
      assert.strictEqual(error?.message, "bulkhead 'p' rejected the call: the wait queue is full")
      assert.deepStrictEqual(rec.events, [{ _tag: "BulkheadRejected", policy: "bulkhead:p", pool: "p", why: "queue-full" }])
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll([f1, f2])
    }))

  it.effect("maxQueue 0 rejects as soon as all slots are busy", () =>
    Effect.gen(function*() {
      const b = yield* Bulkhead.make({ maxConcurrent: 1 })
      const f = yield* Effect.forkChild(b.apply(Effect.never))
      yield* settle
      assert.strictEqual(rejection(yield* Effect.exit(b.apply(Effect.void)))?.why, "queue-full")
      yield* Fiber.interrupt(f)
      assert.strictEqual(b.inFlight, 0)
    }))

  it.effect("rejects with wait-expired after maxWait (Clock-driven)", () =>
    Effect.gen(function*() {
      const b = yield* Bulkhead.make({ name: "p", maxConcurrent: 1, maxQueue: 5, maxWait: "1 second" })
      const holder = yield* Effect.forkChild(b.apply(Effect.never))
      yield* settle
      const waiter = yield* Effect.forkChild(b.apply(Effect.succeed("late")))
      yield* settle
      assert.strictEqual(b.queued, 1)
      yield* TestClock.adjust(999)
      assert.isUndefined(waiter.pollUnsafe())
      yield* TestClock.adjust(1)
      const exit = yield* Fiber.await(waiter)
      assert.strictEqual(rejection(exit)?.why, "wait-expired")
      assert.strictEqual(b.queued, 0)
      yield* Fiber.interrupt(holder)
      assert.strictEqual(b.inFlight, 0)
      assert.deepStrictEqual(b.stats, { inFlight: 0, queued: 0, admitted: 1, rejected: 1, cancelled: 0 })
    }))

  it.effect("interruption while queued frees the queue slot", () =>
    Effect.gen(function*() {
      const b = yield* Bulkhead.make({ maxConcurrent: 1, maxQueue: 1 })
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.forkChild(b.apply(Deferred.await(gate)))
      yield* settle
      const queued = yield* Effect.forkChild(b.apply(Effect.succeed("never runs")))
      yield* settle
      assert.strictEqual(b.queued, 1)
      yield* Fiber.interrupt(queued)
      assert.strictEqual(b.queued, 0)
      // the slot can be used again
      const next = yield* Effect.forkChild(b.apply(Effect.succeed("next")))
      yield* settle
      assert.strictEqual(b.queued, 1)
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* Fiber.join(next), "next")
      yield* Fiber.join(holder)
      assert.deepStrictEqual(b.stats, { inFlight: 0, queued: 0, admitted: 2, rejected: 0, cancelled: 1 })
    }))

  it.effect("interruption while running frees the permit for the next waiter", () =>
    Effect.gen(function*() {
      const b = yield* Bulkhead.make({ maxConcurrent: 1, maxQueue: 1 })
      const running = yield* Effect.forkChild(b.apply(Effect.never))
      yield* settle
      const waiting = yield* Effect.forkChild(b.apply(Effect.succeed("ran")))
      yield* settle
      yield* Fiber.interrupt(running)
      assert.strictEqual(yield* Fiber.join(waiting), "ran")
      assert.strictEqual(b.inFlight, 0)
    }))

  it.effect("a waiter interrupted right after being handed a permit passes it on", () =>
    Effect.gen(function*() {
      const b = yield* Bulkhead.make({ maxConcurrent: 1, maxQueue: 2 })
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.forkChild(b.apply(Deferred.await(gate)))
      yield* settle
      const w1 = yield* Effect.forkChild(b.apply(Effect.succeed(1)))
      const w2 = yield* Effect.forkChild(b.apply(Effect.succeed(2)))
      yield* settle
      // release the holder and interrupt w1 in the same tick: w1 was granted but never resumed
      yield* Effect.sync(() => {
        Effect.runFork(Deferred.succeed(gate, undefined))
      })
      yield* Fiber.interrupt(w1)
      yield* Fiber.join(holder)
      assert.strictEqual(yield* Fiber.join(w2), 2)
      assert.strictEqual(b.inFlight, 0)
      assert.strictEqual(b.queued, 0)
    }))

  it.effect("failures and defects release the permit", () =>
    Effect.gen(function*() {
      const b = yield* Bulkhead.make({ maxConcurrent: 1 })
      yield* Effect.exit(b.apply(Effect.fail("x")))
      yield* Effect.exit(b.apply(Effect.die("boom")))
      assert.strictEqual(b.inFlight, 0)
      assert.strictEqual(yield* b.apply(Effect.succeed(1)), 1)
    }))

  it.effect("named pools are shared by name and isolated per registry", () =>
    Effect.gen(function*() {
      const a = yield* Bulkhead.pool("critical", seedPools.critical)
      const b = yield* Bulkhead.pool("critical", { maxConcurrent: 1 })
      const c = yield* Bulkhead.pool("batch", seedPools.batch)
      assert.strictEqual(a, b)
      assert.notStrictEqual(a, c)
      assert.strictEqual(a.maxConcurrent, 100)
      assert.deepStrictEqual(a.descriptor, {
        kind: "bulkhead",
        settings: { pool: "critical", maxConcurrent: 100, maxQueue: 100, maxWait: "1s" }
      })
    }).pipe(Effect.provideService(Bulkhead.BulkheadPools, new Map())))
})
