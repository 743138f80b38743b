/**
 * A wrapping MCP `Transport` that injects the wire-level faults of a plan on the client side of
 * an in-process link: a dropped connection, a lost, corrupted or duplicated message, a server
 * that is down or flapping, a slow handshake, a crash of the process running the run. It also
 * tracks the calls in flight per tool (from the request until its answer, its
 * `notifications/cancelled` or the connection's close) and hands each call's decision to the
 * fake's handler (keyed by JSON-RPC request id).
 *
 * In front of a real server (`wire: true`, see `WireChaos.ts`) there is no fake handler: latency
 * is added here, on the request (`before`) or the answer (`after`), and handler faults are not
 * drawn.
 *
 * @example
 * ```ts
 * const config: InProcessServerConfig = {
 *   type: "in-process",
 *   make: () => server,
 *   wrapTransport: (t) => new FaultTransport(t, hooks, decisions)
 * }
 * ```
 * @module
 */
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js"
import type { JSONRPCMessage, MessageExtraInfo } from "@modelcontextprotocol/sdk/types.js"
import type { CallDecision, CallSite, ServerHooks } from "./Injector.ts"

type Id = string | number

interface Pending {
  readonly tool: string
  readonly decision: CallDecision
}

const fields = (message: JSONRPCMessage) =>
  message as { readonly id?: Id; readonly method?: string; readonly params?: Record<string, unknown> }

/** The call's site the gateway sent in `_meta` (see `InProcessServerConfig.callSites`). */
const siteOf = (meta: unknown): CallSite | undefined => {
  if (typeof meta !== "object" || meta === null) return undefined
  const m = meta as Record<string, unknown>
  const step = m["mcpflow/step"]
  const call = m["mcpflow/call"]
  return typeof step === "string" && typeof call === "number" ? { step, call } : undefined
}

/**
 * The client side of one connection, with faults. `decisions` is shared with the fake server
 * made for the same connection: its handler reads the decision for its request id there.
 *
 * @example
 * ```ts
 * new FaultTransport(clientSide, injector.server("ci", env), new Map())
 * ```
 */
export class FaultTransport implements Transport {
  onclose?: (() => void) | undefined
  onerror?: ((error: Error) => void) | undefined
  onmessage?: ((message: JSONRPCMessage, extra?: MessageExtraInfo) => void) | undefined
  private readonly pending = new Map<Id, Pending>()
  /** Answers already held back by an `after` latency (wire mode). */
  private readonly delayed = new Set<Id>()
  private initializeId: Id | undefined
  private closed = false
  /** Something happened on this connection that a later run must not inherit (see {@link reusable}). */
  private dirty = false

  constructor(
    private readonly inner: Transport,
    private hooks: ServerHooks,
    private readonly decisions: Map<Id, CallDecision>,
    private readonly startDelayMs: number = 0,
    private readonly refused: string | undefined = undefined,
    private readonly options: { readonly wire?: boolean | undefined } = {}
  ) {
    inner.onmessage = (message, extra) => this.receive(message, extra)
    inner.onclose = () => {
      this.hooks.touch()
      this.closed = true
      for (const [, p] of this.pending) this.hooks.callEnded(p.tool, p.decision.call, "closed")
      this.pending.clear()
      this.onclose?.()
    }
    inner.onerror = (error) => this.onerror?.(error)
  }

  /**
   * Whether another run may take this connection over (`ConnectionPool.ts`): it is open, nothing
   * is in flight, and no fault, latency, cancellation or `tools/list` touched it (the server may
   * still be working on something, or the client caches what it listed).
   */
  reusable(): boolean {
    return !this.closed && !this.dirty && this.pending.size === 0 && this.delayed.size === 0 && this.decisions.size === 0 &&
      this.initializeId === undefined
  }

  /** Hands the connection to another run's hooks (only when {@link reusable}). */
  rebind(hooks: ServerHooks): void {
    this.hooks = hooks
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId
  }

