/**
 * Replica groups: one server key backed by several replicas (see `ReplicaGroupConfig`). Each
 * replica is a server of its own to the connections, keyed `group/replica`; this module orders
 * the replicas for each call (by the group's strategy, its run's sticky replica first, unhealthy
 * replicas last), runs the call on each in turn through that replica's circuit breaker, and
 * stops at the first that serves it or at a failure that must not move on:
 *
 * - refused before reaching the replica (`ServerUnavailable`, `Rejected`, `RateLimited`, an open
 *   breaker): the next replica;
 * - may have reached it (`ConnectionLost`, a call `Timeout`): the next replica only for an
 *   idempotent or read-only call, else that failure;
 * - any other failure (the tool's own answer): that failure.
 *
 * Which replica served the call, and which were skipped and why, is a `ReplicaServed` event.
 *
 * @example
 * ```ts
 * const { servers, groups } = flatten(config)
 * const router = yield* makeRouter(groups, health)
 * router.route(router.groups.get("search")!, "query", { idempotent: true }, (key) => callOn(key))
 * ```
 * @module
 */
import { Effect, type Fiber } from "effect"
import { CurrentScope } from "../../../dsl/flow/RunScope.ts"
import * as CircuitBreaker from "../../../dsl/policy/CircuitBreaker.ts"
import { isTransient, type McpflowToolError, mayHaveReachedServer, ServerUnavailable, toolError } from "../../../dsl/ToolError.ts"
import { GatewayEvents } from "../../../dsl/ports/McpGateway.ts"
import type { HealthRegistry } from "./Health.ts"
import { toToolError } from "./Policies.ts"
import type { GatewayConfig, ReplicaGroupConfig, ReplicaStrategy, ServerConfig } from "./ServerConfig.ts"

/**
 * One replica of a group, with the counters its strategy reads.
 *
 * @example
 * ```ts
 * const r: Replica = { name: "a", key: "search/a", weight: 1, priority: 0, inFlight: 0, current: 0 }
 * ```
 */
export interface Replica {
  readonly name: string
  /** Its server key among the connections: `group/replica`. */
  readonly key: string
  readonly weight: number
  readonly priority: number
  /** Calls under way (counted for `least-in-flight` only). */
  inFlight: number
  /** The smooth weighted round-robin counter. */
  current: number
}

/**
 * A replica group as the router holds it.
 *
 * @example
 * ```ts
 * group.replicas.map((r) => r.key) // => ["search/a", "search/b"]
 * ```
 */
export interface Group {
  readonly key: string
  readonly strategy: ReplicaStrategy
  readonly sticky: boolean
  /** In priority order (priority, then declaration). */
  readonly replicas: ReadonlyArray<Replica>
  readonly breaker: ReplicaGroupConfig["breaker"]
  next: number
  readonly stickyByRun: Map<string, Replica>
}

/**
 * The replica key of `replica` in `group`.
 *
 * @example
 * ```ts
 * replicaKey("search", "a") // => "search/a"
 * ```
 */
export const replicaKey = (group: string, replica: string): string => `${group}/${replica}`

/**
 * The config's servers with each replica as a server of its own (`group/replica`), and its
 * groups. A group key that is also a server key is a defect of a config written in code
 * (`.mcp.json` cannot say it).
 *
 * @example
 * ```ts
 * const { servers, groups } = flatten({ servers: {}, groups: { search: { replicas: { a: cfgA, b: cfgB } } } })
 * Object.keys(servers) // => ["search/a", "search/b"]
 * ```
 */
export const flatten = (config: GatewayConfig): {
  readonly servers: Readonly<Record<string, ServerConfig>>
  readonly groups: ReadonlyMap<string, Group>
} => {
  const entries = Object.entries(config.groups ?? {})
  if (entries.length === 0) return { servers: config.servers, groups: new Map() }
  const servers: Record<string, ServerConfig> = { ...config.servers }
  const groups = new Map<string, Group>()
  for (const [key, group] of entries) {
    if (Object.hasOwn(config.servers, key)) throw new Error(`'${key}' is both a server and a replica group`)
    const replicas: Array<Replica> = Object.entries(group.replicas).map(([name, replica], i) => {
      const { priority, weight, ...server } = replica
      servers[replicaKey(key, name)] = server as ServerConfig
      return { name, key: replicaKey(key, name), weight: weight ?? 1, priority: priority ?? i, inFlight: 0, current: 0 }
    })
    replicas.sort((a, b) => a.priority - b.priority)
    groups.set(key, {
      key,
      strategy: group.strategy ?? "round-robin",
      sticky: group.sticky === true,
      replicas,
      breaker: group.breaker,
      next: 0,
      stickyByRun: new Map()
    })
  }
  return { servers, groups }
}

