import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as CircuitBreaker from "../../dsl/policy/CircuitBreaker.ts"
import { memoryStore } from "../../dsl/policy/BreakerStore.ts"
import { type PolicyEvent, PolicyEvents } from "../../dsl/policy/PolicyEvents.ts"
import { InvalidInput, NotAllowed, Timeout, toolError, ToolFailed, UnknownTool } from "../../dsl/ToolError.ts"

// -----------------------------------------------------------------------------
// helpers
// -----------------------------------------------------------------------------

const timeout = toolError(new Timeout({ server: "docker", tool: "build", phase: "call", afterMs: 100 }))
const invalidInput = toolError(new InvalidInput({ server: "docker", tool: "build", path: "tag", issue: "Expected string" }))
const unknownTool = toolError(new UnknownTool({ server: "docker", tool: "nope", detail: "not published" }))
const notAllowed = toolError(new NotAllowed({ server: "docker", tool: "rm", allowed: ["docker.build"] }))

const ok = Effect.succeed("ok")
const boom = Effect.fail(timeout)

/** Runs `self` through the breaker and returns its exit. */
const run = <A, E>(breaker: CircuitBreaker.CircuitBreaker, self: Effect.Effect<A, E>, key?: string) =>
  Effect.exit(breaker.execute(self, { key }))

/** The rejection of an exit, if it is one. */
const rejection = (exit: Exit.Exit<unknown, unknown>): CircuitBreaker.BreakerRejected | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const error = Cause.findErrorOption(exit.cause)
  return error._tag === "Some" && error.value instanceof CircuitBreaker.BreakerRejected ? error.value : undefined
}

/** Runs `self` through the breaker as a call that takes `ms` of Clock time. */
const runFor = <A, E>(breaker: CircuitBreaker.CircuitBreaker, ms: number, self: Effect.Effect<A, E>, key?: string) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(breaker.execute(Effect.andThen(Effect.sleep(ms), self), { key }), {
      startImmediately: true
    })
    yield* TestClock.adjust(ms)
    return yield* Fiber.await(fiber)
  })

/** Starts a call that blocks until its gate is opened; `started` says whether the breaker admitted it. */
const startPending = (breaker: CircuitBreaker.CircuitBreaker, key?: string) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<"success" | "failure" | "ignored">()
    let started = false
    const body = Effect.gen(function*() {
      started = true
      const outcome = yield* Deferred.await(gate)
      if (outcome === "success") return "ok"
      return yield* Effect.fail(outcome === "failure" ? timeout : invalidInput)
    })
    const fiber = yield* Effect.forkChild(breaker.execute(body, { key }), { startImmediately: true })
    return {
      started: () => started,
      fiber,
      finish: (outcome: "success" | "failure" | "ignored") =>
        Effect.andThen(Deferred.succeed(gate, outcome), Fiber.await(fiber))
    }
  })

const make = (options: Partial<CircuitBreaker.BreakerOptions> = {}) =>
  CircuitBreaker.make({
    name: "docker",
    trip: CircuitBreaker.consecutive(5),
    openDuration: "30 seconds",
    halfOpen: { permittedCalls: 3, successThreshold: 2 },
    ...options
  })

const failTimes = (breaker: CircuitBreaker.CircuitBreaker, n: number, key?: string) =>
  Effect.forEach(Array.from({ length: n }), () => run(breaker, boom, key), { discard: true })

// -----------------------------------------------------------------------------
// unit tests
// -----------------------------------------------------------------------------

describe("CircuitBreaker: trip policies", () => {
  it.effect("consecutive(5) opens after 5 failures in a row; a success resets the streak", () =>
    Effect.gen(function*() {
      const breaker = yield* make()
      yield* failTimes(breaker, 4)
      assert.isTrue(Exit.isSuccess(yield* run(breaker, ok)))
      yield* failTimes(breaker, 4)
      assert.strictEqual(yield* breaker.state(), "closed")
      yield* failTimes(breaker, 1)
      assert.strictEqual(yield* breaker.state(), "open")

      let ran = false
      const exit = yield* run(breaker, Effect.sync(() => (ran = true)))
      assert.isFalse(ran)
      const rejected = rejection(exit)
      assert.isDefined(rejected)
      assert.strictEqual(rejected!.state, "open")
      assert.strictEqual(rejected!.retryAfterMs, 30_000)
      assert.strictEqual(rejected!.message, "circuit 'docker' is open; retry after 30000 ms")
      assert.isTrue(rejected!.transient)
      assert.isFalse(rejected!.mayHaveReachedServer)

      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(rejection(yield* run(breaker, ok))!.retryAfterMs, 28_000)
      assert.strictEqual(rejection(yield* run(breaker, ok))!.message, "circuit 'docker' is open; retry after 28000 ms")
    }))

  it.effect("countWindow trips on the failure rate of the last `size` calls, once minimumCalls are in", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.countWindow({ size: 4, failureRateThreshold: 0.5, minimumCalls: 3 }) })
      yield* failTimes(breaker, 2) // 2/2 but below minimumCalls
      assert.strictEqual(yield* breaker.state(), "closed")
      yield* run(breaker, ok) // [F F S]: 2/3 ≥ 0.5 with 3 calls → open
      assert.strictEqual(yield* breaker.state(), "open")

      const sliding = yield* make({
        name: "sliding",
        trip: CircuitBreaker.countWindow({ size: 4, failureRateThreshold: 0.5 })
      })
      // S S F S → 1/4; then F: the window is [S F S F] → 2/4 = 0.5 → open
      yield* run(sliding, ok)
      yield* run(sliding, ok)
      yield* run(sliding, boom)
      yield* run(sliding, ok)
      assert.strictEqual(yield* sliding.state(), "closed")
      assert.deepStrictEqual((yield* sliding.metrics()).failureRate, 0.25)
      yield* run(sliding, boom)
      assert.strictEqual(yield* sliding.state(), "open")
      const m = yield* sliding.metrics()
      assert.strictEqual(m.calls, 4)
      assert.strictEqual(m.failedCalls, 2)
    }))

  it.effect("countWindow with a low rate: failures slide out of the window", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.countWindow({ size: 3, failureRateThreshold: 0.7 }) })
      for (let i = 0; i < 10; i++) {
        yield* run(breaker, boom)
        yield* run(breaker, ok)
        yield* run(breaker, ok)
      }
      assert.strictEqual(yield* breaker.state(), "closed")
    }))

  it.effect("timeWindow slides on the Clock, bucket by bucket", () =>
    Effect.gen(function*() {
      const breaker = yield* make({
        trip: CircuitBreaker.timeWindow({ window: "10 seconds", buckets: 10, failureRateThreshold: 0.5, minimumThroughput: 4 })
      })
      yield* failTimes(breaker, 3) // t=0, bucket 0
      assert.strictEqual((yield* breaker.metrics()).calls, 3)
      yield* TestClock.adjust("9999 millis") // still bucket 9 of the window [0..9]
      assert.strictEqual((yield* breaker.metrics()).calls, 3)
      yield* TestClock.adjust("1 millis") // bucket 10: bucket 0 slid out
      assert.strictEqual((yield* breaker.metrics()).calls, 0)
      yield* failTimes(breaker, 3)
      assert.strictEqual(yield* breaker.state(), "closed") // 3 < minimumThroughput
      yield* TestClock.adjust("5 seconds")
      yield* run(breaker, ok) // 3 F + 1 S = 0.75
      assert.strictEqual(yield* breaker.state(), "open")
      const m = yield* breaker.metrics()
      assert.deepStrictEqual([m.calls, m.failedCalls, m.failureRate], [4, 3, 0.75])
    }))

  it.effect("timeWindow: old failures stop counting, so a mostly-healthy stream never trips", () =>
    Effect.gen(function*() {
      const breaker = yield* make({
        trip: CircuitBreaker.timeWindow({ window: "1 second", buckets: 4, failureRateThreshold: 0.6, minimumThroughput: 3 })
      })
      for (let i = 0; i < 20; i++) {
        yield* run(breaker, boom)
        yield* run(breaker, boom)
        yield* TestClock.adjust("1 second")
        yield* run(breaker, ok)
        yield* run(breaker, ok)
      }
      assert.strictEqual(yield* breaker.state(), "closed")
    }))
})

