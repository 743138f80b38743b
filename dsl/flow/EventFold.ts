/**
 * The one fold of a run's {@link FlowEvent}s: the state of every step path (kind, status,
 * attempts and retries, duration, compensation, replayed or re-run, error, why it was skipped,
 * the latest progress, policy and gateway notes), the tree the paths form, the path taken and
 * the run's counters. Pure over `FlowEvents.ts`: the run report (`src/app/run`) and the chaos
 * kit's step tree both render it; `apply` also returns what each event changed (`Change`), which
 * the per-event renderers (the plain run report, the chaos trace) phrase.
 *
 * @example
 * ```ts
 * import { fold } from "./EventFold.ts"
 * const state = fold(events)
 * state.nodes.get("build")?.status // => "succeeded"
 * ```
 * @module
 */
import type { FlowEvent, StepKind } from "./FlowEvents.ts"
import { degradedText } from "./Alternatives.ts"
import { retryAroundBreaker } from "../policy/PolicyEvents.ts"

type ToolProgress = Extract<FlowEvent.Gateway["event"], { readonly _tag: "ToolProgress" }>

/**
 * Where a step stands.
 *
 * @example
 * ```ts
 * const s: StepStatus = "skipped"
 * ```
 */
export type StepStatus = "running" | "waiting" | "succeeded" | "failed" | "skipped" | "interrupted"

/**
 * The undo of a completed step.
 *
 * @example
 * ```ts
 * const c: CompensationState = { status: "compensated", durationMs: 40 }
 * ```
 */
export interface CompensationState {
  readonly status: "running" | "compensated" | "failed"
  readonly durationMs?: number | undefined
  readonly error?: string | undefined
}

/**
 * One retry the step's policy scheduled.
 *
 * @example
 * ```ts
 * const r: RetryState = { attempt: 2, delayMs: 400, reason: "Timeout" }
 * ```
 */
export interface RetryState {
  readonly attempt: number
  readonly delayMs: number
  readonly reason: string
}

/**
 * What is known of one step path: a step, or a group (parallel, branch, dag, node, saga, …).
 *
 * @example
 * ```ts
 * state.nodes.get("deploy/staging")?.children // => ["deploy/staging/apply"]
 * ```
 */
export interface StepState {
  readonly path: string
  /** The last segment of the path. */
  readonly name: string
  kind: StepKind
  status: StepStatus
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
  /** What a parked wait waits for: a signal's name, or the time a durable sleep ends. */
  waiting?: { readonly signal?: string | undefined; readonly until?: number | undefined } | undefined
  readonly retries: Array<RetryState>
  compensation: CompensationState | undefined
  /** The latest tool progress reported during the step (cleared when it ends). */
  progress: ToolProgress | undefined
  /** The last few policy and gateway events raised in the step (not its retries: see `retries`). */
  readonly notes: Array<FlowEvent.Policy | FlowEvent.Gateway>
  /** The faults a chaos harness injected into the step's tool calls, in order. */
  readonly faults: Array<FlowEvent.FaultFired>
  readonly children: Array<string>
}

/**
 * The whole run as far as its events tell: every step path's state, the tree they form, the
 * path taken and the run's counters.
 *
 * @example
 * ```ts
 * const state = emptyState()
 * apply(state, { _tag: "FlowStarted", runId: "r1", at: 0, flow: "cicd", engine: "memory" })
 * state.flow // => "cicd"
 * ```
 */
export interface RunState {
  flow: string | undefined
  runId: string | undefined
  engine: string | undefined
  sandbox: boolean
  startedAt: number | undefined
  finished: FlowEvent.FlowFinished | undefined
  /** Every node by path, in the order first seen. */
  readonly nodes: Map<string, StepState>
  /** Top-level paths, in order. */
  readonly roots: Array<string>
  /** Steps that ran or were skipped, in the order they started (the path actually taken). */
  readonly taken: Array<string>
  retries: number
  /** How many times a circuit breaker opened. */
  breakerTrips: number
  compensations: number
  compensationFailures: number
  /** Faults a chaos harness injected (`FaultFired` events). */
  faultsFired: number
  /** Capabilities served by another alternative than the preferred one, or lost (`Alternatives.serve`). */
  readonly degraded: Array<string>
  /** Policies met in the wrong order across levels (a step's retry around a call's breaker), once each. */
  readonly warnings: Array<string>
}

/**
 * A state with nothing in it yet.
 *
 * @example
 * ```ts
 * const state = emptyState()
 * ```
 */
export const emptyState = (): RunState => ({
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
  breakerTrips: 0,
  compensations: 0,
  compensationFailures: 0,
  faultsFired: 0,
  degraded: [],
  warnings: []
})

