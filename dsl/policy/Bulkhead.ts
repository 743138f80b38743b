/**
 * The bulkhead policy: at most `maxConcurrent` calls run at once, at most `maxQueue` wait in a
 * FIFO queue, and none waits longer than `maxWait`. A full queue or an expired wait fails fast
 * with {@link BulkheadRejected}. Named pools ({@link pool}) are shared by every server and tool
 * that names them.
 *
 * Why not Effect's `Semaphore`: it has no queue bound and no maximum wait, and its waiter list is
 * private, so a bounded queue on top of it cannot be counted exactly. This is a small FIFO with
 * direct hand-off: a finishing call passes its permit to the first waiter, so a newcomer never
 * overtakes the queue. Interruption while queued frees the queue slot; interruption while
 * running (or just after being handed a permit) frees the permit. The wait timer is a `Clock`
 * sleep (TestClock drives it). Emits `BulkheadQueued` and `BulkheadRejected`.
 *
 * @example
 * ```ts
 * import { Bulkhead } from "mcpflow"
 *
 * const critical = yield* Bulkhead.pool("critical", { maxConcurrent: 4, maxQueue: 16, maxWait: "2 seconds" })
 * const result = yield* critical.apply(callTool)
 * critical.inFlight // live count
 * ```
 * @module
 */
import { Context, type Duration, Effect, Exit, type Fiber, Schema } from "effect"
import * as Millis from "./internal/Millis.ts"
import type { PolicyContext } from "./internal/PolicyContext.ts"
import { type PolicyDescriptor, PolicyEvents } from "./PolicyEvents.ts"

/**
 * The bulkhead did not run the call: its queue was full (`queue-full`) or the call waited
 * longer than `maxWait` (`wait-expired`). Nothing was sent.
 *
 * @example
 * ```ts
 * new BulkheadRejected({ pool: "critical", why: "queue-full" }).message
 * // => "bulkhead 'critical' rejected the call: the wait queue is full"
 * ```
 */
export class BulkheadRejected extends Schema.TaggedError<BulkheadRejected>()("BulkheadRejected", {
  pool: Schema.String,
  why: Schema.Literals(["queue-full", "wait-expired"]),
  retryAfterMs: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `bulkhead '${this.pool}' rejected the call: ${this.why === "queue-full" ? "the wait queue is full" : "the wait for a slot expired"}`
  }
  /** Retrying later can help. */
  get transient(): boolean {
    return true
  }
  /** Nothing was sent. */
  get mayHaveReachedServer(): boolean {
    return false
  }
}

/**
 * Settings of {@link make} and {@link pool}. Numbers are clamped: `maxConcurrent` ≥ 1,
 * `maxQueue` ≥ 0.
 *
 * @example
 * ```ts
 * const options: BulkheadOptions = { maxConcurrent: 8, maxQueue: 32, maxWait: "5 seconds" }
 * ```
 */
export interface BulkheadOptions {
  /** Pool name in events, errors and descriptors (default `"bulkhead"`; {@link pool} sets it). */
  readonly name?: string | undefined
  /** Calls allowed to run at once. */
  readonly maxConcurrent: number
  /** Calls allowed to wait for a slot (default 0: reject as soon as all slots are busy). */
  readonly maxQueue?: number | undefined
  /** Longest wait for a slot (default: no limit). */
  readonly maxWait?: Duration.Input | undefined
}

/**
 * The settings of a named pool: {@link BulkheadOptions} without the name.
 *
 * @example
 * ```ts
 * const critical: PoolSettings = { maxConcurrent: 100, maxQueue: 100, maxWait: "1 second" }
 * ```
 */
export type PoolSettings = Omit<BulkheadOptions, "name">

/**
 * Counters of a bulkhead since it was made: calls admitted (ran), rejected, and cancelled
 * (interrupted while queued). `admitted + rejected + cancelled` equals the calls that arrived
 * and are no longer queued.
 *
 * @example
 * ```ts
 * const { admitted, rejected } = bulkhead.stats
 * ```
 */
