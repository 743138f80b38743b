/**
 * One `tools/call` on an open connection, with mcpflow's deadlines: a timeout without an
 * answer (optionally restarted by progress) and an overall maximum, both on Effect's Clock so
 * `TestClock` drives them. Whichever of the answer and the deadline comes first wins; the
 * other is cancelled, and an expired or interrupted call is cancelled on the server
 * (AbortSignal → `notifications/cancelled`).
 *
 * This is the hot path of every tool call: one object per call, no generator, no forked race.
 *
 * @module
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js"
import { Clock, Duration, Effect } from "effect"
import { type McpflowToolError, Timeout, toolError, type ToolErrorReason } from "../../dsl/ToolError.ts"
import { type GatewayEvent, GatewayEvents } from "./McpGateway.ts"
import { errorResultReason, normalizeResult, thrownReason } from "./SdkErrors.ts"

/** The SDK's own timer is switched off (its maximum); mcpflow's deadlines run on Effect's Clock. */
export const SDK_NO_TIMEOUT = 2_147_483_647

/**
 * A call's deadlines, already resolved from call options and server settings.
 *
 * @example
 * ```ts
 * const d: Deadlines = { timeoutMs: 30_000, maxTotalMs: undefined, resetOnProgress: false, policy: "server 'fs'" }
 * ```
 */
export interface Deadlines {
  readonly timeoutMs: number
  readonly maxTotalMs: number | undefined
  readonly resetOnProgress: boolean
  /** Who set the timeout, for the error message. */
  readonly policy: string
}

/** The default (live) Clock: its `sleep` is a `setTimeout`, which a deadline can use directly. */
const liveClock = Effect.runSync(Effect.clockWith(Effect.succeed))

class PendingCall {
  settled = false
  readonly controller = new AbortController()
  readonly startedAt: number
  lastProgressAt: number
  timer: ReturnType<typeof setTimeout> | undefined
  timerFiber: { readonly interruptUnsafe: () => void } | undefined

  constructor(
    readonly server: string,
    readonly tool: string,
    readonly label: string | undefined,
    readonly deadlines: Deadlines,
    readonly clock: Clock.Clock,
    readonly emit: (event: GatewayEvent) => void,
    readonly resume: (effect: Effect.Effect<CallToolResult, McpflowToolError>) => void
  ) {
    this.startedAt = this.lastProgressAt = clock.currentTimeMillisUnsafe()
  }

  /** The reason the call expired, or how long until the next check. */
  check(): ToolErrorReason | number {
    const { maxTotalMs, resetOnProgress, timeoutMs, policy } = this.deadlines
    const now = this.clock.currentTimeMillisUnsafe()
    const total = now - this.startedAt
    if (maxTotalMs !== undefined && total >= maxTotalMs) {
      return new Timeout({ server: this.server, tool: this.tool, phase: "total", afterMs: maxTotalMs, policy })
    }
    const idle = now - (resetOnProgress ? this.lastProgressAt : this.startedAt)
    if (idle >= timeoutMs) return new Timeout({ server: this.server, tool: this.tool, phase: "call", afterMs: timeoutMs, policy })
    return Math.min(timeoutMs - idle, maxTotalMs === undefined ? Infinity : maxTotalMs - total)
  }

  /** Watches the deadline: a plain timer on the live clock, a small fiber on any other clock. */
  watch(): void {
    if (this.clock === liveClock) {
      const next = this.check()
      if (typeof next === "number") this.timer = setTimeout(() => this.watch(), next)
      else this.expire(next)
      return
    }
    const loop = (): Effect.Effect<ToolErrorReason> => {
      const next = this.check()
      return typeof next === "number" ? Effect.flatMap(this.clock.sleep(Duration.millis(next)), loop) : Effect.succeed(next)
    }
    const fiber = Effect.runFork(Effect.suspend(loop))
    fiber.addObserver((exit) => {
      if (exit._tag === "Success") this.expire(exit.value)
    })
    this.timerFiber = fiber
  }

  stopWatching(): void {
    clearTimeout(this.timer)
    this.timerFiber?.interruptUnsafe()
  }

  expire(reason: ToolErrorReason): void {
    if (this.settled) return
    this.controller.abort()
    this.settle(Effect.fail(toolError(reason)))
  }

  settle(effect: Effect.Effect<CallToolResult, McpflowToolError>): void {
    if (this.settled) return
    this.settled = true
    this.stopWatching()
    this.resume(effect)
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
    const result = normalizeResult(raw)
    this.settle(
      result.isError
        ? Effect.fail(toolError(errorResultReason(this.server, this.tool, result)))
        : Effect.succeed(result)
    )
  }

  onThrow(error: unknown): void {
    this.settle(Effect.fail(toolError(thrownReason(this.server, this.tool, error))))
  }

  cancel(): void {
    this.settled = true
    this.stopWatching()
    this.controller.abort()
  }
}

/**
 * Calls one tool on a connected client. An `isError` answer fails with its reason (usually
 * `ToolFailed`); progress notifications are emitted to the caller's `GatewayEvents`.
 *
 * @example
 * ```ts
 * callTool(client, "fs", "read_text_file", { path: "a.txt" }, undefined, { timeoutMs: 5000, maxTotalMs: undefined, resetOnProgress: false, policy: "test" })
 * ```
 */
export const callTool = (
  client: Client,
  server: string,
  tool: string,
  args: Readonly<Record<string, unknown>>,
  label: string | undefined,
  deadlines: Deadlines
): Effect.Effect<CallToolResult, McpflowToolError> =>
  Effect.withFiber((fiber) => {
    const emit = fiber.getRef(GatewayEvents).emit
    const clock = fiber.getRef(Clock.Clock)
    return Effect.callback<CallToolResult, McpflowToolError>((resume) => {
      const call = new PendingCall(server, tool, label, deadlines, clock, emit, resume)
      call.watch()
      client.callTool({ name: tool, arguments: args as Record<string, unknown> }, undefined, {
        signal: call.controller.signal,
        timeout: SDK_NO_TIMEOUT,
        onprogress: (p) => call.onProgress(p)
      }).then((result) => call.onAnswer(result), (error) => call.onThrow(error))
      return Effect.sync(() => call.cancel())
    })
  })
