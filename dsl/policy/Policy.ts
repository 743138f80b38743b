/**
 * One policy builder with a fixed order. Whatever order the settings are written in, a call runs
 * through the layers outermost first:
 *
 * ```text
 * cache → fallback → breaker → bulkhead → rate limit → total timeout → retry → hedge → timeout (per attempt) → call
 * ```
 *
 * - The cache is outermost: a hit skips everything else (no permit, no token, no breaker outcome).
 * - The fallback sees the final failure, including a breaker, bulkhead or rate-limit rejection.
 * - The breaker is outside retry: it records one outcome per call (after the retries), and a
 *   rejected call is never retried into an open circuit. Rejections by the bulkhead or the rate
 *   limit (inside it) are not counted as failures: they say nothing about the server's health.
 * - The bulkhead holds its permit across retries and their backoff: it bounds concurrent logical
 *   calls, so a call in backoff keeps its slot rather than losing it to a newcomer.
 * - The rate limit spends one token per logical call (retries are bounded by `maxAttempts`).
 * - The total timeout wraps the retries (all attempts and delays); the breaker sees its expiry
 *   as one failure. Bulkhead waits and rate-limit delays have their own bounds (`maxWait`,
 *   `maxDelay`).
 * - Hedging (for repeatable calls only) is per attempt, and each hedge has its own per-attempt
 *   timeout; a per-attempt timeout that a retry may repeat is `transient`, but a call that is
 *   not idempotent is not retried after it (it may have reached the server).
 *
 * Each kind is given as data (`PolicySettings`, JSON-decodable), as a prebuilt instance (a shared
 * breaker, a named bulkhead pool, …) or as `false` (off). {@link merge} combines levels per kind
 * (call site over tool over server); {@link make} builds the stateful parts; {@link apply} runs
 * any Effect through it; {@link describe} lists its layers for plans. Every layer emits its
 * events into `PolicyEvents`.
 *
 * @example
 * ```ts
 * import { Policy } from "mcpflow"
 *
 * const policy = yield* Policy.make({
 *   retry: { maxAttempts: 3, backoff: { kind: "exponential", initial: "200 millis", max: "5 seconds" }, jitter: "full" },
 *   timeout: "5 seconds",
 *   breaker: { trip: { kind: "consecutive", failures: 5 }, openDuration: "30 seconds" },
 *   bulkhead: { pool: "critical" }
 * })
 * const value = yield* Policy.apply(fetchThing, policy, { idempotent: true, key: "api" })
 * Policy.describe(policy).map((d) => d.kind) // => ["breaker", "bulkhead", "retry", "timeout"]
 * ```
 * @module
 */
import { Context, Effect, Function } from "effect"
import type { RateLimiter } from "effect/persistence"
import type { BreakerStore } from "./BreakerStore.ts"
import * as Backoff from "./Backoff.ts"
import * as Bulkhead from "./Bulkhead.ts"
import * as Cache from "./Cache.ts"
import { canonicalJson } from "./internal/CanonicalJson.ts"
import * as CircuitBreaker from "./CircuitBreaker.ts"
import type * as Fallback from "./Fallback.ts"
import * as Hedge from "./Hedge.ts"
import type { PolicyContext } from "./internal/PolicyContext.ts"
import type { PolicyDescriptor } from "./PolicyEvents.ts"
import * as PolicySettings from "./PolicySettings.ts"
import { PolicyConfigError } from "./PolicySettings.ts"
import * as RateLimit from "./RateLimit.ts"
import * as Retry from "./Retry.ts"
import * as Timeout from "./Timeout.ts"

export { PolicyConfigError } from "./PolicySettings.ts"
export type { PolicyContext } from "./internal/PolicyContext.ts"

/**
 * What {@link apply} knows about the call: {@link PolicyContext} plus the server key, which
 * breakers and rate limits use by default (`per: "server"`); `key` (e.g. `server.tool`) is used
 * with `per: "tool"`.
 *
 * @example
 * ```ts
 * const ctx: CallContext = { idempotent: true, key: "github.search", server: "github" }
 * ```
 */
