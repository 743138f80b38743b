/**
 * Test helpers for the policy suites: an event recorder, a scripted effect, and tool errors.
 *
 * @example
 * ```ts
 * const rec = recorder()
 * yield* program.pipe(rec.provide)
 * rec.tags() // => ["AttemptFailed", "RetryScheduled"]
 * ```
 * @module
 */
import { Cause, Effect, Exit } from "effect"
import {
  ConnectionLost,
  InvalidInput,
  type McpflowToolError,
  RateLimited,
  ServerUnavailable,
  Timeout,
  ToolFailed,
  toolError
} from "../../dsl/ToolError.ts"
import { type PolicyEvent, PolicyEvents } from "../../dsl/policy/PolicyEvents.ts"

/**
 * Records every policy event emitted by the effect it is provided to.
 *
 * @example
 * ```ts
 * const rec = recorder()
 * yield* effect.pipe(rec.provide)
 * ```
 */
export const recorder = () => {
  const events: Array<PolicyEvent> = []
  return {
    events,
    tags: () => events.map((e) => e._tag),
    of: <T extends PolicyEvent["_tag"]>(tag: T) => events.filter((e): e is Extract<PolicyEvent, { _tag: T }> => e._tag === tag),
    provide: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.provideService(self, PolicyEvents, { emit: (e) => events.push(e) })
  }
}

/**
 * An effect that answers each run with the next step of a script (the last step repeats), and
 * counts its runs.
 *
 * @example
 * ```ts
 * const s = scripted<number, string>([{ fail: "a" }, { succeed: 1 }])
 * ```
 */
export const scripted = <A, E>(steps: ReadonlyArray<{ readonly fail: E } | { readonly succeed: A }>) => {
  const state = { calls: 0 }
  const effect = Effect.suspend((): Effect.Effect<A, E> => {
    const step = steps[Math.min(state.calls, steps.length - 1)]!
    state.calls++
    return "fail" in step ? Effect.fail(step.fail) : Effect.succeed(step.succeed)
  })
  return { effect, state }
}

/** Tool errors of each kind, for tests. */
export const errors = {
  unavailable: (): McpflowToolError => toolError(new ServerUnavailable({ server: "s", tool: "t", detail: "down" })),
  lost: (): McpflowToolError => toolError(new ConnectionLost({ server: "pay", tool: "charge", detail: "closed" })),
  callTimeout: (): McpflowToolError => toolError(new Timeout({ server: "s", tool: "t", phase: "call", afterMs: 10 })),
  failed: (): McpflowToolError => toolError(new ToolFailed({ server: "s", tool: "t", text: "no" })),
  invalid: (): McpflowToolError => toolError(new InvalidInput({ server: "s", tool: "t", path: "x", issue: "bad" })),
  rateLimited: (ms: number): McpflowToolError =>
    toolError(new RateLimited({ server: "s", tool: "t", retryAfterMs: ms, detail: "slow down" }))
}

/**
 * Lets forked fibers run until they block (a few scheduler turns, no Clock time).
 *
 * @example
 * ```ts
 * yield* Effect.forkChild(work)
 * yield* settle
 * ```
 */
export const settle: Effect.Effect<void> = Effect.gen(function*() {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

/**
 * The typed failure of an exit, if it has one.
 *
 * @example
 * ```ts
 * failureOf(yield* Effect.exit(Effect.fail("x"))) // => "x"
 * ```
 */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const found = Cause.findErrorOption(exit.cause)
  return found._tag === "Some" ? found.value : undefined
}

/**
 * Polls (between event-loop turns, not on the Clock) until `predicate` holds, for state that an
 * in-process MCP server changes asynchronously; fails after ~1000 turns.
 *
 * @example
 * ```ts
 * yield* waitUntil(() => server.started.length === 2)
 * ```
 */
export const waitUntil = (predicate: () => boolean, what = "condition"): Effect.Effect<void> =>
  Effect.promise(async () => {
    for (let i = 0; i < 1000 && !predicate(); i++) await new Promise<void>((resolve) => setImmediate(resolve))
    if (!predicate()) throw new Error(`${what} never held`)
  })
