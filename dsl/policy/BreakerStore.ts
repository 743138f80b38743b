/**
 * Where a {@link CircuitBreaker} keeps its circuits: one {@link CircuitRecord} per key.
 *
 * The breaker runs its state machine synchronously on the record the store hands it, so a call
 * on a closed circuit costs a map lookup and a few field writes. {@link memoryStore} (the
 * default) keeps the records in a `Map`, one store per breaker.
 *
 * A shared store plugs in behind the same seam: records are plain JSON data (numbers, strings,
 * arrays of numbers), `persist` is called after every change the breaker makes to a record, and
 * the store may refresh its local records from elsewhere between calls. That is how a
 * Redis-backed store (or Effect's `effect/persistence` `CircuitBreakerStore`, whose Lua scripts
 * hold its own narrower state machine) would be adapted: write-behind from `persist`, read-through
 * into the local record. No such store ships here.
 *
 * @example
 * ```ts
 * import { BreakerStore, CircuitBreaker } from "mcpflow"
 *
 * const store = BreakerStore.memoryStore()
 * const breaker = yield* CircuitBreaker.make({ name: "docker", trip: CircuitBreaker.consecutive(5), openDuration: "30 seconds", store })
 * store.keys() // => the keys the breaker has seen
 * ```
 * @module
 */

/**
 * The state of one circuit.
 *
 * - `closed`: calls run; the trip policy decides when it opens.
 * - `open`: calls are rejected until the open duration ends; the next call then moves it to `half-open`.
 * - `half-open`: a bounded number of trial calls run; enough successes close it, a failure reopens it.
 * - `forced-open`: isolated by hand; every call is rejected until `reset`.
 * - `disabled`: every call runs and nothing is recorded, until `reset`.
 *
 * @example
 * ```ts
 * const s: BreakerState = "half-open"
 * ```
 */
export type BreakerState = "closed" | "open" | "half-open" | "forced-open" | "disabled"

/**
 * The mutable, JSON-serialisable data of one circuit. Only the breaker writes it; a store keeps it.
 *
 * The sliding window is kept as aggregates (`calls`, `failures`, `slow`) plus either a ring of
 * outcome codes (`ring`, `cursor`: 0 success, 1 failure, 2 slow success) for count windows and the
 * consecutive policy, or per-bucket counts (`bucketCalls`, `bucketFailures`, `bucketSlow`,
 * `lastBucket`) for time windows.
 *
 * @example
 * ```ts
 * const record = store.get("docker")
 * record?.state // => "open"
 * ```
 */
export interface CircuitRecord {
  /** Current state. */
  state: BreakerState
  /** Bumped on every transition; an outcome admitted under an older epoch is discarded. */
  epoch: number
  /** Clock time (ms) at which an `open` circuit lets the next call through as a trial. */
  openUntil: number
  /** Openings counted by the open-duration backoff (reset once closed long enough). */
  openings: number
  /** Length (ms) of the last opening. */
  lastOpenMs: number
  /** Clock time (ms) after which a new trip starts the backoff again from the first step. */
  backoffResetAt: number
  /** Half-open trial permits currently taken. */
  probesAdmitted: number
  /** Successful half-open trials in the current half-open episode. */
  probeSuccesses: number
  /** Consecutive failures (consecutive policy). */
  streak: number
  /** Recorded calls in the window. */
  calls: number
  /** Failed calls in the window. */
  failures: number
  /** Slow successful calls in the window. */
  slow: number
  /** Outcome codes of a count window (empty for a time window). */
  ring: Array<number>
  /** Next slot of `ring`. */
  cursor: number
  /** Calls per time bucket (empty for a count window). */
  bucketCalls: Array<number>
  /** Failures per time bucket. */
  bucketFailures: Array<number>
  /** Slow successes per time bucket. */
  bucketSlow: Array<number>
  /** Absolute index of the newest time bucket. */
  lastBucket: number
  /** Calls rejected since the circuit was created or reset. */
  rejected: number
  /** Times the circuit opened since it was created or reset. */
  opened: number
  /**
   * Why the circuit is held open from outside (e.g. `"health: fs unhealthy"`), `""` when it is
   * not: a held `open` circuit rejects every call and does not go half-open until released.
   */
  heldBy: string
}

/**
 * The seam between a breaker and the place its circuits live. Every method is synchronous:
 * `getOrCreate` runs on every call.
 *
 * @example
 * ```ts
 * const logged: BreakerStore = { ...memoryStore(), persist: (key, r) => console.log(key, r.state) }
 * ```
 */
export interface BreakerStore {
  /** The record of `key`, created with `create` the first time. */
  readonly getOrCreate: (key: string, create: (key: string) => CircuitRecord) => CircuitRecord
  /** The record of `key`, if the breaker has created one. */
  readonly get: (key: string) => CircuitRecord | undefined
  /** Every key with a record, in creation order. */
  readonly keys: () => ReadonlyArray<string>
  /** Called after each change the breaker makes to a record (write-behind hook; optional). */
  readonly persist?: ((key: string, record: CircuitRecord) => void) | undefined
}

/**
 * An in-process store: a `Map` of records. The default store of every breaker (one per breaker,
 * so two breakers never share a circuit by accident).
 *
 * @example
 * ```ts
 * const store = memoryStore()
 * store.keys() // => []
 * ```
 */
export const memoryStore = (): BreakerStore => {
  const records = new Map<string, CircuitRecord>()
  return {
    getOrCreate: (key, create) => {
      let record = records.get(key)
      if (record === undefined) {
        record = create(key)
        records.set(key, record)
      }
      return record
    },
    get: (key) => records.get(key),
    keys: () => Array.from(records.keys())
  }
}