describe("CircuitBreaker: half-open", () => {
  const openIt = (breaker: CircuitBreaker.CircuitBreaker) =>
    Effect.gen(function*() {
      yield* failTimes(breaker, 5)
      assert.strictEqual(yield* breaker.state(), "open")
      yield* TestClock.adjust("30 seconds")
    })

  it.effect("admits at most permittedCalls trials; successThreshold successes close it", () =>
    Effect.gen(function*() {
      const transitions: Array<string> = []
      const breaker = yield* make({ onTransition: (t) => transitions.push(`${t.from}->${t.to}`) })
      yield* openIt(breaker)
      const p1 = yield* startPending(breaker)
      assert.strictEqual(yield* breaker.state(), "half-open")
      const p2 = yield* startPending(breaker)
      const p3 = yield* startPending(breaker)
      const p4 = yield* startPending(breaker)
      assert.deepStrictEqual([p1.started(), p2.started(), p3.started(), p4.started()], [true, true, true, false])
      const rejected = rejection(yield* Fiber.await(p4.fiber))
      assert.strictEqual(rejected?.state, "half-open")
      assert.isUndefined(rejected?.retryAfterMs)

      yield* p1.finish("success")
      assert.strictEqual(yield* breaker.state(), "half-open")
      // all 3 permits are still taken (a finished trial keeps its permit)
      assert.isDefined(rejection(yield* run(breaker, ok)))
      yield* p2.finish("success")
      assert.strictEqual(yield* breaker.state(), "closed")
      // the third trial finishes late: its failure does not count
      yield* p3.finish("failure")
      assert.strictEqual(yield* breaker.state(), "closed")
      assert.strictEqual((yield* breaker.metrics()).calls, 0)
      assert.deepStrictEqual(transitions, ["closed->open", "open->half-open", "half-open->closed"])
    }))

  it.effect("one failed trial reopens it", () =>
    Effect.gen(function*() {
      const breaker = yield* make()
      yield* openIt(breaker)
      assert.isTrue(Exit.isSuccess(yield* run(breaker, ok)))
      assert.strictEqual(yield* breaker.state(), "half-open")
      yield* run(breaker, boom)
      assert.strictEqual(yield* breaker.state(), "open")
      assert.strictEqual((yield* breaker.metrics()).openedCount, 2)
      assert.strictEqual(rejection(yield* run(breaker, ok))?.retryAfterMs, 30_000)
    }))

  it.effect("an ignored or interrupted trial gives its permit back", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ halfOpen: { permittedCalls: 1, successThreshold: 1 } })
      yield* openIt(breaker)
      const p1 = yield* startPending(breaker)
      assert.isTrue(p1.started())
      assert.isDefined(rejection(yield* run(breaker, ok)))
      yield* p1.finish("ignored")
      const p2 = yield* startPending(breaker)
      assert.isTrue(p2.started())
      yield* Fiber.interrupt(p2.fiber)
      assert.strictEqual(yield* breaker.state(), "half-open")
      assert.isTrue(Exit.isSuccess(yield* run(breaker, ok)))
      assert.strictEqual(yield* breaker.state(), "closed")
    }))
})

