import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Random } from "effect"
import { TestClock } from "effect/testing"
import * as Backoff from "../../dsl/policy/Backoff.ts"
import * as Retry from "../../dsl/policy/Retry.ts"
import * as Timeout from "../../dsl/policy/Timeout.ts"
import type { McpflowToolError } from "../../dsl/ToolError.ts"
import { errors, recorder, scripted } from "./support.ts"

const noJitter = { backoff: Backoff.exponential(100, { max: 1000 }), jitter: "none" } as const

/** Forks `self`, advances the TestClock by `ms`, and returns its exit. */
const runFor = <A, E>(self: Effect.Effect<A, E>, ms: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(self)
    yield* TestClock.adjust(ms)
    return yield* Fiber.await(fiber)
  })

describe("Retry", () => {
  it.effect("runs once and emits nothing on success", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const s = scripted<number, McpflowToolError>([{ succeed: 1 }])
      const value = yield* Retry.make(noJitter).apply(s.effect).pipe(rec.provide)
      assert.strictEqual(value, 1)
      assert.strictEqual(s.state.calls, 1)
      assert.deepStrictEqual(rec.events, [])
    }))

  it.effect("retries transient tool errors with the backoff's delays, then succeeds", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const s = scripted<number, McpflowToolError>([{ fail: errors.unavailable() }, { fail: errors.unavailable() }, { succeed: 7 }])
      const exit = yield* runFor(Retry.make({ ...noJitter, maxAttempts: 5 }).apply(s.effect).pipe(rec.provide), 10_000)
      assert.deepStrictEqual(exit, Exit.succeed(7))
      assert.strictEqual(s.state.calls, 3)
      assert.deepStrictEqual(rec.events, [
        { _tag: "AttemptFailed", policy: "retry", attempt: 1, reason: "ServerUnavailable" },
        { _tag: "RetryScheduled", policy: "retry", attempt: 2, delayMs: 100, reason: "ServerUnavailable" },
        { _tag: "AttemptFailed", policy: "retry", attempt: 2, reason: "ServerUnavailable" },
        { _tag: "RetryScheduled", policy: "retry", attempt: 3, delayMs: 200, reason: "ServerUnavailable" }
      ])
    }))

  it.effect("sleeps on the Clock: nothing happens before the delay elapses", () =>
    Effect.gen(function*() {
      const s = scripted<number, McpflowToolError>([{ fail: errors.unavailable() }, { succeed: 1 }])
      const fiber = yield* Effect.forkChild(Retry.make(noJitter).apply(s.effect))
      yield* TestClock.adjust(99)
      assert.strictEqual(s.state.calls, 1)
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed(1))
      assert.strictEqual(s.state.calls, 2)
    }))

  it.effect("stops after maxAttempts and fails with the last error", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const s = scripted<number, McpflowToolError>([{ fail: errors.unavailable() }])
      const exit = yield* runFor(Retry.make({ ...noJitter, maxAttempts: 4 }).apply(s.effect).pipe(rec.provide), 60_000)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(s.state.calls, 4)
      assert.deepStrictEqual(rec.of("RetryGaveUp"), [{ _tag: "RetryGaveUp", policy: "retry", attempts: 4, reason: "max-attempts" }])
    }))

  it.effect("never retries non-transient or permanent tool errors, even when the predicate says so", () =>
    Effect.gen(function*() {
      const failed = scripted<number, McpflowToolError>([{ fail: errors.failed() }])
      yield* Effect.exit(Retry.make(noJitter).apply(failed.effect))
      assert.strictEqual(failed.state.calls, 1)
      const invalid = scripted<number, McpflowToolError>([{ fail: errors.invalid() }])
      const rec = recorder()
      yield* Effect.exit(Retry.make({ ...noJitter, retryOn: () => true }).apply(invalid.effect).pipe(rec.provide))
      assert.strictEqual(invalid.state.calls, 1)
      assert.strictEqual(rec.of("RetryGaveUp")[0]?.reason, "not-retryable")
      // a custom predicate can opt a non-transient error in
      const custom = scripted<number, McpflowToolError>([{ fail: errors.failed() }, { succeed: 2 }])
      const retry = Retry.make({ ...noJitter, retryOn: (e: McpflowToolError) => e.reason._tag === "ToolFailed" })
      assert.deepStrictEqual(yield* runFor(retry.apply(custom.effect), 1000), Exit.succeed(2))
    }))

  it.effect("does not repeat a call that may have reached the server unless it is idempotent", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const charge = scripted<string, McpflowToolError>([{ fail: errors.lost() }, { succeed: "charged" }])
      const exit = yield* runFor(Retry.make(noJitter).apply(charge.effect, { idempotent: false }).pipe(rec.provide), 1000)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(charge.state.calls, 1)
      assert.strictEqual(rec.of("RetryGaveUp")[0]?.reason, "not-idempotent")
      // no context counts as not idempotent
      const noCtx = scripted<string, McpflowToolError>([{ fail: errors.callTimeout() }, { succeed: "ok" }])
      yield* runFor(Retry.make(noJitter).apply(noCtx.effect), 1000)
      assert.strictEqual(noCtx.state.calls, 1)
      // idempotent, read-only, or an explicit opt-in allow it
      for (const [ctx, opts] of [[{ idempotent: true }, {}], [{ readOnly: true }, {}], [{}, { retryNonIdempotent: true }]] as const) {
        const s = scripted<string, McpflowToolError>([{ fail: errors.lost() }, { succeed: "ok" }])
        assert.deepStrictEqual(yield* runFor(Retry.make({ ...noJitter, ...opts }).apply(s.effect, ctx), 1000), Exit.succeed("ok"))
        assert.strictEqual(s.state.calls, 2)
      }
      // an error that never reached the server is retried even when not idempotent
      const unavailable = scripted<string, McpflowToolError>([{ fail: errors.unavailable() }, { succeed: "ok" }])
      assert.deepStrictEqual(
        yield* runFor(Retry.make(noJitter).apply(unavailable.effect, { idempotent: false }), 1000),
        Exit.succeed("ok")
      )
    }))

  it.effect("uses Retry-After as a lower bound of the next delay", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const s = scripted<number, McpflowToolError>([{ fail: errors.rateLimited(5000) }, { succeed: 1 }])
      const fiber = yield* Effect.forkChild(Retry.make(noJitter).apply(s.effect).pipe(rec.provide))
      yield* TestClock.adjust(4999)
      assert.strictEqual(s.state.calls, 1)
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed(1))
      assert.strictEqual(rec.of("RetryScheduled")[0]?.delayMs, 5000)
    }))

  it.effect("takes Retry-After from any error that carries it (e.g. a breaker rejection)", () =>
    Effect.gen(function*() {
      const rejected = { _tag: "BreakerRejected", transient: true, retryAfterMs: 3000 } as const
      const rec = recorder()
      const s = scripted<number, typeof rejected>([{ fail: rejected }, { succeed: 1 }])
      yield* runFor(Retry.make(noJitter).apply(s.effect).pipe(rec.provide), 5000)
      assert.strictEqual(rec.of("RetryScheduled")[0]?.delayMs, 3000)
    }))

  it.effect("does not start an attempt whose delay would exceed the budget", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const s = scripted<number, McpflowToolError>([{ fail: errors.unavailable() }])
      // delays 100, 200, 400 → elapsed 100, 300, 700; budget 500 stops before the 400 ms wait
      const retry = Retry.make({ ...noJitter, maxAttempts: 10, budget: 500 })
      const exit = yield* runFor(retry.apply(s.effect).pipe(rec.provide), 10_000)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(s.state.calls, 3)
      assert.strictEqual(rec.of("RetryGaveUp")[0]?.reason, "budget")
    }))

  it.effect("retries rejected results and fails with RetryExhausted carrying the last value", () =>
    Effect.gen(function*() {
      const s = scripted<{ success: boolean; n: number }, never>([
        { succeed: { success: false, n: 1 } },
        { succeed: { success: false, n: 2 } },
        { succeed: { success: true, n: 3 } }
      ])
      const retry = Retry.make({ ...noJitter, maxAttempts: 5, retryOnResult: (r: { success: boolean }) => !r.success })
      assert.deepStrictEqual(yield* runFor(retry.apply(s.effect), 10_000), Exit.succeed({ success: true, n: 3 }))

      const never = scripted<{ success: boolean; n: number }, never>([{ succeed: { success: false, n: 9 } }])
      const exit = yield* runFor(Retry.make({ ...noJitter, maxAttempts: 2, retryOnResult: (r: { success: boolean }) => !r.success }).apply(never.effect), 10_000)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
      assert.isTrue(error !== undefined && error._tag === "Some")
      if (error?._tag === "Some") {
        assert.strictEqual(error.value._tag, "RetryExhausted")
        assert.deepStrictEqual(error.value.lastValue, { success: false, n: 9 })
        assert.strictEqual(error.value.attempts, 2)
      }
    }))

  it.effect("does not retry defects", () =>
    Effect.gen(function*() {
      let calls = 0
      const boom = Effect.suspend(() => {
        calls++
        return Effect.die("boom")
      })
      const exit = yield* runFor(Retry.make({ ...noJitter, retryOn: () => true }).apply(boom), 1000)
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      assert.strictEqual(calls, 1)
    }))

  it.effect("retries a per-attempt PolicyTimeout (transient) when the call is idempotent", () =>
    Effect.gen(function*() {
      let calls = 0
      const slowThenFast = Effect.suspend(() => (++calls === 1 ? Effect.never : Effect.succeed("fast")))
      const perAttempt = Timeout.make({ after: 1000 })
      const retry = Retry.make(noJitter)
      const exit = yield* runFor(retry.apply(perAttempt.apply(slowThenFast), { idempotent: true }), 5000)
      assert.deepStrictEqual(exit, Exit.succeed("fast"))
      assert.strictEqual(calls, 2)
      // not idempotent: a timed-out attempt may have reached the server
      calls = 0
      const exit2 = yield* runFor(retry.apply(perAttempt.apply(slowThenFast)), 5000)
      assert.isTrue(Exit.isFailure(exit2))
      assert.strictEqual(calls, 1)
    }))

  it.effect("a seed reproduces the jittered delays", () =>
    Effect.gen(function*() {
      const delaysWith = (seed: string) =>
        Effect.gen(function*() {
          const rec = recorder()
          const s = scripted<number, McpflowToolError>([{ fail: errors.unavailable() }])
          const retry = Retry.make({ backoff: Backoff.exponential(100), jitter: "full", maxAttempts: 6 })
          yield* runFor(retry.apply(s.effect).pipe(rec.provide, Random.withSeed(seed)), 100_000)
          return rec.of("RetryScheduled").map((e) => e.delayMs)
        })
      const a = yield* delaysWith("seed-1")
      const b = yield* delaysWith("seed-1")
      const c = yield* delaysWith("seed-2")
      assert.strictEqual(a.length, 5)
      assert.deepStrictEqual(a, b)
      assert.notDeepEqual(a, c)
    }))

  it.effect("describes itself", () =>
    Effect.sync(() => {
      const d = Retry.make({ maxAttempts: 3, backoff: Backoff.exponential("200 millis", { max: "5 seconds" }), jitter: "full" }).descriptor
      assert.deepStrictEqual(d, {
        kind: "retry",
        settings: { maxAttempts: 3, backoff: "exponential 200ms×2 cap 5s", jitter: "full", retryOn: "transient", retryNonIdempotent: false }
      })
    }))
})
