/**
 * The cache policy: successful results kept for a TTL, at most `capacity` entries (least
 * recently used evicted first), keyed by the context's `cacheKey` (build it with {@link key}:
 * tool name + canonical JSON of the arguments). Concurrent identical calls share one in-flight
 * request (which holds a slot while in flight; a miss at capacity makes room first, even if the
 * call then fails). Failures are not cached. Only calls whose context says read-only or
 * idempotent are cached, unless `force: true`; calls without a `cacheKey` pass through. Emits
 * `CacheHit` / `CacheMiss`; `stats` counts hits, misses and evictions (live entries dropped to
 * make room; expired ones and invalidations are not evictions).
 *
 * Built on Effect's `Cache` (LRU order, Clock-based TTL so TestClock drives expiry, in-flight
 * sharing, interruption of an abandoned lookup). Effect's cache has one lookup function fixed at
 * construction; here each call brings its own effect, handed to the shared lookup through a
 * fiber reference. What this adds: per-call effects, the repeatability rule, stats and events.
 *
 * @example
 * ```ts
 * import { Cache } from "mcpflow"
 *
 * const cache = yield* Cache.make({ ttl: "5 minutes", capacity: 1000 })
 * const args = { path: "README.md" }
 * const text = yield* cache.apply(Fs.readFile(args), { readOnly: true, cacheKey: Cache.key("fs.read_file", args) })
 * ```
 * @module
 */
import { Cache as EffectCache, Clock, Context, type Duration, Effect, Exit, MutableHashMap } from "effect"
import { withService } from "../internal/WithService.ts"
import { canonicalJson } from "./internal/CanonicalJson.ts"
import * as Millis from "./internal/Millis.ts"
import { isRepeatable, type PolicyContext } from "./internal/PolicyContext.ts"
import type { PolicyDescriptor } from "./PolicyEvents.ts"
import { PolicyEvents } from "./PolicyEvents.ts"

/**
 * A cache key for a tool call: `"<tool> <canonical JSON of args>"`.
 *
 * @example
 * ```ts
 * key("fs.read_file", { path: "a", encoding: "utf8" }) === key("fs.read_file", { encoding: "utf8", path: "a" }) // => true
 * ```
 */
export const key = (tool: string, args: unknown): string => `${tool} ${canonicalJson(args)}`

/**
 * Settings of {@link make}. `capacity` is clamped to ≥ 1.
 *
 * @example
 * ```ts
 * const options: CacheOptions = { ttl: "30 seconds", capacity: 500 }
 * ```
 */
export interface CacheOptions {
  /** Policy name in events and descriptors (default `"cache"`). */
  readonly name?: string | undefined
  /** How long a result is served after it arrived. */
  readonly ttl: Duration.Input
  /** Most entries kept. */
  readonly capacity: number
  /** Cache calls even when the context does not say read-only/idempotent. */
  readonly force?: boolean | undefined
}

/**
 * Counters since the cache was made (`hits` include joins of an in-flight request), and the
 * current entry count.
 *
 * @example
 * ```ts
 * const { hits, misses, evictions } = cache.stats
 * ```
 */
export interface CacheStats {
  readonly hits: number
  readonly misses: number
  readonly evictions: number
  readonly size: number
}

/**
 * A cache policy.
 *
 * @example
 * ```ts
 * const cache: Cache = yield* Cache.make({ ttl: "1 minute", capacity: 100 })
 * yield* cache.invalidate(Cache.key("fs.read_file", { path: "a" }))
 * ```
 */
export interface Cache {
  readonly _tag: "Cache"
  readonly name: string
  readonly ttlMs: number
  readonly capacity: number
  readonly force: boolean
  /** Counters (see {@link CacheStats}). */
  readonly stats: CacheStats
  /** How the policy describes itself to plans. */
  readonly descriptor: PolicyDescriptor
  /** The options it was made from. */
  readonly options: CacheOptions
  /** Serves `self` from the cache under `ctx.cacheKey`, or runs it and keeps a success. */
  readonly apply: <A, E, R>(self: Effect.Effect<A, E, R>, ctx?: PolicyContext | undefined) => Effect.Effect<A, E, R>
  /** Drops one entry. */
  readonly invalidate: (key: string) => Effect.Effect<void>
  /** Drops every entry. */
  readonly invalidateAll: Effect.Effect<void>
}

