/**
 * The phrases of the run report: one short text per policy event, tool progress and gateway
 * event, durations for people, and JSON that never throws. The report's state is the fold of
 * `dsl/flow/EventFold.ts`; the renderers (`Tree.ts`, `Lines.ts`, `Summary.ts`) phrase it with
 * these.
 *
 * @example
 * ```ts
 * import { formatMs } from "./Text.ts"
 * formatMs(1840) // => "1.8s"
 * ```
 * @module
 */
import type { FlowEvent } from "../../../dsl/flow/FlowEvents.ts"
import { degradedText } from "../../../dsl/flow/Alternatives.ts"
import { retryAroundBreaker } from "../../../dsl/policy/PolicyEvents.ts"

type PolicyEvent = FlowEvent.Policy["event"]
type GatewayEvent = FlowEvent.Gateway["event"]

/**
 * One short phrase for a policy event.
 *
 * @example
 * ```ts
 * policyText({ _tag: "FallbackUsed", policy: "fallback", served: "cache", primaryFailure: "Timeout" })
 * // => "fallback used: served by cache (primary failed: Timeout)"
 * ```
 */
export const policyText = (event: PolicyEvent): string => {
  switch (event._tag) {
    case "RetryScheduled":
      return `retry ${event.attempt} in ${formatMs(event.delayMs)}: ${event.reason}`
    case "AttemptFailed":
      return `attempt ${event.attempt} failed: ${event.reason}`
    case "RetryGaveUp":
      return `gave up after ${event.attempts} attempt${event.attempts === 1 ? "" : "s"}: ${event.reason}`
    case "TimedOut":
      return `timed out after ${formatMs(event.afterMs)}`
    case "BreakerTransition":
      return `breaker ${event.key} ${event.from} → ${event.to}${event.cause === undefined ? "" : ` (${event.cause})`}`
    case "BreakerRejected":
      return event.heldBy !== undefined
        ? `breaker ${event.key} held open (${event.heldBy}): call rejected`
        : `breaker ${event.key} open: call rejected${event.retryAfterMs === undefined ? "" : ` (retry after ${formatMs(event.retryAfterMs)})`}`
    case "BreakerHeld":
      return event.held ? `breaker ${event.key} held open (${event.why})` : `breaker ${event.key} released (${event.why} over), ${event.state}`
    case "BulkheadQueued":
      return `bulkhead ${event.pool}: queued (${event.inFlight} in flight, ${event.queued} queued)`
    case "BulkheadRejected":
      return `bulkhead ${event.pool} rejected the call (${event.why})`
    case "RateLimited":
      return event.rejected
        ? `rate limit ${event.key}: rejected`
        : `rate limit ${event.key}: delayed ${formatMs(event.delayMs)}`
    case "HedgeStarted":
      return `hedge ${event.hedge} started after ${formatMs(event.afterMs)}`
    case "FallbackUsed":
      return `fallback used: served by ${event.served} (primary failed: ${event.primaryFailure})`
    case "CacheHit":
      return `cache hit`
    case "CacheMiss":
      return `cache miss`
    case "CapabilityDegraded":
      return degradedText(event)
    case "PolicyOrder":
      return `warning: ${retryAroundBreaker(event.step, event.tool)}`
  }
}

/**
 * Whether a policy event is shown at the normal level (the rest only at verbose): the events
 * that change what a run does — a breaker opening, a fallback, a rejection, giving up.
 *
 * @example
 * ```ts
 * isNotablePolicyEvent({ _tag: "CacheHit", policy: "cache", key: "k" }) // => false
 * ```
 */
export const isNotablePolicyEvent = (event: PolicyEvent): boolean => {
  switch (event._tag) {
    case "BreakerTransition":
    case "BreakerRejected":
    case "BreakerHeld":
    case "BulkheadRejected":
    case "FallbackUsed":
    case "CapabilityDegraded":
    case "PolicyOrder":
    case "RetryGaveUp":
    case "TimedOut":
      return true
    case "RateLimited":
      return event.rejected
    default:
      return false
  }
}

/**
 * One short phrase for tool progress.
 *
 * @example
 * ```ts
 * progressText({ _tag: "ToolProgress", server: "ml", tool: "train", progress: 2, total: 5 }) // => "ml.train 2/5"
 * ```
 */
export const progressText = (event: Extract<GatewayEvent, { readonly _tag: "ToolProgress" }>): string =>
  `${event.server}.${event.tool} ${event.progress}${event.total === undefined ? "" : `/${event.total}`}${
    event.message ? ` ${event.message}` : ""
  }`

/**
 * Which replica of a group served a call, and the ones skipped before it.
 *
 * @example
 * ```ts
 * replicaText({ _tag: "ReplicaServed", server: "search", replica: "b", tool: "query", skipped: [{ replica: "a", why: "ServerUnavailable" }] })
 * // => "search.query served by replica b (skipped a: ServerUnavailable)"
 * ```
 */
