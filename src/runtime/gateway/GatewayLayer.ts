/**
 * The `McpGateway` layers: from a config object, from an `.mcp.json` file, or from in-process
 * servers. Servers connect lazily on first use, reconnect after a dropped connection with a
 * bounded backoff, and are all closed when the layer's scope closes.
 *
 * @module
 */
import type { CallToolResult, Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import { Duration, Effect, Exit, Layer, Semaphore } from "effect"
import type { ContractInfo, ContractSchema } from "../../../dsl/Contract.ts"
import {
  type McpflowToolError,
  NotAllowed,
  ServerUnavailable,
  Timeout,
  toolError,
  type ToolErrorReason,
  UnknownTool
} from "../../../dsl/ToolError.ts"
import { type Connection, ConnectFailure, openConnection } from "./Connection.ts"
import { compareContract } from "./Discovery.ts"
import {
  type CallOptions,
  type ContractMismatch,
  GatewayEvents,
  McpGateway,
  type ServerStatus
} from "../../../dsl/ports/McpGateway.ts"
import { loadMcpJson, matchesAllowlist, McpflowConfigError } from "./McpJson.ts"
import { makePolicies } from "./Policies.ts"
import type { GatewayConfig, ServerConfig } from "./ServerConfig.ts"
import { connectReason, thrownReason } from "./SdkErrors.ts"
import { beginCall, callTool, type Deadlines, SDK_NO_TIMEOUT } from "./ToolCall.ts"

/** Defaults, documented in the README. */
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000
const DEFAULT_CALL_TIMEOUT_MS = 60_000
const RECONNECT_ATTEMPTS = 3
const RECONNECT_BASE_DELAY_MS = 100
const RECONNECT_MAX_DELAY_MS = 2_000

interface ServerHandle {
  readonly key: string
  readonly config: ServerConfig
  readonly lock: Semaphore.Semaphore
  conn: Connection | undefined
  connects: number
  tools: ReadonlyArray<McpTool> | undefined
  shutDown: boolean
}

/**
 * Extra settings for a gateway layer.
 *
 * @example
 * ```ts
 * GatewayLayer.layer(config, { allow: ["docker.*", "k8s.kubectl_get"] })
 * ```
 */
export interface GatewayOptions {
  /**
   * An allowlist of `server.tool` patterns. When the config has one too, a call must match both
   * (a flow can only narrow what its environment allows).
   */
  readonly allow?: ReadonlyArray<string> | undefined
}

const toMillis = (input: Duration.Input | undefined): number | undefined =>
  input === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(input))