export interface CallContext extends PolicyContext {
  readonly server?: string | undefined
  /** The item a step runs for (its full path, `forEach` item keys included): the circuit key of `per: "item"`. */
  readonly item?: string | undefined
}

/**
 * A prebuilt breaker with the key its circuits use: the server (default), the tool (`ctx.key`),
 * the item (`ctx.item`: on a step inside `forEach`, one circuit per item; elsewhere as `tool`),
 * or the breaker's own name (one circuit for everything it guards).
 *
 * @example
 * ```ts
 * const perTool: KeyedBreaker = Policy.breaker(shared, "tool")
 * ```
 */
export interface KeyedBreaker {
  readonly _tag: "KeyedBreaker"
  readonly breaker: CircuitBreaker.CircuitBreaker
  readonly per: "server" | "tool" | "item" | "breaker"
}

/**
 * Pairs a prebuilt breaker with its circuit key (see {@link KeyedBreaker}).
 *
 * @example
 * ```ts
 * Policy.make({ breaker: Policy.breaker(yield* CircuitBreaker.make(options), "tool") })
 * ```
 */
export const breaker = (instance: CircuitBreaker.CircuitBreaker, per: KeyedBreaker["per"] = "server"): KeyedBreaker => ({
  _tag: "KeyedBreaker",
  breaker: instance,
  per
})

/**
 * A policy as written: each kind as data, a prebuilt instance, or `false` (off, overriding a
 * lower level). `FA`/`FE`/`FR` are the fallback's success, error and requirements.
 *
 * @example
 * ```ts
 * const spec: PolicySpec = { retry: { maxAttempts: 3 }, timeout: "2s", bulkhead: yield* Bulkhead.pool("critical", { maxConcurrent: 100 }) }
 * ```
 */
export interface PolicySpec<FA = never, FE = never, FR = never> {
  readonly cache?: PolicySettings.CacheSettings | Cache.Cache | false | undefined
  readonly fallback?: Fallback.Fallback<FA, FE, FR> | false | undefined
  readonly breaker?: PolicySettings.BreakerSettings | CircuitBreaker.CircuitBreaker | KeyedBreaker | false | undefined
  readonly bulkhead?: PolicySettings.BulkheadSettings | Bulkhead.Bulkhead | false | undefined
  readonly rateLimit?: PolicySettings.RateLimitSettings | RateLimit.RateLimit | false | undefined
  readonly totalTimeout?: PolicySettings.DurationSetting | Timeout.Timeout | false | undefined
  readonly retry?: PolicySettings.RetrySettings | Retry.Retry<unknown, unknown, boolean> | false | undefined
  readonly hedge?: PolicySettings.HedgeSettings | Hedge.Hedge | false | undefined
  readonly timeout?: PolicySettings.DurationSetting | Timeout.Timeout | false | undefined
}

/** The policy kinds, outermost first. */
const kinds = ["cache", "fallback", "breaker", "bulkhead", "rateLimit", "totalTimeout", "retry", "hedge", "timeout"] as const

/**
 * One policy kind, named as in {@link PolicySpec}; `kinds` lists them outermost first.
 *
 * @example
 * ```ts
 * const k: Kind = "rateLimit"
 * ```
 */
export type Kind = (typeof kinds)[number]

/**
 * A built policy: every layer an instance, in the fixed order. `spec` is the same policy in
 * instance form (for {@link merge}).
 *
 * @example
 * ```ts
 * const policy: Policy = yield* Policy.make({ timeout: "1s" })
 * policy.isEmpty // => false
 * ```
 */
