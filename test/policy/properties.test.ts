/**
 * Property tests of the resilience policies (issue 3), all on the TestClock.
 *
 * Not here because `breaker.test.ts` already has them: "a breaker never admits a call while open
 * and admits at most N while half-open, under arbitrary outcome sequences and arrival times", and
 * the model-based test of the breaker state machine against a reference model.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, Fiber, Random } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as Backoff from "../../dsl/policy/Backoff.ts"
import * as Bulkhead from "../../dsl/policy/Bulkhead.ts"
import * as Cache from "../../dsl/policy/Cache.ts"
import * as Hedge from "../../dsl/policy/Hedge.ts"
import * as Retry from "../../dsl/policy/Retry.ts"
import { errors, recorder, settle } from "./support.ts"

const seed = Number(process.env.FC_SEED ?? Date.now())
console.log(`properties.test.ts fast-check seed: ${seed} (replay with FC_SEED=${seed})`)
const numRuns = Number(process.env.FC_RUNS ?? 200)

/** Runs a scenario on a fresh TestClock and returns the violations it found. */
const check = (scenario: Effect.Effect<ReadonlyArray<string>>) =>
  Effect.runPromise(scenario.pipe(Effect.provide(TestClock.layer()))).then((violations) => {
    assert.deepStrictEqual(violations, [])
    return true
  })

const now = Clock.currentTimeMillis

// -----------------------------------------------------------------------------
// retry
// -----------------------------------------------------------------------------

const backoffArb: fc.Arbitrary<Backoff.Backoff> = fc.oneof(
  fc.record({ initial: fc.integer({ min: 0, max: 400 }), max: fc.integer({ min: 0, max: 2000 }) })
    .map(({ initial, max }) => Backoff.constant(initial, { max })),
  fc.record({ initial: fc.integer({ min: 0, max: 400 }), step: fc.integer({ min: 0, max: 400 }), max: fc.integer({ min: 0, max: 2000 }) })
    .map(({ initial, step, max }) => Backoff.linear(initial, { step, max })),
  fc.record({ initial: fc.integer({ min: 0, max: 400 }), factor: fc.constantFrom(1, 1.5, 2, 3), max: fc.integer({ min: 0, max: 2000 }) })
    .map(({ initial, factor, max }) => Backoff.exponential(initial, { factor, max })),
  fc.record({ initial: fc.integer({ min: 0, max: 400 }), max: fc.integer({ min: 0, max: 2000 }) })
    .map(({ initial, max }) => Backoff.fibonacci(initial, { max }))
)

type Outcome = { readonly kind: "success" | "transient" } | { readonly kind: "retry-after"; readonly ms: number }

const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Outcome>({ kind: "success" }) },
  { weight: 4, arbitrary: fc.constant<Outcome>({ kind: "transient" }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }).map((ms): Outcome => ({ kind: "retry-after", ms })) }
)

const retryArb = fc.record({
  backoff: backoffArb,
  jitter: fc.constantFrom<Backoff.Jitter>("none", "full", "equal", "decorrelated"),
  maxAttempts: fc.integer({ min: 1, max: 8 }),
  budget: fc.option(fc.integer({ min: 0, max: 6000 }), { nil: undefined }),
  attempts: fc.array(fc.record({ outcome: outcomeArb, durationMs: fc.integer({ min: 0, max: 300 }) }), { minLength: 1, maxLength: 10 }),
  randomSeed: fc.string({ maxLength: 8 })
})

