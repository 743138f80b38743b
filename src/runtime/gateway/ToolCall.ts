/**
 * One `tools/call` on an open connection, with mcpflow's deadlines: a timeout without an
 * answer (optionally restarted by progress) and an overall maximum, both on Effect's Clock so
 * `TestClock` drives them. Whichever of the answer and the deadline comes first wins; the
 * other is cancelled, and an expired or interrupted call is cancelled on the server
 * (AbortSignal → `notifications/cancelled`).
 *
 * This is the hot path of every tool call: one object per call, no generator, no forked race,
 * no timer of its own on the live clock (the shared timer of `Deadlines`), and no progress token
 * when nobody listens for progress.
 *
 * @module
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js"
import { Clock, Context, Duration, Effect, Fiber } from "effect"
import { type McpflowToolError, Timeout, toolError, type ToolErrorReason } from "../../../dsl/ToolError.ts"
import { type GatewayEvent, GatewayEvents } from "../../../dsl/ports/McpGateway.ts"
import { callToolResultSchema } from "./CallToolResultCheck.ts"
import { type Deadlines, liveClock, liveDeadlines, SDK_NO_TIMEOUT, type TimedEntry } from "./Deadlines.ts"
import { errorResultReason, normalizeResult, thrownReason } from "./SdkErrors.ts"

/**
 * The `GatewayEvents` sink of a fiber that was given none (the reference's default). A call made
 * without a sink and without `resetTimeoutOnProgress` asks for no progress notifications: nobody
 * would see them, and the progress token costs the client and the server work on every call.
 */
const noSink = Context.get(Context.empty(), GatewayEvents)

/**
 * One call in flight. It is also the call's abort signal for the SDK: the SDK's request reads
 * `aborted`/`reason`, calls `throwIfAborted()` and adds one `abort` listener (which sends
 * `notifications/cancelled` and rejects the request). A real `AbortController` per call (an
 * `EventTarget`, its listener list and an `AbortSignal`) costs more than the rest of this object;
 * {@link PendingCall.abort} behaves like `AbortController.abort()` for those uses (the same
 * `AbortError` reason), and {@link PendingCall.signal} hands the SDK this object as the signal.
 */
class PendingCall implements TimedEntry {
  settled = false
  /** `AbortSignal.aborted`: set by {@link abort}. */
  aborted = false
  /** `AbortSignal.reason`: the `AbortError` of {@link abort}. */
  reason: unknown = undefined
  /** `AbortSignal.onabort` (never set by the SDK; kept so the shape is a signal's). */
  onabort: ((event: Event) => void) | null = null
  /** The `abort` listeners the SDK added (one per request). */
  private listeners: Array<(event: Event) => void> | undefined = undefined
  readonly startedAt: number
  lastProgressAt: number
  /** When the shared live timer should look at this call again, and its place in the list. */
  dueAt = Infinity
  listed = false
  prev: TimedEntry | undefined = undefined
  next: TimedEntry | undefined = undefined
  timerFiber: { readonly interruptUnsafe: () => void } | undefined

  constructor(
    readonly server: string,
    readonly tool: string,
    readonly label: string | undefined,
    readonly deadlines: Deadlines,
    readonly clock: Clock.Clock,
    readonly emit: (event: GatewayEvent) => void,
    readonly resume: (effect: Effect.Effect<any, McpflowToolError>) => void,
    readonly decode: ((result: CallToolResult) => Effect.Effect<any, McpflowToolError>) | undefined,
    readonly onConnectionLost: (() => void) | undefined
  ) {
    this.startedAt = this.lastProgressAt = clock.currentTimeMillisUnsafe()
  }

  /** The reason the call expired, or how long until the next check. */
  check(now: number): ToolErrorReason | number {
    const { maxTotalMs, resetOnProgress, timeoutMs, policy } = this.deadlines
    const total = now - this.startedAt
    if (maxTotalMs !== undefined && total >= maxTotalMs) {
      return new Timeout({ server: this.server, tool: this.tool, phase: "total", afterMs: maxTotalMs, policy })
    }
    const idle = now - (resetOnProgress ? this.lastProgressAt : this.startedAt)
    if (idle >= timeoutMs) return new Timeout({ server: this.server, tool: this.tool, phase: "call", afterMs: timeoutMs, policy })
    return Math.min(timeoutMs - idle, maxTotalMs === undefined ? Infinity : maxTotalMs - total)
  }

