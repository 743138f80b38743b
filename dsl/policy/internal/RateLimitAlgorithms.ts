/**
 * In-process rate-limit algorithms as small synchronous state machines over a millisecond clock
 * reading: token bucket, fixed window, and sliding window (an exact log of the last `limit`
 * admissions). Each `take` either admits a call — now, or after a delay it reserves, so
 * concurrent waiters queue in arrival order — or refuses it with the time until it could pass.
 *
 * @example
 * ```ts
 * import * as RateLimitAlgorithms from "./internal/RateLimitAlgorithms.ts" // inside dsl/policy
 *
 * const bucket = RateLimitAlgorithms.make("token-bucket", { limit: 10, windowMs: 1000 })
 * bucket.take(0, 0) // => { admitted: true, delayMs: 0 }
 * ```
 * @module
 */

/**
 * The algorithms: `token-bucket` (refills `limit` tokens per window continuously, holds up to
 * `burst`), `fixed-window` (at most `limit` per aligned window), `sliding-window` (at most
 * `limit` in any window-long interval).
 *
 * @example
 * ```ts
 * const a: Algorithm = "sliding-window"
 * ```
 */
export type Algorithm = "token-bucket" | "fixed-window" | "sliding-window"

/**
 * The answer of {@link Limiter.take}: admitted after `delayMs` (0 = now; the slot is reserved), or
 * refused with `retryAfterMs`.
 *
 * @example
 * ```ts
 * const d: Decision = { admitted: false, retryAfterMs: 250 }
 * ```
 */
export type Decision =
  | { readonly admitted: true; readonly delayMs: number }
  | { readonly admitted: false; readonly retryAfterMs: number }

/**
 * One key's limiter state.
 *
 * @example
 * ```ts
 * const d = limiter.take(clock.currentTimeMillisUnsafe(), Infinity)
 * ```
 */
export interface Limiter {
  /** Admits a call at `nowMs` if it can start within `maxDelayMs` (0 = only now), reserving its slot. */
  take(nowMs: number, maxDelayMs: number): Decision
  /** Whether the state is back at rest (nothing to remember), so the key can be dropped. */
  idle(nowMs: number): boolean
}

/**
 * Sizing of a limiter: `limit` calls per `windowMs`; `burst` is the token bucket's capacity
 * (default `limit`).
 *
 * @example
 * ```ts
 * const s: Sizing = { limit: 100, windowMs: 60_000, burst: 20 }
 * ```
 */
export interface Sizing {
  readonly limit: number
  readonly windowMs: number
  readonly burst?: number | undefined
}

/**
 * Tokens are kept scaled by `windowMs` (one token = `windowMs` credit, refilled at `limit` per
 * ms), so with whole-millisecond clocks and integer settings the arithmetic is exact: a float
 * rate like 5/1000 would make `(1 - 0.995) / 0.005` round up to a 2 ms wait where 1 ms suffices.
 */
class TokenBucket implements Limiter {
  private credit: number
  private last: number | undefined = undefined
  private readonly capacity: number
  private readonly cost: number
  private readonly perMs: number
  constructor(sizing: Sizing) {
    this.cost = Math.max(1, sizing.windowMs)
    this.capacity = Math.max(1, sizing.burst ?? sizing.limit) * this.cost
    this.credit = this.capacity
    this.perMs = sizing.limit
  }
  private refill(now: number): void {
    if (this.last !== undefined && now > this.last) {
      this.credit = Math.min(this.capacity, this.credit + (now - this.last) * this.perMs)
    }
    if (this.last === undefined || now > this.last) this.last = now
  }
  take(now: number, maxDelayMs: number): Decision {
    this.refill(now)
    if (this.credit >= this.cost) {
      this.credit -= this.cost
      return { admitted: true, delayMs: 0 }
    }
    const wait = Math.ceil((this.cost - this.credit) / this.perMs)
    if (wait > maxDelayMs) return { admitted: false, retryAfterMs: wait }
    this.credit -= this.cost
    return { admitted: true, delayMs: wait }
  }
  idle(now: number): boolean {
    this.refill(now)
    return this.credit >= this.capacity
  }
}

class FixedWindow implements Limiter {
  private start: number | undefined = undefined
  /** Admissions in the current window plus reservations in later ones. */
  private count = 0
  constructor(private readonly limit: number, private readonly windowMs: number) {}
  private roll(now: number): number {
    if (this.start === undefined) {
      this.start = Math.floor(now / this.windowMs) * this.windowMs
      return this.start
    }
    if (now >= this.start + this.windowMs) {
      const windows = Math.floor((now - this.start) / this.windowMs)
      this.start += windows * this.windowMs
      this.count = Math.max(0, this.count - windows * this.limit)
    }
    return this.start
  }
  take(now: number, maxDelayMs: number): Decision {
    const start = this.roll(now)
    const wait = this.count < this.limit ? 0 : start + Math.floor(this.count / this.limit) * this.windowMs - now
    if (wait > maxDelayMs) return { admitted: false, retryAfterMs: wait }
    this.count++
    return { admitted: true, delayMs: wait }
  }
  idle(now: number): boolean {
    this.roll(now)
    return this.count === 0
  }
}

class SlidingWindow implements Limiter {
  /** Start times of the last `limit` admissions (a ring, oldest at `next` once full). */
  private readonly ring: Array<number> = []
  private next = 0
  constructor(private readonly limit: number, private readonly windowMs: number) {}
  take(now: number, maxDelayMs: number): Decision {
    const full = this.ring.length >= this.limit
    const at = full ? Math.max(now, this.ring[this.next]! + this.windowMs) : now
    const wait = at - now
    if (wait > maxDelayMs) return { admitted: false, retryAfterMs: wait }
    if (full) {
      this.ring[this.next] = at
      this.next = (this.next + 1) % this.limit
    } else {
      this.ring.push(at)
    }
    return { admitted: true, delayMs: wait }
  }
  idle(now: number): boolean {
    const newest = this.ring.length === 0 ? undefined : this.ring[(this.next + this.ring.length - 1) % this.ring.length]
    return newest === undefined || newest + this.windowMs <= now
  }
}

/**
 * A fresh limiter for one key. `limit` is clamped to ≥ 1 and `windowMs` to ≥ 1.
 *
 * @example
 * ```ts
 * const w = make("fixed-window", { limit: 2, windowMs: 1000 })
 * w.take(0, 0); w.take(1, 0)
 * w.take(2, 0) // => { admitted: false, retryAfterMs: 998 }
 * ```
 */
export const make = (algorithm: Algorithm, sizing: Sizing): Limiter => {
  const limit = Number.isFinite(sizing.limit) ? Math.max(1, Math.floor(sizing.limit)) : 1
  const windowMs = Number.isFinite(sizing.windowMs) ? Math.max(1, sizing.windowMs) : 1
  const burst = sizing.burst === undefined || !Number.isFinite(sizing.burst) ? undefined : Math.max(1, Math.floor(sizing.burst))
  switch (algorithm) {
    case "token-bucket":
      return new TokenBucket({ limit, windowMs, burst })
    case "fixed-window":
      return new FixedWindow(limit, windowMs)
    case "sliding-window":
      return new SlidingWindow(limit, windowMs)
  }
}