export interface Policy<FA = never, FE = never, FR = never> {
  readonly _tag: "Policy"
  readonly cache: Cache.Cache | undefined
  readonly fallback: Fallback.Fallback<FA, FE, FR> | undefined
  readonly breaker: KeyedBreaker | undefined
  readonly bulkhead: Bulkhead.Bulkhead | undefined
  readonly rateLimit: { readonly rateLimit: RateLimit.RateLimit; readonly per: "server" | "tool" } | undefined
  readonly totalTimeout: Timeout.Timeout | undefined
  readonly retry: Retry.Retry<unknown, unknown, boolean> | undefined
  readonly hedge: Hedge.Hedge | undefined
  readonly timeout: Timeout.Timeout | undefined
  /** True when no layer is set: {@link apply} returns the effect unchanged. */
  readonly isEmpty: boolean
  /** The policy in instance form. */
  readonly spec: PolicySpec<FA, FE, FR>
}

/**
 * Anything a policy can be given as: written or built.
 *
 * @example
 * ```ts
 * const input: PolicyInput = { timeout: "5s" }
 * ```
 */
export type PolicyInput<FA = never, FE = never, FR = never> = PolicySpec<FA, FE, FR> | Policy<FA, FE, FR>

/**
 * The errors the layers add: a timeout, a rejection by the breaker, bulkhead or rate limit, a
 * retry of results that ran out, or a fallback that failed too.
 *
 * @example
 * ```ts
 * const e: PolicyFailure = new Timeout.PolicyTimeout({ policy: "timeout", afterMs: 5, scope: "attempt" })
 * ```
 */
export type PolicyFailure =
  | Timeout.PolicyTimeout
  | CircuitBreaker.BreakerRejected
  | Bulkhead.BulkheadRejected
  | RateLimit.RateLimitRejected
  | Retry.RetryExhausted
  | Fallback.PolicyFallbackFailed

/**
 * Where stateful layers built from data live, so they are made once and shared: one registry
 * per gateway layer. A layer is identified by its kind, its owner (`server`, `server.tool`) and
 * its settings; a bulkhead `pool` by its name alone. `poolSettings` are the declared pools: a
 * bulkhead setting that names one of them needs no numbers.
 *
 * @example
 * ```ts
 * const registry = Policy.registry()
 * const a = yield* Policy.make({ breaker: { openDuration: "30s" } }, { registry, owner: "docker" })
 * const b = yield* Policy.make({ breaker: { openDuration: "30s" } }, { registry, owner: "docker" })
 * a.breaker?.breaker === b.breaker?.breaker // => true
 * ```
 */
export interface PolicyRegistry {
  readonly _tag: "PolicyRegistry"
  readonly instances: Map<string, unknown>
  readonly pools: Map<string, Bulkhead.Bulkhead>
  readonly poolSettings: ReadonlyMap<string, Bulkhead.PoolSettings>
  /** Where breakers built from settings keep their circuits, by breaker name (default: in memory, per breaker). */
  readonly breakerStore?: ((name: string) => BreakerStore) | undefined
  /** The shared limiter behind rate limits built from settings (default: in process). */
  readonly rateLimiter?: RateLimiter.RateLimiter | undefined
}

/**
 * Where the stateful policies built from configuration (a gateway's `policies`) keep their
 * state: by default in the process; a cluster runner provides stores shared by every runner
 * (e.g. on Postgres), so a circuit opened by one runner is open for all.
 *
 * @example
 * ```ts
 * Effect.provideService(Policy.SharedState, { breakerStore: stores.store, rateLimiter })
 * ```
 */
export const SharedState = Context.Reference<{
  readonly breakerStore?: ((name: string) => BreakerStore) | undefined
  readonly rateLimiter?: RateLimiter.RateLimiter | undefined
}>("mcpflow/dsl/policy/SharedState", { defaultValue: () => ({}) })

/**
 * A new, empty {@link PolicyRegistry}; `pools` declares named bulkhead pools that settings can
 * name without numbers (`{ bulkhead: { pool: "critical" } }`).
 *
 * @example
 * ```ts
 * const registry = Policy.registry({ pools: { critical: { maxConcurrent: 100, maxQueue: 100, maxWait: "1s" } } })
 * ```
 */