describe("CircuitBreaker: open duration", () => {
  it.effect("a backoff grows over consecutive openings, is capped, and restarts after a calm period", () =>
    Effect.gen(function*() {
      const opens: Array<number | undefined> = []
      const breaker = yield* make({
        trip: CircuitBreaker.consecutive(1),
        openDuration: CircuitBreaker.backoff({ base: "1 second", factor: 2, max: "5 seconds" }),
        halfOpen: { permittedCalls: 1 },
        onTransition: (t) => {
          if (t.to === "open") opens.push(t.retryAfterMs)
        }
      })
      yield* run(breaker, boom) // 1s
      for (const ms of [1000, 2000, 4000, 5000]) {
        assert.strictEqual(rejection(yield* run(breaker, ok))?.retryAfterMs, ms)
        yield* TestClock.adjust(ms - 1)
        assert.strictEqual(rejection(yield* run(breaker, ok))?.retryAfterMs, 1)
        yield* TestClock.adjust(1)
        yield* run(breaker, boom) // the trial fails: next opening
      }
      assert.deepStrictEqual(opens, [1000, 2000, 4000, 5000, 5000])
      yield* TestClock.adjust("5 seconds")
      yield* run(breaker, ok) // the trial succeeds: closed
      assert.strictEqual(yield* breaker.state(), "closed")
      yield* run(breaker, boom) // flapping right away: the backoff continues
      assert.strictEqual(opens.at(-1), 5000)
      yield* TestClock.adjust("5 seconds")
      yield* run(breaker, ok)
      yield* TestClock.adjust("5 seconds") // calm for as long as the last opening
      yield* run(breaker, boom)
      assert.strictEqual(opens.at(-1), 1000)
    }))

  it.effect("after the open duration the next call moves the circuit to half-open", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.consecutive(1), openDuration: "100 millis" })
      yield* run(breaker, boom)
      yield* TestClock.adjust("1 hour")
      assert.strictEqual(yield* breaker.state(), "open") // lazily: nothing moves without a call
      assert.strictEqual((yield* breaker.metrics()).retryAfterMs, 0)
      const p = yield* startPending(breaker)
      assert.strictEqual(yield* breaker.state(), "half-open")
      yield* p.finish("success")
    }))
})

describe("CircuitBreaker: slow calls", () => {
  it.effect("a countWindow opens on the rate of slow successes", () =>
    Effect.gen(function*() {
      const breaker = yield* make({
        trip: CircuitBreaker.countWindow({
          size: 4,
          failureRateThreshold: 1,
          slowCall: { durationThreshold: "1 second", rateThreshold: 0.5 }
        })
      })
      yield* runFor(breaker, 1500, ok)
      yield* runFor(breaker, 1000, ok) // exactly the threshold: not slow
      yield* runFor(breaker, 10, ok)
      assert.strictEqual((yield* breaker.metrics()).slowCalls, 1)
      yield* runFor(breaker, 3000, boom) // a slow failure is a failure, not a slow call
      assert.strictEqual(yield* breaker.state(), "closed")
      let m = yield* breaker.metrics()
      assert.deepStrictEqual([m.calls, m.failedCalls, m.slowCalls, m.slowCallRate], [4, 1, 1, 0.25])
      yield* runFor(breaker, 2000, ok) // window [1000 10 F 2000s]... slides out the first slow one
      assert.strictEqual(yield* breaker.state(), "closed")
      yield* runFor(breaker, 2000, ok) // [10 F slow slow] → 2/4
      assert.strictEqual(yield* breaker.state(), "open")
      m = yield* breaker.metrics()
      assert.strictEqual(m.slowCallRate, 0.5)
    }))

  it.effect("consecutive(n) with slowCall opens when the last n calls are slow enough", () =>
    Effect.gen(function*() {
      const breaker = yield* make({
        trip: CircuitBreaker.consecutive(3, { slowCall: { durationThreshold: "200 millis", rateThreshold: 1 } })
      })
      yield* runFor(breaker, 500, ok)
      yield* runFor(breaker, 500, ok)
      yield* runFor(breaker, 50, ok)
      yield* runFor(breaker, 500, ok)
      assert.strictEqual(yield* breaker.state(), "closed")
      yield* runFor(breaker, 500, ok)
      assert.strictEqual(yield* breaker.state(), "closed")
      yield* runFor(breaker, 500, ok)
      assert.strictEqual(yield* breaker.state(), "open")
    }))

  it.effect("a slow trial reopens a half-open circuit", () =>
    Effect.gen(function*() {
      const breaker = yield* make({
        trip: CircuitBreaker.timeWindow({
          window: "10 seconds",
          failureRateThreshold: 0.5,
          minimumThroughput: 2,
          slowCall: { durationThreshold: "1 second", rateThreshold: 0.5 }
        })
      })
      yield* runFor(breaker, 2000, ok)
      yield* runFor(breaker, 2000, ok)
      assert.strictEqual(yield* breaker.state(), "open")
      yield* TestClock.adjust("30 seconds")
      yield* runFor(breaker, 2000, ok)
      assert.strictEqual(yield* breaker.state(), "open")
      assert.strictEqual((yield* breaker.metrics()).openedCount, 2)
    }))
})

describe("CircuitBreaker: classification", () => {
  it.effect("UnknownTool, InvalidInput and NotAllowed never trip it; interruption is ignored", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.consecutive(1) })
      for (let i = 0; i < 20; i++) {
        yield* run(breaker, Effect.fail(unknownTool))
        yield* run(breaker, Effect.fail(invalidInput))
        yield* run(breaker, Effect.fail(notAllowed))
        const fiber = yield* Effect.forkChild(breaker.execute(Effect.never), { startImmediately: true })
        yield* Fiber.interrupt(fiber)
      }
      assert.strictEqual(yield* breaker.state(), "closed")
      assert.strictEqual((yield* breaker.metrics()).calls, 0)
      // a tool failure does trip it
      yield* run(breaker, Effect.fail(toolError(new ToolFailed({ server: "docker", tool: "build", text: "no" }))))
      assert.strictEqual(yield* breaker.state(), "open")
    }))

  it.effect("other errors and defects are failures", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.consecutive(2) })
      yield* run(breaker, Effect.fail("plain string error"), "a")
      yield* run(breaker, Effect.die("defect"), "a")
      assert.strictEqual(yield* breaker.state("a"), "open")
    }))

  it.effect("a per-call classifier sees the call's types and duration", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.consecutive(1) })
      const call = Effect.fail({ status: 404 as number })
      const exit = yield* Effect.exit(
        breaker.execute(call, { classify: (exit) => Exit.isFailure(exit) ? "success" : "failure" })
      )
      assert.isTrue(Exit.isFailure(exit)) // the call's own error still comes through
      assert.strictEqual(yield* breaker.state(), "closed")
      const durations: Array<number> = []
      const fiber = yield* Effect.forkChild(
        breaker.execute(Effect.sleep("250 millis"), {
          classify: (_, ms) => {
            durations.push(ms)
            return "ignored"
          }
        }),
        { startImmediately: true }
      )
      yield* TestClock.adjust("250 millis")
      yield* Fiber.await(fiber)
      assert.deepStrictEqual(durations, [250])
    }))

  it.effect("a classifier that throws makes the call die and counts as nothing", () =>
    Effect.gen(function*() {
      const breaker = yield* make({
        trip: CircuitBreaker.consecutive(1),
        classify: () => {
          throw new Error("bad classifier")
        }
      })
      const exit = yield* run(breaker, ok)
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      assert.strictEqual((yield* breaker.metrics()).calls, 0)
    }))

  it("defaultClassify", () => {
    assert.strictEqual(CircuitBreaker.defaultClassify(Exit.succeed(1), 0), "success")
    assert.strictEqual(CircuitBreaker.defaultClassify(Exit.fail(unknownTool), 0), "ignored")
    assert.strictEqual(CircuitBreaker.defaultClassify(Exit.fail(timeout), 0), "failure")
    assert.strictEqual(CircuitBreaker.defaultClassify(Exit.failCause(Cause.interrupt(1)), 0), "ignored")
    assert.strictEqual(CircuitBreaker.defaultClassify(Exit.die("x"), 0), "failure")
    assert.strictEqual(
      CircuitBreaker.defaultClassify(Exit.fail(new CircuitBreaker.BreakerRejected({ key: "k", state: "open" })), 0),
      "ignored"
    )
  })
})

