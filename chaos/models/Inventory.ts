/**
 * A stateful inventory with reservations (the saga's `inventory` server): stock per SKU and
 * reservations that are held, released or committed. A reserve with an idempotency key that was
 * seen before answers the same reservation again (a retried or duplicated request holds nothing more).
 *
 * @example
 * ```ts
 * const inventory = yield* Inventory.make({ widget: 10 })
 * const def = Models.server("inventory", inventory, [
 *   FakeServer.handle(InventoryApi.reserve_items, ({ sku, quantity, order_id }) => inventory.reserve({ sku, quantity, orderId: order_id }))
 * ])
 * ```
 * @module
 */
import { Effect, Ref } from "effect"
import type { ToolRefusal } from "../FakeServer.ts"
import { ok, refuse, type Step, transact } from "./Model.ts"

/**
 * One reservation.
 *
 * @example
 * ```ts
 * const r: Reservation = { id: "res-1", sku: "widget", quantity: 2, orderId: "o1", status: "held" }
 * ```
 */
export interface Reservation {
  readonly id: string
  readonly sku: string
  readonly quantity: number
  readonly orderId: string | undefined
  readonly status: "held" | "released" | "committed"
  /** The key it was made with: a reserve with the same key answers this reservation again. */
  readonly idempotencyKey?: string | undefined
}

/**
 * The inventory's state: initial and available stock per SKU, and every reservation.
 *
 * @example
 * ```ts
 * const s: InventorySnapshot = { initial: { widget: 10 }, available: { widget: 8 }, reservations: [] }
 * ```
 */
export interface InventorySnapshot {
  readonly initial: Readonly<Record<string, number>>
  readonly available: Readonly<Record<string, number>>
  readonly reservations: ReadonlyArray<Reservation>
}

/**
 * The inventory model: operations over plain inputs, and its snapshot.
 *
 * @example
 * ```ts
 * const { reservationId } = yield* inventory.reserve({ sku: "widget", quantity: 2 })
 * yield* inventory.release({ reservationId })
 * ```
 */
export interface Inventory {
  readonly reserve: (input: {
    readonly sku: string
    readonly quantity: number
    readonly orderId?: string | undefined
    readonly idempotencyKey?: string | undefined
  }) => Effect.Effect<{ readonly reservationId: string; readonly remaining: number }, ToolRefusal>
  readonly release: (input: { readonly reservationId: string }) => Effect.Effect<{ readonly released: boolean }, ToolRefusal>
  readonly commit: (input: { readonly reservationId: string }) => Effect.Effect<{ readonly committed: boolean }, ToolRefusal>
  readonly available: (input: { readonly sku: string }) => Effect.Effect<{ readonly sku: string; readonly available: number }>
  readonly snapshot: Effect.Effect<InventorySnapshot>
}

/**
 * Makes an inventory with initial stock per SKU.
 *
 * @example
 * ```ts
 * const inventory = yield* Inventory.make({ widget: 10, gadget: 3 })
 * ```
 */
export const make = (stock: Readonly<Record<string, number>>): Effect.Effect<Inventory> =>
  Effect.map(Ref.make<InventorySnapshot>({ initial: { ...stock }, available: { ...stock }, reservations: [] }), (state) => {
    const find = (s: InventorySnapshot, id: string) => s.reservations.find((r) => r.id === id)
    const setStatus = (s: InventorySnapshot, id: string, status: Reservation["status"]): InventorySnapshot => ({
      ...s,
      reservations: s.reservations.map((r) => (r.id === id ? { ...r, status } : r))
    })
    return {
      reserve: ({ idempotencyKey, orderId, quantity, sku }) =>
        transact(state, (s): Step<{ reservationId: string; remaining: number }, InventorySnapshot> => {
          const prior = idempotencyKey === undefined ? undefined : s.reservations.find((r) => r.idempotencyKey === idempotencyKey)
          if (prior !== undefined) return ok({ reservationId: prior.id, remaining: s.available[prior.sku] ?? 0 }, s)
          const left = s.available[sku]
          if (left === undefined) return refuse(`unknown sku ${sku}`)
          if (quantity <= 0 || left < quantity) return refuse(`insufficient stock for ${sku}: ${left} left`)
          const id = `res-${s.reservations.length + 1}`
          return ok(
            { reservationId: id, remaining: left - quantity },
            { ...s, available: { ...s.available, [sku]: left - quantity }, reservations: [...s.reservations, { id, sku, quantity, orderId, status: "held", ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) }] }
          )
        }),
      release: ({ reservationId }) =>
        transact(state, (s): Step<{ released: boolean }, InventorySnapshot> => {
          const r = find(s, reservationId)
          if (r === undefined) return refuse(`no reservation ${reservationId}`)
          if (r.status === "released") return ok({ released: false }, s)
          if (r.status === "committed") return refuse(`reservation ${reservationId} is committed`)
          const next = setStatus(s, reservationId, "released")
          return ok({ released: true }, { ...next, available: { ...next.available, [r.sku]: (next.available[r.sku] ?? 0) + r.quantity } })
        }),
      commit: ({ reservationId }) =>
        transact(state, (s): Step<{ committed: boolean }, InventorySnapshot> => {
          const r = find(s, reservationId)
          if (r === undefined || r.status === "released") return refuse(`no held reservation ${reservationId}`)
          return ok({ committed: r.status === "held" }, setStatus(s, reservationId, "committed"))
        }),
      available: ({ sku }) => Effect.map(Ref.get(state), (s) => ({ sku, available: s.available[sku] ?? 0 })),
      snapshot: Ref.get(state)
    }
  })

/**
 * Consistency of a snapshot: per SKU, available + held + committed = initial, never negative.
 * Returns the problems found (empty when consistent).
 *
 * @example
 * ```ts
 * Inventory.check(yield* inventory.snapshot) // => []
 * ```
 */
export const check = (s: InventorySnapshot): ReadonlyArray<string> => {
  const problems: Array<string> = []
  for (const [sku, initial] of Object.entries(s.initial)) {
    const available = s.available[sku] ?? 0
    const out = s.reservations.filter((r) => r.sku === sku && r.status !== "released").reduce((n, r) => n + r.quantity, 0)
    if (available < 0) problems.push(`${sku}: negative stock ${available}`)
    if (available + out !== initial) problems.push(`${sku}: available ${available} + reserved ${out} ≠ initial ${initial}`)
  }
  return problems
}

/**
 * The reservations still held for an order (what a compensated saga must leave empty).
 *
 * @example
 * ```ts
 * Inventory.heldFor(snapshot, "o1") // => []
 * ```
 */
export const heldFor = (s: InventorySnapshot, orderId: string): ReadonlyArray<Reservation> =>
  s.reservations.filter((r) => r.orderId === orderId && r.status === "held")