const retryScenario = (s: typeof retryArb extends fc.Arbitrary<infer T> ? T : never) =>
  Effect.gen(function*() {
    const violations: Array<string> = []
    const starts: Array<number> = []
    const ends: Array<number> = []
    const rec = recorder()
    const call = Effect.suspend(() => {
      const i = starts.length
      const step = s.attempts[Math.min(i, s.attempts.length - 1)]!
      return Effect.gen(function*() {
        starts.push(yield* now)
        yield* Effect.sleep(step.durationMs)
        ends.push(yield* now)
        const outcome = step.outcome
        if (outcome.kind === "success") return i
        return yield* Effect.fail(outcome.kind === "retry-after" ? errors.rateLimited(outcome.ms) : errors.unavailable())
      })
    })
    const retry = Retry.make({ backoff: s.backoff, jitter: s.jitter, maxAttempts: s.maxAttempts, budget: s.budget })
    const fiber = yield* Effect.forkChild(
      retry.apply(call, { idempotent: true }).pipe(rec.provide, Random.withSeed(s.randomSeed))
    )
    yield* TestClock.adjust(1_000_000)
    const exit = yield* Fiber.await(fiber)
    if (fiber.pollUnsafe() === undefined) return ["the retry never finished"]

    if (starts.length > s.maxAttempts) violations.push(`${starts.length} attempts > maxAttempts ${s.maxAttempts}`)
    const budget = s.budget ?? Infinity
    for (let k = 1; k < starts.length; k++) {
      if (starts[k]! - starts[0]! > budget) violations.push(`attempt ${k + 1} started at ${starts[k]} past the budget ${budget}`)
    }
    const scheduled = rec.of("RetryScheduled")
    if (scheduled.length !== starts.length - 1) violations.push(`${scheduled.length} retries scheduled for ${starts.length} attempts`)
    scheduled.forEach((e, k) => {
      // retry k + 1 (n = k + 1) follows attempt k + 1, whose failure may carry a Retry-After
      const slept = starts[k + 1]! - ends[k]!
      if (slept !== e.delayMs) violations.push(`retry ${k + 1} slept ${slept} ms, announced ${e.delayMs}`)
      const [lo, hi] = Backoff.bounds(s.jitter, s.backoff, k + 1)
      const failed = s.attempts[Math.min(k, s.attempts.length - 1)]!.outcome
      const floor = failed.kind === "retry-after" ? failed.ms : undefined
      if (floor === undefined) {
        if (e.delayMs < lo || e.delayMs > hi) violations.push(`retry ${k + 1}: delay ${e.delayMs} outside [${lo}, ${hi}]`)
        if (e.delayMs > s.backoff.maxMs) violations.push(`retry ${k + 1}: delay ${e.delayMs} above the cap ${s.backoff.maxMs}`)
      } else {
        if (e.delayMs < floor) violations.push(`retry ${k + 1}: delay ${e.delayMs} below Retry-After ${floor}`)
        if (e.delayMs > Math.max(hi, floor)) violations.push(`retry ${k + 1}: delay ${e.delayMs} above max(${hi}, ${floor})`)
      }
    })
    // it stops for a reason, and only then
    const last = s.attempts[Math.min(starts.length - 1, s.attempts.length - 1)]!.outcome
    if (Exit.isSuccess(exit) !== (last.kind === "success")) violations.push("the exit does not match the last attempt")
    const gaveUp = rec.of("RetryGaveUp")
    if (Exit.isFailure(exit)) {
      const reason = gaveUp[0]?.reason
      if (reason === "max-attempts" && starts.length !== s.maxAttempts) violations.push(`gave up (max-attempts) after ${starts.length}`)
      if (reason === "budget") {
        // the next delay is at least its lower bound, so the budget really was too short for it
        const [lo] = Backoff.bounds(s.jitter, s.backoff, starts.length)
        const floor = last.kind === "retry-after" ? Math.max(lo, last.ms) : lo
        if (ends[ends.length - 1]! + floor <= budget && s.jitter === "none") {
          violations.push(`gave up (budget) at ${ends[ends.length - 1]} with a ${floor} ms delay inside the budget ${budget}`)
        }
      }
      if (reason !== "max-attempts" && reason !== "budget") violations.push(`gave up for ${String(reason)}`)
    } else if (gaveUp.length > 0) {
      violations.push("gave up and succeeded")
    }
    return violations
  })

describe("Retry: properties", () => {
  it("never exceeds its attempts or budget; every delay stays within its cap and jitter bounds", async () => {
    await fc.assert(fc.asyncProperty(retryArb, (s) => check(retryScenario(s))), { seed, numRuns })
  })
})

// -----------------------------------------------------------------------------
// bulkhead
// -----------------------------------------------------------------------------

const arrivalArb = fc.record({
  gapMs: fc.integer({ min: 0, max: 60 }),
  durationMs: fc.integer({ min: 0, max: 200 }),
  fails: fc.boolean(),
  interruptAfterMs: fc.option(fc.integer({ min: 0, max: 250 }), { nil: undefined, freq: 4 })
})

