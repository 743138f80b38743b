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
 * router.route(router.groups.get("search")!, "query", undefined, true, fromEffect((key) => callOn(key)))
 * ```
 * @module
 */
import { type Cause, Context, Effect, Exit, Fiber } from "effect"
import { CurrentScope } from "../../../dsl/flow/RunScope.ts"
import type { CircuitRecord } from "../../../dsl/policy/BreakerStore.ts"
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
 * const r: Replica = { name: "a", key: "search/a", weight: 1, priority: 0, inFlight: 0, current: 0, circuit: { key: "search/a" } }
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
  /** Its circuit in the group's breaker (one object per replica, not one per call). */
  readonly circuit: { readonly key: string }
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
      return { name, key: replicaKey(key, name), weight: weight ?? 1, priority: priority ?? i, inFlight: 0, current: 0, circuit: { key: replicaKey(key, name) } }
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
const classifyCause = (cause: Cause.Cause<unknown>): CircuitBreaker.Outcome => {
  for (const reason of cause.reasons) {
    if (reason._tag !== "Fail") continue
    const error = reason.error as { readonly _tag?: unknown; readonly reason?: { readonly _tag: string } }
    if (error._tag !== "McpflowToolError") return "ignored"
    const tag = error.reason?._tag
    return tag === "ServerUnavailable" || tag === "ConnectionLost" || tag === "Timeout" ? "failure" : "ignored"
  }
  // Only interruptions or defects: nothing said about the replica.
  return "ignored"
}

/** `classifyCause` for `execute` (a circuit that is not closed); it takes no `durationMs`, so none is measured. */
const classify = (exit: Exit.Exit<unknown, unknown>): CircuitBreaker.Outcome =>
  exit._tag === "Success" ? "success" : classifyCause(exit.cause)

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
 * Starts one call on the replica `replicaKey`, from inside an `Effect.callback` registration on
 * the caller's `fiber`: it calls `resume` with the call's outcome (an `Exit` on a call's usual
 * path; any Effect otherwise, e.g. one that first opens the connection) and returns what cancels
 * the call, if anything. {@link fromEffect} makes one of an Effect per replica.
 *
 * @example
 * ```ts
 * const start: Start<string> = (key, resume) => resume(Effect.succeed(key))
 * ```
 */
export type Start<A> = (
  replicaKey: string,
  resume: (effect: Effect.Effect<A, McpflowToolError>) => void,
  fiber: Fiber.Fiber<unknown, unknown>
) => Effect.Effect<void> | void

/**
 * A {@link Start} that resumes with `one(replicaKey)`, run by the caller's fiber.
 *
 * @example
 * ```ts
 * router.route(group, "tools/list", undefined, true, fromEffect((key) => listTools(key)))
 * ```
 */
export const fromEffect = <A>(one: (replicaKey: string) => Effect.Effect<A, McpflowToolError>): Start<A> => (key, resume) => resume(one(key))

/**
 * Routes the calls of replica groups (see the module doc).
 *
 * @example
 * ```ts
 * router.route(group, "query", "search", true, fromEffect((key) => sendTo(handles.get(key)!)))
 * ```
 */
export interface Router {
  readonly groups: ReadonlyMap<string, Group>
  readonly route: <A>(
    group: Group,
    tool: string,
    label: string | undefined,
    idempotent: boolean,
    start: Start<A>
  ) => Effect.Effect<A, McpflowToolError>
}

/** No replica skipped (shared: most calls are served by their first replica). */
const noneSkipped: ReadonlyArray<{ readonly replica: string; readonly why: string }> = Object.freeze([])

/** The `GatewayEvents` sink of a fiber that was given none: nobody listens, no event is built. */
const noSink = Context.get(Context.empty(), GatewayEvents)

/**
 * One routed call: tries the replicas in turn (see the module doc). A class, so a call allocates
 * one object and one handler rather than closures per attempt.
 *
 * The usual call (its first replica's circuit closed, a strategy that counts nothing in flight)
 * runs inside the routed call's own `Effect.callback`: the replica's call is started there and
 * its outcome comes back to {@link Routing.settled}, which records it on the circuit
 * (`closedCircuit` / `recordClosed`: no finalizer, closure or Clock read of the breaker's own)
 * and resumes the caller — no Effect frame of the router's waits across the call. Any other case
 * (a circuit that is not closed goes through `breaker.execute`; a failure that moves on; an
 * outcome that is not yet an `Exit`) is an Effect, each attempt one `matchCauseEffect`. The
 * replicas are `order[(offset + i) % n]`: a plain round-robin call reads the group's own array,
 * turned by `offset`, without copying it.
 */
class Routing<A> {
  skipped: ReadonlyArray<{ readonly replica: string; readonly why: string }> = noneSkipped
  /** The attempt under way, and the failure to report if no replica serves the call. */
  i = 0
  replica: Replica | undefined = undefined
  last: McpflowToolError | undefined = undefined
  /** The attempt's circuit when it was closed (its outcome recorded here), and its epoch then. */
  circuit: CircuitRecord | undefined = undefined
  epoch = 0
  constructor(
    readonly group: Group,
    readonly tool: string,
    readonly label: string | undefined,
    readonly idempotent: boolean,
    readonly start: Start<A>,
    readonly fiber: Fiber.Fiber<unknown, unknown>,
    readonly runId: string,
    readonly order: ReadonlyArray<Replica>,
    readonly offset: number,
    readonly breaker: CircuitBreaker.CircuitBreaker,
    readonly health: HealthRegistry,
    readonly remember: (group: Group, runId: string, replica: Replica) => void,
    readonly resume: (effect: Effect.Effect<A, McpflowToolError>) => void
  ) {}

  /** Starts the call (in the routed call's registration); returns what cancels it. */
  begin(): Effect.Effect<void> | void {
    const { order } = this
    if (order.length === 0 || this.group.strategy === "least-in-flight") return this.resume(this.attempt())
    const replica = order[this.offset % order.length]!
    const circuit = this.breaker.closedCircuit(replica.key)
    if (circuit === undefined) return this.resume(this.attempt())
    this.replica = replica
    this.circuit = circuit
    this.epoch = circuit.epoch
    return this.start(replica.key, this.settled, this.fiber)
  }

  /** The first attempt's outcome, when it was started by {@link begin}. */
  readonly settled = (effect: Effect.Effect<A, McpflowToolError>): void => {
    if (!Exit.isExit(effect)) return this.resume(Effect.matchCauseEffect(effect, this.handlers()))
    const exit = effect as Exit.Exit<A, McpflowToolError>
    let next: Effect.Effect<A, McpflowToolError>
    // Outside the fiber here (the answer's callback): what a sink throws is the call's defect, as in a handler.
    try {
      if (exit._tag === "Success") {
        this.served()
        next = exit
      } else {
        next = this.onFailure(exit.cause)
      }
    } catch (defect) {
      next = Effect.die(defect)
    }
    this.resume(next)
  }

  skip(replica: Replica, why: string): void {
    this.skipped = [...this.skipped, { replica: replica.name, why }]
  }

  /** The attempt at replica `i` as an Effect (every case but the usual one, see the class doc). */
  attempt(): Effect.Effect<A, McpflowToolError> {
    const { group, order } = this
    if (this.i >= order.length) {
      return Effect.fail(
        this.last ?? toolError(new ServerUnavailable({ server: group.key, tool: this.tool, detail: `no replica of '${group.key}' could take the call` }))
      )
    }
    const replica = order[(this.offset + this.i) % order.length]!
    this.replica = replica
    const circuit = this.breaker.closedCircuit(replica.key)
    this.circuit = circuit
    const one = Effect.callback<A, McpflowToolError>((resume) => this.start(replica.key, resume, Fiber.getCurrent() ?? this.fiber))
    let call: Effect.Effect<A, McpflowToolError | CircuitBreaker.BreakerRejected>
    if (circuit === undefined) {
      call = this.breaker.execute(one, replica.circuit)
    } else {
      this.epoch = circuit.epoch
      call = one
    }
    // Only least-in-flight reads the in-flight counts: the other strategies skip the finalizer.
    const counted = group.strategy === "least-in-flight"
      ? (replica.inFlight++, Effect.onExitPrimitive(call, () => void replica.inFlight--))
      : call
    return Effect.matchCauseEffect(counted, this.handlers())
  }

  /** The handlers of an attempt made as an Effect (made only then: the usual call needs none). */
  handlers(): {
    readonly onSuccess: (value: A) => Effect.Effect<A>
    readonly onFailure: (cause: Cause.Cause<McpflowToolError | CircuitBreaker.BreakerRejected>) => Effect.Effect<A, McpflowToolError>
  } {
    return {
      onSuccess: (value: A): Effect.Effect<A> => (this.served(), Effect.succeed(value)),
      onFailure: (cause: Cause.Cause<McpflowToolError | CircuitBreaker.BreakerRejected>) => this.onFailure(cause)
    }
  }

  /** The call was served by the current replica: its circuit, stickiness and `ReplicaServed` event. */
  served(): void {
    const { group, replica, label } = this
    if (this.circuit !== undefined) this.breaker.recordClosed(this.circuit, replica!.key, this.epoch, "success", this.fiber)
    if (group.sticky) this.remember(group, this.runId, replica!)
    // The event is built only when someone listens (a fiber given no sink has the default one).
    const sink = this.fiber.getRef(GatewayEvents)
    if (sink !== noSink) {
      const server = group.key
      const tool = this.tool
      const skipped = this.skipped
      sink.emit(
        label === undefined
          ? { _tag: "ReplicaServed", server, replica: replica!.name, tool, skipped }
          : { _tag: "ReplicaServed", server, replica: replica!.name, tool, label, skipped }
      )
    }
  }

  /** A failure moves on or ends the call (see the module doc); a defect or an interruption ends it. */
  onFailure(cause: Cause.Cause<McpflowToolError | CircuitBreaker.BreakerRejected>): Effect.Effect<A, McpflowToolError> {
    if (this.circuit !== undefined) {
      const outcome = classifyCause(cause)
      if (outcome !== "ignored") this.breaker.recordClosed(this.circuit, this.replica!.key, this.epoch, outcome, this.fiber)
    }
    let e: unknown = undefined
    let failed = false
    for (const reason of cause.reasons) {
      if (reason._tag === "Die") return Effect.failCause(cause as Cause.Cause<McpflowToolError>)
      if (reason._tag === "Fail" && !failed) (e = reason.error), (failed = true)
    }
    if (!failed) return Effect.failCause(cause as Cause.Cause<McpflowToolError>)
    const replica = this.replica!
    const error = toToolError(replica.key, this.tool, e)
    this.i++
    if (e instanceof CircuitBreaker.BreakerRejected) {
      this.skip(replica, "breaker open")
      this.last ??= error
      return this.attempt()
    }
    if (!movesOn(error.reason, this.idempotent)) return Effect.fail(error)
    this.skip(replica, `${this.health.isUnhealthy(replica.key) ? "unhealthy, " : ""}${error.reason._tag}`)
    this.last = error
    return this.attempt()
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
    if (group.stickyByRun.get(runId) === replica) return
    group.stickyByRun.delete(runId)
    if (group.stickyByRun.size >= MAX_STICKY_RUNS) group.stickyByRun.delete(group.stickyByRun.keys().next().value!)
    group.stickyByRun.set(runId, replica)
  }

  const route = <A>(
    group: Group,
    tool: string,
    label: string | undefined,
    idempotent: boolean,
    start: Start<A>
  ): Effect.Effect<A, McpflowToolError> =>
    Effect.callback<A, McpflowToolError>((resume) => {
      // A registration runs on the caller's fiber.
      const fiber = Fiber.getCurrent()!
      const runId = group.sticky ? fiber.getRef(CurrentScope).run?.runId ?? "" : ""
      const breaker = breakers.get(group.key)!
      // Plain round-robin with every replica healthy: the group's array, turned, not copied.
      const routing = group.strategy === "round-robin" && !group.sticky && health.unhealthyCount() === 0
        ? new Routing(group, tool, label, idempotent, start, fiber, runId, group.replicas, group.next++ % group.replicas.length, breaker, health, remember, resume)
        : new Routing(group, tool, label, idempotent, start, fiber, runId, orderFor(group, runId), 0, breaker, health, remember, resume)
      return routing.begin()
    })

  return { groups, route } satisfies Router
})
