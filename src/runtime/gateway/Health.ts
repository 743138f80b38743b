/**
 * The gateway's health registry: per server (and per replica, `group/replica`) the state its
 * probes give it (`unknown` → `healthy` / `unhealthy`, with thresholds), each change emitted as a
 * `HealthChanged` gateway event. Servers with `health` settings are probed in the background on
 * their interval (on the Clock, so tests run it on virtual time); any server can be probed on
 * demand (`mcpflow health`). Replica groups skip unhealthy replicas.
 *
 * @example
 * ```ts
 * const registry = makeRegistry([{ key: "fs", settings: { intervalMs: 5_000 } }], (key) => ping(key))
 * yield* registry.watch // forks one probe loop per server with settings, in the current scope
 * registry.isUnhealthy("fs") // => false until two probes in a row fail
 * ```
 * @module
 */
import { Clock, Effect, type Scope } from "effect"
import type { McpflowToolError } from "../../../dsl/ToolError.ts"
import { GatewayEvents, type HealthState, type ServerHealth } from "../../../dsl/ports/McpGateway.ts"
import type { HealthSettings } from "./ServerConfig.ts"

/** Defaults, documented in the README. */
const DEFAULT_INTERVAL_MS = 10_000
const DEFAULT_TIMEOUT_MS = 5_000
const DEFAULT_UNHEALTHY_AFTER = 2
const DEFAULT_HEALTHY_AFTER = 1

/**
 * The health of a gateway's servers (see the module doc).
 *
 * @example
 * ```ts
 * const h = yield* registry.probe("fs")
 * h.state // => "healthy"
 * ```
 */
export interface HealthRegistry {
  /** Whether the server's last probes say it is down (a cheap read for the hot path). */
  readonly isUnhealthy: (server: string) => boolean
  /** How many servers are unhealthy now (0: the hot path need not ask about each). */
  readonly unhealthyCount: () => number
  /** Probes the server once now and records the outcome. */
  readonly probe: (server: string) => Effect.Effect<ServerHealth>
  /** Every server's health, in registration order. */
  readonly snapshot: Effect.Effect<ReadonlyArray<ServerHealth>>
  /** Forks a probe loop for each server with settings, ended when the scope closes. */
  readonly watch: Effect.Effect<void, never, Scope.Scope>
  /** Whether the server is probed in the background (it has `health` settings). */
  readonly watches: (server: string) => boolean
  /**
   * Runs `listener` after each state change (in the probing fiber, after the `HealthChanged`
   * event): how the gateway holds the breakers of an unhealthy server open (`HealthGate`).
   */
  readonly onChange: (listener: (server: string, from: HealthState, to: HealthState) => Effect.Effect<void>) => void
}

interface Entry {
  readonly key: string
  readonly settings: HealthSettings | undefined
  state: HealthState
  successes: number
  failures: number
  checkedAt: number | undefined
  latencyMs: number | undefined
  detail: string | undefined
}

const view = (e: Entry): ServerHealth => ({
  server: e.key,
  state: e.state,
  successes: e.successes,
  failures: e.failures,
  ...(e.checkedAt === undefined ? {} : { checkedAt: e.checkedAt }),
  ...(e.latencyMs === undefined ? {} : { latencyMs: e.latencyMs }),
  ...(e.detail === undefined ? {} : { detail: e.detail })
})

/**
 * The next state after a probe: `unhealthyAfter` failures in a row make a server unhealthy,
 * `healthyAfter` successes in a row healthy; otherwise it keeps its state.
 *
 * @example
 * ```ts
 * nextState("healthy", { ok: false, successes: 0, failures: 2 }, {}) // => "unhealthy"
 * nextState("unhealthy", { ok: true, successes: 1, failures: 0 }, {}) // => "healthy"
 * ```
 */
