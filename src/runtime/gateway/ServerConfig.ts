/**
 * How the gateway reaches each MCP server: the decoded, validated form of an `.mcp.json`
 * file or of a config object written in code.
 *
 * @module
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import type { Redacted } from "effect"
import type { PoolSettings } from "../../../dsl/policy/Bulkhead.ts"
import type { PolicyInput } from "../../../dsl/policy/Policy.ts"

/**
 * Timeouts and reconnection settings every kind of server accepts.
 *
 * @example
 * ```ts
 * const limits: ServerLimits = { connectTimeoutMs: 10_000, callTimeoutMs: 30_000 }
 * ```
 */
export interface ServerLimits {
  /** How long starting and initializing the server may take. Default 30 s. */
  readonly connectTimeoutMs?: number | undefined
  /** How long one call may take without progress. Default 60 s. */
  readonly callTimeoutMs?: number | undefined
  /** With progress notifications extending a call: the most it may take in all. Default: none. */
  readonly maxTotalTimeoutMs?: number | undefined
  /** Probe this server in the background (see `HealthSettings`); without it its state is `unknown`. */
  readonly health?: HealthSettings | undefined
}

/**
 * How the health registry probes one server: MCP `ping` (default) or a named tool called with
 * `args`, every `intervalMs` (default 10 s), each probe bounded by `timeoutMs` (default 5 s).
 * `unhealthyAfter` failed probes in a row (default 2) mark it unhealthy, `healthyAfter` good
 * ones in a row (default 1) healthy again. A replica that is unhealthy is skipped by its group.
 *
 * @example
 * ```ts
 * const health: HealthSettings = { intervalMs: 5_000, probe: { tool: "status" }, unhealthyAfter: 3 }
 * ```
 */
export interface HealthSettings {
  readonly probe?: "ping" | { readonly tool: string; readonly args?: Readonly<Record<string, unknown>> | undefined } | undefined
  readonly intervalMs?: number | undefined
  readonly timeoutMs?: number | undefined
  readonly unhealthyAfter?: number | undefined
  readonly healthyAfter?: number | undefined
}

/**
 * A server started as a child process, spoken to over stdin/stdout.
 *
 * @example
 * ```ts
 * const fs: StdioServerConfig = { type: "stdio", command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "."], env: {} }
 * ```
 */
export interface StdioServerConfig extends ServerLimits {
  readonly type: "stdio"
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, Redacted.Redacted<string>>>
  readonly cwd?: string | undefined
  /** Wraps the client side of each connection (`--chaos` with real servers injects wire faults there). */
  readonly wrapTransport?: ((transport: Transport) => Transport) | undefined
}

/**
 * A server reached over Streamable HTTP (`type: "http"`) or the legacy SSE transport (`type: "sse"`).
 *
 * @example
 * ```ts
 * const remote: HttpServerConfig = { type: "http", url: "http://127.0.0.1:3000/mcp", headers: {} }
 * ```
 */
export interface HttpServerConfig extends ServerLimits {
  readonly type: "http" | "sse"
  readonly url: string
  readonly headers: Readonly<Record<string, Redacted.Redacted<string>>>
  /** Wraps the client side of each connection (`--chaos` with real servers injects wire faults there). */
  readonly wrapTransport?: ((transport: Transport) => Transport) | undefined
}

/**
 * A server hosted in this process, built with the SDK and connected over `InMemoryTransport`.
 * `make` is called for every (re)connection; `wrapTransport` may wrap the client side of the
 * link (the chaos layer injects faults there).
 *
 * @example
 * ```ts
 * const echo: InProcessServerConfig = { type: "in-process", make: () => makeEchoServer() }
 * ```
 */
export interface InProcessServerConfig extends ServerLimits {
  readonly type: "in-process"
  readonly make: () => Server | McpServer
  readonly wrapTransport?: ((transport: Transport) => Transport) | undefined
  /**
   * Send each call's site in its request's `_meta`: `mcpflow/step` (the path of the step making
   * it) and `mcpflow/call` (its index within that step's attempt, see `CallSites`). Fake servers
   * of a chaos run ask for it, to tell a request sent twice from two equal requests.
   */
  readonly callSites?: boolean | undefined
  /**
   * Hands out an already connected SDK client instead of `make` + a new client and handshake
   * per connection (a chaos check keeps its fakes' connections across runs, see
   * `chaos/ConnectionPool.ts`). `release` ends the connection for the gateway: the owner keeps
   * it open for reuse or closes it. A rejection is a failed connection attempt.
   */
  readonly lease?: ((signal: AbortSignal | undefined) => Promise<LeasedClient>) | undefined
}

/**
 * An open client connection lent by {@link InProcessServerConfig.lease}.
 *
 * @example
 * ```ts
 * const leased: LeasedClient = { client, release: async () => {} }
 * ```
 */
