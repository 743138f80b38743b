import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, Layer } from "effect"
import { RateLimiter } from "effect/persistence"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as RateLimit from "../../dsl/policy/RateLimit.ts"
import * as Algorithms from "../../dsl/policy/internal/RateLimitAlgorithms.ts"
import { failureOf, recorder, settle } from "./support.ts"

/** A call that records the Clock time it started at. */
const stamped = () => {
  const starts: Array<number> = []
  const effect = Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => starts.push(now)))
  return { starts, effect }
}

/** Runs `self` and returns whether the limit admitted it (`true`) or its rejection. */
const attempt = <A, E>(self: Effect.Effect<A, E | RateLimit.RateLimitRejected>) =>
  Effect.map(Effect.exit(self), (exit) => (Exit.isSuccess(exit) ? true : failureOf(exit)))

const retryAfter = (r: unknown) => (r instanceof RateLimit.RateLimitRejected ? r.retryAfterMs : r)

describe("RateLimit: token bucket", () => {
  it.effect("allows a burst of `limit`, then refills one token every window/limit, never above capacity", () =>
    Effect.gen(function*() {
      const limit = yield* RateLimit.make({ algorithm: "token-bucket", limit: 5, window: "1 second", onExceeded: "fail" })
      for (let i = 0; i < 5; i++) assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      assert.strictEqual(retryAfter(yield* attempt(limit.apply(Effect.void))), 200)
      yield* TestClock.adjust(199)
      assert.strictEqual(retryAfter(yield* attempt(limit.apply(Effect.void))), 1)
      yield* TestClock.adjust(1)
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      assert.strictEqual(retryAfter(yield* attempt(limit.apply(Effect.void))), 200)
      // a long idle period refills to the capacity, not beyond
      yield* TestClock.adjust("1 minute")
      let admitted = 0
      while ((yield* attempt(limit.apply(Effect.void))) === true) admitted++
      assert.strictEqual(admitted, 5)
    }))

  it.effect("`burst` sets the capacity apart from the rate", () =>
    Effect.gen(function*() {
      const limit = yield* RateLimit.make({ limit: 10, window: "1 second", burst: 2, onExceeded: "fail" })
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      assert.strictEqual(retryAfter(yield* attempt(limit.apply(Effect.void))), 100)
      yield* TestClock.adjust(100)
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      assert.strictEqual(limit.descriptor.settings.burst, 2)
    }))

  it.effect("delay mode: waiting calls start in arrival order, each one token later", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const limit = yield* RateLimit.make({ name: "gh", limit: 1, window: "100 millis" })
      const call = stamped()
      const fibers = yield* Effect.forEach([0, 1, 2], () => Effect.forkChild(limit.apply(call.effect).pipe(rec.provide)))
      yield* settle
      assert.deepStrictEqual(call.starts, [0])
      yield* TestClock.adjust(99)
      assert.deepStrictEqual(call.starts, [0])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(call.starts, [0, 100])
      yield* TestClock.adjust(100)
      yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(call.starts, [0, 100, 200])
      assert.deepStrictEqual(rec.events, [
        { _tag: "RateLimited", policy: "gh", key: "gh", delayMs: 100, rejected: false },
        { _tag: "RateLimited", policy: "gh", key: "gh", delayMs: 200, rejected: false }
      ])
    }))
})

describe("RateLimit: fixed window", () => {
  it.effect("at most `limit` per aligned window; the count resets at the window's end", () =>
    Effect.gen(function*() {
      const limit = yield* RateLimit.make({ algorithm: "fixed-window", limit: 2, window: 1000, onExceeded: "fail" })
      yield* TestClock.adjust(300)
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      // the window is [0, 1000): 700 ms left
      assert.strictEqual(retryAfter(yield* attempt(limit.apply(Effect.void))), 700)
      yield* TestClock.adjust(699)
      assert.strictEqual(retryAfter(yield* attempt(limit.apply(Effect.void))), 1)
      yield* TestClock.adjust(1)
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      assert.strictEqual(retryAfter(yield* attempt(limit.apply(Effect.void))), 1000)
      // the known weakness of fixed windows: 2 at the end of one window and 2 at the start of the next
      yield* TestClock.adjust(1900) // t = 2900
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      yield* TestClock.adjust(100) // t = 3000
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
    }))

  it.effect("delay mode reserves slots in later windows", () =>
    Effect.gen(function*() {
      const limit = yield* RateLimit.make({ algorithm: "fixed-window", limit: 2, window: 1000 })
      const call = stamped()
      const fibers = yield* Effect.forEach([0, 1, 2, 3, 4], () => Effect.forkChild(limit.apply(call.effect)))
      yield* TestClock.adjust(1500)
      // newcomers at 1500 go after the reservations: window [2000, 3000) has one slot left
      const late = yield* Effect.forEach([0, 1], () => Effect.forkChild(limit.apply(call.effect)))
      yield* TestClock.adjust(5000)
      yield* Fiber.joinAll([...fibers, ...late])
      assert.deepStrictEqual(call.starts, [0, 0, 1000, 1000, 2000, 2000, 3000])
    }))
})