describe("CircuitBreaker: keys, manual control, metrics", () => {
  it.effect("one circuit per key, created lazily with the same settings", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.consecutive(2) })
      assert.deepStrictEqual(yield* breaker.keys(), [])
      yield* failTimes(breaker, 2, "docker.build")
      yield* run(breaker, ok, "docker.push")
      assert.strictEqual(yield* breaker.state("docker.build"), "open")
      assert.strictEqual(yield* breaker.state("docker.push"), "closed")
      assert.strictEqual(yield* breaker.state("never-used"), "closed")
      assert.strictEqual(rejection(yield* run(breaker, ok, "docker.build"))?.key, "docker.build")
      assert.deepStrictEqual(yield* breaker.keys(), ["docker.build", "docker.push"])
    }))

  it.effect("isolate rejects every call until reset; disable admits everything and records nothing", () =>
    Effect.gen(function*() {
      const breaker = yield* make()
      yield* breaker.isolate("k")
      assert.strictEqual(yield* breaker.state("k"), "forced-open")
      yield* TestClock.adjust("1 day")
      const rejected = rejection(yield* run(breaker, ok, "k"))
      assert.strictEqual(rejected?.state, "forced-open")
      assert.isUndefined(rejected?.retryAfterMs)
      assert.strictEqual(rejected?.message, "circuit 'k' is isolated (forced open) until it is reset")
      assert.isFalse(rejected?.transient)
      yield* breaker.reset("k")
      assert.isTrue(Exit.isSuccess(yield* run(breaker, ok, "k")))

      yield* breaker.disable("k")
      yield* failTimes(breaker, 50, "k")
      assert.strictEqual(yield* breaker.state("k"), "disabled")
      const m = yield* breaker.metrics("k")
      assert.deepStrictEqual([m.calls, m.failedCalls], [0, 0])
      yield* breaker.reset("k")
      assert.strictEqual(yield* breaker.state("k"), "closed")
    }))

  it.effect("reset clears counters; calls admitted before it do not count", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.consecutive(2) })
      yield* failTimes(breaker, 2)
      yield* run(breaker, ok)
      assert.strictEqual((yield* breaker.metrics()).rejectedCalls, 1)
      const p = yield* startPending(breaker)
      assert.isFalse(p.started())
      yield* breaker.reset()
      const inflight = yield* startPending(breaker)
      yield* breaker.reset()
      yield* inflight.finish("failure") // admitted before the second reset: not counted
      assert.deepStrictEqual(yield* breaker.metrics(), {
        state: "closed",
        failureRate: 0,
        slowCallRate: 0,
        calls: 0,
        failedCalls: 0,
        slowCalls: 0,
        rejectedCalls: 0,
        openedCount: 0,
        retryAfterMs: undefined
      })
    }))

  it.effect("a call admitted while closed that ends after the circuit opened changes nothing", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.consecutive(2), halfOpen: { permittedCalls: 1 } })
      const slow = yield* startPending(breaker)
      yield* failTimes(breaker, 2)
      yield* TestClock.adjust("30 seconds")
      const trial = yield* startPending(breaker)
      yield* slow.finish("success") // late closed-era success: must not count as a trial
      assert.strictEqual(yield* breaker.state(), "half-open")
      yield* trial.finish("success")
      assert.strictEqual(yield* breaker.state(), "closed")
    }))

  it.effect("the closed path (closedCircuit / recordClosed) keeps execute's bookkeeping: streaks, opening, events, stale epochs", () =>
    Effect.gen(function*() {
      const seen: Array<PolicyEvent> = []
      yield* Effect.gen(function*() {
        const breaker = yield* make({ trip: CircuitBreaker.consecutive(2) })
        const fiber = yield* Effect.fiber
        const closed = breaker.closedCircuit("a")!
        assert.isDefined(closed)
        assert.strictEqual(closed.state, "closed")
        const stale = closed.epoch
        breaker.recordClosed(closed, "a", closed.epoch, "failure", fiber)
        breaker.recordClosed(closed, "a", closed.epoch, "success", fiber) // resets the streak
        breaker.recordClosed(closed, "a", closed.epoch, "failure", fiber)
        breaker.recordClosed(closed, "a", closed.epoch, "ignored", fiber) // does not
        assert.strictEqual(yield* breaker.state("a"), "closed")
        breaker.recordClosed(closed, "a", closed.epoch, "failure", fiber)
        assert.strictEqual(yield* breaker.state("a"), "open")
        // Open: no closed path; execute rejects, as it would have.
        assert.isUndefined(breaker.closedCircuit("a"))
        assert.strictEqual(rejection(yield* run(breaker, ok, "a"))?.state, "open")
        // Back to closed after a trial: an outcome admitted before the opening changes nothing.
        yield* TestClock.adjust("30 seconds")
        yield* run(breaker, ok, "a")
        yield* run(breaker, ok, "a")
        assert.strictEqual(yield* breaker.state("a"), "closed")
        const reopened = breaker.closedCircuit("a")!
        breaker.recordClosed(reopened, "a", stale, "failure", fiber)
        breaker.recordClosed(reopened, "a", stale, "failure", fiber)
        assert.strictEqual(yield* breaker.state("a"), "closed")
        assert.strictEqual((yield* breaker.metrics("a")).failedCalls, 0)
      }).pipe(Effect.provideService(PolicyEvents, { emit: (e) => seen.push(e) }))
      const p = { policy: "breaker:docker", key: "a" }
      assert.deepStrictEqual(seen, [
        { _tag: "BreakerTransition", ...p, from: "closed", to: "open" },
        { _tag: "BreakerRejected", ...p, retryAfterMs: 30_000 },
        { _tag: "BreakerTransition", ...p, from: "open", to: "half-open" },
        { _tag: "BreakerTransition", ...p, from: "half-open", to: "closed" }
      ])
    }))

  it.effect("no closed path when calls need their start time (slow-call tripping)", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.consecutive(2, { slowCall: { durationThreshold: "1 second", rateThreshold: 1 } }) })
      assert.isUndefined(breaker.closedCircuit("a"))
      assert.isTrue(Exit.isSuccess(yield* run(breaker, ok, "a")))
    }))

  it.effect("metrics snapshot", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.countWindow({ size: 10, failureRateThreshold: 0.9 }) })
      yield* run(breaker, ok)
      yield* run(breaker, boom)
      yield* run(breaker, ok)
      yield* run(breaker, boom)
      yield* run(breaker, Effect.fail(invalidInput))
      const m = yield* breaker.metrics()
      assert.deepStrictEqual(m, {
        state: "closed",
        failureRate: 0.5,
        slowCallRate: 0,
        calls: 4,
        failedCalls: 2,
        slowCalls: 0,
        rejectedCalls: 0,
        openedCount: 0,
        retryAfterMs: undefined
      })
    }))
})