/** The effect the shared lookup runs for the current call. */
const CurrentLookup = Context.Reference<Effect.Effect<unknown, unknown>>("mcpflow/dsl/policy/Cache/CurrentLookup", {
  defaultValue: () => Effect.die("mcpflow cache: lookup without an effect")
})

/**
 * Builds a cache policy with its own store.
 *
 * @example
 * ```ts
 * const cache = yield* Cache.make({ ttl: "5 minutes", capacity: 1000 })
 * ```
 */
export const make = Effect.fnUntraced(function*(options: CacheOptions) {
  const name = options.name ?? "cache"
  const ttlMs = Millis.from(options.ttl)
  const capacity = Number.isFinite(options.capacity) ? Math.max(1, Math.floor(options.capacity)) : 1
  const force = options.force ?? false
  const store = yield* EffectCache.makeWith<string, unknown, unknown>(
    () => Effect.withFiber((fiber) => fiber.getRef(CurrentLookup)),
    {
      capacity,
      timeToLive: (exit) => (Exit.isSuccess(exit) ? ttlMs : 0)
    }
  )
  let hits = 0
  let misses = 0
  let evictions = 0

  /**
   * Before a miss inserts `missed`: drops its expired entry, then the least recently used
   * entries until one slot is free. Only live entries dropped for room count as evictions (an
   * expired one would not have been served anyway). Done here rather than left to Effect's cache,
   * which trims after inserting and skips the insertion of a lookup that failed synchronously,
   * so its evictions cannot be counted from outside.
   */
  const makeRoom = (missed: string, now: number): void => {
    MutableHashMap.remove(store.map, missed)
    if (MutableHashMap.size(store.map) < capacity) return
    for (const [k, entry] of store.map) {
      MutableHashMap.remove(store.map, k)
      if (entry.expiresAt === undefined || now < entry.expiresAt) evictions++
      if (MutableHashMap.size(store.map) < capacity) return
    }
  }

  const apply = <A, E, R>(self: Effect.Effect<A, E, R>, ctx?: PolicyContext): Effect.Effect<A, E, R> => {
    const cacheKey = ctx?.cacheKey
    if (cacheKey === undefined || (!force && !isRepeatable(ctx))) return self
    return Effect.withFiber((fiber) => {
      const events = fiber.getRef(PolicyEvents)
      const entry = MutableHashMap.get(store.map, cacheKey)
      const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      const fresh = entry._tag === "Some" && (entry.value.expiresAt === undefined || now < entry.value.expiresAt)
      if (fresh) {
        hits++
        events.emit({ _tag: "CacheHit", policy: name, key: cacheKey })
      } else {
        misses++
        makeRoom(cacheKey, now)
        events.emit({ _tag: "CacheMiss", policy: name, key: cacheKey })
      }
      // The store is untyped inside (equal keys must give equal results), and the lookup fiber is
      // forked from this one, so it inherits the services `R` of `self`.
      const lookup = self as unknown as Effect.Effect<unknown, unknown>
      return withService(EffectCache.get(store, cacheKey), CurrentLookup, lookup) as unknown as Effect.Effect<A, E, R>
    })
  }

  const cache: Cache = {
    _tag: "Cache",
    name,
    ttlMs,
    capacity,
    force,
    get stats() {
      return { hits, misses, evictions, size: MutableHashMap.size(store.map) }
    },
    descriptor: {
      kind: "cache",
      settings: { ttl: Millis.format(ttlMs), capacity, ...(force ? { force } : {}), ...(name !== "cache" ? { name } : {}) }
    },
    options,
    apply,
    invalidate: (k) => EffectCache.invalidate(store, k),
    invalidateAll: EffectCache.invalidateAll(store)
  }
  return cache
})
