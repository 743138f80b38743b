/**
 * The gateway's connections to its servers: one handle per configured server, connected lazily
 * on first use, reconnected after a dropped connection (with a bounded exponential backoff, as a
 * `Schedule`), and all closed — with any connection attempt still under way — when the scope
 * closes.
 *
 * @example
 * ```ts
 * const connections = yield* ServerConnections.make(config.servers)
 * const conn = yield* connections.connection(connections.handles.get("fs")!, "read_file")
 * ```
 * @module
 */
import type { Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Schedule, Scope, Semaphore } from "effect"
import { type McpflowToolError, ServerUnavailable, toolError } from "../../../dsl/ToolError.ts"
import { GatewayEvents, type ServerStatus } from "../../../dsl/ports/McpGateway.ts"
import { type Connection, ConnectFailure, openConnection } from "./Connection.ts"
import { connectReason } from "./SdkErrors.ts"
import type { ServerConfig } from "./ServerConfig.ts"

/** Defaults, documented in the README. */
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000
const RECONNECT_ATTEMPTS = 3

/**
 * The delays between reconnection attempts: 100 ms doubling up to 2 s, at most
 * `RECONNECT_ATTEMPTS - 1` retries, none after an `AuthRequired` failure (retrying cannot help).
 */
const reconnectSchedule = Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("2 seconds")]).pipe(
  Schedule.upTo({ times: RECONNECT_ATTEMPTS - 1 }),
  Schedule.setInputType<McpflowToolError>(),
  Schedule.while(({ input }) => input.reason._tag !== "AuthRequired")
)

/**
 * One configured server and its current connection (if any) and published tools (if listed on
 * that connection). Mutable: the gateway's hot path reads `conn` directly.
 *
 * @example
 * ```ts
 * const open = handle.conn !== undefined && !handle.conn.isClosed()
 * ```
 */
export interface ServerHandle {
  readonly key: string
  readonly config: ServerConfig
  readonly lock: Semaphore.Semaphore
  conn: Connection | undefined
  connects: number
  tools: ReadonlyArray<McpTool> | undefined
  shutDown: boolean
}

/**
 * The connections of one gateway (see the module doc).
 *
 * @example
 * ```ts
 * const conn = yield* connections.connect(handle, "read_file")
 * connections.drop(handle, conn) // the server lost the session: the next call reconnects
 * ```
 */
export interface ServerConnections {
  readonly handles: ReadonlyMap<string, ServerHandle>
  /** The configured server keys, in config order. */
  readonly servers: ReadonlyArray<string>
  /** The open connection, or a new one (reconnecting with backoff if the server was connected before). */
  readonly connection: (handle: ServerHandle, tool: string) => Effect.Effect<Connection, McpflowToolError>
  /** A new connection unless one is open, under the handle's lock. */
  readonly connect: (handle: ServerHandle, tool: string) => Effect.Effect<Connection, McpflowToolError>
  /** Forgets a connection the server no longer honours (e.g. a lost HTTP session); the next call reconnects. */
  readonly drop: (handle: ServerHandle, conn: Connection) => void
  /** Each server's state. */
  readonly status: Effect.Effect<ReadonlyArray<ServerStatus>>
}

/**
 * The connections to `servers`, none opened yet; closing the scope closes them all and awaits
 * every connection attempt and close still under way, so no server process outlives it.
 *
 * @example
 * ```ts
 * const connections = yield* ServerConnections.make({ fs: { type: "stdio", command: "fs-server", args: [], env: {} } })
 * ```
 */