export const registry = (
  options?: {
    readonly pools?: Readonly<Record<string, Bulkhead.PoolSettings>> | undefined
    /** Shared circuits (e.g. on Postgres, so one runner's open circuit is open for all). */
    readonly breakerStore?: ((name: string) => BreakerStore) | undefined
    /** A shared rate limiter (`effect/persistence`), the backend of every rate limit built from settings. */
    readonly rateLimiter?: RateLimiter.RateLimiter | undefined
  }
): PolicyRegistry => ({
  _tag: "PolicyRegistry",
  instances: new Map(),
  pools: new Map(),
  poolSettings: new Map(Object.entries(options?.pools ?? {})),
  breakerStore: options?.breakerStore,
  rateLimiter: options?.rateLimiter
})

/**
 * Whether a value is a built {@link Policy}.
 *
 * @example
 * ```ts
 * Policy.isPolicy(yield* Policy.make({})) // => true
 * ```
 */
export const isPolicy = (u: unknown): u is Policy<unknown, unknown, unknown> =>
  typeof u === "object" && u !== null && builtPolicies.has(u)

/** Every policy {@link make} built (and {@link empty}): a look-alike written as data is not one. */
const builtPolicies = new WeakSet<object>()

const specOf = <FA, FE, FR>(input: PolicyInput<FA, FE, FR>): PolicySpec<FA, FE, FR> =>
  isPolicy(input) ? (input as Policy<FA, FE, FR>).spec : input

/**
 * Combines levels per kind: for each kind the last input that sets it (to data, an instance or
 * `false`) wins. Pass the lowest level first: `merge(server, tool, callSite)`.
 *
 * @example
 * ```ts
 * Policy.merge({ retry: { maxAttempts: 5 }, timeout: "10s" }, { retry: false }) // => { timeout: "10s", retry: false }
 * ```
 */
export const merge = <FA = never, FE = never, FR = never>(
  ...inputs: ReadonlyArray<PolicyInput<FA, FE, FR> | undefined>
): PolicySpec<FA, FE, FR> => {
  const out: { [K in Kind]?: PolicySpec<FA, FE, FR>[K] } = {}
  for (const input of inputs) {
    if (input === undefined) continue
    const spec = specOf(input)
    for (const kind of kinds) {
      const value = spec[kind]
      if (value !== undefined) (out as Record<Kind, unknown>)[kind] = value
    }
  }
  return out as PolicySpec<FA, FE, FR>
}

// -----------------------------------------------------------------------------
// Building
// -----------------------------------------------------------------------------

/** The `_tag` of each kind's instances (a breaker is also recognised by its `execute`). */
const instanceTags: { readonly [K in Kind]: ReadonlyArray<string> } = {
  cache: ["Cache"],
  fallback: ["Fallback"],
  breaker: ["KeyedBreaker"],
  bulkhead: ["Bulkhead"],
  rateLimit: ["RateLimit"],
  totalTimeout: ["Timeout"],
  retry: ["Retry"],
  hedge: ["Hedge"],
  timeout: ["Timeout"]
}

/**
 * Whether `u` is a prebuilt instance of `kind`: an object with that kind's tag and its `apply`
 * (or `execute`, for a breaker) function. Anything else is data, decoded (and refused) as such.
 */
const isInstance = (kind: string, u: unknown): boolean => {
  if (typeof u !== "object" || u === null || !Object.hasOwn(instanceTags, kind)) return false
  const o = u as { readonly _tag?: unknown; readonly apply?: unknown; readonly execute?: unknown; readonly breaker?: unknown }
  if (kind === "breaker") {
    const inner = o._tag === "KeyedBreaker" ? o.breaker as { readonly execute?: unknown } | undefined : o
    return typeof inner?.execute === "function"
  }
  return instanceTags[kind as Kind].includes(o._tag as string) && typeof o.apply === "function"
}

type DataSpec = { [K in Kind]?: unknown }