describe("RateLimit: sliding window", () => {
  it.effect("at most `limit` in any window-long interval", () =>
    Effect.gen(function*() {
      const limit = yield* RateLimit.make({ algorithm: "sliding-window", limit: 2, window: 1000, onExceeded: "fail" })
      assert.isTrue(yield* attempt(limit.apply(Effect.void))) // t = 0
      yield* TestClock.adjust(900)
      assert.isTrue(yield* attempt(limit.apply(Effect.void))) // t = 900
      assert.strictEqual(retryAfter(yield* attempt(limit.apply(Effect.void))), 100)
      yield* TestClock.adjust(100)
      assert.isTrue(yield* attempt(limit.apply(Effect.void))) // t = 1000: the call at 0 slid out
      assert.strictEqual(retryAfter(yield* attempt(limit.apply(Effect.void))), 900) // until 900 slides out
      // no boundary burst: a fixed window would admit again at t = 2000, a sliding one only at 1900 + …
      yield* TestClock.adjust(900)
      assert.isTrue(yield* attempt(limit.apply(Effect.void))) // t = 1900
      yield* TestClock.adjust(50)
      assert.strictEqual(retryAfter(yield* attempt(limit.apply(Effect.void))), 50) // t = 1950: 1000 and 1900 are in
      yield* TestClock.adjust(50)
      assert.isTrue(yield* attempt(limit.apply(Effect.void))) // t = 2000
      assert.strictEqual(retryAfter(yield* attempt(limit.apply(Effect.void))), 900)
    }))

  it.effect("delay mode: each waiter starts a window after the admission it displaces", () =>
    Effect.gen(function*() {
      const limit = yield* RateLimit.make({ algorithm: "sliding-window", limit: 2, window: 1000 })
      const call = stamped()
      const first = yield* Effect.forkChild(limit.apply(call.effect))
      yield* TestClock.adjust(300)
      const rest = yield* Effect.forEach([0, 1, 2, 3], () => Effect.forkChild(limit.apply(call.effect)))
      yield* TestClock.adjust(5000)
      yield* Fiber.joinAll([first, ...rest])
      assert.deepStrictEqual(call.starts, [0, 300, 1000, 1300, 2000])
    }))
})