describe("CircuitBreaker: events, descriptor, settings", () => {
  it.effect("emits every transition and rejection through PolicyEvents", () =>
    Effect.gen(function*() {
      const seen: Array<PolicyEvent> = []
      yield* Effect.gen(function*() {
        const breaker = yield* make({ trip: CircuitBreaker.consecutive(1), halfOpen: { permittedCalls: 1 } })
        yield* run(breaker, boom)
        yield* run(breaker, ok)
        yield* TestClock.adjust("30 seconds")
        yield* run(breaker, ok)
        yield* breaker.isolate()
        yield* run(breaker, ok)
        yield* breaker.disable()
        yield* breaker.reset()
      }).pipe(Effect.provideService(PolicyEvents, { emit: (e) => seen.push(e) }))
      const p = { policy: "breaker:docker", key: "docker" }
      assert.deepStrictEqual(seen, [
        { _tag: "BreakerTransition", ...p, from: "closed", to: "open" },
        { _tag: "BreakerRejected", ...p, retryAfterMs: 30_000 },
        { _tag: "BreakerTransition", ...p, from: "open", to: "half-open" },
        { _tag: "BreakerTransition", ...p, from: "half-open", to: "closed" },
        { _tag: "BreakerTransition", ...p, from: "closed", to: "forced-open" },
        { _tag: "BreakerRejected", ...p, retryAfterMs: undefined },
        { _tag: "BreakerTransition", ...p, from: "forced-open", to: "disabled" },
        { _tag: "BreakerTransition", ...p, from: "disabled", to: "closed" }
      ])
    }))

  it.effect("the rejection is a distinct typed error: a fallback is one catchTag away", () =>
    Effect.gen(function*() {
      const breaker = yield* make({ trip: CircuitBreaker.consecutive(1) })
      const guarded = breaker.execute(boom).pipe(
        Effect.catchTag("BreakerRejected", (e) => Effect.succeed(`fallback (${e.state})`))
      )
      assert.isTrue(Exit.isFailure(yield* Effect.exit(guarded)))
      assert.strictEqual(yield* guarded, "fallback (open)")
    }))

  it.effect("describes itself to plans", () =>
    Effect.gen(function*() {
      const breaker = yield* make({
        openDuration: CircuitBreaker.backoff({ base: "10 seconds", factor: 2, max: "5 minutes" }),
        trip: CircuitBreaker.timeWindow({
          window: "1 minute",
          buckets: 6,
          failureRateThreshold: 0.5,
          minimumThroughput: 20,
          slowCall: { durationThreshold: "2 seconds", rateThreshold: 0.8 }
        })
      })
      assert.deepStrictEqual(breaker.descriptor, {
        kind: "breaker",
        settings: {
          name: "docker",
          trip: "failure rate >= 0.5 over 60s in 6 buckets (min 20 calls)",
          slowCall: "rate >= 0.8 of successes slower than 2s",
          openDuration: "exponential 10s×2 cap 300s",
          halfOpenPermittedCalls: 3,
          halfOpenSuccessThreshold: 2,
          ignored: ["UnknownTool", "InvalidInput", "NotAllowed"]
        }
      })
    }))

  it.effect("refuses settings out of range with a typed error", () =>
    Effect.gen(function*() {
      const bad = [
        { trip: CircuitBreaker.consecutive(0) },
        { trip: CircuitBreaker.countWindow({ size: 5, failureRateThreshold: 1.5 }) },
        { trip: CircuitBreaker.countWindow({ size: 5, failureRateThreshold: 0.5, minimumCalls: 6 }) },
        { trip: CircuitBreaker.timeWindow({ window: "0 seconds", failureRateThreshold: 0.5 }) },
        { halfOpen: { permittedCalls: 2, successThreshold: 3 } },
        { openDuration: CircuitBreaker.backoff({ base: "10 seconds", max: "1 second" }) },
        { name: "" }
      ] satisfies Array<Partial<CircuitBreaker.BreakerOptions>>
      for (const options of bad) {
        const error = yield* Effect.flip(make(options))
        assert.strictEqual(error._tag, "BreakerSettingsError")
      }
      const error = yield* Effect.flip(make({ halfOpen: { permittedCalls: 2, successThreshold: 3 } }))
      assert.strictEqual(error.message, "breaker 'docker': halfOpen.successThreshold must be an integer in [1, permittedCalls]")
    }))

  it.effect("a custom store sees every change", () =>
    Effect.gen(function*() {
      const states: Array<string> = []
      const store = { ...memoryStore(), persist: (key: string, r: { state: string }) => states.push(`${key}:${r.state}`) }
      const breaker = yield* make({ trip: CircuitBreaker.consecutive(1), store })
      yield* run(breaker, boom)
      assert.deepStrictEqual(states, ["docker:open"])
      assert.deepStrictEqual(store.keys(), ["docker"])
    }))
})