/**
 * The data parts of a spec (instances and `false` left out; unknown keys and a `fallback`
 * written as data kept, so decoding rejects them).
 */
const dataParts = (spec: DataSpec): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(spec)) {
    const value = (spec as Record<string, unknown>)[key]
    if (value !== undefined && value !== false && !isInstance(key, value)) {
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
    }
  }
  return out
}

const shared = <A>(
  reg: PolicyRegistry | undefined,
  id: string,
  create: () => Effect.Effect<A, PolicyConfigError>
): Effect.Effect<A, PolicyConfigError> => {
  if (reg === undefined) return create()
  const found = reg.instances.get(id)
  if (found !== undefined) return Effect.succeed(found as A)
  return Effect.tap(create(), (a) => Effect.sync(() => void reg.instances.set(id, a)))
}

type Decoded = PolicySettings.DecodedSettings
type Data<K extends keyof Decoded> = Exclude<Decoded[K], false | undefined>

const backoffOf = (b: NonNullable<Data<"retry">["backoff"]>): Backoff.Backoff => {
  switch (b.kind) {
    case "constant":
      return Backoff.constant(b.initial, { max: b.max })
    case "linear":
      return Backoff.linear(b.initial, { step: b.step, max: b.max })
    case "exponential":
      return Backoff.exponential(b.initial, { factor: b.factor, max: b.max })
    case "fibonacci":
      return Backoff.fibonacci(b.initial, { max: b.max })
  }
}

const tripOf = (s: Data<"breaker">): CircuitBreaker.TripPolicy => {
  const slowCall = s.slowCall === undefined ? undefined : { durationThreshold: s.slowCall.duration, rateThreshold: s.slowCall.rateThreshold }
  const t = s.trip ?? { kind: "consecutive" as const, failures: 5 }
  switch (t.kind) {
    case "consecutive":
      return CircuitBreaker.consecutive(t.failures, { slowCall })
    case "count":
      return CircuitBreaker.countWindow({ size: t.size, failureRateThreshold: t.failureRateThreshold, minimumCalls: t.minimumCalls, slowCall })
    case "time":
      return CircuitBreaker.timeWindow({
        window: t.window,
        buckets: t.buckets,
        failureRateThreshold: t.failureRateThreshold,
        minimumThroughput: t.minimumThroughput,
        slowCall
      })
  }
}

const makeBreaker = (s: Data<"breaker">, owner: string, store: PolicyRegistry["breakerStore"]) =>
  Effect.mapError(
    CircuitBreaker.make({
      name: s.name ?? owner,
      store: store?.(s.name ?? owner),
      trip: tripOf(s),
      openDuration: s.openDuration === undefined
        ? 30_000
        : typeof s.openDuration === "number"
        ? s.openDuration
        : CircuitBreaker.backoff(s.openDuration),
      halfOpen: s.halfOpen
    }),
    (e) => new PolicyConfigError({ path: `breaker.${e.setting}`, detail: e.issue })
  )

const makeBulkhead = (s: Data<"bulkhead">, owner: string, reg: PolicyRegistry | undefined) =>
  Effect.suspend((): Effect.Effect<Bulkhead.Bulkhead, PolicyConfigError> => {
    const name = s.pool ?? owner
    const existing = reg?.pools.get(name)
    if (existing !== undefined) return Effect.succeed(existing)
    const declared = s.maxConcurrent === undefined && s.pool !== undefined ? reg?.poolSettings.get(s.pool) : undefined
    if (s.maxConcurrent === undefined && declared === undefined) {
      const names = [...(reg?.poolSettings.keys() ?? [])]
      return Effect.fail(
        new PolicyConfigError({
          path: "bulkhead.maxConcurrent",
          detail: `Missing: give maxConcurrent, or name a declared pool (${names.length === 0 ? "none declared" : names.join(", ")})`
        })
      )
    }
    const options = declared ?? { maxConcurrent: s.maxConcurrent!, maxQueue: s.maxQueue, maxWait: s.maxWait }
    if (reg === undefined) return Bulkhead.pool(name, options)
    const made = Bulkhead.makeUnsafe({ ...options, name })
    reg.pools.set(name, made)
    return Effect.succeed(made)
  })