  start(): Promise<void> {
    if (this.refused !== undefined) return Promise.reject(new Error(this.refused))
    return this.inner.start()
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version)
  }

  private drop(): void {
    if (!this.closed) void this.inner.close().catch(() => {})
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    this.hooks.touch()
    const m = fields(message)
    if (m.method === "tools/call" && m.id !== undefined) {
      const tool = String(m.params?.name ?? "")
      const decision = this.hooks.decide(tool, m.params?.arguments, siteOf(m.params?._meta))
      if (decision.handler !== undefined || decision.transport !== undefined || decision.latencyBeforeMs > 0 || decision.latencyAfterMs > 0) {
        this.dirty = true
      }
      this.pending.set(m.id, { tool, decision })
      this.hooks.callStarted(tool)
      const t = decision.transport
      if (t?._tag === "Down" || t?._tag === "ConnectionDrop") {
        this.drop()
        return
      }
      if (t?._tag === "Crash" && t.phase === "before") {
        // The process dies as it sends: the request never leaves, and the connection dies with it.
        this.pending.delete(m.id)
        this.hooks.callEnded(tool, decision.call, "closed")
        this.hooks.crash()
        return
      }
      if (this.options.wire === true && decision.latencyBeforeMs > 0) await this.hooks.env.sleep(decision.latencyBeforeMs)
      if (t?._tag === "CorruptMessage" && t.direction === "request") return
      if (decision.handler !== undefined || decision.latencyBeforeMs > 0 || decision.latencyAfterMs > 0) {
        this.decisions.set(m.id, decision)
      }
      await this.inner.send(message, options)
      if (t?._tag === "DuplicateMessage" && t.direction === "request") await this.inner.send(message, options)
      return
    }
    if (m.method !== "initialize" && m.method !== "notifications/initialized") this.dirty = true
    if (m.method === "ping" && this.hooks.downNow() !== undefined) {
      // A down server answers no health probe either: the connection dies as for a call.
      this.drop()
      return
    }
    if (m.method === "notifications/cancelled") {
      const id = m.params?.requestId as Id | undefined
      const p = id === undefined ? undefined : this.pending.get(id)
      if (p !== undefined && id !== undefined) {
        this.pending.delete(id)
        this.hooks.callEnded(p.tool, p.decision.call, "cancelled")
      }
    } else if (m.method === "initialize" && m.id !== undefined && this.startDelayMs > 0) {
      this.initializeId = m.id
    }
    return this.inner.send(message, options)
  }

  private receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    this.hooks.touch()
    const m = fields(message)
    if (m.method === undefined && m.id !== undefined) {
      if (m.id === this.initializeId) {
        this.initializeId = undefined
        void this.hooks.env.sleep(this.startDelayMs).then(() => {
          if (!this.closed) this.onmessage?.(message, extra)
        })
        return
      }
      const p = this.pending.get(m.id)
      if (p !== undefined && this.options.wire === true && p.decision.latencyAfterMs > 0 && !this.delayed.has(m.id)) {
        this.delayed.add(m.id)
        void this.hooks.env.sleep(p.decision.latencyAfterMs).then(() => {
          if (!this.closed) this.receive(message, extra)
        })
        return
      }
      if (p !== undefined) {
        this.delayed.delete(m.id)
        this.decisions.delete(m.id)
        const t = p.decision.transport
        if (t?._tag === "Crash") {
          // The answer came back to a process that dies before reading it: the effect happened.
          this.pending.delete(m.id)
          this.hooks.callEnded(p.tool, p.decision.call, "closed")
          this.hooks.crash()
          return
        }
        if (t?._tag === "LostResponse") {
          if (t.then === "close") this.drop()
          return
        }
        if (t?._tag === "CorruptMessage" && t.direction === "response") {
          const text = JSON.stringify(message)
          this.onerror?.(new SyntaxError(`Unexpected end of JSON input (injected corruption): ${text.slice(0, text.length >> 1)}`))
          return
        }
        if (this.hooks.downNow() !== undefined) {
          this.drop()
          return
        }
        this.pending.delete(m.id)
        const r = message as { readonly error?: unknown; readonly result?: { readonly isError?: unknown } }
        this.hooks.callEnded(p.tool, p.decision.call, r.error !== undefined || r.result?.isError === true ? "refused" : "answered")
        this.onmessage?.(message, extra)
        if (t?._tag === "DuplicateMessage" && t.direction === "response") this.onmessage?.(message, extra)
        return
      }
    }
    this.onmessage?.(message, extra)
  }
}