export interface LeasedClient {
  readonly client: Client
  readonly release: () => Promise<void>
}

/**
 * Any one server's configuration.
 *
 * @example
 * ```ts
 * const kinds: Array<ServerConfig["type"]> = ["stdio", "http", "sse", "in-process"]
 * ```
 */
export type ServerConfig = StdioServerConfig | HttpServerConfig | InProcessServerConfig

/**
 * How a replica group picks the replica for a call: `round-robin` (in turn), `weighted` (in turn,
 * in proportion to each replica's `weight`), `least-in-flight` (the one with the fewest calls
 * under way) or `priority` (the first by `priority`, then declaration order; the others are
 * failovers).
 *
 * @example
 * ```ts
 * const s: ReplicaStrategy = "priority"
 * ```
 */
export type ReplicaStrategy = "round-robin" | "weighted" | "least-in-flight" | "priority"

/**
 * One replica of a group: a normal server config, with its `weight` (for `weighted`, default 1)
 * and `priority` (for `priority`, lower first; default its position).
 *
 * @example
 * ```ts
 * const a: ReplicaConfig = { type: "http", url: "http://10.0.0.1/mcp", headers: {}, weight: 3 }
 * ```
 */
export type ReplicaConfig = ServerConfig & {
  readonly weight?: number | undefined
  readonly priority?: number | undefined
}

/**
 * A server key backed by several replicas. Contracts name the group key as their server; each
 * call goes to one replica chosen by `strategy`, skipping replicas whose breaker is open or
 * whose health probe fails. A call that failed before reaching its replica (unavailable,
 * rejected, rate limited) moves on to the next one; one that may have reached it (a lost
 * connection, a timeout) moves on only when the tool is idempotent or read-only. With `sticky`,
 * the calls of one run stay on the replica that served its first call while it stays usable.
 * `breaker` tunes each replica's circuit (default: open after 3 failures in a row, for 30 s).
 *
 * @example
 * ```ts
 * const search: ReplicaGroupConfig = {
 *   strategy: "priority",
 *   replicas: { primary: { type: "http", url: "http://a/mcp", headers: {} }, backup: { type: "http", url: "http://b/mcp", headers: {} } }
 * }
 * ```
 */
export interface ReplicaGroupConfig {
  readonly strategy?: ReplicaStrategy | undefined
  readonly sticky?: boolean | undefined
  readonly replicas: Readonly<Record<string, ReplicaConfig>>
  readonly breaker?: { readonly failures?: number | undefined; readonly openMs?: number | undefined } | undefined
}

/**
 * The gateway's whole configuration: servers by key (`[A-Za-z0-9_-]+`), an optional
 * allowlist of `server.tool` patterns (`docker.*`, `k8s.kubectl_get`), optional resilience
 * policies per `server` or per `server.tool` (data or instances; no fallback at this level), and
 * named bulkhead `pools` those policies can name (`{ bulkhead: { pool: "critical" } }`).
 * Stateful policies built from this data are made once per gateway layer and shared per key.
 *
 * @example
 * ```ts
 * const config: GatewayConfig = {
 *   servers: { echo: { type: "in-process", make } },
 *   allow: ["echo.*"],
 *   policies: { echo: { timeout: "5s", retry: { maxAttempts: 3 } }, "echo.slow": { timeout: "1 minute" } }
 * }
 * ```
 */
export interface GatewayConfig {
  readonly servers: Readonly<Record<string, ServerConfig>>
  /** Replica groups by server key (see `ReplicaGroupConfig`); a key is a server or a group, not both. */
  readonly groups?: Readonly<Record<string, ReplicaGroupConfig>> | undefined
  readonly allow?: ReadonlyArray<string> | undefined
  readonly policies?: Readonly<Record<string, PolicyInput>> | undefined
  readonly pools?: Readonly<Record<string, PoolSettings>> | undefined
  /**
   * More values the gateway masks in what its servers say, besides the env and header values
   * (see `SecretMask`): `decodeMcpJson` puts here what `${VAR}` expanded into env and headers.
   */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
  /**
   * Where the commands that run flows (`run`, `worker`, `serve`) announce each finished run,
   * when neither `--webhook` nor `MCPFLOW_WEBHOOK_URL` names a URL: `"mcpflow": {"webhook":
   * {"url": …, "secret": "${HOOK_SECRET}"}}` in `.mcp.json`. The gateway itself does not use it.
   */
  readonly webhook?: { readonly url: string; readonly secret: Redacted.Redacted<string> } | undefined
}

/**
 * The pattern every server key must match.
 *
 * @example
 * ```ts
 * ServerKeyPattern.test("k8s-prod") // => true
 * ```
 */
export const ServerKeyPattern = /^[A-Za-z0-9_-]+$/
