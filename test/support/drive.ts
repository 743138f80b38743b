/**
 * Runs a forked effect to its end on the TestClock: advances virtual time in steps, letting the
 * event loop turn between them (in-memory MCP transports deliver on it), until the fiber ends.
 * Fails the test when it has not ended within the virtual budget (a hang).
 */
import { assert } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"

export const drive = <A, E>(fiber: Fiber.Fiber<A, E>, budgetMs = 3_600_000, stepMs = 25): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    for (let elapsed = 0; fiber.pollUnsafe() === undefined && elapsed < budgetMs; elapsed += stepMs) {
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      yield* TestClock.adjust(stepMs)
    }
    assert.isDefined(fiber.pollUnsafe(), `the run ended within ${budgetMs} ms of virtual time`)
    return yield* Fiber.join(fiber)
  })
