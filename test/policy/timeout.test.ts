import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Retry from "../../dsl/policy/Retry.ts"
import * as Timeout from "../../dsl/policy/Timeout.ts"
import { recorder } from "./support.ts"

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const found = Cause.findErrorOption(exit.cause)
  return found._tag === "Some" ? found.value : undefined
}

describe("Timeout", () => {
  it.effect("passes a fast effect through without events", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const value = yield* Timeout.make({ after: 1000 }).apply(Effect.succeed(1)).pipe(rec.provide)
      assert.strictEqual(value, 1)
      assert.deepStrictEqual(rec.events, [])
    }))

  it.effect("interrupts a slow effect and fails with a typed PolicyTimeout", () =>
    Effect.gen(function*() {
      const rec = recorder()
      let interrupted = false
      const slow = Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
      const fiber = yield* Effect.forkChild(Timeout.make({ after: "2 seconds", name: "server fs" }).apply(slow).pipe(rec.provide))
      yield* TestClock.adjust(1999)
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust(1)
      const exit = yield* Fiber.await(fiber)
      const error = failureOf(exit)
      assert.isTrue(interrupted)
      assert.instanceOf(error, Timeout.PolicyTimeout)
      assert.strictEqual(error?.afterMs, 2000)
      assert.strictEqual(error?.scope, "attempt")
      assert.strictEqual(error?.policy, "server fs")
      assert.strictEqual(error?.message, "server fs: the attempt timed out after 2000 ms")
      assert.isTrue(error?.transient)
      assert.isTrue(error?.mayHaveReachedServer)
      assert.deepStrictEqual(rec.events, [{ _tag: "TimedOut", policy: "server fs", afterMs: 2000 }])
    }))

  it.effect("waits for the interrupted effect's cleanup before failing", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const slow = Effect.never.pipe(
        Effect.onInterrupt(() => Effect.sleep(50).pipe(Effect.andThen(Effect.sync(() => order.push("cleanup")))))
      )
      const fiber = yield* Effect.forkChild(
        Timeout.make({ after: 100 }).apply(slow).pipe(Effect.onError(() => Effect.sync(() => order.push("failed"))))
      )
      yield* TestClock.adjust(200)
      yield* Fiber.await(fiber)
      assert.deepStrictEqual(order, ["cleanup", "failed"])
    }))

  it.effect("an infinite deadline leaves the effect alone", () =>
    Effect.gen(function*() {
      const t = Timeout.make({ after: "Infinity" })
      assert.strictEqual(t.afterMs, Infinity)
      assert.strictEqual(yield* t.apply(Effect.succeed("x")), "x")
    }))

  it.effect("per-attempt and overall deadlines at two places in the stack", () =>
    Effect.gen(function*() {
      const rec = recorder()
      let calls = 0
      const hang = Effect.suspend(() => {
        calls++
        return Effect.never
      })
      const perAttempt = Timeout.make({ after: 1000 })
      const overall = Timeout.make({ after: 2500, scope: "overall", name: "deadline" })
      const retry = Retry.make({ maxAttempts: 10, jitter: "none" })
      const fiber = yield* Effect.forkChild(
        overall.apply(retry.apply(perAttempt.apply(hang), { idempotent: true })).pipe(rec.provide)
      )
      yield* TestClock.adjust(10_000)
      const error = failureOf(yield* Fiber.await(fiber))
      assert.strictEqual(error?._tag, "PolicyTimeout")
      assert.strictEqual(error?.scope, "overall")
      assert.strictEqual(error?.message, "deadline: the call (overall deadline) timed out after 2500 ms")
      // attempts at 0, 1100, 2300 (1000 + 100, 200 backoff) — the third is cut by the overall deadline
      assert.strictEqual(calls, 3)
      assert.deepStrictEqual(rec.of("TimedOut").map((e) => e.policy), ["timeout", "timeout", "deadline"])
    }))

  it.effect("describes itself", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(Timeout.make({ after: "5 seconds" }).descriptor, {
        kind: "timeout",
        settings: { after: "5s", scope: "attempt" }
      })
    }))
})
