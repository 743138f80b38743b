/**
 * Opening one MCP client connection for a server config: stdio child process, Streamable
 * HTTP, legacy SSE, or an in-process server over `InMemoryTransport`.
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Redacted } from "effect"
import type { GatewayEvent } from "../../../dsl/ports/McpGateway.ts"
import { sharedValidator } from "./SchemaValidator.ts"
import type { LeasedClient, ServerConfig } from "./ServerConfig.ts"
import { GroupStdioTransport } from "./StdioTransport.ts"

/**
 * A live client connection to one server.
 *
 * @example
 * ```ts
 * const conn = await openConnection("fs", config, { emit: () => {} })
 * await conn.client.listTools()
 * await conn.close()
 * ```
 */
export interface Connection {
  readonly client: Client
  readonly pid: number | undefined
  /** True once the transport closed (process exited, HTTP session lost, or `close()`). */
  readonly isClosed: () => boolean
  /** Why the transport closed, when it did by itself. */
  readonly closeReason: () => string | undefined
  /** The last lines the server wrote to stderr (stdio only). */
  readonly stderrTail: () => string
  readonly close: () => Promise<void>
}

const STDERR_LINES = 20

const mcpflowVersion = "0.1.0"

/** Longest wait for a failed handshake's transport to close (a stdio server is SIGKILLed after 3 s, 4 s on Windows). */
const FAILED_CLOSE_WAIT_MS = 5_000

const waitBounded = (promise: Promise<void>, ms: number): Promise<void> =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    void promise.then(() => {
      clearTimeout(timer)
      resolve()
    })
  })

const redactedRecord = (record: Readonly<Record<string, Redacted.Redacted<string>>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(record)) out[key] = Redacted.value(value)
  return out
}

interface OpenedTransport {
  readonly transport: Transport
  readonly pid: () => number | undefined
  readonly stderrTail: () => string
  readonly closeServer?: () => Promise<void>
}

const openTransport = async (
  key: string,
  config: ServerConfig,
  emit: (event: GatewayEvent) => void
): Promise<OpenedTransport> => {
  switch (config.type) {
    case "stdio": {
      const params = { command: config.command, args: [...config.args], env: redactedRecord(config.env), cwd: config.cwd }
      // POSIX: the server leads a process group of its own, ended with it (no process groups on Windows).
      const transport = process.platform === "win32"
        ? new StdioClientTransport({ ...params, stderr: "pipe" })
        : new GroupStdioTransport(params)
      const lines: Array<string> = []
      let partial = ""
      transport.stderr?.on("data", (chunk: Buffer) => {
        const text = partial + chunk.toString("utf8")
        const parts = text.split("\n")
        partial = parts.pop() ?? ""
        for (const line of parts) {
          if (line.trim() === "") continue
          lines.push(line)
          if (lines.length > STDERR_LINES) lines.shift()
          emit({ _tag: "ServerLog", server: key, level: "stderr", data: line })
        }
      })
      return {
        transport: config.wrapTransport ? config.wrapTransport(transport) : transport,
        pid: () => transport.pid ?? undefined,
        stderrTail: () => [...lines, partial].filter((l) => l.trim() !== "").join("\n")
      }
    }
    case "http": {
      const transport = new StreamableHTTPClientTransport(new URL(config.url), {
        requestInit: { headers: redactedRecord(config.headers) }
      })
      return { transport: config.wrapTransport ? config.wrapTransport(transport) : transport, pid: () => undefined, stderrTail: () => "" }
    }
    case "sse": {
      const headers = redactedRecord(config.headers)
      const transport = new SSEClientTransport(new URL(config.url), {
        requestInit: { headers },
        eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...headers } }) }
      })
      return { transport: config.wrapTransport ? config.wrapTransport(transport) : transport, pid: () => undefined, stderrTail: () => "" }
    }
    case "in-process": {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
      const server = config.make()
      await server.connect(serverSide)
      return {
        transport: config.wrapTransport ? config.wrapTransport(clientSide) : clientSide,
        pid: () => undefined,
        stderrTail: () => "",
        closeServer: () => server.close()
      }
    }
  }
}

/**
 * A new, unconnected MCP client as the gateway makes them (its name, version and shared JSON
 * Schema validator).
 *
 * @example
 * ```ts
 * const client = newClient()
 * await client.connect(transport)
 * ```
 */
export const newClient = (): Client =>
  new Client({ name: "mcpflow", version: mcpflowVersion }, { capabilities: {}, jsonSchemaValidator: sharedValidator })

