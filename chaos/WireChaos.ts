/**
 * Wire faults in front of real servers (stdio, Streamable HTTP, SSE), the way Toxiproxy shakes a
 * staging setup: each connection's client side is wrapped in a `FaultTransport` in wire mode, so
 * the catalogue's wire-level faults — a dropped connection, a delay on a request or an answer, a
 * lost answer, a duplicated or corrupted message, a server down for a window, a slow handshake —
 * hit the real calls, decided by the plan's seed per call (`server.tool` and call index). The
 * replicas of a replica group are wrapped one by one, as `group#replica`: a fault aimed at the
 * group hits each replica, one aimed at `group#replica` only that one.
 *
 * Not time-deterministic: delays are real time, windows are measured from the start of the run on
 * the wall clock, and a real server answers when it answers. The same seed makes the same
 * decision for the same call of a tool; which calls there are may differ from run to run.
 * Handler faults (tool errors, hangs, schema drift…) need a fake server and are not injected.
 *
 * @example
 * ```ts
 * const injector = Injector.make(Fault.plan(7, [Fault.lostResponse("*", { rate: 0.2 })]))
 * const gateway = GatewayLayer.layer(WireChaos.wrapConfig(config, injector))
 * // … run …
 * console.log(Injector.formatLog(injector.log))
 * ```
 * @module
 */
import type { GatewayConfig, ServerConfig } from "../src/runtime/gateway/ServerConfig.ts"
import type * as F from "./Fault.ts"
import { FaultTransport } from "./FaultTransport.ts"
import type { CallDecision, Injector, ServerEnv } from "./Injector.ts"

/**
 * The wire-level kinds: the ones a transport in front of a real server can inject.
 *
 * @example
 * ```ts
 * WireChaos.wireKinds.includes("LostResponse") // => true
 * ```
 */
export const wireKinds: ReadonlyArray<F.FaultKind> = [
  "ConnectionDrop",
  "Latency",
  "LostResponse",
  "DuplicateMessage",
  "CorruptMessage",
  "ServerDown",
  "Flapping",
  "SlowStart"
]

/**
 * Real time since `startMs` (default: now): the clock of faults in front of real servers.
 *
 * @example
 * ```ts
 * const env = WireChaos.liveEnv()
 * env.now() // => 0, then the milliseconds since
 * ```
 */
export const liveEnv = (startMs: number = Date.now()): ServerEnv => ({
  now: () => Date.now() - startMs,
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))
})

/**
 * A real server's config with its connections wrapped in wire faults (in-process configs are
 * returned as they are: fake servers take the injector through `FakeServer.CurrentInjector`).
 * Fails on a plan with a kind that is not wire-level.
 *
 * @example
 * ```ts
 * const wrapped = WireChaos.wrap("everything", config, injector, WireChaos.liveEnv())
 * ```
 */
export const wrap = <C extends ServerConfig>(key: string, config: C, injector: Injector, env: ServerEnv): C => {
  if (config.type === "in-process") return config
  const hooks = injector.server(key, env)
  const inner = config.wrapTransport
  return {
    ...config,
    wrapTransport: (transport) => {
      const c = hooks.connect()
      return new FaultTransport(inner ? inner(transport) : transport, hooks, new Map<string | number, CallDecision>(), c.startDelayMs, c.refused, { wire: true })
    }
  }
}

/**
 * The fault key of a group's replica: `group#replica`. A fault aimed at the group (`search`,
 * `search.query`) hits each of its replicas; one aimed at `search#b` only that replica.
 *
 * @example
 * ```ts
 * WireChaos.replicaTarget("search", "b") // => "search#b"
 * ```
 */
export const replicaTarget = (group: string, replica: string): string => `${group}#${replica}`

/**
 * Every server of a gateway config wrapped (see {@link wrap}), and every replica of its groups
 * (as `group#replica`, see {@link replicaTarget}), on one clock started now. The plan must hold
 * wire-level kinds only ({@link wireKinds}): a handler fault would be decided but never injected.
 *
 * @example
 * ```ts
 * GatewayLayer.layer(WireChaos.wrapConfig(yield* loadMcpJson(".mcp.json"), injector))
 * ```
 */
export const wrapConfig = (config: GatewayConfig, injector: Injector, env: ServerEnv = liveEnv()): GatewayConfig => {
  const other = injector.plan.faults.find((f) => !wireKinds.includes(f._tag))
  if (other !== undefined) throw new Error(`WireChaos: ${other._tag} needs a fake server; in front of real servers only ${wireKinds.join(", ")}`)
  const servers = Object.fromEntries(Object.entries(config.servers).map(([key, c]) => [key, wrap(key, c, injector, env)]))
  if (config.groups === undefined) return { ...config, servers }
  const groups = Object.fromEntries(Object.entries(config.groups).map(([group, g]) => [group, {
    ...g,
    replicas: Object.fromEntries(Object.entries(g.replicas).map(([name, r]) => [name, wrap(replicaTarget(group, name), r, injector, env)]))
  }]))
  return { ...config, servers, groups }
}