export interface BulkheadStats {
  readonly inFlight: number
  readonly queued: number
  readonly admitted: number
  readonly rejected: number
  readonly cancelled: number
}

/**
 * A bulkhead. `inFlight` and `queued` are live counts.
 *
 * @example
 * ```ts
 * const b: Bulkhead = yield* Bulkhead.make({ maxConcurrent: 2, maxQueue: 4 })
 * const r = yield* b.apply(call)
 * ```
 */
export interface Bulkhead {
  readonly _tag: "Bulkhead"
  readonly name: string
  readonly maxConcurrent: number
  readonly maxQueue: number
  /** Longest wait in ms (`Infinity` when unset). */
  readonly maxWaitMs: number
  /** Calls running now. */
  readonly inFlight: number
  /** Calls waiting now. */
  readonly queued: number
  /** Counters (see {@link BulkheadStats}). */
  readonly stats: BulkheadStats
  /** How the policy describes itself to plans. */
  readonly descriptor: PolicyDescriptor
  /** The options it was made from. */
  readonly options: BulkheadOptions
  /** Runs `self` in a slot, waiting in the queue if needed. */
  readonly apply: <A, E, R>(self: Effect.Effect<A, E, R>, ctx?: PolicyContext | undefined) => Effect.Effect<A, E | BulkheadRejected, R>
}

class Waiter {
  prev: Waiter | undefined = undefined
  next: Waiter | undefined = undefined
  granted = false
  linked = true
  resume: ((effect: Effect.Effect<void>) => void) | undefined = undefined
}

class BulkheadImpl implements Bulkhead {
  readonly _tag = "Bulkhead"
  readonly name: string
  readonly maxConcurrent: number
  readonly maxQueue: number
  readonly maxWaitMs: number
  readonly descriptor: PolicyDescriptor
  private readonly policyName: string
  inFlight = 0
  queued = 0
  admitted = 0
  rejected = 0
  cancelled = 0
  private head: Waiter | undefined = undefined
  private tail: Waiter | undefined = undefined
  private readonly releaseEffect: Effect.Effect<void>

  constructor(readonly options: BulkheadOptions) {
    this.name = options.name ?? "bulkhead"
    this.policyName = `bulkhead:${this.name}`
    this.maxConcurrent = Number.isFinite(options.maxConcurrent) ? Math.max(1, Math.floor(options.maxConcurrent)) : 1
    this.maxQueue = options.maxQueue === undefined
      ? 0
      : options.maxQueue === Infinity
      ? Infinity
      : Number.isFinite(options.maxQueue)
      ? Math.max(0, Math.floor(options.maxQueue))
      : 0
    this.maxWaitMs = options.maxWait === undefined ? Infinity : Millis.from(options.maxWait)
    this.descriptor = {
      kind: "bulkhead",
      settings: {
        pool: this.name,
        maxConcurrent: this.maxConcurrent,
        maxQueue: this.maxQueue === Infinity ? "∞" : this.maxQueue,
        maxWait: Millis.format(this.maxWaitMs)
      }
    }
    this.releaseEffect = Effect.withFiber((fiber) => {
      this.release(fiber)
      return Effect.void
    })
  }

  get stats(): BulkheadStats {
    return {
      inFlight: this.inFlight,
      queued: this.queued,
      admitted: this.admitted,
      rejected: this.rejected,
      cancelled: this.cancelled
    }
  }

  private unlink(w: Waiter): void {
    if (!w.linked) return
    w.linked = false
    if (w.prev) w.prev.next = w.next
    else this.head = w.next
    if (w.next) w.next.prev = w.prev
    else this.tail = w.prev
    w.prev = w.next = undefined
    this.queued--
  }

  /** Frees a permit: hands it to the first waiter, or returns it to the pool. */
  private release(fiber: Fiber.Fiber<unknown, unknown>): void {
    const w = this.head
    if (w === undefined) {
      this.inFlight--
      return
    }
    this.unlink(w)
    w.granted = true
    const resume = w.resume
    if (resume !== undefined) fiber.currentDispatcher.scheduleTask(() => resume(Effect.void), 0)
  }