const bulkheadArb = fc.record({
  maxConcurrent: fc.integer({ min: 1, max: 4 }),
  maxQueue: fc.integer({ min: 0, max: 4 }),
  maxWait: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
  arrivals: fc.array(arrivalArb, { minLength: 1, maxLength: 30 })
})

const bulkheadScenario = (s: typeof bulkheadArb extends fc.Arbitrary<infer T> ? T : never) =>
  Effect.gen(function*() {
    const violations: Array<string> = []
    const b = yield* Bulkhead.make({ maxConcurrent: s.maxConcurrent, maxQueue: s.maxQueue, maxWait: s.maxWait })
    let running = 0
    const started: Array<number> = []
    const observe = (when: string) => {
      if (running > s.maxConcurrent) violations.push(`${when}: ${running} running > ${s.maxConcurrent}`)
      if (b.inFlight > s.maxConcurrent) violations.push(`${when}: inFlight ${b.inFlight} > ${s.maxConcurrent}`)
      if (b.queued > s.maxQueue) violations.push(`${when}: queued ${b.queued} > ${s.maxQueue}`)
      if (b.inFlight < 0 || b.queued < 0) violations.push(`${when}: negative counts`)
    }
    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    for (let i = 0; i < s.arrivals.length; i++) {
      const a = s.arrivals[i]!
      yield* TestClock.adjust(a.gapMs)
      const body = Effect.suspend(() => {
        running++
        started.push(i)
        observe(`call ${i} started`)
        return Effect.sleep(a.durationMs).pipe(
          Effect.andThen(a.fails ? Effect.fail("boom") : Effect.void),
          Effect.ensuring(Effect.sync(() => running--))
        )
      })
      const fiber = yield* Effect.forkChild(b.apply(body), { startImmediately: true })
      fibers.push(fiber)
      if (a.interruptAfterMs !== undefined) {
        yield* Effect.forkChild(Effect.andThen(Effect.sleep(a.interruptAfterMs), Fiber.interrupt(fiber)))
      }
      yield* settle
      observe(`after arrival ${i}`)
    }
    yield* TestClock.adjust(100_000)
    const exits = yield* Effect.forEach(fibers, Fiber.await)
    observe("at the end")
    let rejected = 0
    let interruptedBeforeRunning = 0
    exits.forEach((exit, i) => {
      if (Exit.isFailure(exit)) {
        const error = Cause.findErrorOption(exit.cause)
        if (error._tag === "Some" && error.value instanceof Bulkhead.BulkheadRejected) rejected++
        else if (Cause.hasInterrupts(exit.cause) && !started.includes(i)) interruptedBeforeRunning++
      }
    })
    const stats = b.stats
    if (stats.inFlight !== 0 || stats.queued !== 0) violations.push(`left ${stats.inFlight} in flight, ${stats.queued} queued`)
    if (stats.admitted !== started.length) violations.push(`admitted ${stats.admitted}, but ${started.length} ran`)
    if (stats.rejected !== rejected) violations.push(`rejected ${stats.rejected}, but ${rejected} calls saw BulkheadRejected`)
    if (stats.cancelled !== interruptedBeforeRunning) violations.push(`cancelled ${stats.cancelled}, but ${interruptedBeforeRunning} were interrupted while queued`)
    if (stats.admitted + stats.rejected + stats.cancelled !== s.arrivals.length) {
      violations.push(`admitted ${stats.admitted} + rejected ${stats.rejected} + cancelled ${stats.cancelled} ≠ ${s.arrivals.length} arrivals`)
    }
    if (s.arrivals.every((a) => a.interruptAfterMs === undefined) && stats.admitted + stats.rejected !== s.arrivals.length) {
      violations.push("without interruptions, admitted + rejected ≠ arrivals")
    }
    // FIFO: nobody overtakes the queue
    for (let k = 1; k < started.length; k++) {
      if (started[k]! < started[k - 1]!) violations.push(`call ${started[k]} started after call ${started[k - 1]}`)
    }
    return violations
  })

