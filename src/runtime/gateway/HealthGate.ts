/**
 * Health feeds the breakers: the circuits that guard calls to a server (the config's and the
 * contracts' policy breakers, keyed by that server or by one of its tools) are held open while
 * the server's health probes say it is unhealthy, and let go of when they pass again.
 *
 * What a hold may and may not do (see `CircuitBreaker.hold`):
 * - it opens a closed or half-open circuit, and keeps an open one open past its open duration;
 * - its release moves the circuit to half-open (its trial calls decide whether it closes), or,
 *   when real call failures opened it and their open duration is not over, leaves it open until
 *   then: a probe never closes a breaker, and never shortens an opening it did not cause;
 * - a circuit isolated or disabled by hand is left alone.
 *
 * Circuits are known from the calls made through them: the first call of a circuit to a watched
 * server registers it (held at once if the server is already unhealthy); a later change of the
 * server's health holds or releases every registered circuit of it, in the probing fiber. The
 * breaker's own events (`BreakerTransition` with its `cause`, `BreakerHeld`, and the rejections
 * with `heldBy`) tell the story.
 *
 * @example
 * ```ts
 * const gate = HealthGate.make(health)
 * const call = gate.guard("fs", breaker, "fs", effect) // held open while fs is unhealthy
 * ```
 * @module
 */
import { Effect } from "effect"
import type { CircuitBreaker } from "../../../dsl/policy/CircuitBreaker.ts"
import type { HealthRegistry } from "./Health.ts"

/**
 * The breakers of watched servers, held open by their health (see the module doc).
 *
 * @example
 * ```ts
 * gate.guard("fs", breaker, "fs.read_file", call)
 * ```
 */
export interface HealthGate {
  /** Whether calls to `server` need {@link guard} (its health is watched). Cheap. */
  readonly watches: (server: string) => boolean
  /** Registers the circuit `key` of `breaker` as guarding `server`, then runs `effect`. */
  readonly guard: <A, E, R>(server: string, breaker: CircuitBreaker, key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * Why a circuit of `server` is held.
 *
 * @example
 * ```ts
 * heldBy("fs") // => "health: fs unhealthy"
 * ```
 */
export const heldBy = (server: string): string => `health: ${server} unhealthy`

/**
 * A gate over `health`: subscribes to its changes.
 *
 * @example
 * ```ts
 * const gate = make(Health.makeRegistry(servers, check))
 * ```
 */
export const make = (health: HealthRegistry): HealthGate => {
  const circuits = new Map<string, Map<CircuitBreaker, Set<string>>>()

  health.onChange((server, _from, to) => {
    const byBreaker = circuits.get(server)
    if (byBreaker === undefined) return Effect.void
    const holds: Array<Effect.Effect<void>> = []
    for (const [breaker, keys] of byBreaker) {
      for (const key of keys) holds.push(to === "unhealthy" ? breaker.hold(heldBy(server), key) : breaker.release(key))
    }
    return Effect.all(holds, { discard: true })
  })

  const guard = <A, E, R>(server: string, breaker: CircuitBreaker, key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    let byBreaker = circuits.get(server)
    if (byBreaker === undefined) circuits.set(server, byBreaker = new Map())
    let keys = byBreaker.get(breaker)
    if (keys === undefined) byBreaker.set(breaker, keys = new Set())
    if (keys.has(key)) return effect
    keys.add(key)
    return health.isUnhealthy(server) ? Effect.andThen(breaker.hold(heldBy(server), key), effect) : effect
  }

  return { watches: health.watches, guard }
}
