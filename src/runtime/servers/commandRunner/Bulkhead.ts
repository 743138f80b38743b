/**
 * A concurrency limit with a bounded queue: at most `maxConcurrent` commands run, at most
 * `maxQueue` wait for a slot (first come, first served), and a call past both is rejected at
 * once instead of piling up until the client's timeout. A waiting call that is cancelled
 * leaves the queue.
 *
 * @example
 * ```ts
 * const bulkhead = new Bulkhead(4, 16)
 * const slot = await bulkhead.acquire(signal)
 * if (slot === "full") return tooBusy()
 * try { await run() } finally { slot() }
 * ```
 * @module
 */

/**
 * Running and waiting calls under two limits.
 *
 * @example
 * ```ts
 * const b = new Bulkhead(1, 0)
 * const release = await b.acquire() // a function
 * await b.acquire()                 // => "full"
 * ```
 */
export class Bulkhead {
  #running = 0
  readonly #waiting: Array<() => void> = []

  constructor(readonly maxConcurrent: number, readonly maxQueue: number) {}

  /** How many calls hold a slot. */
  get running(): number {
    return this.#running
  }

  /** How many calls wait for one. */
  get queued(): number {
    return this.#waiting.length
  }

  /**
   * A slot (a release function, to call exactly once), `"full"` at once when the queue is
   * full, or `"cancelled"` when `signal` aborts before a slot was free.
   */
  acquire(signal?: AbortSignal): Promise<(() => void) | "full" | "cancelled"> {
    if (signal?.aborted) return Promise.resolve("cancelled")
    if (this.#running < this.maxConcurrent) {
      this.#running++
      return Promise.resolve(this.#releaser())
    }
    if (this.#waiting.length >= this.maxQueue) return Promise.resolve("full")
    return new Promise((resolve) => {
      const onAbort = () => {
        const at = this.#waiting.indexOf(grant)
        if (at !== -1) this.#waiting.splice(at, 1)
        resolve("cancelled")
      }
      const grant = () => {
        signal?.removeEventListener("abort", onAbort)
        resolve(this.#releaser())
      }
      this.#waiting.push(grant)
      signal?.addEventListener("abort", onAbort, { once: true })
    })
  }

  #releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#waiting.shift()
      // The slot passes to the next waiting call as is; otherwise it is free.
      if (next !== undefined) next()
      else this.#running--
    }
  }
}
