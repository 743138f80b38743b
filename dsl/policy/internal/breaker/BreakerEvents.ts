/**
 * What a breaker tells the world: each transition (to `PolicyEvents` and to the breaker's
 * `onTransition` listener) and each rejection (to `PolicyEvents`).
 *
 * @example
 * ```ts
 * const events = BreakerEvents.make("docker", options.onTransition)
 * events.transition(fiber, "docker", "closed", "open", now, 30_000)
 * ```
 * @module
 */
import type { Fiber } from "effect"
import type { BreakerState } from "../../BreakerStore.ts"
import type { BreakerTransition } from "../../CircuitBreaker.ts"
import { PolicyEvents } from "../../PolicyEvents.ts"

/**
 * The event sinks of one breaker.
 *
 * @example
 * ```ts
 * events.rejected(fiber, "docker", 1_500)
 * ```
 */
export interface BreakerEvents {
  readonly transition: (
    fiber: Fiber.Fiber<unknown, unknown>,
    key: string,
    from: BreakerState,
    to: BreakerState,
    atMs: number,
    retryAfterMs?: number,
    cause?: string
  ) => void
  readonly rejected: (fiber: Fiber.Fiber<unknown, unknown>, key: string, retryAfterMs: number | undefined, heldBy?: string) => void
  /** A hold from outside was put on (`held`) or let go of; `state` is the circuit's state after. */
  readonly held: (fiber: Fiber.Fiber<unknown, unknown>, key: string, held: boolean, why: string, state: BreakerState) => void
}

/**
 * The events of the breaker `name`; `listener` is called synchronously after each transition
 * (a throw is swallowed: a listener's failure is its own).
 *
 * @example
 * ```ts
 * const events = make("docker", (t) => console.log(t.from, "→", t.to))
 * ```
 */
export const make = (name: string, listener: ((transition: BreakerTransition) => void) | undefined): BreakerEvents => {
  const policy = `breaker:${name}`
  return {
    transition: (fiber, key, from, to, atMs, retryAfterMs, cause) => {
      fiber.getRef(PolicyEvents).emit(
        cause === undefined ? { _tag: "BreakerTransition", policy, key, from, to } : { _tag: "BreakerTransition", policy, key, from, to, cause }
      )
      if (listener !== undefined) {
        try {
          listener({ breaker: name, key, from, to, atMs, retryAfterMs, ...(cause === undefined ? {} : { cause }) })
        } catch {
          // a listener's failure is its own
        }
      }
    },
    rejected: (fiber, key, retryAfterMs, heldBy) =>
      fiber.getRef(PolicyEvents).emit(
        heldBy === undefined ? { _tag: "BreakerRejected", policy, key, retryAfterMs } : { _tag: "BreakerRejected", policy, key, heldBy }
      ),
    held: (fiber, key, held, why, state) => fiber.getRef(PolicyEvents).emit({ _tag: "BreakerHeld", policy, key, held, why, state })
  }
}