  private reject(fiber: Fiber.Fiber<unknown, unknown>, why: "queue-full" | "wait-expired"): Effect.Effect<never, BulkheadRejected> {
    this.rejected++
    fiber.getRef(PolicyEvents).emit({ _tag: "BulkheadRejected", policy: this.policyName, pool: this.name, why })
    return Effect.fail(new BulkheadRejected({ pool: this.name, why }))
  }

  apply<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | BulkheadRejected, R> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.withFiber((fiber) => {
        if (this.inFlight < this.maxConcurrent && this.head === undefined) {
          this.inFlight++
          this.admitted++
          return Effect.onExit(restore(self), () => this.releaseEffect)
        }
        if (this.queued >= this.maxQueue) return this.reject(fiber, "queue-full")
        const w = new Waiter()
        if (this.tail) {
          this.tail.next = w
          w.prev = this.tail
        } else {
          this.head = w
        }
        this.tail = w
        this.queued++
        fiber.getRef(PolicyEvents).emit({
          _tag: "BulkheadQueued",
          policy: this.policyName,
          pool: this.name,
          inFlight: this.inFlight,
          queued: this.queued
        })
        const wait = Effect.callback<void>((resume) => {
          if (w.granted) resume(Effect.void)
          else w.resume = resume
        })
        const timed = this.maxWaitMs === Infinity ? wait : Effect.raceFirst(wait, Effect.sleep(this.maxWaitMs))
        return Effect.flatMap(Effect.exit(restore(timed)), (exit): Effect.Effect<A, E | BulkheadRejected, R> => {
          if (w.granted) {
            if (Exit.isFailure(exit)) {
              // Interrupted just after being handed a permit: pass it on.
              this.release(fiber)
              this.cancelled++
              return Effect.failCause(exit.cause)
            }
            this.admitted++
            return Effect.onExit(restore(self), () => this.releaseEffect)
          }
          this.unlink(w)
          if (Exit.isFailure(exit)) {
            this.cancelled++
            return Effect.failCause(exit.cause)
          }
          return this.reject(fiber, "wait-expired")
        })
      })
    )
  }
}

/**
 * Builds a bulkhead of its own (not registered as a pool).
 *
 * @example
 * ```ts
 * const b = yield* Bulkhead.make({ maxConcurrent: 2, maxQueue: 10, maxWait: "1 second" })
 * ```
 */
export const make = (options: BulkheadOptions): Effect.Effect<Bulkhead> => Effect.sync(() => new BulkheadImpl(options))

/**
 * Builds a bulkhead outside Effect (e.g. at module load).
 *
 * @example
 * ```ts
 * const b = Bulkhead.makeUnsafe({ maxConcurrent: 2 })
 * ```
 */
export const makeUnsafe = (options: BulkheadOptions): Bulkhead => new BulkheadImpl(options)

/**
 * The named pools of the current fiber: a process-wide registry by default; provide a fresh
 * `Map` to isolate tests.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provideService(BulkheadPools, new Map()))
 * ```
 */
export const BulkheadPools = Context.Reference<Map<string, Bulkhead>>("mcpflow/dsl/policy/Bulkhead/Pools", {
  defaultValue: () => new Map()
})

/**
 * The named pool `name`, created with `options` on first use; later calls with the same name get
 * the same bulkhead (their options are ignored), so every server naming `"critical"` shares it.
 *
 * @example
 * ```ts
 * const a = yield* Bulkhead.pool("critical", { maxConcurrent: 100, maxQueue: 100, maxWait: "1 second" })
 * const b = yield* Bulkhead.pool("critical", { maxConcurrent: 1 }) // same instance as a
 * ```
 */
export const pool = (name: string, options: PoolSettings): Effect.Effect<Bulkhead> =>
  Effect.withFiber((fiber) => {
    const pools = fiber.getRef(BulkheadPools)
    let bulkhead = pools.get(name)
    if (bulkhead === undefined) {
      bulkhead = new BulkheadImpl({ ...options, name })
      pools.set(name, bulkhead)
    }
    return Effect.succeed(bulkhead)
  })