describe("RateLimit: modes, keys, events", () => {
  it.effect("fail mode rejects at once with a typed, transient RateLimitRejected that sent nothing", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const limit = yield* RateLimit.make({ name: "api", limit: 1, window: "1 second", onExceeded: "fail" })
      const call = stamped()
      yield* limit.apply(call.effect, { key: "github" })
      const error = failureOf(yield* Effect.exit(limit.apply(call.effect, { key: "github" }).pipe(rec.provide)))
      assert.instanceOf(error, RateLimit.RateLimitRejected)
      if (error instanceof RateLimit.RateLimitRejected) {
        assert.strictEqual(error.policy, "api")
        assert.strictEqual(error.key, "github")
        assert.strictEqual(error.why, "limit-exceeded")
        assert.strictEqual(error.retryAfterMs, 1000)
        assert.isTrue(error.transient)
        assert.isFalse(error.mayHaveReachedServer)
        assert.strictEqual(error.message, "rate limit of 'github' reached; retry after 1000 ms")
      }
      assert.deepStrictEqual(call.starts, [0])
      assert.deepStrictEqual(rec.events, [{ _tag: "RateLimited", policy: "api", key: "github", delayMs: 1000, rejected: true }])
    }))

  it.effect("delay mode with maxDelay rejects a call that would wait longer", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const limit = yield* RateLimit.make({ limit: 1, window: "1 second", maxDelay: "1500 millis" })
      const call = stamped()
      const fibers = yield* Effect.forEach([0, 1, 2], () => Effect.forkChild(Effect.exit(limit.apply(call.effect).pipe(rec.provide))))
      yield* TestClock.adjust(3000)
      const exits = yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(call.starts, [0, 1000])
      assert.strictEqual(retryAfter(failureOf(exits[2]!)), 2000)
      assert.deepStrictEqual(rec.events.map((e) => e._tag === "RateLimited" ? [e.delayMs, e.rejected] : []), [[1000, false], [2000, true]])
      // a rejected call reserved nothing: the next slot is still at 2000
      const next = yield* Effect.forkChild(limit.apply(call.effect))
      yield* TestClock.adjust(0)
      yield* Fiber.join(next)
      assert.deepStrictEqual(call.starts, [0, 1000, 3000])
    }))

  it.effect("each key has its own limit; the default key is the policy's", () =>
    Effect.gen(function*() {
      const limit = yield* RateLimit.make({ name: "per-server", limit: 1, window: "1 minute", onExceeded: "fail" })
      assert.isTrue(yield* attempt(limit.apply(Effect.void, { key: "github" })))
      assert.isTrue(yield* attempt(limit.apply(Effect.void, { key: "slack" })))
      assert.isTrue(yield* attempt(limit.apply(Effect.void)))
      assert.instanceOf(yield* attempt(limit.apply(Effect.void, { key: "github" })), RateLimit.RateLimitRejected)
      const noKey = yield* attempt(limit.apply(Effect.void, {}))
      assert.strictEqual(noKey instanceof RateLimit.RateLimitRejected ? noKey.key : "", "per-server")
      const keyed = yield* RateLimit.make({ limit: 1, window: "1 minute", onExceeded: "fail", key: "shared" })
      yield* keyed.apply(Effect.void)
      const shared = yield* attempt(keyed.apply(Effect.void))
      assert.strictEqual(shared instanceof RateLimit.RateLimitRejected ? shared.key : "", "shared")
    }))

  it.effect("an interrupted waiter keeps its reservation (the slot is spent)", () =>
    Effect.gen(function*() {
      const limit = yield* RateLimit.make({ limit: 1, window: 100 })
      const call = stamped()
      yield* limit.apply(call.effect)
      const waiter = yield* Effect.forkChild(limit.apply(call.effect))
      yield* settle
      yield* Fiber.interrupt(waiter)
      const next = yield* Effect.forkChild(limit.apply(call.effect))
      yield* TestClock.adjust(200)
      yield* Fiber.join(next)
      assert.deepStrictEqual(call.starts, [0, 200])
    }))

  it.effect("failures of the call are not the limiter's business: they pass through and still count", () =>
    Effect.gen(function*() {
      const limit = yield* RateLimit.make({ limit: 1, window: "1 second", onExceeded: "fail" })
      assert.strictEqual(failureOf(yield* Effect.exit(limit.apply(Effect.fail("boom")))), "boom")
      assert.instanceOf(yield* attempt(limit.apply(Effect.void)), RateLimit.RateLimitRejected)
    }))

  it.effect("describes itself", () =>
    Effect.gen(function*() {
      const limit = yield* RateLimit.make({ algorithm: "sliding-window", limit: 10, window: "1 second", maxDelay: "2 seconds" })
      assert.deepStrictEqual(limit.descriptor, {
        kind: "rate-limit",
        settings: { algorithm: "sliding-window", limit: 10, window: "1s", onExceeded: "delay", maxDelay: "2s" }
      })
      const clamped = yield* RateLimit.make({ limit: 0, window: 0 })
      assert.strictEqual(clamped.limit, 1)
      assert.strictEqual(clamped.windowMs, 1)
    }))
})