describe("Bulkhead: properties", () => {
  it("never runs more than its limit or queues more than its queue; admitted + rejected (+ cancelled) = arrivals", async () => {
    await fc.assert(fc.asyncProperty(bulkheadArb, (s) => check(bulkheadScenario(s))), { seed, numRuns })
  })
})

// -----------------------------------------------------------------------------
// cache
// -----------------------------------------------------------------------------

type CacheOp =
  | { readonly _tag: "advance"; readonly ms: number }
  | { readonly _tag: "advanceTtl"; readonly offset: number } // the TTL plus `offset` ms: probes the expiry edge
  | { readonly _tag: "call"; readonly key: number; readonly durationMs: number; readonly fails: boolean; readonly callers: number }

const cacheOpArb: fc.Arbitrary<CacheOp> = fc.oneof(
  fc.record({ _tag: fc.constant("advance" as const), ms: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 300 })) }),
  fc.record({ _tag: fc.constant("advanceTtl" as const), offset: fc.integer({ min: -2, max: 1 }) }),
  fc.record({
    _tag: fc.constant("call" as const),
    key: fc.integer({ min: 0, max: 4 }),
    durationMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 150 })),
    fails: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 4, arbitrary: fc.constant(false) }),
    callers: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 4 }) })
  })
)

const cacheArb = fc.record({
  ttlMs: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 500 })),
  capacity: fc.integer({ min: 1, max: 4 }),
  ops: fc.array(cacheOpArb, { minLength: 1, maxLength: 40 })
})

const cacheScenario = (s: typeof cacheArb extends fc.Arbitrary<infer T> ? T : never) =>
  Effect.gen(function*() {
    const violations: Array<string> = []
    const cache = yield* Cache.make({ ttl: s.ttlMs, capacity: s.capacity })
    const produced = new Map<number, { readonly key: number; readonly at: number }>()
    let lookups = 0
    let calls = 0
    for (const op of s.ops) {
      if (op._tag === "advance" || op._tag === "advanceTtl") {
        yield* TestClock.adjust(op._tag === "advance" ? op.ms : Math.max(0, s.ttlMs + op.offset))
        continue
      }
      const calledAt = yield* now
      const lookup = Effect.suspend(() => {
        const id = ++lookups
        return Effect.sleep(op.durationMs).pipe(
          Effect.andThen(now),
          Effect.flatMap((at) => {
            produced.set(id, { key: op.key, at })
            return op.fails ? Effect.fail(id) : Effect.succeed(id)
          })
        )
      })
      const fibers = yield* Effect.forEach(
        Array.from({ length: op.callers }),
        () =>
          Effect.forkChild(
            Effect.exit(cache.apply(lookup, { readOnly: true, cacheKey: `k${op.key}` })).pipe(
              Effect.flatMap((exit) => Effect.map(now, (servedAt) => ({ exit, servedAt })))
            ),
            { startImmediately: true }
          )
      )
      calls += op.callers
      yield* TestClock.adjust(op.durationMs)
      for (const fiber of fibers) {
        const { exit, servedAt } = yield* Fiber.join(fiber)
        const failure = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
        const id = Exit.isSuccess(exit) ? exit.value : failure?._tag === "Some" ? failure.value : -1
        const origin = produced.get(id)
        if (origin === undefined) {
          violations.push(`served ${id}, which no lookup produced`)
          continue
        }
        if (origin.key !== op.key) violations.push(`k${op.key} served the value of k${origin.key}`)
        if (Exit.isSuccess(exit) && servedAt - origin.at >= s.ttlMs) {
          violations.push(`k${op.key} served at ${servedAt} a value from ${origin.at}, past the TTL ${s.ttlMs}`)
        }
        if (Exit.isFailure(exit) && origin.at < calledAt) {
          violations.push(`k${op.key} called at ${calledAt} got a failure cached from ${origin.at}`)
        }
      }
      if (cache.stats.size > s.capacity) violations.push(`size ${cache.stats.size} > capacity ${s.capacity}`)
    }
    const stats = cache.stats
    if (stats.hits + stats.misses !== calls) violations.push(`hits ${stats.hits} + misses ${stats.misses} ≠ ${calls} calls`)
    if (stats.misses !== lookups) violations.push(`${stats.misses} misses but ${lookups} lookups ran`)
    return violations
  })