export const replicaText = (event: Extract<GatewayEvent, { readonly _tag: "ReplicaServed" }>): string =>
  `${event.server}.${event.tool} served by replica ${event.replica}${
    event.skipped.length === 0 ? "" : ` (skipped ${event.skipped.map((s) => `${s.replica}: ${s.why}`).join(", ")})`
  }`

/**
 * One short phrase for a gateway event.
 *
 * @example
 * ```ts
 * gatewayText({ _tag: "ServerLog", server: "docker", level: "info", data: "pulled" }) // => "[docker] info: pulled"
 * ```
 */
export const gatewayText = (event: GatewayEvent): string => {
  switch (event._tag) {
    case "ToolProgress":
      return `progress ${progressText(event)}`
    case "ServerLog":
      return `[${event.server}] ${event.level}: ${typeof event.data === "string" ? event.data : safeJson(event.data)}`
    case "ServerConnecting":
      return `[${event.server}] connecting (attempt ${event.attempt})`
    case "ServerConnected":
      return `[${event.server}] connected`
    case "ServerDisconnected":
      return `[${event.server}] disconnected: ${event.detail}`
    case "ReplicaServed":
      return replicaText(event)
    case "HealthChanged":
      return `[${event.server}] ${event.from} → ${event.to}${event.detail === undefined ? "" : `: ${event.detail}`}`
    case "FaultFired":
      return faultText(event)
  }
}

/**
 * A fault a chaos harness injected, in words (`mcpflow run --chaos`).
 *
 * @example
 * ```ts
 * faultText({ kind: "ToolError", server: "shop", tool: "charge", call: 2, detail: "injected" }) // => "fault ToolError on shop.charge (call 2): injected"
 * ```
 */
export const faultText = (fault: {
  readonly kind: string
  readonly server: string
  readonly tool: string
  readonly call: number
  readonly detail?: string | undefined
}): string => `fault ${fault.kind} on ${fault.server}.${fault.tool} (call ${fault.call})${fault.detail ? `: ${fault.detail}` : ""}`

/**
 * One short phrase for a note of the step state (a policy or gateway event).
 *
 * @example
 * ```ts
 * noteText({ _tag: "Policy", runId: "r", at: 0, path: "a", event: { _tag: "CacheHit", policy: "cache", key: "k" } }) // => "cache hit"
 * ```
 */
export const noteText = (note: FlowEvent.Policy | FlowEvent.Gateway): string =>
  note._tag === "Policy" ? policyText(note.event) : gatewayText(note.event)

/**
 * Whether a note is shown in the tree at the normal level (the rest only at verbose): breakers,
 * bulkheads and fallbacks.
 *
 * @example
 * ```ts
 * isTreeNote({ _tag: "Policy", runId: "r", at: 0, path: "a", event: { _tag: "CacheHit", policy: "cache", key: "k" } }) // => false
 * ```
 */
export const isTreeNote = (note: FlowEvent.Policy | FlowEvent.Gateway): boolean => {
  if (note._tag !== "Policy") return note.event._tag === "ReplicaServed" && note.event.skipped.length > 0
  switch (note.event._tag) {
    case "BreakerTransition":
    case "BreakerRejected":
    case "BreakerHeld":
    case "BulkheadQueued":
    case "BulkheadRejected":
    case "FallbackUsed":
    case "CapabilityDegraded":
    case "PolicyOrder":
      return true
    default:
      return false
  }
}

/**
 * A duration for people: `412ms`, `1.8s`, `2m 05s`.
 *
 * @example
 * ```ts
 * formatMs(1840) // => "1.8s"
 * ```
 */
export const formatMs = (ms: number): string => {
  if (ms < 1_000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.round((ms % 60_000) / 1_000)
  return `${minutes}m ${String(seconds).padStart(2, "0")}s`
}

/**
 * `JSON.stringify` that never throws (cycles, bigints) and keeps `Redacted` values redacted.
 *
 * @example
 * ```ts
 * safeJson({ n: 1n }) // => '{"n":"1"}'
 * ```
 */
export const safeJson = (value: unknown, indent?: number): string => {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), indent) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * What a parked wait waits for, in words: a signal (and how to send it) or the end of a durable
 * sleep (UTC).
 *
 * @example
 * ```ts
 * waitingText({ signal: "approval" }, "3f2a") // => 'waiting for signal "approval" (send it: mcpflow signal 3f2a approval)'
 * waitingText({ until: 0 })                   // => "sleeping until 1970-01-01 00:00:00Z"
 * ```
 */
export const waitingText = (
  waiting: { readonly signal?: string | undefined; readonly until?: number | undefined },
  runId?: string | undefined
): string =>
  waiting.signal !== undefined
    ? `waiting for signal ${JSON.stringify(waiting.signal)}${
      runId === undefined || runId === "" ? "" : ` (send it: mcpflow signal ${runId.slice(0, 8)} ${waiting.signal})`
    }`
    : waiting.until !== undefined
    ? `sleeping until ${new Date(waiting.until).toISOString().replace("T", " ").slice(0, 19)}Z`
    : "waiting"