const lastSegment = (path: string): string => path.slice(path.lastIndexOf("/") + 1)

/**
 * The nearest node at or above `path` (events of a compensation, `a/compensate`, belong to `a`).
 *
 * @example
 * ```ts
 * ownerOf(state, "reserve/compensate")?.path // => "reserve"
 * ```
 */
export const ownerOf = (state: RunState, path: string): StepState | undefined => {
  let p = path
  while (p !== "") {
    const node = state.nodes.get(p)
    if (node !== undefined) return node
    const slash = p.lastIndexOf("/")
    p = slash < 0 ? "" : p.slice(0, slash)
  }
  return undefined
}

const nodeFor = (state: RunState, path: string, kind: StepKind): StepState => {
  const existing = state.nodes.get(path)
  if (existing !== undefined) return existing
  const node: StepState = {
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
    faults: [],
    children: []
  }
  state.nodes.set(path, node)
  const slash = path.lastIndexOf("/")
  const parent = slash < 0 ? undefined : ownerOf(state, path.slice(0, slash))
  if (parent === undefined) state.roots.push(path)
  else parent.children.push(path)
  return node
}

/** Keeps the notes of a node short: the last few tell what is going on. */
const maxNotes = 5

const addNote = (node: StepState, note: FlowEvent.Policy | FlowEvent.Gateway): void => {
  node.notes.push(note)
  if (node.notes.length > maxNotes) node.notes.splice(0, node.notes.length - maxNotes)
}

/** A step's attempts: as its end event says, else one more than the retries the fold saw. */
const attemptsOf = (node: { readonly retries: ReadonlyArray<unknown> }, reported: number | undefined): number | undefined =>
  reported ?? (node.retries.length > 0 ? node.retries.length + 1 : undefined)

/**
 * A step's state as one event left it: a copy, later events do not change it.
 *
 * @example
 * ```ts
 * const s: StepSnapshot = change.step // after a StepSucceeded: s.status === "succeeded"
 * ```
 */
export type StepSnapshot = Readonly<Omit<StepState, "retries" | "notes" | "children" | "progress" | "compensation">>

interface StepChangeOf<S extends StepStatus, E extends FlowEvent> {
  readonly what: "step"
  readonly status: S
  readonly step: StepSnapshot
  readonly event: E
}

/**
 * What one event changed, as the fold saw it: the renderers that print one line per event (the
 * plain run report, the chaos trace) phrase these instead of the raw events. Every change keeps
 * the event it came from (`event`).
 *
 * @example
 * ```ts
 * const change = apply(state, event)
 * if (change.what === "step" && change.status === "failed") console.log(change.step.error)
 * ```
 */
export type Change =
  | { readonly what: "started"; readonly event: FlowEvent.FlowStarted }
  | { readonly what: "finished"; readonly event: FlowEvent.FlowFinished }
  | StepChangeOf<"running", FlowEvent.StepStarted>
  | StepChangeOf<"succeeded", FlowEvent.StepSucceeded>
  | StepChangeOf<"failed" | "interrupted", FlowEvent.StepFailed>
  | StepChangeOf<"waiting", FlowEvent.StepWaiting>
  | StepChangeOf<"skipped", FlowEvent.StepSkipped>
  | { readonly what: "retry"; readonly path: string; readonly retry: RetryState; readonly event: FlowEvent.StepRetried }
  | {
    readonly what: "compensation"
    readonly path: string
    readonly compensation: CompensationState
    readonly event: FlowEvent.CompensationStarted | FlowEvent.Compensated | FlowEvent.CompensationFailed
  }
  | {
    readonly what: "policy"
    readonly path: string
    /** A policy's retry: its `StepRetried` already tells it (`retry`). */
    readonly retryEcho: boolean
    readonly event: FlowEvent.Policy
  }
  | { readonly what: "gateway"; readonly path: string; readonly event: FlowEvent.Gateway }
  | { readonly what: "published"; readonly path: string; readonly event: FlowEvent.Published }
  | { readonly what: "fault"; readonly path: string; readonly event: FlowEvent.FaultFired }

const snapshot = ({ children: _c, compensation: _k, notes: _n, progress: _p, retries: _r, ...rest }: StepState): StepSnapshot => rest

const stepChange = <S extends StepStatus, E extends FlowEvent>(node: StepState, status: S, event: E): StepChangeOf<S, E> => {
  node.status = status
  return { what: "step", status, step: snapshot(node), event }
}

/**
 * Folds one event into the state (mutates it: a live report folds as events arrive) and returns
 * what it changed.
 *
 * @example
 * ```ts
 * apply(state, { _tag: "StepStarted", runId: "r1", at: 5, path: "build", kind: "step" }).what // => "step"
 * ```
 */
