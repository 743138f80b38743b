/**
 * The deadlines of tool calls: how a call's timeouts are resolved from its call options and its
 * server's settings, and the one timer that all calls on the live clock share.
 *
 * @example
 * ```ts
 * const deadlinesOf = Deadlines.resolver("fs", { type: "stdio", command: "fs", args: [], env: {}, callTimeoutMs: 5_000 })
 * deadlinesOf(undefined).timeoutMs // => 5000
 * deadlinesOf({ timeout: "1 second" }).timeoutMs // => 1000
 * ```
 * @module
 */
import { Duration, Effect } from "effect"
import type { CallOptions } from "../../../dsl/ports/McpGateway.ts"
import type { ServerConfig } from "./ServerConfig.ts"

/** The SDK's own timer is switched off (its maximum); mcpflow's deadlines run on Effect's Clock. */
export const SDK_NO_TIMEOUT = 2_147_483_647

/** A call's timeout when neither its options nor its server set one (documented in the README). */
export const DEFAULT_CALL_TIMEOUT_MS = 60_000

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

const toMillis = (input: Duration.Input | undefined): number | undefined =>
  input === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(input))

/**
 * The deadlines of calls to server `key`: those of a call without options are resolved once,
 * those of a call with options per call.
 *
 * @example
 * ```ts
 * const deadlinesOf = resolver("fs", config.servers.fs)
 * deadlinesOf({ timeout: "2s", resetTimeoutOnProgress: true }).policy // => "the call's options"
 * ```
 */
export const resolver = (key: string, config: ServerConfig): (callOptions: CallOptions | undefined) => Deadlines => {
  const resolve = (callOptions: CallOptions): Deadlines => ({
    timeoutMs: toMillis(callOptions.timeout) ?? config.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
    maxTotalMs: toMillis(callOptions.maxTotalTimeout) ?? config.maxTotalTimeoutMs,
    resetOnProgress: callOptions.resetTimeoutOnProgress ?? false,
    policy: callOptions.timeout !== undefined ? "the call's options" : `server '${key}'`
  })
  const defaults = resolve({})
  return (callOptions) => callOptions === undefined ? defaults : resolve(callOptions)
}

/** The default (live) Clock: its `sleep` is a `setTimeout`, which a deadline can use directly. */
export const liveClock = Effect.runSync(Effect.clockWith(Effect.succeed))

/**
 * What the shared timer watches: an entry links itself into its list (`prev`/`next`, `listed`)
 * with the time it is due, and is told when that time comes (`watch(now)`), after being unlinked.
 *
 * @example
 * ```ts
 * class Call implements TimedEntry { dueAt = Infinity; listed = false; prev = undefined; next = undefined; watch(now: number) {} }
 * ```
 */
export interface TimedEntry {
  dueAt: number
  listed: boolean
  prev: TimedEntry | undefined
  next: TimedEntry | undefined
  watch(now: number): void
}

/**
 * Deadlines of calls on the live clock share one Node timer, set for the earliest deadline; a
 * call links itself into a list when it starts and unlinks itself when it settles. While no call
 * is pending the timer is unref'd (it cannot keep the process alive); a call whose deadline is
 * not earlier than the timer's only re-refs it. So a run of calls with the usual timeouts costs
 * two pointer updates per call instead of a `setTimeout` and a `clearTimeout`. When the timer
 * fires, each due entry is unlinked and told (`watch(now)`): it re-checks its own deadlines and
 * expires or adds itself again.
 *
 * @example
 * ```ts
 * liveDeadlines.add(call, liveClock.currentTimeMillisUnsafe() + 5_000)
 * liveDeadlines.remove(call) // when the call settles
 * ```
 */
export const liveDeadlines = {
  /** The pending entries, a doubly linked list through `prev`/`next`. */
  head: undefined as TimedEntry | undefined,
  timer: undefined as ReturnType<typeof setTimeout> | undefined,
  timerAt: Infinity,
  add(entry: TimedEntry, dueAt: number): void {
    const wasEmpty = this.head === undefined
    entry.dueAt = dueAt
    entry.listed = true
    entry.prev = undefined
    entry.next = this.head
    if (this.head !== undefined) this.head.prev = entry
    this.head = entry
    if (dueAt < this.timerAt) this.arm(dueAt)
    else if (wasEmpty) this.timer?.ref()
  },
  remove(entry: TimedEntry): void {
    if (!entry.listed) return
    entry.listed = false
    if (entry.prev === undefined) this.head = entry.next
    else entry.prev.next = entry.next
    if (entry.next !== undefined) entry.next.prev = entry.prev
    entry.prev = entry.next = undefined
    if (this.head === undefined) this.timer?.unref()
  },
  arm(at: number): void {
    clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(sweep, Math.min(SDK_NO_TIMEOUT, Math.max(0, at - liveClock.currentTimeMillisUnsafe())))
  },
  fire(): void {
    this.timer = undefined
    this.timerAt = Infinity
    const now = liveClock.currentTimeMillisUnsafe()
    const due: Array<TimedEntry> = []
    for (let entry = this.head; entry !== undefined; entry = entry.next) if (entry.dueAt <= now) due.push(entry)
    for (const entry of due) {
      this.remove(entry)
      entry.watch(now)
    }
    // Entries added again above may have armed the timer later than a deadline still pending.
    let next = Infinity
    for (let entry = this.head; entry !== undefined; entry = entry.next) if (entry.dueAt < next) next = entry.dueAt
    if (next < this.timerAt) this.arm(next)
  }
}
function sweep(): void {
  liveDeadlines.fire()
}
