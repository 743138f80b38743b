/**
 * A payment ledger (the saga's `payment` server): charges, refunds, and idempotency keys (a
 * charge repeated with the same key returns the first charge instead of charging again).
 *
 * @example
 * ```ts
 * const ledger = yield* Ledger.make()
 * const { chargeId } = yield* ledger.charge({ amount: 25, orderId: "o1", idempotencyKey: "o1-pay" })
 * yield* ledger.refund({ chargeId })
 * ```
 * @module
 */
import { Clock, Effect, Ref } from "effect"
import type { ToolRefusal } from "../FakeServer.ts"
import { ok, refuse, type Step, transact } from "./Model.ts"

/**
 * One charge.
 *
 * @example
 * ```ts
 * const c: Charge = { id: "ch-1", amount: 25, currency: "EUR", orderId: "o1", idempotencyKey: undefined, refunded: 0, atMs: 0 }
 * ```
 */
export interface Charge {
  readonly id: string
  readonly amount: number
  readonly currency: string
  readonly orderId: string | undefined
  readonly idempotencyKey: string | undefined
  readonly refunded: number
  readonly atMs: number
}

/**
 * The ledger's state.
 *
 * @example
 * ```ts
 * const s: LedgerSnapshot = { charges: [] }
 * ```
 */
export interface LedgerSnapshot {
  readonly charges: ReadonlyArray<Charge>
}

/**
 * The ledger model.
 *
 * @example
 * ```ts
 * const r = yield* ledger.charge({ amount: 10, orderId: "o1" })
 * r.replayed // => false
 * ```
 */
export interface Ledger {
  readonly charge: (input: {
    readonly amount: number
    readonly currency?: string | undefined
    readonly orderId?: string | undefined
    readonly idempotencyKey?: string | undefined
  }) => Effect.Effect<{ readonly chargeId: string; readonly amount: number; readonly replayed: boolean }, ToolRefusal>
  readonly refund: (input: { readonly chargeId: string; readonly amount?: number | undefined }) => Effect.Effect<{ readonly refundedAmount: number }, ToolRefusal>
  readonly snapshot: Effect.Effect<LedgerSnapshot>
}

/**
 * Makes an empty ledger; charges above `limit` are declined.
 *
 * @example
 * ```ts
 * const ledger = yield* Ledger.make({ limit: 1_000 })
 * ```
 */
export const make = (options: { readonly limit?: number | undefined } = {}): Effect.Effect<Ledger> =>
  Effect.map(Ref.make<LedgerSnapshot>({ charges: [] }), (state) => ({
    charge: (input) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        transact(state, (s): Step<{ chargeId: string; amount: number; replayed: boolean }, LedgerSnapshot> => {
          const key = input.idempotencyKey
          const prior = key === undefined ? undefined : s.charges.find((c) => c.idempotencyKey === key)
          if (prior !== undefined) return ok({ chargeId: prior.id, amount: prior.amount, replayed: true }, s)
          if (input.amount <= 0) return refuse(`invalid amount ${input.amount}`)
          if (options.limit !== undefined && input.amount > options.limit) return refuse(`card declined: ${input.amount} is over the limit`)
          const id = `ch-${s.charges.length + 1}`
          const charge: Charge = {
            id,
            amount: input.amount,
            currency: input.currency ?? "EUR",
            orderId: input.orderId,
            idempotencyKey: key,
            refunded: 0,
            atMs: now
          }
          return ok({ chargeId: id, amount: input.amount, replayed: false }, { ...s, charges: [...s.charges, charge] })
        })),
    refund: ({ amount, chargeId }) =>
      transact(state, (s) => {
        const c = s.charges.find((x) => x.id === chargeId)
        if (c === undefined) return refuse(`no charge ${chargeId}`)
        const left = c.amount - c.refunded
        const refund = amount ?? left
        if (refund <= 0 || refund > left) return refuse(`charge ${chargeId} has ${left} left to refund`)
        return ok({ refundedAmount: refund }, { ...s, charges: s.charges.map((x) => (x.id === chargeId ? { ...x, refunded: x.refunded + refund } : x)) })
      }),
    snapshot: Ref.get(state)
  }))

/**
 * Consistency: no refund exceeds its charge, at most one charge per idempotency key.
 *
 * @example
 * ```ts
 * Ledger.check(yield* ledger.snapshot) // => []
 * ```
 */
export const check = (s: LedgerSnapshot): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const keys = new Set<string>()
  for (const c of s.charges) {
    if (c.refunded > c.amount) problems.push(`${c.id}: refunded ${c.refunded} > charged ${c.amount}`)
    if (c.idempotencyKey !== undefined) {
      if (keys.has(c.idempotencyKey)) problems.push(`two charges with idempotency key ${c.idempotencyKey}`)
      keys.add(c.idempotencyKey)
    }
  }
  return problems
}

/**
 * The net amount charged for an order (charges minus refunds).
 *
 * @example
 * ```ts
 * Ledger.netFor(snapshot, "o1") // => 0 after a compensated saga
 * ```
 */
export const netFor = (s: LedgerSnapshot, orderId: string): number =>
  s.charges.filter((c) => c.orderId === orderId).reduce((n, c) => n + c.amount - c.refunded, 0)

/**
 * The charges made for an order.
 *
 * @example
 * ```ts
 * Ledger.chargesFor(snapshot, "o1").length // => 1
 * ```
 */
export const chargesFor = (s: LedgerSnapshot, orderId: string): ReadonlyArray<Charge> => s.charges.filter((c) => c.orderId === orderId)