/**
 * Options of {@link make}: the registry stateful layers are shared through, and the owner
 * (`server` or `server.tool`) that names them (breaker names, unnamed bulkhead pools).
 *
 * @example
 * ```ts
 * const options: MakeOptions = { registry: Policy.registry(), owner: "docker" }
 * ```
 */
export interface MakeOptions {
  readonly registry?: PolicyRegistry | undefined
  readonly owner?: string | undefined
}

/**
 * Builds a policy: decodes the data parts (a malformed one fails with {@link PolicyConfigError}
 * naming its path) and creates their instances — through the registry when given, so the same
 * settings for the same owner share one breaker, rate limiter, cache or hedge, and a bulkhead
 * `pool` is shared by name. Instances in the spec are used as they are.
 *
 * @example
 * ```ts
 * const policy = yield* Policy.make({ retry: { maxAttempts: 3 }, timeout: "5s", breaker: sharedBreaker })
 * ```
 */
export const make = <FA = never, FE = never, FR = never>(
  input: PolicyInput<FA, FE, FR>,
  options?: MakeOptions
): Effect.Effect<Policy<FA, FE, FR>, PolicyConfigError> =>
  isPolicy(input)
    ? Effect.succeed(input as Policy<FA, FE, FR>)
    : typeof input !== "object" || input === null || Array.isArray(input)
    ? Effect.fail(new PolicyConfigError({ path: "", detail: `Expected an object of policy settings, got ${JSON.stringify(input)}` }))
    : build(input, options ?? {})

