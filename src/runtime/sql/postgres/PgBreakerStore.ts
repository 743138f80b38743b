/**
 * Circuit breakers shared by every process on one Postgres: a {@link BreakerStore} per breaker
 * name whose records live in `mcpflow_breakers`, so a circuit opened by one runner is open for all.
 *
 * The breaker's state machine stays synchronous and local (a call costs a map lookup): each
 * process keeps its records in memory, and one background fiber per process syncs them every
 * `interval` (default 200 ms):
 * - write-behind: a record the breaker changed (`persist`) is written with an optimistic version
 *   check (`version = seen`), so a concurrent write elsewhere is never blindly overwritten;
 * - read-through: a newer remote record replaces the local one in place. When both sides changed,
 *   the record with the higher `epoch` (more transitions) wins, the remote one on a tie: a
 *   transition (open, half-open, closed) always propagates; window counts of the losing side are
 *   dropped.
 *
 * So a circuit opened by runner A rejects calls on runner B at most one sync interval (plus a
 * query) later. If Postgres is unreachable, each process keeps breaking on its local records and
 * catches up when the database answers again.
 *
 * @example
 * ```ts
 * const stores = yield* PgBreakerStore.make({ interval: "200 millis" })
 * const breaker = yield* CircuitBreaker.make({ name: "docker", trip, openDuration: "30 seconds", store: stores.store("docker") })
 * ```
 * @module
 */
import { Duration, Effect, Schedule, Semaphore } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import type { BreakerStore, CircuitRecord } from "../../../../dsl/policy/BreakerStore.ts"

interface Entry {
  readonly breaker: string
  readonly key: string
  readonly record: CircuitRecord
  /** The row version this record was last written or read as (0: no row yet). */
  version: number
  /** `persist` calls so far; `flushed` is the count at the last successful write. */
  changes: number
  flushed: number
}

/**
 * Breaker stores on Postgres, one per breaker name, synced by one fiber.
 *
 * @example
 * ```ts
 * const stores: PgBreakerStores = yield* PgBreakerStore.make()
 * stores.store("docker").keys()
 * ```
 */
export interface PgBreakerStores {
  /** The store of the breaker `name` (the same store for the same name). */
  readonly store: (name: string) => BreakerStore
  /** Writes pending changes and reads remote ones now (the background fiber does it every interval). */
  readonly sync: Effect.Effect<void, SqlError>
}

/**
 * Loads the existing records and starts the sync fiber for the lifetime of the scope (a last sync
 * runs when it closes). Needs mcpflow's tables (`PostgresSchema.migrate`).
 *
 * @example
 * ```ts
 * const stores = yield* make({ interval: "100 millis" })
 * ```
 */
export const make = Effect.fnUntraced(function*(options?: { readonly interval?: Duration.Input | undefined }) {
  const sql = yield* SqlClient.SqlClient
  const entries = new Map<string, Map<string, Entry>>()
  const stores = new Map<string, BreakerStore>()

  const entriesOf = (breaker: string) => {
    let byKey = entries.get(breaker)
    if (byKey === undefined) {
      byKey = new Map()
      entries.set(breaker, byKey)
    }
    return byKey
  }

  const adopt = (entry: Entry, remote: CircuitRecord, version: number) => {
    Object.assign(entry.record, remote)
    entry.version = version
    entry.flushed = entry.changes
  }

  const pull = Effect.gen(function*() {
    const rows = yield* sql<{ readonly breaker: string; readonly key: string; readonly record: CircuitRecord; readonly version: string | number }>`
      select breaker, key, record, version from mcpflow_breakers`
    for (const row of rows) {
      const version = Number(row.version)
      const byKey = entriesOf(row.breaker)
      const entry = byKey.get(row.key)
      if (entry === undefined) {
        byKey.set(row.key, { breaker: row.breaker, key: row.key, record: { ...row.record }, version, changes: 0, flushed: 0 })
        continue
      }
      if (version <= entry.version) continue
      if (entry.changes === entry.flushed || row.record.epoch >= entry.record.epoch) adopt(entry, row.record, version)
      // Ours has more transitions: keep it, and overwrite the row at the next push.
      else entry.version = version
    }
  })

  const push = Effect.gen(function*() {
    for (const byKey of entries.values()) {
      for (const entry of byKey.values()) {
        if (entry.changes === entry.flushed) continue
        const changes = entry.changes
        const record = JSON.stringify(entry.record)
        const written = entry.version === 0
          ? yield* sql<{ readonly version: string | number }>`
              insert into mcpflow_breakers (breaker, key, record, version)
              values (${entry.breaker}, ${entry.key}, ${record}::jsonb, 1)
              on conflict (breaker, key) do nothing
              returning version`
          : yield* sql<{ readonly version: string | number }>`
              update mcpflow_breakers set record = ${record}::jsonb, version = version + 1
              where breaker = ${entry.breaker} and key = ${entry.key} and version = ${entry.version}
              returning version`
        const row = written[0]
        // Lost the race: the next pull decides which record wins.
        if (row === undefined) continue
        entry.version = Number(row.version)
        entry.flushed = changes
      }
    }
  })

  // One sync at a time per process (the background fiber and explicit `sync` calls).
  const lock = yield* Semaphore.make(1)
  const sync = Semaphore.withPermit(lock, Effect.andThen(push, pull))
  yield* pull
  const interval = Duration.fromInputUnsafe(options?.interval ?? "200 millis")
  yield* sync.pipe(
    Effect.catch((error) => Effect.logDebug("breaker store sync failed; keeping local records", error)),
    Effect.repeat(Schedule.spaced(interval)),
    Effect.forkScoped
  )
  yield* Effect.addFinalizer(() => Effect.ignore(push))

  const store = (name: string): BreakerStore => {
    const existing = stores.get(name)
    if (existing !== undefined) return existing
    const byKey = entriesOf(name)
    const made: BreakerStore = {
      getOrCreate: (key, create) => {
        let entry = byKey.get(key)
        if (entry === undefined) {
          entry = { breaker: name, key, record: create(key), version: 0, changes: 0, flushed: 0 }
          byKey.set(key, entry)
        }
        return entry.record
      },
      get: (key) => byKey.get(key)?.record,
      keys: () => Array.from(byKey.keys()),
      persist: (key) => {
        const entry = byKey.get(key)
        if (entry !== undefined) entry.changes += 1
      }
    }
    stores.set(name, made)
    return made
  }

  return { store, sync } satisfies PgBreakerStores
})