// -----------------------------------------------------------------------------
// property and model-based tests
// -----------------------------------------------------------------------------

const seed = Number(process.env.FC_SEED ?? Date.now())
console.log("seed", seed)
const numRuns = Number(process.env.FC_RUNS ?? 150)

type Finish = "success" | "failure" | "ignored" | "interrupt"

type Command =
  | { readonly _tag: "start" }
  | { readonly _tag: "finish"; readonly pick: number; readonly as: Finish }
  | { readonly _tag: "call"; readonly durationMs: number; readonly as: Finish }
  | { readonly _tag: "advance"; readonly ms: number }
  | { readonly _tag: "toOpenEnd"; readonly offset: number } // while open: advance to the end of the open time + offset
  | { readonly _tag: "isolate" }
  | { readonly _tag: "disable" }
  | { readonly _tag: "reset" }

const finishArb = fc.constantFrom<Finish>("success", "failure", "failure", "ignored", "interrupt")

// Time values lean on a small grid so that boundaries (exact thresholds, bucket edges) are hit.
const msArb = (max: number, grid: ReadonlyArray<number>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...grid) }, { weight: 1, arbitrary: fc.integer({ min: 0, max }) })

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Command>({ _tag: "start" }) },
  { weight: 4, arbitrary: fc.record({ _tag: fc.constant("finish" as const), pick: fc.nat(), as: finishArb }) },
  {
    weight: 10,
    arbitrary: fc.record({
      _tag: fc.constant("call" as const),
      durationMs: msArb(400, [0, 1, 50, 100, 200, 300]),
      as: finishArb
    })
  },
  {
    weight: 3,
    arbitrary: fc.record({ _tag: fc.constant("advance" as const), ms: msArb(3000, [0, 1, 100, 250, 500, 1000]) })
  },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("toOpenEnd" as const), offset: fc.constantFrom(-1, 0, 0, 1) }) },
  { weight: 1, arbitrary: fc.constantFrom<Command>({ _tag: "isolate" }, { _tag: "disable" }, { _tag: "reset" }, { _tag: "reset" }) }
)

const commandsArb = fc.array(commandArb, { minLength: 10, maxLength: 80, size: "large" })

interface Config {
  readonly trip: CircuitBreaker.TripPolicy
  readonly openDuration: number | CircuitBreaker.OpenBackoff
  readonly permitted: number
  readonly successThreshold: number
}

const slowArb = fc.option(
  fc.record({ durationThreshold: fc.constantFrom(50, 100, 200, 300), rateThreshold: fc.constantFrom(0.25, 0.5, 1) }),
  { nil: undefined }
)

const configArb: fc.Arbitrary<Config> = fc.record({
  trip: fc.oneof(
    fc.record({ n: fc.integer({ min: 1, max: 4 }), slowCall: slowArb }).map(({ n, slowCall }) =>
      CircuitBreaker.consecutive(n, { slowCall })
    ),
    fc.record({
      size: fc.integer({ min: 1, max: 6 }),
      rate: fc.constantFrom(0, 0.3, 0.5, 1),
      min: fc.integer({ min: 1, max: 6 }),
      slowCall: slowArb
    }).map(({ min, rate, size, slowCall }) =>
      CircuitBreaker.countWindow({ size, failureRateThreshold: rate, minimumCalls: Math.min(min, size), slowCall })
    ),
    fc.record({
      window: msArb(5000, [500, 1000, 2000, 3000]).map((w) => Math.max(w, 1)),
      buckets: fc.integer({ min: 1, max: 7 }),
      rate: fc.constantFrom(0, 0.3, 0.5, 1),
      min: fc.integer({ min: 1, max: 5 }),
      slowCall: slowArb
    }).map(({ buckets, min, rate, slowCall, window }) =>
      CircuitBreaker.timeWindow({ window, buckets, failureRateThreshold: rate, minimumThroughput: min, slowCall })
    )
  ),
  openDuration: fc.oneof(
    msArb(3000, [0, 1, 100, 500, 1000, 2000]),
    fc.record({ base: msArb(1000, [0, 1, 100, 500]), factor: fc.constantFrom(1, 1.5, 2), extra: fc.integer({ min: 0, max: 4000 }) })
      .map(({ base, extra, factor }) => CircuitBreaker.backoff({ base, factor, max: base + extra }))
  ),
  permitted: fc.integer({ min: 1, max: 3 }),
  successThreshold: fc.integer({ min: 1, max: 3 })
}).map((c) => ({ ...c, successThreshold: Math.min(c.successThreshold, c.permitted) }))

/** What one step observed, for comparison with the model. */
type Observation =
  | { readonly _tag: "admission"; readonly admitted: boolean; readonly state?: string | undefined; readonly retryAfterMs?: number | undefined }
  | { readonly _tag: "snapshot"; readonly metrics: CircuitBreaker.BreakerMetrics }

interface Violation {
  readonly message: string
}

/**
 * Runs the commands against a real breaker on a TestClock, and checks the invariants as it goes:
 * no call is admitted while the circuit is open (before its open time ends) or forced open, and a
 * half-open circuit never holds more than `permitted` trial permits.
 */