export const make = Effect.fnUntraced(function*(
  servers: Readonly<Record<string, ServerConfig>>
): Effect.fn.Return<ServerConnections, never, Scope.Scope> {
  const handles = new Map<string, ServerHandle>()
  for (const [key, config] of Object.entries(servers)) {
    handles.set(key, { key, config, lock: Semaphore.makeUnsafe(1), conn: undefined, connects: 0, tools: undefined, shutDown: false })
  }

  /**
   * Work that outlives the fiber that started it: a connection attempt abandoned by the
   * connect timeout or an interruption (it goes on to close the server it started, which can
   * take up to ~4 s for a server that ignores the end of its stdin), and the close of a dropped
   * connection. The finalizer awaits it.
   */
  const background = new Set<Promise<unknown>>()
  const track = <A>(promise: Promise<A>): Promise<A> => {
    background.add(promise)
    const done = () => void background.delete(promise)
    promise.then(done, done)
    return promise
  }

  const connectOnce = (handle: ServerHandle, tool: string, attempt: number) =>
    Effect.gen(function*() {
      const sink = yield* GatewayEvents
      sink.emit({ _tag: "ServerConnecting", server: handle.key, attempt })
      const timeoutMs = handle.config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
      return yield* Effect.tryPromise({
        try: (signal) =>
          track((async () => {
            const conn = await openConnection(handle.key, handle.config, sink, signal)
            if (signal.aborted) {
              await conn.close().catch(() => {})
              throw new ConnectFailure("interrupted while connecting", undefined)
            }
            return conn
          })()),
        catch: (error) =>
          toolError(
            connectReason(
              handle.key,
              tool,
              error instanceof ConnectFailure ? error.original : error,
              `could not start or connect: ${error instanceof Error ? error.message : String(error)}`
            )
          )
      }).pipe(
        Effect.timeoutOrElse({
          duration: timeoutMs,
          orElse: () =>
            Effect.fail(
              toolError(
                new ServerUnavailable({ server: handle.key, tool, detail: `no answer to the MCP handshake within ${timeoutMs} ms` })
              )
            )
        })
      )
    })

  const connect = (handle: ServerHandle, tool: string): Effect.Effect<Connection, McpflowToolError> =>
    Effect.suspend(() => {
      const current = handle.conn
      if (current !== undefined && !current.isClosed()) return Effect.succeed(current)
      if (handle.shutDown) {
        return Effect.fail(toolError(new ServerUnavailable({ server: handle.key, tool, detail: "the gateway has been closed" })))
      }
      if (current !== undefined) {
        handle.conn = undefined
        handle.tools = undefined
        void track(current.close().catch(() => {}))
      }
      let attempt = 0
      const once = Effect.suspend(() => connectOnce(handle, tool, ++attempt))
      return (handle.connects > 0 ? Effect.retry(once, reconnectSchedule) : once).pipe(
        Effect.tap((conn) =>
          Effect.sync(() => {
            handle.conn = conn
            handle.connects += 1
          })
        )
      )
    }).pipe(handle.lock.withPermits(1))

  const connection = (handle: ServerHandle, tool: string): Effect.Effect<Connection, McpflowToolError> => {
    const current = handle.conn
    return current !== undefined && !current.isClosed() ? Effect.succeed(current) : connect(handle, tool)
  }

  const drop = (handle: ServerHandle, conn: Connection): void => {
    if (handle.conn === conn) {
      handle.conn = undefined
      handle.tools = undefined
    }
    if (!conn.isClosed()) void conn.close().catch(() => {})
  }

  const status = Effect.sync((): ReadonlyArray<ServerStatus> =>
    [...handles.values()].map((handle) => {
      const version = handle.conn?.client.getServerVersion()
      return {
        server: handle.key,
        type: handle.config.type,
        state: handle.shutDown
          ? "closed"
          : handle.conn === undefined
          ? handle.connects > 0 ? "disconnected" : "idle"
          : handle.conn.isClosed()
          ? "disconnected"
          : "connected",
        pid: handle.conn?.pid,
        connects: handle.connects,
        serverName: version?.name,
        serverVersion: version?.version
      }
    })
  )

  yield* Effect.addFinalizer(() =>
    Effect.promise(() =>
      Promise.all([...handles.values()].map(async (handle) => {
        handle.shutDown = true
        const conn = handle.conn
        handle.conn = undefined
        await conn?.close().catch(() => {})
      })).then(() => Promise.allSettled([...background]))
    )
  )

  return { handles, servers: [...handles.keys()], connection, connect, drop, status }
})
