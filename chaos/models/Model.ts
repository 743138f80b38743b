/**
 * Shared pieces of the stateful models: an atomic state transition that may refuse, and the
 * binding of a model to contracts as a fake server {@link Definition} (whose snapshot is the
 * model's).
 *
 * @example
 * ```ts
 * const ledger = yield* Ledger.make()
 * const payment = Model.server("payment", ledger, [
 *   FakeServer.handle(Payment.charge_card, ({ amount, order_id }) => ledger.charge({ amount, orderId: order_id }))
 * ])
 * ```
 * @module
 */
import { Effect, Ref } from "effect"
import type { Definition, FakeServerOptions, ToolHandler } from "../FakeServer.ts"
import { ToolRefusal } from "../FakeServer.ts"

/**
 * The result of a transition: a value and the next state, or a refusal (state unchanged).
 *
 * @example
 * ```ts
 * const t: Step<number, { n: number }> = { ok: true, value: 1, next: { n: 1 } }
 * ```
 */
export type Step<A, S> = { readonly ok: true; readonly value: A; readonly next: S } | { readonly ok: false; readonly refusal: string }

/**
 * Applies a transition atomically; a refusal fails with {@link ToolRefusal} (an `isError`
 * result at the fake server).
 *
 * @example
 * ```ts
 * transact(state, (s) => s.n > 0 ? ok(s.n, { n: s.n - 1 }) : refuse("empty"))
 * ```
 */
export const transact = <S, A>(state: Ref.Ref<S>, f: (s: S) => Step<A, S>): Effect.Effect<A, ToolRefusal> =>
  Effect.flatten(
    Ref.modify(state, (s): [Effect.Effect<A, ToolRefusal>, S] => {
      const step = f(s)
      return step.ok ? [Effect.succeed(step.value), step.next] : [Effect.fail(new ToolRefusal({ text: step.refusal })), s]
    })
  )

/**
 * A successful transition.
 *
 * @example
 * ```ts
 * ok({ id: "c1" }, nextState)
 * ```
 */
export const ok = <A, S>(value: A, next: S): Step<A, S> => ({ ok: true, value, next })

/**
 * A refused transition.
 *
 * @example
 * ```ts
 * refuse("insufficient funds")
 * ```
 */
export const refuse = (refusal: string): Step<never, never> => ({ ok: false, refusal })

/**
 * Anything with a snapshot of its state.
 *
 * @example
 * ```ts
 * const m: HasSnapshot = { snapshot: Effect.succeed({}) }
 * ```
 */
export interface HasSnapshot {
  readonly snapshot: Effect.Effect<unknown>
}

/**
 * A fake server serving a model through contracts: handlers made with `FakeServer.handle` that
 * call the model's operations; the definition's snapshot is the model's.
 *
 * @example
 * ```ts
 * Model.server("inventory", inventory, [FakeServer.handle(Inv.reserve, (i) => inventory.reserve(i))], { name: "inventory (model)" })
 * ```
 */
export const server = (
  key: string,
  model: HasSnapshot,
  handlers: ReadonlyArray<ToolHandler>,
  options?: FakeServerOptions
): Definition => ({ key, handlers, snapshot: model.snapshot, options })