const runScenario = (config: Config, commands: ReadonlyArray<Command>, onStep?: (o: Observation) => void) =>
  Effect.gen(function*() {
    const violations: Array<Violation> = []
    let state = "closed" as CircuitBreaker.BreakerState
    let openUntil = 0
    let episode = 0
    let permitsHeld = 0
    const now = () => TestClock.testClockWith((c) => Effect.succeed(c.currentTimeMillisUnsafe()))

    const breaker = yield* CircuitBreaker.make({
      name: "prop",
      trip: config.trip,
      openDuration: config.openDuration,
      halfOpen: { permittedCalls: config.permitted, successThreshold: config.successThreshold },
      onTransition: (t) => {
        if (t.from === "open" && t.to === "half-open" && t.atMs < openUntil) {
          violations.push({ message: `half-open at ${t.atMs} before the open time ended at ${openUntil}` })
        }
        state = t.to
        if (t.to === "open") openUntil = t.atMs + (t.retryAfterMs ?? 0)
        if (t.to === "half-open") {
          episode++
          permitsHeld = 0
        }
      }
    })

    interface Pending {
      readonly gate: Deferred.Deferred<Finish>
      readonly fiber: Fiber.Fiber<string, unknown>
      readonly episode: number
      readonly trial: boolean
    }
    const pending: Array<Pending> = []

    const start = Effect.gen(function*() {
      const gate = yield* Deferred.make<Finish>()
      let admitted = false
      let trial = false
      let at = 0
      const body = Effect.gen(function*() {
        admitted = true
        at = yield* now()
        if (state === "open" || state === "forced-open") {
          violations.push({ message: `admitted at ${at} while ${state} (open until ${openUntil})` })
        }
        if (state === "half-open") {
          trial = true
          permitsHeld++
          if (permitsHeld > config.permitted) {
            violations.push({ message: `${permitsHeld} trial permits held, ${config.permitted} permitted` })
          }
        }
        const as = yield* Deferred.await(gate)
        if (as === "success") return "ok"
        if (as === "interrupt") return yield* Effect.interrupt
        return yield* Effect.fail(as === "failure" ? timeout : invalidInput)
      })
      const fiber = yield* Effect.forkChild(breaker.execute(body, { key: "prop" }), { startImmediately: true })
      if (!admitted) {
        const exit = yield* Fiber.await(fiber)
        const r = rejection(exit)
        if (r === undefined) violations.push({ message: "a call neither ran nor was rejected" })
        onStep?.({ _tag: "admission", admitted: false, state: r?.state, retryAfterMs: r?.retryAfterMs })
        return undefined
      }
      onStep?.({ _tag: "admission", admitted: true })
      const p: Pending = { gate, fiber, episode, trial }
      pending.push(p)
      return p
    })

    const finish = (p: Pending, as: Finish) =>
      Effect.gen(function*() {
        pending.splice(pending.indexOf(p), 1)
        const epoch = episode
        const wasHalfOpen = state === "half-open"
        if (as === "interrupt") yield* Fiber.interrupt(p.fiber)
        else {
          yield* Deferred.succeed(p.gate, as)
          yield* Fiber.await(p.fiber)
        }
        // an ignored trial of the current episode gives its permit back
        if (p.trial && (as === "ignored" || as === "interrupt") && wasHalfOpen && p.episode === epoch && state === "half-open") {
          permitsHeld--
        }
      })

    const snapshot = Effect.gen(function*() {
      onStep?.({ _tag: "snapshot", metrics: yield* breaker.metrics("prop") })
    })

    for (const command of commands) {
      switch (command._tag) {
        case "start":
          if (pending.length < 6) yield* start
          break
        case "finish":
          if (pending.length > 0) yield* finish(pending[command.pick % pending.length]!, command.as)
          break
        case "call": {
          const p = yield* start
          yield* TestClock.adjust(command.durationMs)
          if (p !== undefined) yield* finish(p, command.as)
          break
        }
        case "advance":
          yield* TestClock.adjust(command.ms)
          break
        case "toOpenEnd":
          if (state === "open") yield* TestClock.adjust(Math.max(0, openUntil + command.offset - (yield* now())))
          break
        case "isolate":
          yield* breaker.isolate("prop")
          break
        case "disable":
          yield* breaker.disable("prop")
          break
        case "reset":
          yield* breaker.reset("prop")
          break
      }
      yield* snapshot
    }
    for (const p of pending) yield* Fiber.interrupt(p.fiber)
    return violations
  }).pipe(Effect.provide(TestClock.layer()))

/**
 * The reference model: the same state machine written the plain way — the window is a list of
 * timestamped outcomes filtered on demand, the streak is recounted from it.
 */
class Model {
  state: CircuitBreaker.BreakerState = "closed"
  epoch = 0
  entries: Array<{ readonly t: number; readonly code: "S" | "F" | "W" }> = [] // W: slow success
  openUntil = 0
  openings = 0
  lastOpenMs = 0
  backoffResetAt = 0
  probes = 0
  probeSuccesses = 0
  rejected = 0
  opened = 0
  constructor(readonly config: Config) {}

  private get slowMs() {
    const slowCall = this.config.trip.slowCall
    return slowCall === undefined ? Infinity : Number(slowCall.durationThreshold)
  }

  private window(now: number) {
    const trip = this.config.trip
    switch (trip._tag) {
      case "Consecutive":
        return this.entries.slice(-trip.failures)
      case "CountWindow":
        return this.entries.slice(-trip.size)
      case "TimeWindow": {
        const w = Number(trip.window)
        const bucket = (t: number) => Math.floor((t * trip.buckets) / w)
        return this.entries.filter((e) => bucket(e.t) > bucket(now) - trip.buckets)
      }
    }
  }

  private counts(now: number) {
    const w = this.window(now)
    return {
      calls: w.length,
      failures: w.filter((e) => e.code === "F").length,
      slow: w.filter((e) => e.code === "W").length
    }
  }

  private trips(now: number): boolean {
    const trip = this.config.trip
    const { calls, failures, slow } = this.counts(now)
    if (trip._tag === "Consecutive") {
      let streak = 0
      for (let i = this.entries.length - 1; i >= 0 && this.entries[i]!.code === "F"; i--) streak++
      if (streak >= trip.failures) return true
      return calls >= trip.failures && slow > 0 && slow / calls >= (trip.slowCall?.rateThreshold ?? 1)
    }
    const min = trip._tag === "CountWindow" ? trip.minimumCalls : trip.minimumThroughput
    if (calls < min) return false
    if (failures > 0 && failures / calls >= trip.failureRateThreshold) return true
    return slow > 0 && slow / calls >= (trip.slowCall?.rateThreshold ?? 1)
  }