/** `rs` turned to start at `start` (a plain loop: this runs on every call). */
const rotated = (rs: ReadonlyArray<Replica>, start: number): Array<Replica> => {
  const n = rs.length
  const out = new Array<Replica>(n)
  for (let i = 0; i < n; i++) out[i] = rs[(start + i) % n]!
  return out
}

/**
 * The order in which a call tries a group's replicas, by its strategy (advancing its
 * counters), before stickiness and health.
 *
 * @example
 * ```ts
 * strategyOrder(group).map((r) => r.name) // round-robin: ["a", "b", "c"], then ["b", "c", "a"], …
 * ```
 */
export const strategyOrder = (group: Group): ReadonlyArray<Replica> => {
  const rs = group.replicas
  const n = rs.length
  switch (group.strategy) {
    case "priority":
      return rs
    case "round-robin":
      return rotated(rs, group.next++ % n)
    case "least-in-flight":
      // A stable sort: ties stay in turn.
      return rotated(rs, group.next++ % n).sort((a, b) => a.inFlight - b.inFlight)
    case "weighted": {
      // Smooth weighted round-robin (as nginx): even spread in proportion to the weights.
      let total = 0
      let best = rs[0]!
      for (const r of rs) {
        r.current += r.weight
        total += r.weight
        if (r.current > best.current) best = r
      }
      best.current -= total
      return [best, ...rs.filter((r) => r !== best).sort((a, b) => b.weight - a.weight)]
    }
  }
}

/** Open after this many failures in a row, for this long (per replica), unless the group says otherwise. */
const DEFAULT_BREAKER_FAILURES = 3
const DEFAULT_BREAKER_OPEN_MS = 30_000
const MAX_STICKY_RUNS = 1_024

/** A replica's breaker counts only the failures that say it is down, not the tool's own answers. */
const classify: CircuitBreaker.Classifier = (exit) => {
  if (exit._tag === "Success") return "success"
  for (const reason of exit.cause.reasons) {
    if (reason._tag !== "Fail") continue
    const error = reason.error as { readonly _tag?: unknown; readonly reason?: { readonly _tag: string } }
    if (error._tag !== "McpflowToolError") return "ignored"
    const tag = error.reason?._tag
    return tag === "ServerUnavailable" || tag === "ConnectionLost" || tag === "Timeout" ? "failure" : "ignored"
  }
  return "ignored"
}

/**
 * Whether a call that failed on one replica moves on to the next (see the module doc).
 *
 * @example
 * ```ts
 * movesOn(new ServerUnavailable({ server: "s/a", tool: "t", detail: "down" }), false) // => true
 * movesOn(new ConnectionLost({ server: "s/a", tool: "t", detail: "closed" }), false) // => false
 * ```
 */
export const movesOn = (reason: McpflowToolError["reason"], idempotent: boolean): boolean =>
  isTransient(reason) && (idempotent || !mayHaveReachedServer(reason))

/**
 * Routes the calls of replica groups (see the module doc).
 *
 * @example
 * ```ts
 * router.route(group, "query", { label: "search", idempotent: true }, (key) => sendTo(handles.get(key)!))
 * ```
 */
export interface Router {
  readonly groups: ReadonlyMap<string, Group>
  readonly route: <A>(
    group: Group,
    tool: string,
    options: { readonly label?: string | undefined; readonly idempotent: boolean },
    one: (replicaKey: string) => Effect.Effect<A, McpflowToolError>
  ) => Effect.Effect<A, McpflowToolError>
}

/** No replica skipped (shared: most calls are served by their first replica). */
const noneSkipped: ReadonlyArray<{ readonly replica: string; readonly why: string }> = Object.freeze([])

/**
 * One routed call: tries `order` in turn (see the module doc). A class, so a call allocates one
 * object rather than a closure per step.
 */
class Routing<A> {
  skipped: ReadonlyArray<{ readonly replica: string; readonly why: string }> = noneSkipped
  constructor(
    readonly group: Group,
    readonly tool: string,
    readonly options: { readonly label?: string | undefined; readonly idempotent: boolean },
    readonly one: (replicaKey: string) => Effect.Effect<A, McpflowToolError>,
    readonly fiber: Fiber.Fiber<unknown, unknown>,
    readonly runId: string,
    readonly order: ReadonlyArray<Replica>,
    readonly breaker: CircuitBreaker.CircuitBreaker,
    readonly health: HealthRegistry,
    readonly remember: (group: Group, runId: string, replica: Replica) => void
  ) {}