const make = (config: GatewayConfig, options: GatewayOptions = {}) =>
  Effect.gen(function*() {
    const handles = new Map<string, ServerHandle>()
    for (const [key, server] of Object.entries(config.servers)) {
      handles.set(key, { key, config: server, lock: Semaphore.makeUnsafe(1), conn: undefined, connects: 0, tools: undefined, shutDown: false })
    }
    const servers = [...handles.keys()]
    // Policies from the config, built once per layer. A malformed entry in a config written in
    // code is a defect here (`layerFromFile` reports it as a McpflowConfigError when decoding).
    const policies = yield* makePolicies(config.policies, config.pools).pipe(
      Effect.mapError((e) => new McpflowConfigError({ path: e.path, detail: e.detail })),
      Effect.orDie
    )
    const allowlists = [config.allow, options.allow].filter((a): a is ReadonlyArray<string> => a !== undefined)
    const allowedCache = new Map<string, boolean>()
    const isAllowed = (server: string, tool: string): boolean => {
      if (allowlists.length === 0) return true
      const id = `${server}.${tool}`
      let allowed = allowedCache.get(id)
      if (allowed === undefined) {
        allowed = allowlists.every((list) => matchesAllowlist(list, server, tool))
        allowedCache.set(id, allowed)
      }
      return allowed
    }

    const fail = (reason: ToolErrorReason) => Effect.fail(toolError(reason))

    /**
     * Work that outlives the fiber that started it: a connection attempt abandoned by the
     * connect timeout or an interruption (it goes on to close the server it started, which can
     * take up to ~4 s for a server that ignores the end of its stdin), and the close of a dropped
     * connection. The finalizer awaits it, so no server process outlives the layer's scope.
     */
    const background = new Set<Promise<unknown>>()
    const track = <A>(promise: Promise<A>): Promise<A> => {
      background.add(promise)
      const done = () => void background.delete(promise)
      promise.then(done, done)
      return promise
    }

    const unknownServer = (server: string, tool: string) =>
      fail(
        new UnknownTool({
          server,
          tool,
          detail: `no server '${server}' is configured (configured: ${servers.length ? servers.join(", ") : "none"})`
        })
      )

    const handleFor = (server: string, tool: string): Effect.Effect<ServerHandle, McpflowToolError> => {
      const handle = handles.get(server)
      return handle ? Effect.succeed(handle) : unknownServer(server, tool)
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
              fail(new ServerUnavailable({ server: handle.key, tool, detail: `no answer to the MCP handshake within ${timeoutMs} ms` }))
          })
        )
      })

    const connect = (handle: ServerHandle, tool: string): Effect.Effect<Connection, McpflowToolError> =>
      Effect.suspend(() => {
        const current = handle.conn
        if (current !== undefined && !current.isClosed()) return Effect.succeed(current)
        if (handle.shutDown) {
          return fail(new ServerUnavailable({ server: handle.key, tool, detail: "the gateway has been closed" }))
        }
        if (current !== undefined) {
          handle.conn = undefined
          handle.tools = undefined
          void track(current.close().catch(() => {}))
        }
        const attempts = handle.connects > 0 ? RECONNECT_ATTEMPTS : 1
        const loop = (attempt: number): Effect.Effect<Connection, McpflowToolError> =>
          connectOnce(handle, tool, attempt).pipe(
            Effect.catch((error) =>
              attempt >= attempts || error.reason._tag === "AuthRequired"
                ? Effect.fail(error)
                : Effect.sleep(Math.min(RECONNECT_BASE_DELAY_MS * 2 ** (attempt - 1), RECONNECT_MAX_DELAY_MS)).pipe(
                  Effect.andThen(loop(attempt + 1))
                )
            )
          )
        return loop(1).pipe(
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

    /** Forgets a connection the server no longer honours (e.g. a lost HTTP session); the next call reconnects. */
    const dropConnection = (handle: ServerHandle, conn: Connection): void => {
      if (handle.conn === conn) {
        handle.conn = undefined
        handle.tools = undefined
      }
      if (!conn.isClosed()) void conn.close().catch(() => {})
    }

    /** The deadlines of a call without call options, per server (built once). */
    const defaultDeadlines = new Map<ServerHandle, Deadlines>()
    const deadlinesFor = (handle: ServerHandle, callOptions: CallOptions | undefined): Deadlines => {
      if (callOptions === undefined) {
        let deadlines = defaultDeadlines.get(handle)
        if (deadlines === undefined) {
          defaultDeadlines.set(handle, deadlines = deadlinesFor(handle, {}))
        }
        return deadlines
      }
      return {
        timeoutMs: toMillis(callOptions.timeout) ?? handle.config.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
        maxTotalMs: toMillis(callOptions.maxTotalTimeout) ?? handle.config.maxTotalTimeoutMs,
        resetOnProgress: callOptions.resetTimeoutOnProgress ?? false,
        policy: callOptions.timeout !== undefined ? "the call's options" : `server '${handle.key}'`
      }
    }

    /**
     * Calls `tool` on `server` (already allowed): its handle, its connection (looked up when the
     * Effect runs, so a retried call reconnects), then one `tools/call` whose result `decode`
     * (the contract's decoder) turns into the value in the same step. A `ConnectionLost` failure
     * makes the next call reconnect.
     */
    const send = <A>(
      server: string,
      tool: string,
      args: Readonly<Record<string, unknown>>,
      callOptions: CallOptions | undefined,
      decode: (result: CallToolResult) => Effect.Effect<A, McpflowToolError>
    ): Effect.Effect<A, McpflowToolError> => {
      const handle = handles.get(server)
      if (handle === undefined) return unknownServer(server, tool)
      const label = callOptions?.label
      return Effect.callback<A, McpflowToolError>((resume) => {
        const current = handle.conn
        if (current !== undefined && !current.isClosed()) {
          return beginCall(current.client, handle.key, tool, args, label, deadlinesFor(handle, callOptions), decode, () =>
            dropConnection(handle, current), resume)
        }
        resume(Effect.flatMap(connect(handle, tool), (conn) =>
          callTool(conn.client, handle.key, tool, args, label, deadlinesFor(handle, callOptions), decode, () =>
            dropConnection(handle, conn))))
      })
    }

    const callRaw = (
      server: string,
      tool: string,
      args: Readonly<Record<string, unknown>>,
      callOptions?: CallOptions
    ) =>
      isAllowed(server, tool)
        ? send(server, tool, args, callOptions, Effect.succeed)
        : fail(new NotAllowed({ server, tool, allowed: allowlists.flat() }))

    /** One attempt of a contract call: send the encoded input, decode the result. */
    const attempt = <In extends ContractSchema, Out extends ContractSchema>(
      contract: ContractInfo<In, Out>,
      args: Readonly<Record<string, unknown>>,
      callOptions: CallOptions<Out["Type"]> | undefined
    ): Effect.Effect<Out["Type"], McpflowToolError> =>
      send(contract.server, contract.tool, args, callOptions as CallOptions | undefined, contract.decodeResult)

    const call = <In extends ContractSchema, Out extends ContractSchema>(
      contract: ContractInfo<In, Out>,
      input: In["Type"],
      callOptions?: CallOptions<Out["Type"]>
    ): Effect.Effect<Out["Type"], McpflowToolError> => {
      if (!isAllowed(contract.server, contract.tool)) {
        return fail(new NotAllowed({ server: contract.server, tool: contract.tool, allowed: allowlists.flat() }))
      }
      const encoded = contract.encodeInput(input)
      if (policies.needed(contract as ContractInfo, callOptions)) {
        return Effect.flatMap(encoded, (args) =>
          policies.run(contract, args, callOptions, attempt(contract, args, callOptions), service))
      }
      // The plain path: an input that encoded synchronously (an Exit) goes straight to the call.
      if (Exit.isExit(encoded)) {
        return Exit.isSuccess(encoded) ? attempt(contract, encoded.value as Record<string, unknown>, callOptions) : encoded
      }
      return Effect.flatMap(encoded, (args) => attempt(contract, args, callOptions))
    }

    const listTools = (server: string): Effect.Effect<ReadonlyArray<McpTool>, McpflowToolError> =>
      Effect.flatMap(handleFor(server, "tools/list"), (handle) =>
        Effect.flatMap(connection(handle, "tools/list"), (conn) => {
          if (handle.tools !== undefined && handle.conn === conn) return Effect.succeed(handle.tools)
          return Effect.tryPromise({
            try: async () => {
              const tools: Array<McpTool> = []
              let cursor: string | undefined
              do {
                const page = await conn.client.listTools(cursor ? { cursor } : undefined, { timeout: SDK_NO_TIMEOUT })
                tools.push(...page.tools)
                cursor = page.nextCursor
              } while (cursor)
              return tools
            },
            catch: (error) => toolError(thrownReason(server, "tools/list", error))
          }).pipe(
            Effect.timeoutOrElse({
              duration: handle.config.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
              orElse: () =>
                fail(new Timeout({ server, tool: "tools/list", phase: "call", afterMs: handle.config.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS }))
            }),
            Effect.tap((tools) =>
              Effect.sync(() => {
                if (handle.conn === conn) handle.tools = tools
              })
            )
          )
        }))

    const checkContracts = (contracts: ReadonlyArray<ContractInfo>) =>
      Effect.gen(function*() {
        const byServer = new Map<string, Array<ContractInfo>>()
        for (const contract of contracts) {
          const list = byServer.get(contract.server) ?? []
          list.push(contract)
          byServer.set(contract.server, list)
        }
        const results = yield* Effect.forEach(
          [...byServer],
          ([server, list]) =>
            listTools(server).pipe(
              Effect.map((published) => list.flatMap((contract) => compareContract(contract, published))),
              Effect.catch((error) =>
                Effect.succeed<ReadonlyArray<ContractMismatch>>(
                  list.map((contract) => ({
                    kind: "ServerUnreachable" as const,
                    server,
                    tool: contract.tool,
                    detail: error.message
                  }))
                )
              )
            ),
          { concurrency: "unbounded" }
        )
        return results.flat()
      })

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

    const service: McpGateway["Service"] = McpGateway.of({ servers, call, callRaw, listTools, checkContracts, status })
    return service
  })

/**
 * A gateway over the servers of a config object.
 *
 * @example
 * ```ts
 * const Gateway = GatewayLayer.layer({ servers: { fs: { type: "stdio", command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "."], env: {} } } })
 * program.pipe(Effect.provide(Gateway))
 * ```
 */
export const layer = (config: GatewayConfig, options?: GatewayOptions): Layer.Layer<McpGateway> =>
  Layer.effect(McpGateway, make(config, options))

/**
 * A gateway over the servers of an `.mcp.json` file (default `./.mcp.json`), with `${VAR}`
 * expansion from the process environment.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(GatewayLayer.layerFromFile(".mcp.json", { allow: ["fs.read_*"] })))
 * ```
 */
export const layerFromFile = (
  file = ".mcp.json",
  options?: GatewayOptions & { readonly env?: Record<string, string | undefined> | undefined }
): Layer.Layer<McpGateway, McpflowConfigError> =>
  Layer.effect(
    McpGateway,
    Effect.flatMap(loadMcpJson(file, { env: options?.env }), (config) => make(config, options))
  )