const build = Effect.fnUntraced(function*<FA, FE, FR>(spec: PolicySpec<FA, FE, FR>, options: MakeOptions) {
  const reg = options.registry
  const owner = options.owner ?? "policy"
  const raw = dataParts(spec)
  const data: Decoded = Object.keys(raw).length === 0 ? {} : yield* PolicySettings.decode(raw)
  const id = (kind: Kind) => `${kind}|${owner}|${canonicalJson(raw[kind])}`
  const instance = <T>(kind: Kind): T | undefined => {
    const v = spec[kind]
    return v !== undefined && v !== false && isInstance(kind, v) ? (v as T) : undefined
  }

  let cache = instance<Cache.Cache>("cache")
  if (data.cache) {
    const s = data.cache
    cache = yield* shared(reg, id("cache"), () => Cache.make({ ttl: s.ttl, capacity: s.capacity, force: s.force }))
  }

  let keyedBreaker: KeyedBreaker | undefined
  const b = instance<CircuitBreaker.CircuitBreaker | KeyedBreaker>("breaker")
  if (b !== undefined) keyedBreaker = "_tag" in b && b._tag === "KeyedBreaker" ? b : breaker(b as CircuitBreaker.CircuitBreaker)
  if (data.breaker) {
    const s = data.breaker
    const made = yield* shared(reg, id("breaker"), () => makeBreaker(s, owner, reg?.breakerStore))
    keyedBreaker = breaker(made, s.per ?? "server")
  }

  let bulkhead = instance<Bulkhead.Bulkhead>("bulkhead")
  if (data.bulkhead) bulkhead = yield* makeBulkhead(data.bulkhead, owner, reg)

  const rl = instance<RateLimit.RateLimit>("rateLimit")
  let rateLimit: Policy["rateLimit"] = rl === undefined ? undefined : { rateLimit: rl, per: "server" }
  if (data.rateLimit) {
    const s = data.rateLimit
    const made = yield* shared(reg, id("rateLimit"), () =>
      RateLimit.make({
        name: `rate-limit:${owner}`,
        algorithm: s.algorithm,
        limit: s.limit,
        window: s.window,
        burst: s.burst,
        onExceeded: s.onExceeded,
        maxDelay: s.maxDelay,
        backend: reg?.rateLimiter
      }))
    rateLimit = { rateLimit: made, per: s.per ?? "server" }
  }

  let totalTimeout = instance<Timeout.Timeout>("totalTimeout")
  if (data.totalTimeout !== undefined && data.totalTimeout !== false) {
    totalTimeout = Timeout.make({ after: data.totalTimeout, scope: "overall", name: "totalTimeout" })
  }

  let retry = instance<Retry.Retry<unknown, unknown, boolean>>("retry")
  if (data.retry) {
    const s = data.retry
    retry = Retry.make({
      maxAttempts: s.maxAttempts,
      budget: s.budget,
      backoff: s.backoff === undefined ? undefined : backoffOf(s.backoff),
      jitter: s.jitter,
      retryNonIdempotent: s.retryNonIdempotent
    })
  }

  let hedge = instance<Hedge.Hedge>("hedge")
  if (data.hedge) {
    const s = data.hedge
    hedge = yield* shared(reg, id("hedge"), () =>
      Hedge.make({ delay: s.delay, maxHedges: s.maxHedges, force: s.force, adaptive: s.adaptive }))
  }

  let timeout = instance<Timeout.Timeout>("timeout")
  if (data.timeout !== undefined && data.timeout !== false) {
    timeout = Timeout.make({ after: data.timeout, scope: "attempt" })
  }

  const fallback = instance<Fallback.Fallback<FA, FE, FR>>("fallback")

  const built: Policy<FA, FE, FR> = {
    _tag: "Policy",
    cache,
    fallback,
    breaker: keyedBreaker,
    bulkhead,
    rateLimit,
    totalTimeout,
    retry,
    hedge,
    timeout,
    isEmpty: !(cache || fallback || keyedBreaker || bulkhead || rateLimit || totalTimeout || retry || hedge || timeout),
    spec: {
      cache: cache ?? (spec.cache === false ? false : undefined),
      fallback: fallback ?? (spec.fallback === false ? false : undefined),
      breaker: keyedBreaker ?? (spec.breaker === false ? false : undefined),
      bulkhead: bulkhead ?? (spec.bulkhead === false ? false : undefined),
      rateLimit: rateLimit?.rateLimit ?? (spec.rateLimit === false ? false : undefined),
      totalTimeout: totalTimeout ?? (spec.totalTimeout === false ? false : undefined),
      retry: retry ?? (spec.retry === false ? false : undefined),
      hedge: hedge ?? (spec.hedge === false ? false : undefined),
      timeout: timeout ?? (spec.timeout === false ? false : undefined)
    }
  }
  builtPolicies.add(built)
  return built
})

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

const breakerKey = (b: KeyedBreaker, ctx: CallContext | undefined): string | undefined =>
  b.per === "breaker" ? undefined : b.per === "tool" ? ctx?.key : b.per === "item" ? ctx?.item ?? ctx?.key : ctx?.server ?? ctx?.key

/**
 * Runs `self` through the policy's layers in the fixed order (see the module doc). `ctx` says
 * whether the call may be repeated (retry after a possibly-sent failure, hedging, caching) and
 * gives the keys (`server` for breakers and rate limits, `key` for `per: "tool"`, `cacheKey`).
 * An empty policy returns `self` unchanged. Data-first or data-last (in a `pipe`).
 *
 * @example
 * ```ts
 * const ctx = { readOnly: true, server: "github", key: "github.search" }
 * const value = yield* Policy.apply(Github.search({ q }), policy, ctx)
 * const same = yield* Github.search({ q }).pipe(Policy.apply(policy, ctx))
 * ```
 */
