/**
 * Saga blocks: a sequence of steps whose compensations run, in reverse order and each at most
 * once, when the block fails or is interrupted.
 *
 * Any step with `compensate` takes part in the innermost saga block around it, and in the run:
 * if the flow itself fails later, every completed step's compensation that has not run yet runs
 * then (reverse order across the whole run). A block that succeeds keeps its compensations
 * armed for that case.
 *
 * @module
 */
import { type Cause, Effect, Exit } from "effect"
import { group } from "./Group.ts"
import { type CompensationStack, CurrentScope, isSuspension, unwindApart } from "./RunScope.ts"

/**
 * Runs `body` as the saga block `name`: when it fails (or is interrupted), the compensations of
 * its completed steps run in reverse order before the failure propagates.
 *
 * @example
 * ```ts
 * const order = saga("order", Effect.gen(function*() {
 *   const hold = yield* step("reserve", Inventory.reserve({ sku, qty }), { compensate: (h) => Inventory.release({ id: h.id }) })
 *   const charge = yield* step("charge", Payment.charge({ amount }), { compensate: (c) => Payment.refund({ id: c.id }) })
 *   return yield* step("ship", Logistics.schedule({ order: hold.id }))
 * }))
 * ```
 */
export const saga = <A, E, R>(name: string, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  CurrentScope.use((outer) => {
    const stack: CompensationStack = { entries: [] }
    return group(
      name,
      "saga",
      () =>
        Effect.onExit(body, (exit) =>
          Exit.isSuccess(exit)
            // A nested block that succeeded is part of the enclosing block: undone if that one fails.
            ? Effect.sync(() => void outer.saga?.entries.push(...stack.entries))
            : Effect.flatMap(isSuspension(exit), (suspended) => (suspended ? Effect.void : undoOn(stack, exit.cause)))),
      { saga: stack }
    )
  })

/** Unwinds in a fiber of its own (see `unwindApart`). */
const undoOn = (stack: CompensationStack, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  CurrentScope.use((scope) => unwindApart(scope.run, stack.entries, cause))
