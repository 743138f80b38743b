/**
 * The run report's model: a step tree folded from a run's {@link FlowEvent}s. Pure data; the
 * renderers (`Tree.ts`, `Lines.ts`, `Summary.ts`) read it, the terminal writer feeds it.
 *
 * @example
 * ```ts
 * import { fold } from "./Model.ts"
 * const model = fold(events)
 * model.nodes.get("build")?.status // => "succeeded"
 * ```
 * @module
 */
import type { FlowEvent, StepKind } from "../../../dsl/flow/FlowEvents.ts"

/**
 * Where a node of the tree stands.
 *
 * @example
 * ```ts
 * const s: NodeStatus = "skipped"
 * ```
 */
export type NodeStatus = "running" | "succeeded" | "failed" | "skipped" | "interrupted"

/**
 * The undo of a completed step, shown under the step it undoes.
 *
 * @example
 * ```ts
 * const c: CompensationView = { status: "compensated", durationMs: 40 }
 * ```
 */
export interface CompensationView {
  readonly status: "running" | "compensated" | "failed"
  readonly durationMs?: number | undefined
  readonly error?: string | undefined
}

/**
 * One retry the step's policy scheduled.
 *
 * @example
 * ```ts
 * const r: RetryView = { attempt: 2, delayMs: 400, reason: "Timeout" }
 * ```
 */
export interface RetryView {
  readonly attempt: number
  readonly delayMs: number
  readonly reason: string
}

/**
 * One node of the step tree (a step, or a group: parallel, branch, dag, node, saga, …).
 *
 * @example
 * ```ts
 * model.nodes.get("deploy/staging")?.children // => ["deploy/staging/apply"]
 * ```
 */
export interface NodeView {
  readonly path: string
  /** The last segment of the path. */
  readonly name: string
  kind: StepKind
  status: NodeStatus
  startedAt: number | undefined
  durationMs: number | undefined
  attempts: number | undefined
  replayed: boolean
  /** It was in flight when a crash stopped the run; the resume runs it again. */
  rerun: boolean
  error: string | undefined
  errorTag: string | undefined
  /** Why a skipped node did not run. */
  why: string | undefined
  readonly retries: Array<RetryView>
  compensation: CompensationView | undefined
  /** The latest tool progress reported during the step. */
  progress: string | undefined
  /** Policy and gateway notes (shown at verbose). */
  readonly notes: Array<string>
  readonly children: Array<string>
}

/**
 * The whole run as far as the events tell.
 *
 * @example
 * ```ts
 * const model = emptyModel()
 * apply(model, { _tag: "FlowStarted", runId: "r1", at: 0, flow: "cicd", engine: "memory" })
 * model.flow // => "cicd"
 * ```
 */
export interface RunModel {
  flow: string | undefined
  runId: string | undefined
  engine: string | undefined
  sandbox: boolean
  startedAt: number | undefined
  finished: FlowEvent.FlowFinished | undefined
  /** Every node by path, in the order first seen. */
  readonly nodes: Map<string, NodeView>
  /** Top-level paths, in order. */
  readonly roots: Array<string>
  /** Steps that ran or were skipped, in the order they started (the path actually taken). */
  readonly taken: Array<string>
  retries: number
  compensations: number
  compensationFailures: number
}

/**
 * A model with nothing in it yet.
 *
 * @example
 * ```ts
 * const model = emptyModel()
 * ```
 */
export const emptyModel = (): RunModel => ({
  flow: undefined,
  runId: undefined,
  engine: undefined,
  sandbox: false,
  startedAt: undefined,
  finished: undefined,
  nodes: new Map(),
  roots: [],
  taken: [],
  retries: 0,
  compensations: 0,
  compensationFailures: 0
})

const lastSegment = (path: string): string => path.slice(path.lastIndexOf("/") + 1)

/**
 * The nearest node at or above `path` (events of a compensation, `a/compensate`, belong to `a`).
 *
 * @example
 * ```ts
 * ownerOf(model, "reserve/compensate")?.path // => "reserve"
 * ```
 */
export const ownerOf = (model: RunModel, path: string): NodeView | undefined => {
  let p = path
  while (p !== "") {
    const node = model.nodes.get(p)
    if (node !== undefined) return node
    const slash = p.lastIndexOf("/")
    p = slash < 0 ? "" : p.slice(0, slash)
  }
  return undefined
}

