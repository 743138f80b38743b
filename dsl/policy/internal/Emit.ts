/**
 * Emitting a {@link PolicyEvent} into the {@link PolicyEvents} sink of the calling fiber.
 *
 * @example
 * ```ts
 * yield* emit({ _tag: "TimedOut", policy: "timeout", afterMs: 500 })
 * ```
 * @module
 */
import { Effect } from "effect"
import { type PolicyEvent, PolicyEvents } from "../PolicyEvents.ts"

/**
 * Emits one event into the calling fiber's {@link PolicyEvents} sink (a no-op by default).
 *
 * @example
 * ```ts
 * const seen: Array<PolicyEvent> = []
 * emit({ _tag: "CacheHit", policy: "cache", key: "k" }).pipe(
 *   Effect.provideService(PolicyEvents, { emit: (e) => seen.push(e) })
 * )
 * ```
 */
export const emit = (event: PolicyEvent): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    fiber.getRef(PolicyEvents).emit(event)
    return Effect.void
  })