  skip(replica: Replica, why: string): void {
    this.skipped = [...this.skipped, { replica: replica.name, why }]
  }

  attempt(i: number, last: McpflowToolError | undefined): Effect.Effect<A, McpflowToolError> {
    const { group, tool, options } = this
    const replica = this.order[i]
    if (replica === undefined) {
      return Effect.fail(
        last ?? toolError(new ServerUnavailable({ server: group.key, tool, detail: `no replica of '${group.key}' could take the call` }))
      )
    }
    const call = this.breaker.execute(this.one(replica.key), { key: replica.key })
    // Only least-in-flight reads the in-flight counts: the other strategies skip the finalizer.
    const counted = group.strategy === "least-in-flight"
      ? (replica.inFlight++, Effect.onExitPrimitive(call, () => void replica.inFlight--))
      : call
    const served = Effect.map(counted, (value) => {
      this.remember(group, this.runId, replica)
      this.fiber.getRef(GatewayEvents).emit({
        _tag: "ReplicaServed",
        server: group.key,
        replica: replica.name,
        tool,
        ...(options.label === undefined ? {} : { label: options.label }),
        skipped: this.skipped
      })
      return value
    })
    return Effect.catch(served, (e) => this.failed(i, last, replica, e))
  }

  failed(i: number, last: McpflowToolError | undefined, replica: Replica, e: unknown): Effect.Effect<A, McpflowToolError> {
    const error = toToolError(replica.key, this.tool, e)
    if (e instanceof CircuitBreaker.BreakerRejected) {
      this.skip(replica, "breaker open")
      return this.attempt(i + 1, last ?? error)
    }
    if (!movesOn(error.reason, this.options.idempotent)) return Effect.fail(error)
    this.skip(replica, `${this.health.isUnhealthy(replica.key) ? "unhealthy, " : ""}${error.reason._tag}`)
    return this.attempt(i + 1, error)
  }
}

/**
 * A router over `groups`, one circuit breaker per group (a circuit per replica), reading
 * replica health from `health`.
 *
 * @example
 * ```ts
 * const router = yield* makeRouter(flatten(config).groups, health)
 * ```
 */
export const makeRouter = Effect.fnUntraced(function*(groups: ReadonlyMap<string, Group>, health: HealthRegistry) {
  const breakers = new Map<string, CircuitBreaker.CircuitBreaker>()
  for (const group of groups.values()) {
    const breaker = yield* CircuitBreaker.make({
      name: `replicas:${group.key}`,
      trip: CircuitBreaker.consecutive(group.breaker?.failures ?? DEFAULT_BREAKER_FAILURES),
      openDuration: group.breaker?.openMs ?? DEFAULT_BREAKER_OPEN_MS,
      classify
    }).pipe(Effect.orDie)
    breakers.set(group.key, breaker)
  }

  const orderFor = (group: Group, runId: string): ReadonlyArray<Replica> => {
    let order = strategyOrder(group)
    const sticky = group.sticky ? group.stickyByRun.get(runId) : undefined
    if (sticky !== undefined) order = [sticky, ...order.filter((r) => r !== sticky)]
    // Unhealthy replicas go last: tried only when every other one failed or was skipped.
    let anyUnhealthy = false
    if (health.unhealthyCount() > 0) {
      for (let i = 0; i < order.length && !anyUnhealthy; i++) anyUnhealthy = health.isUnhealthy(order[i]!.key)
    }
    if (anyUnhealthy) {
      order = [...order.filter((r) => !health.isUnhealthy(r.key)), ...order.filter((r) => health.isUnhealthy(r.key))]
    }
    return order
  }

  const remember = (group: Group, runId: string, replica: Replica) => {
    if (!group.sticky || group.stickyByRun.get(runId) === replica) return
    group.stickyByRun.delete(runId)
    if (group.stickyByRun.size >= MAX_STICKY_RUNS) group.stickyByRun.delete(group.stickyByRun.keys().next().value!)
    group.stickyByRun.set(runId, replica)
  }

  const route = <A>(
    group: Group,
    tool: string,
    options: { readonly label?: string | undefined; readonly idempotent: boolean },
    one: (replicaKey: string) => Effect.Effect<A, McpflowToolError>
  ): Effect.Effect<A, McpflowToolError> =>
    Effect.withFiber((fiber) => {
      const runId = group.sticky ? fiber.getRef(CurrentScope).run?.runId ?? "" : ""
      return new Routing(group, tool, options, one, fiber, runId, orderFor(group, runId), breakers.get(group.key)!, health, remember).attempt(0, undefined)
    })

  return { groups, route } satisfies Router
})
