/**
 * Runs a program to completion on a `TestClock`, advancing virtual time by itself: whenever the
 * program and its in-process servers are idle (no Effect task scheduled, no MCP message moved,
 * for two event-loop turns), the clock jumps to the earliest pending sleep. An hour of backoff
 * takes milliseconds. A program still running at the virtual deadline, or idle with no sleep
 * pending (it waits on something that never comes), is reported as hung and interrupted.
 *
 * `TestClock` does not expose its pending sleeps, so the program gets a thin `Clock` over the
 * `TestClock` that remembers when each of its sleeps ends.
 *
 * @example
 * ```ts
 * const result = yield* VirtualTime.run(program, { deadlineMs: 3_600_000 })
 * result.hung // => false
 * result.exit // the program's Exit
 * ```
 * @module
 */
import { Clock, Duration, Effect, Exit, type Fiber, Scheduler } from "effect"
import { TestClock } from "effect/testing"

/**
 * A `Clock` over a `TestClock` that knows its pending sleeps.
 *
 * @example
 * ```ts
 * const clock = VirtualTime.tracking(testClock)
 * clock.nextWakeMs() // => undefined when nothing sleeps
 * ```
 */
export interface TrackingClock extends Clock.Clock {
  readonly nextWakeMs: () => number | undefined
  readonly activity: () => number
  readonly touch: () => void
}

/**
 * Wraps a `TestClock` so that the earliest pending sleep is known.
 *
 * @example
 * ```ts
 * const clock = VirtualTime.tracking(yield* TestClock.make())
 * ```
 */
export const tracking = (test: TestClock.TestClock): TrackingClock => {
  const ends = new Map<object, number>()
  let activity = 0
  const touch = () => {
    activity++
  }
  return {
    currentTimeMillisUnsafe: () => test.currentTimeMillisUnsafe(),
    currentTimeMillis: test.currentTimeMillis,
    currentTimeNanosUnsafe: () => test.currentTimeNanosUnsafe(),
    currentTimeNanos: test.currentTimeNanos,
    monotonicTimeNanosUnsafe: () => test.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: test.monotonicTimeNanos,
    sleep: (duration) => {
      const ms = Duration.toMillis(duration)
      if (!(ms > 0)) return Effect.yieldNow
      if (!Number.isFinite(ms)) return Effect.never
      return Effect.suspend(() => {
        const entry = {}
        ends.set(entry, test.currentTimeMillisUnsafe() + ms)
        activity++
        return Effect.ensuring(
          test.sleep(duration),
          Effect.sync(() => {
            ends.delete(entry)
            activity++
          })
        )
      })
    },
    nextWakeMs: () => {
      let next: number | undefined
      for (const end of ends.values()) if (next === undefined || end < next) next = end
      return next
    },
    activity: () => activity,
    touch
  }
}

/**
 * A scheduler that counts the tasks it schedules (idle detection), over another one.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provideService(Scheduler.Scheduler, VirtualTime.counting(parent, clock.touch)))
 * ```
 */
export const counting = (parent: Scheduler.Scheduler, touch: () => void): Scheduler.Scheduler => ({
  executionMode: parent.executionMode,
  shouldYield: (fiber) => parent.shouldYield(fiber),
  makeDispatcher: () => {
    const dispatcher = parent.makeDispatcher()
    return {
      scheduleTask: (task, priority) => {
        touch()
        dispatcher.scheduleTask(task, priority)
      },
      flush: () => dispatcher.flush()
    }
  }
})

/**
 * How a driven program ended: its exit (undefined if it could not even be interrupted), whether
 * it hung, and the virtual time at the end.
 *
 * @example
 * ```ts
 * const r: Result<number, never> = { exit: Exit.succeed(1), hung: false, endMs: 1200 }
 * ```
 */
export interface Result<A, E> {
  readonly exit: Exit.Exit<A, E> | undefined
  readonly hung: boolean
  readonly endMs: number
}

/**
 * Options of {@link run}.
 *
 * @example
 * ```ts
 * const o: RunOptions = { deadlineMs: 600_000, extraActivity: () => injector.activity() }
 * ```
 */
export interface RunOptions {
  /** The virtual deadline: still running then means hung. */
  readonly deadlineMs: number
  /** Other activity counters to watch (e.g. an injector's message counter). */
  readonly extraActivity?: (() => number) | undefined
}

const nextTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Runs `program` (given the tracking clock) on a fresh `TestClock`, advancing time whenever
 * everything is idle, until it ends or hangs.
 *
 * @example
 * ```ts
 * const r = yield* VirtualTime.run((clock) => Effect.sleep("1 hour").pipe(Effect.as(clock.currentTimeMillisUnsafe())), { deadlineMs: 7_200_000 })
 * // r.exit => Exit.succeed(3_600_000), in a few milliseconds
 * ```
 */
export const run = <A, E>(
  program: (clock: TrackingClock) => Effect.Effect<A, E>,
  options: RunOptions
): Effect.Effect<Result<A, E>> =>
  Effect.scoped(Effect.gen(function*() {
    const test = yield* TestClock.make()
    const clock = tracking(test)
    const parent = yield* Scheduler.Scheduler
    const extra = options.extraActivity ?? (() => 0)
    const activity = () => clock.activity() + extra()
    const fiber: Fiber.Fiber<A, E> = yield* Effect.forkDetach(
      program(clock).pipe(
        Effect.provideService(Clock.Clock, clock),
        Effect.provideService(Scheduler.Scheduler, counting(parent, clock.touch))
      )
    )
    const settle = Effect.gen(function*() {
      let quiet = 0
      while (quiet < 2) {
        const before = activity()
        yield* nextTurn
        if (fiber.pollUnsafe() !== undefined) return
        quiet = activity() === before ? quiet + 1 : 0
      }
    })
    let hung = false
    let interruptedAt = 0
    for (let step = 0;; step++) {
      yield* settle
      const exit = fiber.pollUnsafe()
      if (exit !== undefined) return { exit, hung, endMs: hung ? interruptedAt : test.currentTimeMillisUnsafe() }
      const now = test.currentTimeMillisUnsafe()
      const next = clock.nextWakeMs()
      if (!hung && (next === undefined || next > options.deadlineMs)) {
        hung = true
        interruptedAt = next === undefined ? now : options.deadlineMs
        if (next !== undefined) yield* test.setTime(options.deadlineMs)
        fiber.interruptUnsafe()
        continue
      }
      if (hung && (next === undefined || step > 10_000)) {
        // Interrupted but still not done, and nothing left to wake it: give up on it.
        return { exit: undefined, hung, endMs: interruptedAt }
      }
      // To the exact timestamp of the earliest sleep: `adjust(next - now)` can land a rounding
      // error short of a fractional wake time and then never reach it.
      if (next !== undefined && next > now) yield* test.setTime(next)
      else yield* test.adjust(0)
    }
  }))
