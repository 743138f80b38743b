/**
 * The fake servers' connections of a chaos check, kept across its runs: each server's SDK
 * `Client`/`Server` pair (over `InMemoryTransport`, with a {@link FaultTransport} on the client
 * side) is connected once, lent to a run's gateway through `InProcessServerConfig.lease`, bound
 * to that run's fake (its handlers, models and injector hooks) and, when the run releases it
 * untouched, reset and kept for the next run. Every message still goes through the SDK and
 * JSON-RPC; what a run no longer pays is the handshake and the close.
 *
 * Observable behaviour is kept:
 * - connection faults are decided when a run's gateway connects, as before (`hooks.connect()`):
 *   a refused connection (`ServerDown`, `Flapping`) rejects the lease, a `SlowStart` delays it on
 *   the run's clock (the connect timeout still cuts it short);
 * - a connection that a fault, a latency, a cancellation, a `tools/list` or a close touched, or
 *   with anything in flight, is closed for real when the run releases it; a run that reconnects
 *   (after a dropped connection) gets a fresh pair, handshake included;
 * - a run never depends on the runs before it: before each run, {@link Pool.prepare} makes sure
 *   every server has one idle pair (made outside the run), so the first connection of each server
 *   in a run is always a lent pair, whatever earlier runs left; the pair's request ids start
 *   where a fresh client's would (after `initialize`).
 *
 * @example
 * ```ts
 * const pool = ConnectionPool.make()
 * await pool.prepare([{ key: "payment", name: undefined, version: undefined }])
 * const config = yield* FakeServer.make("payment", handlers, { injector, pool })
 * ```
 * @module
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv-provider.js"
import { CallToolRequestSchema, type CallToolResult, ListToolsRequestSchema, type Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import { newClient } from "../src/runtime/gateway/Connection.ts"
import type { LeasedClient } from "../src/runtime/gateway/ServerConfig.ts"
import { FaultTransport } from "./FaultTransport.ts"
import type { CallDecision, ServerHooks } from "./Injector.ts"

type Id = string | number

/** The SDK's `extra` of a `tools/call` handler, as a fake needs it. */
type CallExtra = Parameters<Parameters<Server["setRequestHandler"]>[1]>[1]

/**
 * What a run's fake lends a pair while it holds it: its injector hooks, its `tools/list` and its
 * `tools/call` answer (reading its decision in `decisions` by request id).
 *
 * @example
 * ```ts
 * const binding: Binding = { hooks, listings, call: (request, extra, decisions) => answer(request, extra, decisions) }
 * ```
 */
export interface Binding {
  readonly hooks: ServerHooks
  readonly listings: ReadonlyArray<McpTool>
  readonly call: (
    request: { readonly params: { readonly name: string; readonly arguments?: Record<string, unknown> | undefined; readonly _meta?: { readonly progressToken?: string | number | undefined } | undefined } },
    extra: CallExtra,
    decisions: Map<Id, CallDecision>
  ) => CallToolResult | Promise<CallToolResult>
}

/**
 * A server's identity as its `initialize` answer gives it.
 *
 * @example
 * ```ts
 * const info: ServerInfo = { key: "payment", name: "payment (fake)", version: "0.0.0" }
 * ```
 */
export interface ServerInfo {
  readonly key: string
  readonly name?: string | undefined
  readonly version?: string | undefined
}

interface Pair {
  readonly client: Client
  readonly server: Server
  readonly transport: FaultTransport
  readonly decisions: Map<Id, CallDecision>
  binding: Binding | undefined
}

/**
 * The pairs of one check (see the module doc).
 *
 * @example
 * ```ts
 * const pool = ConnectionPool.make()
 * ```
 */
export interface Pool {
  /** One idle pair per server (made now when missing), before a run starts. */
  readonly prepare: (servers: ReadonlyArray<ServerInfo>) => Promise<void>
  /** Lends `info.key`'s pair to a run's fake (see `InProcessServerConfig.lease`). */
  readonly lease: (info: ServerInfo, binding: Binding, signal: AbortSignal | undefined) => Promise<LeasedClient>
  /** Closes every idle pair. */
  readonly close: () => Promise<void>
}

let validator: AjvJsonSchemaValidator | undefined