export const apply: {
  <FA = never, FE = never, FR = never>(
    policy: Policy<FA, FE, FR>,
    ctx?: CallContext | undefined
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | FA, E | PolicyFailure, R | FR>
  <A, E, R, FA = never, FE = never, FR = never>(
    self: Effect.Effect<A, E, R>,
    policy: Policy<FA, FE, FR>,
    ctx?: CallContext | undefined
  ): Effect.Effect<A | FA, E | PolicyFailure, R | FR>
} = Function.dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R, FA, FE, FR>(
    self: Effect.Effect<A, E, R>,
    policy: Policy<FA, FE, FR>,
    ctx?: CallContext | undefined
  ): Effect.Effect<A | FA, E | PolicyFailure, R | FR> => applyTo(self, policy, ctx)
)

const applyTo = <A, E, R, FA, FE, FR>(
  self: Effect.Effect<A, E, R>,
  policy: Policy<FA, FE, FR>,
  ctx: CallContext | undefined
): Effect.Effect<A | FA, E | PolicyFailure, R | FR> => {
  if (policy.isEmpty) return self
  let e = self as Effect.Effect<unknown, unknown, unknown>
  if (policy.timeout !== undefined) e = policy.timeout.apply(e)
  if (policy.hedge !== undefined) e = policy.hedge.apply(e, ctx)
  if (policy.retry !== undefined) e = policy.retry.apply(e, ctx)
  if (policy.totalTimeout !== undefined) e = policy.totalTimeout.apply(e)
  if (policy.rateLimit !== undefined) {
    const { per, rateLimit } = policy.rateLimit
    const key = per === "tool" ? ctx?.key : ctx?.server ?? ctx?.key
    e = rateLimit.apply(e, key === undefined ? undefined : { key })
  }
  if (policy.bulkhead !== undefined) e = policy.bulkhead.apply(e)
  if (policy.breaker !== undefined) {
    const b = policy.breaker
    e = b.breaker.execute(e, { key: breakerKey(b, ctx) })
  }
  if (policy.fallback !== undefined) e = policy.fallback.apply(e)
  if (policy.cache !== undefined) e = policy.cache.apply(e, ctx)
  return e as Effect.Effect<A | FA, E | PolicyFailure, R | FR>
}

/**
 * The policy's layers as plan descriptors, outermost first. A breaker's and rate limit's
 * settings gain `per` (the circuit/bucket key).
 *
 * @example
 * ```ts
 * Policy.describe(yield* Policy.make({ timeout: "5s", retry: { maxAttempts: 3 } })).map((d) => d.kind)
 * // => ["retry", "timeout"]
 * ```
 */
export const describe = (policy: Policy<unknown, unknown, unknown>): ReadonlyArray<PolicyDescriptor> => {
  const out: Array<PolicyDescriptor> = []
  if (policy.cache) out.push(policy.cache.descriptor)
  if (policy.fallback) out.push(policy.fallback.descriptor)
  if (policy.breaker) {
    const d = policy.breaker.breaker.descriptor
    out.push({ kind: d.kind, settings: { ...d.settings, per: policy.breaker.per } })
  }
  if (policy.bulkhead) out.push(policy.bulkhead.descriptor)
  if (policy.rateLimit) {
    const d = policy.rateLimit.rateLimit.descriptor
    out.push({ kind: d.kind, settings: { ...d.settings, per: policy.rateLimit.per } })
  }
  if (policy.totalTimeout) out.push(policy.totalTimeout.descriptor)
  if (policy.retry) out.push(policy.retry.descriptor)
  if (policy.hedge) out.push(policy.hedge.descriptor)
  if (policy.timeout) out.push(policy.timeout.descriptor)
  return out
}

/**
 * The empty policy: {@link apply} returns the effect unchanged.
 *
 * @example
 * ```ts
 * Policy.apply(effect, Policy.empty) === effect // => true
 * ```
 */
export const empty: Policy = {
  _tag: "Policy",
  cache: undefined,
  fallback: undefined,
  breaker: undefined,
  bulkhead: undefined,
  rateLimit: undefined,
  totalTimeout: undefined,
  retry: undefined,
  hedge: undefined,
  timeout: undefined,
  isEmpty: true,
  spec: {}
}
builtPolicies.add(empty)