  /** Watches the deadline: the shared timer on the live clock, a small fiber on any other clock. */
  watch(now: number): void {
    if (this.settled) return
    if (this.clock === liveClock) {
      const next = this.check(now)
      if (typeof next === "number") liveDeadlines.add(this, now + next)
      else this.expire(next)
      return
    }
    const loop = (): Effect.Effect<ToolErrorReason> => {
      const next = this.check(this.clock.currentTimeMillisUnsafe())
      return typeof next === "number" ? Effect.flatMap(this.clock.sleep(Duration.millis(next)), loop) : Effect.succeed(next)
    }
    const fiber = Effect.runFork(Effect.suspend(loop))
    fiber.addObserver((exit) => {
      if (exit._tag === "Success") this.expire(exit.value)
    })
    this.timerFiber = fiber
  }

  stopWatching(): void {
    if (this.timerFiber === undefined) liveDeadlines.remove(this)
    else this.timerFiber.interruptUnsafe()
  }

  /** This call as the `AbortSignal` the SDK's request is given. */
  get signal(): AbortSignal {
    return this as unknown as AbortSignal
  }

  /** `AbortSignal.throwIfAborted()`. */
  throwIfAborted(): void {
    if (this.aborted) throw this.reason
  }

  /** `AbortSignal.addEventListener("abort", listener)`. */
  addEventListener(type: string, listener: ((event: Event) => void) | { handleEvent(event: Event): void } | null): void {
    if (type !== "abort" || listener === null || this.aborted) return
    const fn = typeof listener === "function" ? listener : (event: Event) => listener.handleEvent(event)
    // A one-element array for the SDK's one listener (`[].push` would reserve room for 17).
    if (this.listeners === undefined) this.listeners = [fn]
    else this.listeners.push(fn)
  }

  /** `AbortSignal.removeEventListener("abort", listener)`. */
  removeEventListener(type: string, listener: ((event: Event) => void) | null): void {
    if (type !== "abort" || this.listeners === undefined) return
    const at = this.listeners.indexOf(listener as (event: Event) => void)
    if (at !== -1) this.listeners.splice(at, 1)
  }

  /** `AbortController.abort()`: marks the signal aborted and runs its listeners once. */
  abort(): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = new DOMException("This operation was aborted", "AbortError")
    const listeners = this.listeners
    this.listeners = undefined
    if (listeners === undefined && this.onabort === null) return
    const event = new Event("abort")
    this.onabort?.(event)
    if (listeners !== undefined) for (const listener of listeners) listener(event)
  }

  expire(reason: ToolErrorReason): void {
    if (this.settled) return
    this.abort()
    this.fail(reason)
  }

  fail(reason: ToolErrorReason): void {
    if (this.settled) return
    if (reason._tag === "ConnectionLost") this.onConnectionLost?.()
    this.settle(Effect.fail(toolError(reason)))
  }

  settle(effect: Effect.Effect<unknown, McpflowToolError>): void {
    if (this.settled) return
    this.settled = true
    this.stopWatching()
    // The request is over (answered, failed or aborted): the SDK's abort listener has no use.
    this.listeners = undefined
    this.resume(effect)
  }

  /** The SDK's `onprogress` handler (made here, not inline, so no per-call name is attached). */
  progressHandler(): (p: Progress) => void {
    return (p) => this.onProgress(p)
  }

  onProgress(p: Progress): void {
    this.lastProgressAt = this.clock.currentTimeMillisUnsafe()
    this.emit({
      _tag: "ToolProgress",
      server: this.server,
      tool: this.tool,
      label: this.label,
      progress: p.progress,
      total: p.total,
      message: p.message
    })
  }

  onAnswer(raw: Parameters<typeof normalizeResult>[0]): void {
    if (this.settled) return
    const result = normalizeResult(raw)
    if (result.isError) this.fail(errorResultReason(this.server, this.tool, result))
    else if (this.decode === undefined) this.settle(Effect.succeed(result))
    else {
      let decoded: Effect.Effect<unknown, McpflowToolError>
      try {
        decoded = this.decode(result)
      } catch (defect) {
        decoded = Effect.die(defect)
      }
      this.settle(decoded)
    }
  }

  onThrow(error: unknown): void {
    if (this.settled) return
    this.fail(thrownReason(this.server, this.tool, error))
  }

  cancel(): void {
    this.settled = true
    this.stopWatching()
    this.abort()
  }
}