/** Hooks of a pair no run holds: its handshake only touches them. */
const idleHooks: ServerHooks = {
  key: "",
  env: { now: () => 0, sleep: () => new Promise<void>(() => {}) },
  connect: () => ({ index: 0, refused: undefined, startDelayMs: 0 }),
  decide: () => ({ call: 0, latencyBeforeMs: 0, latencyAfterMs: 0, handler: undefined, transport: undefined }),
  downNow: () => undefined,
  callStarted: () => {},
  callEnded: () => {},
  executed: () => {},
  touch: () => {},
  crash: () => {}
}

/**
 * Whether chaos runs use pools (on by default); tests and benchmarks switch it off to compare
 * with a connection per run. `fresh` counts the pairs made (handshakes).
 *
 * @example
 * ```ts
 * ConnectionPool.settings.enabled = false // every run connects anew
 * ```
 */
export const settings = { enabled: true, fresh: 0 }

const fresh = async (info: ServerInfo, hooks: ServerHooks = idleHooks): Promise<Pair> => {
  settings.fresh++
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const server = new Server(
    { name: info.name ?? `${info.key} (fake)`, version: info.version ?? "0.0.0" },
    { capabilities: { tools: {}, logging: {} }, jsonSchemaValidator: (validator ??= new AjvJsonSchemaValidator()) }
  )
  const decisions = new Map<Id, CallDecision>()
  const pair: Pair = { client: newClient(), server, transport: new FaultTransport(clientSide, hooks, decisions), decisions, binding: undefined }
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [...(pair.binding?.listings ?? [])] }))
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    pair.binding === undefined
      ? Promise.resolve({ content: [{ type: "text", text: `no run holds server '${info.key}'` }], isError: true })
      : pair.binding.call(request, extra, decisions))
  await server.connect(serverSide)
  await pair.client.connect(pair.transport, { timeout: 2_147_483_647 })
  return pair
}

const closeForReal = async (pair: Pair): Promise<void> => {
  pair.binding = undefined
  await pair.client.close().catch(() => {})
  await pair.server.close().catch(() => {})
}

/** Where a fresh client's request ids go on after the handshake (`initialize` took 0). */
const FIRST_REQUEST_ID = 1

const resetRequestIds = (client: Client): void => {
  const c = client as unknown as { _requestMessageId?: unknown }
  if (typeof c._requestMessageId === "number") c._requestMessageId = FIRST_REQUEST_ID
}

const aborted = (signal: AbortSignal | undefined): Promise<never> =>
  new Promise((_, reject) => {
    if (signal === undefined) return
    const fail = () => reject(new Error("interrupted while connecting"))
    if (signal.aborted) fail()
    else signal.addEventListener("abort", fail, { once: true })
  })

/**
 * A new, empty pool.
 *
 * @example
 * ```ts
 * const pool = ConnectionPool.make()
 * ```
 */
export const make = (): Pool => {
  const idle = new Map<string, Pair>()

  const prepare = async (servers: ReadonlyArray<ServerInfo>): Promise<void> => {
    for (const info of servers) if (!idle.has(info.key)) idle.set(info.key, await fresh(info))
  }

  const release = async (key: string, pair: Pair): Promise<void> => {
    if (pair.transport.reusable() && !idle.has(key)) {
      pair.binding = undefined
      pair.transport.rebind(idleHooks)
      resetRequestIds(pair.client)
      idle.set(key, pair)
      return
    }
    await closeForReal(pair)
  }

  const lease = async (info: ServerInfo, binding: Binding, signal: AbortSignal | undefined): Promise<LeasedClient> => {
    const c = binding.hooks.connect()
    if (c.refused !== undefined) throw new Error(c.refused)
    let pair = idle.get(info.key)
    idle.delete(info.key)
    if (pair === undefined || !pair.transport.reusable()) {
      if (pair !== undefined) void closeForReal(pair)
      pair = await fresh(info, binding.hooks)
    }
    const held = pair
    held.binding = binding
    held.transport.rebind(binding.hooks)
    if (c.startDelayMs > 0) {
      // A slow start: the handshake's answer comes late (on the run's clock); the connect timeout may give up first.
      try {
        await Promise.race([binding.hooks.env.sleep(c.startDelayMs), aborted(signal)])
      } catch (error) {
        await closeForReal(held)
        throw error
      }
    }
    return { client: held.client, release: () => release(info.key, held) }
  }

  const close = async (): Promise<void> => {
    const pairs = [...idle.values()]
    idle.clear()
    await Promise.all(pairs.map(closeForReal))
  }

  return { prepare, lease, close }
}