describe("RateLimit: shared through Effect's store-backed limiter", () => {
  it.effect("two policies over one store share the limit; its rejection maps to RateLimitRejected", () =>
    Effect.gen(function*() {
      const backend = yield* RateLimiter.make
      const a = yield* RateLimit.make({ name: "a", algorithm: "fixed-window", limit: 2, window: "1 second", onExceeded: "fail", backend, key: "github" })
      const b = yield* RateLimit.make({ name: "b", algorithm: "fixed-window", limit: 2, window: "1 second", onExceeded: "fail", backend, key: "github" })
      assert.isTrue(yield* attempt(a.apply(Effect.void)))
      assert.isTrue(yield* attempt(b.apply(Effect.void)))
      const rejected = yield* attempt(a.apply(Effect.void))
      assert.instanceOf(rejected, RateLimit.RateLimitRejected)
      if (rejected instanceof RateLimit.RateLimitRejected) {
        assert.strictEqual(rejected.why, "limit-exceeded")
        assert.strictEqual(rejected.key, "github")
        assert.isAbove(rejected.retryAfterMs ?? 0, 0)
      }
      assert.strictEqual(a.descriptor.settings.store, "effect/persistence")
      yield* TestClock.adjust("1 second")
      assert.isTrue(yield* attempt(b.apply(Effect.void)))
    }).pipe(Effect.provide(Layer.fresh(RateLimiter.layerStoreMemory))))
})

// -----------------------------------------------------------------------------
// properties of the algorithms
// -----------------------------------------------------------------------------

describe("RateLimitAlgorithms: properties", () => {
  const seed = Number(process.env.FC_SEED ?? Date.now())
  console.log(`ratelimit.test.ts fast-check seed: ${seed} (replay with FC_SEED=${seed})`)

  const scenario = fc.record({
    algorithm: fc.constantFrom<Algorithms.Algorithm>("token-bucket", "fixed-window", "sliding-window"),
    limit: fc.integer({ min: 1, max: 5 }),
    windowMs: fc.integer({ min: 1, max: 1000 }),
    burst: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    maxDelayMs: fc.oneof(fc.constant(0), fc.constant(Infinity), fc.integer({ min: 0, max: 3000 })),
    gaps: fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 })
  })

  it("admitted calls never start before they arrive or wait past maxDelay, and never exceed the limit", () => {
    fc.assert(
      fc.property(scenario, ({ algorithm, limit, windowMs, burst, maxDelayMs, gaps }) => {
        const limiter = Algorithms.make(algorithm, { limit, windowMs, burst })
        const starts: Array<number> = []
        let now = 0
        for (const gap of gaps) {
          now += gap
          const d = limiter.take(now, maxDelayMs)
          if (d.admitted) {
            if (d.delayMs < 0 || d.delayMs > maxDelayMs) return false
            starts.push(now + d.delayMs)
          } else if (!(d.retryAfterMs > 0 && d.retryAfterMs > maxDelayMs)) {
            return false
          }
        }
        starts.sort((x, y) => x - y)
        for (let i = 0; i < starts.length; i++) {
          for (let j = i; j < starts.length; j++) {
            const n = j - i + 1
            const span = starts[j]! - starts[i]!
            switch (algorithm) {
              case "sliding-window":
                if (span < windowMs && n > limit) return false
                break
              case "fixed-window":
                if (Math.floor(starts[i]! / windowMs) === Math.floor(starts[j]! / windowMs) && n > limit) return false
                break
              case "token-bucket":
                // capacity plus what refills during the span (plus 1 ms: a start is rounded up to
                // the next whole ms after its token is ready, the next token is not delayed by it)
                if (n > (burst ?? limit) + Math.floor(((span + 1) * limit) / windowMs)) return false
                break
            }
          }
        }
        return true
      }),
      { seed, numRuns: 300 }
    )
  })

  it("in fail mode a lone caller after a quiet period is always admitted", () => {
    fc.assert(
      fc.property(scenario, ({ algorithm, limit, windowMs, burst, gaps }) => {
        const limiter = Algorithms.make(algorithm, { limit, windowMs, burst })
        let now = 0
        for (const gap of gaps) {
          now += gap
          limiter.take(now, 0)
        }
        // a full window (token bucket: enough time to refill one token) later, nothing is pending
        return limiter.take(now + windowMs, 0).admitted
      }),
      { seed, numRuns: 300 }
    )
  })
})