export const apply = (state: RunState, event: FlowEvent): Change => {
  switch (event._tag) {
    case "FlowStarted":
      state.flow = event.flow
      state.runId = event.runId
      state.engine = event.engine
      state.sandbox = event.sandbox === true
      state.startedAt = event.at
      return { what: "started", event }
    case "FlowFinished":
      state.finished = event
      return { what: "finished", event }
    case "StepStarted": {
      const node = nodeFor(state, event.path, event.kind)
      node.kind = event.kind
      node.startedAt = event.at
      if (event.rerunAfterCrash === true) node.rerun = true
      if (event.kind === "step") state.taken.push(event.path)
      return stepChange(node, "running", event)
    }
    case "StepSucceeded": {
      const node = nodeFor(state, event.path, event.kind)
      node.waiting = undefined
      node.durationMs = event.durationMs
      node.replayed = event.replayed
      node.attempts = attemptsOf(node, event.attempts)
      node.progress = undefined
      return stepChange(node, "succeeded", event)
    }
    case "StepFailed": {
      const node = nodeFor(state, event.path, event.kind)
      node.durationMs = event.durationMs
      node.error = event.error
      node.errorTag = event.errorTag
      node.attempts = attemptsOf(node, event.attempts)
      node.progress = undefined
      return stepChange(node, event.interrupted ? "interrupted" : "failed", event)
    }
    case "StepWaiting": {
      const node = nodeFor(state, event.path, event.kind)
      node.waiting = { signal: event.signal, until: event.until }
      return stepChange(node, "waiting", event)
    }
    case "StepSkipped": {
      const node = nodeFor(state, event.path, event.kind)
      node.why = event.why
      if (event.kind === "step" || event.kind === "node") state.taken.push(event.path)
      return stepChange(node, "skipped", event)
    }
    case "StepRetried": {
      state.retries++
      const retry = { attempt: event.attempt, delayMs: event.delayMs, reason: event.reason }
      ownerOf(state, event.path)?.retries.push(retry)
      return { what: "retry", path: event.path, retry, event }
    }
    case "CompensationStarted":
      return compensation(state, event, { status: "running" })
    case "Compensated":
      state.compensations++
      return compensation(state, event, { status: "compensated", durationMs: event.durationMs })
    case "CompensationFailed":
      state.compensationFailures++
      return compensation(state, event, { status: "failed", error: event.error })
    case "Policy": {
      const retryEcho = event.event._tag === "RetryScheduled"
      const node = ownerOf(state, event.path)
      if (node !== undefined && !retryEcho) addNote(node, event)
      if (event.event._tag === "BreakerTransition" && event.event.to === "open") state.breakerTrips++
      if (event.event._tag === "CapabilityDegraded") {
        const text = degradedText(event.event)
        if (!state.degraded.includes(text)) state.degraded.push(text)
      } else if (event.event._tag === "PolicyOrder") {
        const text = retryAroundBreaker(event.event.step, event.event.tool)
        if (!state.warnings.includes(text)) state.warnings.push(text)
      }
      return { what: "policy", path: event.path, retryEcho, event }
    }
    case "Gateway": {
      const node = ownerOf(state, event.path)
      if (node !== undefined) {
        if (event.event._tag === "ToolProgress") node.progress = event.event
        else addNote(node, event)
      }
      return { what: "gateway", path: event.path, event }
    }
    case "FaultFired": {
      state.faultsFired++
      ownerOf(state, event.path)?.faults.push(event)
      return { what: "fault", path: event.path, event }
    }
    case "Published":
      return { what: "published", path: event.path, event }
  }
}

const compensation = (
  state: RunState,
  event: FlowEvent.CompensationStarted | FlowEvent.Compensated | FlowEvent.CompensationFailed,
  undo: CompensationState
): Change => {
  const node = ownerOf(state, event.path)
  if (node !== undefined) node.compensation = undo
  return { what: "compensation", path: event.path, compensation: undo, event }
}

/**
 * What each event of a sequence changed, in order (the state they fold to is dropped).
 *
 * @example
 * ```ts
 * changes(run.events).filter((c) => c.what === "retry").length // => 2
 * ```
 */
export const changes = (events: Iterable<FlowEvent>): Array<Change> => {
  const state = emptyState()
  const out: Array<Change> = []
  for (const event of events) out.push(apply(state, event))
  return out
}

/**
 * Folds a whole event sequence.
 *
 * @example
 * ```ts
 * fold(sink.events).taken // => ["build", "test", "deploy"]
 * ```
 */
export const fold = (events: Iterable<FlowEvent>): RunState => {
  const state = emptyState()
  for (const event of events) apply(state, event)
  return state
}
