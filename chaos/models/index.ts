/**
 * Stateful models for the seeds' domains, each with operations over plain typed inputs, a
 * `snapshot` for invariants and a `check` of its own consistency; `Model.server` binds one to
 * contracts as a fake server definition.
 *
 * @example
 * ```ts
 * import { Models, FakeServer } from "mcpflow/chaos"
 * const ledger = yield* Models.Ledger.make()
 * const payment = Models.Model.server("payment", ledger, [FakeServer.handle(Payment.charge, (i) => ledger.charge(i))])
 * ```
 * @module
 */
export * as Deployments from "./Deployments.ts"
export * as Inventory from "./Inventory.ts"
export * as Ledger from "./Ledger.ts"
export * as Model from "./Model.ts"
export * as ObjectStore from "./ObjectStore.ts"
export * as Outbox from "./Outbox.ts"