/**
 * Starts one call from inside an `Effect.callback` registration: `resume` is the callback's,
 * and the returned Effect (to be returned by the registration) cancels the call when the fiber
 * is interrupted. The caller's `GatewayEvents` and `Clock` are read from the running fiber.
 *
 * @example
 * ```ts
 * Effect.callback((resume) => beginCall(client, "fs", "read", {}, undefined, deadlines, Effect.succeed, undefined, resume))
 * ```
 */
export const beginCall = <A>(
  client: Client,
  server: string,
  tool: string,
  args: Readonly<Record<string, unknown>>,
  label: string | undefined,
  deadlines: Deadlines,
  decode: ((result: CallToolResult) => Effect.Effect<A, McpflowToolError>) | undefined,
  onConnectionLost: (() => void) | undefined,
  resume: (effect: Effect.Effect<A, McpflowToolError>) => void,
  meta?: Readonly<Record<string, unknown>> | undefined,
  // A registration runs on its fiber, so this is the caller's fiber (no `withFiber` needed).
  fiber: Fiber.Fiber<unknown, unknown> | undefined = Fiber.getCurrent()
): Effect.Effect<void> => {
  const sink = fiber === undefined ? noSink : fiber.getRef(GatewayEvents)
  const clock = fiber === undefined ? liveClock : fiber.getRef(Clock.Clock)
  const call = new PendingCall(server, tool, label, deadlines, clock, sink.emit, resume, decode, onConnectionLost)
  call.watch(call.startedAt)
  const params = meta === undefined
    ? { name: tool, arguments: args as Record<string, unknown> }
    : { name: tool, arguments: args as Record<string, unknown>, _meta: meta as Record<string, unknown> }
  client.callTool(params, callToolResultSchema, {
    signal: call.signal,
    timeout: SDK_NO_TIMEOUT,
    onprogress: sink === noSink && !deadlines.resetOnProgress ? undefined : call.progressHandler()
  }).then((result) => call.onAnswer(result), (error) => call.onThrow(error))
  return Effect.sync(() => call.cancel())
}

/**
 * Calls one tool on a connected client. An `isError` answer fails with its reason (usually
 * `ToolFailed`); progress notifications are emitted to the caller's `GatewayEvents`.
 *
 * `decode`, when given, turns a successful result into the call's value (the contract's
 * decoder), in the same step as the answer; `onConnectionLost` runs before a `ConnectionLost`
 * failure is delivered (the gateway forgets the connection).
 *
 * @example
 * ```ts
 * callTool(client, "fs", "read_text_file", { path: "a.txt" }, undefined, { timeoutMs: 5000, maxTotalMs: undefined, resetOnProgress: false, policy: "test" })
 * ```
 */
export const callTool: {
  (
    client: Client,
    server: string,
    tool: string,
    args: Readonly<Record<string, unknown>>,
    label: string | undefined,
    deadlines: Deadlines
  ): Effect.Effect<CallToolResult, McpflowToolError>
  <A>(
    client: Client,
    server: string,
    tool: string,
    args: Readonly<Record<string, unknown>>,
    label: string | undefined,
    deadlines: Deadlines,
    decode: (result: CallToolResult) => Effect.Effect<A, McpflowToolError>,
    onConnectionLost?: () => void,
    meta?: Readonly<Record<string, unknown>>
  ): Effect.Effect<A, McpflowToolError>
} = (
  client: Client,
  server: string,
  tool: string,
  args: Readonly<Record<string, unknown>>,
  label: string | undefined,
  deadlines: Deadlines,
  decode?: (result: CallToolResult) => Effect.Effect<unknown, McpflowToolError>,
  onConnectionLost?: () => void,
  meta?: Readonly<Record<string, unknown>>
): Effect.Effect<any, McpflowToolError> =>
  Effect.callback<unknown, McpflowToolError>((resume) =>
    beginCall(client, server, tool, args, label, deadlines, decode, onConnectionLost, resume, meta)
  )
