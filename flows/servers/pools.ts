/**
 * The seeds' bulkhead pools (connections 100 / 50 / 200), with queue bounds and waits chosen for
 * their roles: `critical` waits briefly, `batch` queues deep and waits long. Declare them in a
 * policy registry (`Policy.registry({ pools: seedPools })`) or a gateway config (`pools`), and
 * name one in a bulkhead setting: `{ bulkhead: { pool: "critical" } }`.
 *
 * @example
 * ```ts
 * import { seedPools } from "./pools.ts"
 *
 * const standard = yield* Bulkhead.pool("standard", seedPools.standard)
 * ```
 * @module
 */
import type { Bulkhead } from "../../dsl/policy/index.ts"

/**
 * Settings of the seeds' `critical`, `standard` and `batch` pools.
 *
 * @example
 * ```ts
 * const registry = Policy.registry({ pools: seedPools })
 * ```
 */
export const seedPools = {
  critical: { maxConcurrent: 100, maxQueue: 100, maxWait: "1 second" },
  standard: { maxConcurrent: 50, maxQueue: 100, maxWait: "5 seconds" },
  batch: { maxConcurrent: 200, maxQueue: 10_000, maxWait: "1 minute" }
} as const satisfies Record<string, Bulkhead.PoolSettings>
