/**
 * Runs a program to completion on virtual time, advancing the clock by itself: whenever the
 * program and its in-process servers are idle (no Effect task scheduled, no MCP message moved,
 * for two event-loop turns), the clock jumps to the earliest pending sleep. An hour of backoff
 * takes milliseconds. A program still running at the virtual deadline, or idle with no sleep
 * pending (it waits on something that never comes), is reported as hung and interrupted.
 *
 * The clock is a small virtual `Clock` of its own (time starts at 0, the epoch, as on a fresh
 * `TestClock`): its sleeps wait in a list ordered by wake time, then by registration, so the
 * driver knows the earliest one and wakes the sleeps due at a time in the order they began. It
 * costs a callback per sleep; a `TestClock` costs a latch, a semaphore, a bracket and a live
 * warning timer per sleep, and a fiber per clock step — most of a chaos run's driving cost.
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

/**
 * A virtual `Clock` that the driver advances, and that knows its pending sleeps.
 *
 * @example
 * ```ts
 * const clock = VirtualTime.clock()
 * clock.nextWakeMs() // => undefined when nothing sleeps
 * ```
 */
export interface TrackingClock extends Clock.Clock {
  /** When the earliest pending sleep ends. */
  readonly nextWakeMs: () => number | undefined
  /** Moves the time to `ms` (never back) and wakes, in order, every sleep due by then. */
  readonly advanceTo: (ms: number) => void
  readonly activity: () => number
  readonly touch: () => void
}

interface Sleeper {
  readonly end: number
  wake: (() => void) | undefined
}

const nanosPerMilli = BigInt(1_000_000)

const millisToNanos = (millis: number): bigint => {
  const whole = Math.floor(millis)
  return BigInt(whole) * nanosPerMilli + BigInt(Math.floor((millis - whole) * 1_000_000))
}

/**
 * A fresh virtual clock at time 0.
 *
 * @example
 * ```ts
 * const clock = VirtualTime.clock()
 * Effect.sleep("1 second").pipe(Effect.provideService(Clock.Clock, clock)) // wakes when the driver calls clock.advanceTo(1000)
 * ```
 */
export const clock = (): TrackingClock => {
  let now = 0
  let activity = 0
  // Sorted by descending end, later registrations first among equal ends: the last entry is the
  // earliest sleep, and the first registered of its time. Cancelled entries stay until popped.
  const sleeps: Array<Sleeper> = []
  const insert = (entry: Sleeper) => {
    let low = 0
    let high = sleeps.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (sleeps[mid]!.end > entry.end) low = mid + 1
      else high = mid
    }
    sleeps.splice(low, 0, entry)
  }
  const dropCancelled = () => {
    while (sleeps.length > 0 && sleeps[sleeps.length - 1]!.wake === undefined) sleeps.pop()
  }
  const currentTimeMillisUnsafe = () => now
  const currentTimeNanosUnsafe = () => millisToNanos(now)
  return {
    currentTimeMillisUnsafe,
    currentTimeMillis: Effect.sync(currentTimeMillisUnsafe),
    currentTimeNanosUnsafe,
    currentTimeNanos: Effect.sync(currentTimeNanosUnsafe),
    monotonicTimeNanosUnsafe: currentTimeNanosUnsafe,
    monotonicTimeNanos: Effect.sync(currentTimeNanosUnsafe),
    sleep: (duration) => {
      const ms = Duration.toMillis(duration)
      if (!(ms > 0)) return Effect.yieldNow
      if (!Number.isFinite(ms)) return Effect.never
      return Effect.callback<void>((resume) => {
        const entry: Sleeper = { end: now + ms, wake: () => resume(Effect.void) }
        insert(entry)
        activity++
        return Effect.sync(() => {
          if (entry.wake === undefined) return
          entry.wake = undefined
          activity++
        })
      })
    },
    nextWakeMs: () => {
      dropCancelled()
      return sleeps.length > 0 ? sleeps[sleeps.length - 1]!.end : undefined
    },
    advanceTo: (ms) => {
      for (dropCancelled(); sleeps.length > 0 && sleeps[sleeps.length - 1]!.end <= ms; dropCancelled()) {
        const entry = sleeps.pop()!
        const wake = entry.wake!
        entry.wake = undefined
        now = Math.max(now, entry.end)
        activity++
        wake()
      }
      now = Math.max(now, ms)
    },
    activity: () => activity,
    touch: () => {
      activity++
    }
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

/** Quiet event-loop turns in a row that count as idle. */
const QUIET_TURNS = 2
/** Clock steps allowed after the interruption of a hung program before giving up on it. */
const MAX_STEPS_AFTER_HANG = 10_000

/**
 * Runs `program` (given the virtual clock) on a fresh virtual clock, advancing time whenever
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
  Effect.gen(function*() {
    const virtual = clock()
    const parent = yield* Scheduler.Scheduler
    const extra = options.extraActivity ?? (() => 0)
    const activity = () => virtual.activity() + extra()
    const fiber: Fiber.Fiber<A, E> = yield* Effect.forkDetach(
      program(virtual).pipe(
        Effect.provideService(Clock.Clock, virtual),
        Effect.provideService(Scheduler.Scheduler, counting(parent, virtual.touch))
      )
    )
    // The driver is a plain callback loop over `setImmediate` (one per event-loop turn), not a
    // fiber: it runs between the program's turns and must not count as its activity.
    return yield* Effect.callback<Result<A, E>>((resume) => {
      let hung = false
      let interruptedAt = 0
      let steps = 0
      let quiet = 0
      let before = activity()
      let stopped = false
      let timer: ReturnType<typeof setImmediate> | undefined
      const finish = (result: Result<A, E>) => {
        stopped = true
        resume(Effect.succeed(result))
      }
      const turn = () => {
        timer = undefined
        if (stopped) return
        const exit = fiber.pollUnsafe()
        if (exit !== undefined) return finish({ exit, hung, endMs: hung ? interruptedAt : virtual.currentTimeMillisUnsafe() })
        const now = activity()
        quiet = now === before ? quiet + 1 : 0
        before = now
        if (quiet >= QUIET_TURNS) {
          quiet = 0
          step()
          if (stopped) return
          before = activity()
        }
        timer = setImmediate(turn)
      }
      // Everything is idle: wake the next sleep, or declare the program hung.
      const step = () => {
        steps++
        const next = virtual.nextWakeMs()
        const now = virtual.currentTimeMillisUnsafe()
        if (!hung && (next === undefined || next > options.deadlineMs)) {
          hung = true
          steps = 0
          interruptedAt = next === undefined ? now : options.deadlineMs
          if (next !== undefined) virtual.advanceTo(options.deadlineMs)
          fiber.interruptUnsafe()
          return
        }
        if (hung && (next === undefined || steps > MAX_STEPS_AFTER_HANG)) {
          // Interrupted but still not done, and nothing left to wake it: give up on it.
          finish({ exit: undefined, hung, endMs: interruptedAt })
          return
        }
        if (next !== undefined) virtual.advanceTo(next)
      }
      timer = setImmediate(turn)
      return Effect.sync(() => {
        stopped = true
        if (timer !== undefined) clearImmediate(timer)
        fiber.interruptUnsafe()
      })
    })
  })