describe("Cache: properties", () => {
  it("never serves an entry past its TTL, nor another key's value, nor an old failure; one lookup per miss", async () => {
    await fc.assert(fc.asyncProperty(cacheArb, (s) => check(cacheScenario(s))), { seed, numRuns })
  })
})

// -----------------------------------------------------------------------------
// hedge
// -----------------------------------------------------------------------------

const hedgeArb = fc.record({
  delayMs: fc.integer({ min: 0, max: 300 }),
  maxHedges: fc.integer({ min: 0, max: 3 }),
  attempts: fc.array(
    fc.record({ latencyMs: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined, freq: 5 }), fails: fc.boolean() }),
    { minLength: 4, maxLength: 4 }
  ),
  interruptAtMs: fc.option(fc.integer({ min: 0, max: 800 }), { nil: undefined })
})

const hedgeScenario = (s: typeof hedgeArb extends fc.Arbitrary<infer T> ? T : never) =>
  Effect.gen(function*() {
    const violations: Array<string> = []
    const hedge = yield* Hedge.make({ delay: s.delayMs, maxHedges: s.maxHedges })
    let running = 0
    const starts: Array<number> = []
    const failedAt = new Map<number, number>()
    const call = Effect.suspend(() => {
      const i = starts.length
      const a = s.attempts[i]!
      return Effect.gen(function*() {
        starts.push(yield* now)
        running++
        if (a.latencyMs === undefined) return yield* Effect.never
        yield* Effect.sleep(a.latencyMs)
        if (a.fails) {
          failedAt.set(i, yield* now)
          return yield* Effect.fail(`failed ${i}`)
        }
        return i
      }).pipe(Effect.ensuring(Effect.sync(() => running--)))
    })
    let runningAtExit = -1
    let exitAt = -1
    const fiber = yield* Effect.forkChild(
      hedge.apply(call, { readOnly: true }).pipe(
        Effect.onExit(() => Effect.flatMap(now, (t) => Effect.sync(() => {
          runningAtExit = running
          exitAt = t
        })))
      )
    )
    if (s.interruptAtMs !== undefined) {
      yield* TestClock.adjust(s.interruptAtMs)
      yield* Fiber.interrupt(fiber)
    }
    yield* TestClock.adjust(10_000)
    if (fiber.pollUnsafe() === undefined) yield* Fiber.interrupt(fiber)
    const exit = yield* Fiber.await(fiber)
    if (runningAtExit !== 0) violations.push(`${runningAtExit} attempts still running when the hedge returned`)
    if (running !== 0) violations.push(`${running} attempts running at the end`)
    if (starts.length > s.maxHedges + 1) violations.push(`${starts.length} attempts > 1 + maxHedges ${s.maxHedges}`)
    for (let i = 1; i < starts.length; i++) {
      const due = Math.min(starts[i - 1]! + s.delayMs, failedAt.get(i - 1) ?? Infinity)
      if (starts[i] !== due) violations.push(`attempt ${i} started at ${starts[i]}, due at ${due}`)
    }
    if (Exit.isSuccess(exit)) {
      const winner = exit.value
      const finish = (i: number) => {
        const a = s.attempts[i]!
        return a.latencyMs === undefined || a.fails ? Infinity : starts[i]! + a.latencyMs
      }
      for (let i = 0; i < starts.length; i++) {
        if (finish(i) < finish(winner)) violations.push(`attempt ${winner} won at ${finish(winner)}, but ${i} succeeded at ${finish(i)}`)
      }
      if (exitAt !== finish(winner)) violations.push(`returned at ${exitAt}, the winner finished at ${finish(winner)}`)
    } else if (!Cause.hasInterrupts(exit.cause)) {
      // every attempt failed: all of them ran
      if (starts.length !== s.maxHedges + 1) violations.push(`failed after ${starts.length} of ${s.maxHedges + 1} attempts`)
    }
    return violations
  })

describe("Hedge: properties", () => {
  it("never leaves a loser running; starts each hedge on time; the first success wins", async () => {
    await fc.assert(fc.asyncProperty(hedgeArb, (s) => check(hedgeScenario(s))), { seed, numRuns })
  })
})