  private openFor(n: number): number {
    const od = this.config.openDuration
    if (typeof od === "number") return od
    const base = Number(od.base)
    return od.factor === 1 ? base : Math.round(Math.min(Number(od.max), base * Math.pow(od.factor, n - 1)))
  }

  private open(now: number) {
    if (this.state === "closed" && now >= this.backoffResetAt) this.openings = 0
    this.openings++
    this.opened++
    this.lastOpenMs = this.openFor(this.openings)
    this.openUntil = now + this.lastOpenMs
    this.go("open")
  }

  private go(to: CircuitBreaker.BreakerState) {
    this.state = to
    this.epoch++
    this.probes = 0
    this.probeSuccesses = 0
  }

  admit(now: number): { ticket?: { epoch: number; start: number }; rejected?: { state: string; retryAfterMs?: number } } {
    switch (this.state) {
      case "closed":
        return { ticket: { epoch: this.epoch, start: now } }
      case "disabled":
        return { ticket: { epoch: -1, start: now } }
      case "forced-open":
        this.rejected++
        return { rejected: { state: "forced-open" } }
      case "open":
        if (now < this.openUntil) {
          this.rejected++
          return { rejected: { state: "open", retryAfterMs: this.openUntil - now } }
        }
        this.entries = []
        this.go("half-open")
        return this.admit(now)
      case "half-open":
        if (this.probes >= this.config.permitted) {
          this.rejected++
          return { rejected: { state: "half-open" } }
        }
        this.probes++
        return { ticket: { epoch: this.epoch, start: now } }
    }
  }

  record(ticket: { epoch: number; start: number }, outcome: "success" | "failure" | "ignored", now: number) {
    if (ticket.epoch !== this.epoch) return
    const code = outcome === "failure" ? "F" : now - ticket.start > this.slowMs ? "W" : "S"
    if (this.state === "closed") {
      if (outcome === "ignored") return
      this.entries.push({ t: now, code })
      if (this.trips(now)) this.open(now)
    } else if (this.state === "half-open") {
      if (outcome === "ignored") {
        this.probes--
        return
      }
      this.entries.push({ t: now, code })
      if (code !== "S") this.open(now)
      else if (++this.probeSuccesses >= this.config.successThreshold) {
        this.entries = []
        this.backoffResetAt = now + this.lastOpenMs
        this.go("closed")
      }
    }
  }

  force(to: "forced-open" | "disabled") {
    if (this.state !== to) {
      this.entries = []
      this.go(to)
    }
  }

  reset() {
    this.entries = []
    this.openUntil = 0
    this.openings = 0
    this.lastOpenMs = 0
    this.backoffResetAt = 0
    this.rejected = 0
    this.opened = 0
    this.go("closed")
  }

  metrics(now: number): CircuitBreaker.BreakerMetrics {
    const { calls, failures, slow } = this.counts(now)
    return {
      state: this.state,
      failureRate: calls === 0 ? 0 : failures / calls,
      slowCallRate: calls === 0 ? 0 : slow / calls,
      calls,
      failedCalls: failures,
      slowCalls: slow,
      rejectedCalls: this.rejected,
      openedCount: this.opened,
      retryAfterMs: this.state === "open" ? Math.max(0, this.openUntil - now) : undefined
    }
  }
}

/** Steps the model through the same commands and returns what it expects to observe. */
const runModel = (config: Config, commands: ReadonlyArray<Command>): Array<Observation> => {
  const model = new Model(config)
  const out: Array<Observation> = []
  let now = 0
  const pending: Array<{ epoch: number; start: number }> = []
  const start = () => {
    const r = model.admit(now)
    if (r.ticket === undefined) {
      out.push({ _tag: "admission", admitted: false, state: r.rejected?.state, retryAfterMs: r.rejected?.retryAfterMs })
      return undefined
    }
    out.push({ _tag: "admission", admitted: true })
    pending.push(r.ticket)
    return r.ticket
  }
  const finish = (ticket: { epoch: number; start: number }, as: Finish) => {
    pending.splice(pending.indexOf(ticket), 1)
    model.record(ticket, as === "interrupt" ? "ignored" : as, now)
  }
  for (const command of commands) {
    switch (command._tag) {
      case "start":
        if (pending.length < 6) start()
        break
      case "finish":
        if (pending.length > 0) finish(pending[command.pick % pending.length]!, command.as)
        break
      case "call": {
        const t = start()
        now += command.durationMs
        if (t !== undefined) finish(t, command.as)
        break
      }
      case "advance":
        now += command.ms
        break
      case "toOpenEnd":
        if (model.state === "open") now += Math.max(0, model.openUntil + command.offset - now)
        break
      case "isolate":
        model.force("forced-open")
        break
      case "disable":
        model.force("disabled")
        break
      case "reset":
        model.reset()
        break
    }
    out.push({ _tag: "snapshot", metrics: model.metrics(now) })
  }
  return out
}

describe("CircuitBreaker: properties", () => {
  it("never admits a call while open, and at most `permittedCalls` while half-open", async () => {
    await fc.assert(
      fc.asyncProperty(configArb, commandsArb, async (config, commands) => {
        const violations = await Effect.runPromise(runScenario(config, commands))
        assert.deepStrictEqual(violations, [])
      }),
      { seed, numRuns }
    )
  })

  it("model-based: the breaker steps in lockstep with a reference model", async () => {
    await fc.assert(
      fc.asyncProperty(configArb, commandsArb, async (config, commands) => {
        const observed: Array<Observation> = []
        await Effect.runPromise(runScenario(config, commands, (o) => observed.push(o)))
        const expected = runModel(config, commands)
        for (let i = 0; i < expected.length; i++) {
          assert.deepStrictEqual(observed[i], expected[i], `step ${i}`)
        }
        assert.strictEqual(observed.length, expected.length)
      }),
      { seed, numRuns }
    )
  })
})