const nodeFor = (model: RunModel, path: string, kind: StepKind): NodeView => {
  const existing = model.nodes.get(path)
  if (existing !== undefined) return existing
  const node: NodeView = {
    path,
    name: lastSegment(path),
    kind,
    status: "running",
    startedAt: undefined,
    durationMs: undefined,
    attempts: undefined,
    replayed: false,
    rerun: false,
    error: undefined,
    errorTag: undefined,
    why: undefined,
    retries: [],
    compensation: undefined,
    progress: undefined,
    notes: [],
    children: []
  }
  model.nodes.set(path, node)
  const slash = path.lastIndexOf("/")
  const parent = slash < 0 ? undefined : ownerOf(model, path.slice(0, slash))
  if (parent === undefined) model.roots.push(path)
  else parent.children.push(path)
  return node
}

/** Keeps the notes of a node short: the last few tell what is going on. */
const maxNotes = 5

const addNote = (node: NodeView, note: string): void => {
  node.notes.push(note)
  if (node.notes.length > maxNotes) node.notes.splice(0, node.notes.length - maxNotes)
}

/**
 * Folds one event into the model (mutates it; the model is the renderers' input).
 *
 * @example
 * ```ts
 * apply(model, { _tag: "StepStarted", runId: "r1", at: 5, path: "build", kind: "step" })
 * ```
 */
export const apply = (model: RunModel, event: FlowEvent): void => {
  switch (event._tag) {
    case "FlowStarted":
      model.flow = event.flow
      model.runId = event.runId
      model.engine = event.engine
      model.sandbox = event.sandbox === true
      model.startedAt = event.at
      return
    case "FlowFinished":
      model.finished = event
      return
    case "StepStarted": {
      const node = nodeFor(model, event.path, event.kind)
      node.kind = event.kind
      node.status = "running"
      node.startedAt = event.at
      if (event.rerunAfterCrash === true) node.rerun = true
      if (event.kind === "step") model.taken.push(event.path)
      return
    }
    case "StepSucceeded": {
      const node = nodeFor(model, event.path, event.kind)
      node.status = "succeeded"
      node.durationMs = event.durationMs
      node.replayed = event.replayed
      node.attempts = event.attempts ?? (node.retries.length > 0 ? node.retries.length + 1 : undefined)
      node.progress = undefined
      return
    }
    case "StepFailed": {
      const node = nodeFor(model, event.path, event.kind)
      node.status = event.interrupted ? "interrupted" : "failed"
      node.durationMs = event.durationMs
      node.error = event.error
      node.errorTag = event.errorTag
      node.attempts = event.attempts ?? (node.retries.length > 0 ? node.retries.length + 1 : undefined)
      node.progress = undefined
      return
    }
    case "StepSkipped": {
      const node = nodeFor(model, event.path, event.kind)
      node.status = "skipped"
      node.why = event.why
      if (event.kind === "step" || event.kind === "node") model.taken.push(event.path)
      return
    }
    case "StepRetried": {
      model.retries++
      const node = ownerOf(model, event.path)
      node?.retries.push({ attempt: event.attempt, delayMs: event.delayMs, reason: event.reason })
      return
    }
    case "CompensationStarted": {
      const node = ownerOf(model, event.path)
      if (node !== undefined) node.compensation = { status: "running" }
      return
    }
    case "Compensated": {
      model.compensations++
      const node = ownerOf(model, event.path)
      if (node !== undefined) node.compensation = { status: "compensated", durationMs: event.durationMs }
      return
    }
    case "CompensationFailed": {
      model.compensationFailures++
      const node = ownerOf(model, event.path)
      if (node !== undefined) node.compensation = { status: "failed", error: event.error }
      return
    }
    case "Policy": {
      const node = ownerOf(model, event.path)
      if (node !== undefined && event.event._tag !== "RetryScheduled") addNote(node, policyText(event.event))
      return
    }
    case "Gateway": {
      const node = ownerOf(model, event.path)
      if (node === undefined) return
      if (event.event._tag === "ToolProgress") node.progress = progressText(event.event)
      else addNote(node, gatewayText(event.event))
      return
    }
    case "Published":
      return
  }
}

/**
 * Folds a whole event sequence.
 *
 * @example
 * ```ts
 * fold(sink.events).taken // => ["build", "test", "deploy"]
 * ```
 */
export const fold = (events: Iterable<FlowEvent>): RunModel => {
  const model = emptyModel()
  for (const event of events) apply(model, event)
  return model
}

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
      return `breaker ${event.key} ${event.from} → ${event.to}`
    case "BreakerRejected":
      return `breaker ${event.key} open: call rejected${event.retryAfterMs === undefined ? "" : ` (retry after ${formatMs(event.retryAfterMs)})`}`
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
    case "BulkheadRejected":
    case "FallbackUsed":
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