/** The open client lent by an in-process config's `lease` (no handshake: the lender made it). */
const openLeased = async (
  key: string,
  lease: (signal: AbortSignal | undefined) => Promise<LeasedClient>,
  sink: { readonly emit: (event: GatewayEvent) => void },
  signal: AbortSignal | undefined
): Promise<Connection> => {
  let leased: LeasedClient
  try {
    leased = await lease(signal)
  } catch (error) {
    throw new ConnectFailure(error instanceof Error ? error.message : String(error), error)
  }
  const { client } = leased
  let closed = false
  let closing = false
  let closeReason: string | undefined
  client.onclose = () => {
    if (closed) return
    closed = true
    if (!closing) {
      closeReason = "the connection closed"
      sink.emit({ _tag: "ServerDisconnected", server: key, detail: closeReason })
    }
  }
  client.onerror = () => {}
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    sink.emit({ _tag: "ServerLog", server: key, level: notification.params.level, logger: notification.params.logger, data: notification.params.data })
  })
  const version = client.getServerVersion()
  sink.emit({ _tag: "ServerConnected", server: key, pid: undefined, serverName: version?.name, serverVersion: version?.version })
  return {
    client,
    pid: undefined,
    isClosed: () => closed,
    closeReason: () => closeReason,
    stderrTail: () => "",
    close: async () => {
      closing = true
      closed = true
      await leased.release()
    }
  }
}

/**
 * Starts (or reaches) a server and runs the MCP handshake. On failure everything started is
 * closed again before the promise rejects; `signal` aborts the handshake.
 *
 * @example
 * ```ts
 * const conn = await openConnection("everything", { type: "stdio", command: "node", args: [entry], env: {} }, { emit: console.log })
 * ```
 */
export const openConnection = async (
  key: string,
  config: ServerConfig,
  sink: { readonly emit: (event: GatewayEvent) => void },
  signal?: AbortSignal
): Promise<Connection> => {
  if (config.type === "in-process" && config.lease !== undefined) return openLeased(key, config.lease, sink, signal)
  const opened = await openTransport(key, config, sink.emit)
  const client = newClient()
  let closed = false
  let closing = false
  let closeReason: string | undefined
  let transportClosed: () => void = () => {}
  const whenTransportClosed = new Promise<void>((resolve) => {
    transportClosed = resolve
  })
  client.onclose = () => {
    transportClosed()
    if (closed) return
    closed = true
    if (!closing) {
      const tail = opened.stderrTail()
      closeReason = `the connection closed${tail ? `; the server's last stderr lines:\n${tail}` : ""}`
      sink.emit({ _tag: "ServerDisconnected", server: key, detail: closeReason })
    }
  }
  client.onerror = () => {}
  const close = async () => {
    closing = true
    closed = true
    try {
      await client.close()
    } finally {
      await opened.closeServer?.().catch(() => {})
    }
  }
  try {
    await client.connect(opened.transport, { signal, timeout: 2_147_483_647 })
  } catch (error) {
    await close().catch(() => {})
    // A failed handshake makes the SDK close the transport itself (`void this.close()`); the SDK's
    // stdio transport (Windows) forgets its process as its close begins, so the close above
    // returns at once while the server may live on for seconds (stdin end, SIGTERM after 2 s,
    // SIGKILL after 4 s). Wait for the transport's own close, bounded, so no process outlives
    // the failed attempt.
    await waitBounded(whenTransportClosed, FAILED_CLOSE_WAIT_MS)
    const tail = opened.stderrTail()
    const message = error instanceof Error ? error.message : String(error)
    throw new ConnectFailure(tail ? `${message}; the server's stderr:\n${tail}` : message, error)
  }
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    sink.emit({
      _tag: "ServerLog",
      server: key,
      level: notification.params.level,
      logger: notification.params.logger,
      data: notification.params.data
    })
  })
  const version = client.getServerVersion()
  const pid = opened.pid()
  sink.emit({ _tag: "ServerConnected", server: key, pid, serverName: version?.name, serverVersion: version?.version })
  return {
    client,
    pid,
    isClosed: () => closed,
    closeReason: () => closeReason,
    stderrTail: opened.stderrTail,
    close
  }
}

/**
 * The rejection of {@link openConnection}: a readable message plus the original error.
 *
 * @example
 * ```ts
 * openConnection(key, config, sink).catch((e) => e instanceof ConnectFailure && console.error(e.message))
 * ```
 */
export class ConnectFailure extends Error {
  constructor(
    message: string,
    readonly original: unknown
  ) {
    super(message)
  }
}