export const nextState = (
  state: HealthState,
  outcome: { readonly ok: boolean; readonly successes: number; readonly failures: number },
  settings: HealthSettings | undefined
): HealthState => {
  if (outcome.ok) return outcome.successes >= (settings?.healthyAfter ?? DEFAULT_HEALTHY_AFTER) ? "healthy" : state
  return outcome.failures >= (settings?.unhealthyAfter ?? DEFAULT_UNHEALTHY_AFTER) ? "unhealthy" : state
}

/**
 * A registry over `servers`; `check` runs one probe of a server (MCP `ping` or its named tool)
 * and fails when the server does not answer well. Each probe is bounded by its `timeoutMs`.
 *
 * @example
 * ```ts
 * const registry = makeRegistry([{ key: "fs", settings: undefined }], () => Effect.void)
 * ```
 */
export const makeRegistry = (
  servers: ReadonlyArray<{ readonly key: string; readonly settings: HealthSettings | undefined }>,
  check: (key: string, settings: HealthSettings | undefined) => Effect.Effect<void, McpflowToolError>
): HealthRegistry => {
  const entries = new Map<string, Entry>(servers.map(({ key, settings }) => [key, {
    key,
    settings,
    state: "unknown",
    successes: 0,
    failures: 0,
    checkedAt: undefined,
    latencyMs: undefined,
    detail: undefined
  }]))

  let unhealthy = 0
  const listeners: Array<(server: string, from: HealthState, to: HealthState) => Effect.Effect<void>> = []

  const record = (entry: Entry, ok: boolean, at: number, latencyMs: number, detail: string | undefined) =>
    Effect.withFiber<void>((fiber) => {
      entry.successes = ok ? entry.successes + 1 : 0
      entry.failures = ok ? 0 : entry.failures + 1
      entry.checkedAt = at
      entry.latencyMs = latencyMs
      entry.detail = detail
      const from = entry.state
      const to = nextState(from, { ok, successes: entry.successes, failures: entry.failures }, entry.settings)
      if (to !== from) {
        entry.state = to
        unhealthy += (to === "unhealthy" ? 1 : 0) - (from === "unhealthy" ? 1 : 0)
        fiber.getRef(GatewayEvents).emit({
          _tag: "HealthChanged",
          server: entry.key,
          from,
          to,
          ...(detail === undefined ? {} : { detail })
        })
        if (listeners.length > 0) return Effect.forEach(listeners, (listener) => listener(entry.key, from, to), { discard: true })
      }
      return Effect.void
    })

  const probeEntry = (entry: Entry): Effect.Effect<ServerHealth> =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const timeoutMs = entry.settings?.timeoutMs ?? DEFAULT_TIMEOUT_MS
      const failure = yield* check(entry.key, entry.settings).pipe(
        Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.fail(`no answer within ${timeoutMs} ms`) }),
        Effect.match({ onFailure: (e) => (typeof e === "string" ? e : e.message), onSuccess: () => undefined })
      )
      const end = yield* Clock.currentTimeMillis
      yield* record(entry, failure === undefined, end, end - start, failure)
      return view(entry)
    })

  const probe = (server: string): Effect.Effect<ServerHealth> => {
    const entry = entries.get(server)
    return entry === undefined
      ? Effect.succeed({ server, state: "unknown", successes: 0, failures: 0, detail: "not configured" })
      : probeEntry(entry)
  }

  const watch = Effect.forEach(
    [...entries.values()].filter((e) => e.settings !== undefined),
    (entry) =>
      Effect.forkScoped(
        Effect.forever(Effect.andThen(probeEntry(entry), Effect.sleep(entry.settings?.intervalMs ?? DEFAULT_INTERVAL_MS)))
      ),
    { discard: true }
  )

  return {
    isUnhealthy: (server) => entries.get(server)?.state === "unhealthy",
    unhealthyCount: () => unhealthy,
    probe,
    snapshot: Effect.sync(() => [...entries.values()].map(view)),
    watch,
    watches: (server) => entries.get(server)?.settings !== undefined,
    onChange: (listener) => void listeners.push(listener)
  }
}
