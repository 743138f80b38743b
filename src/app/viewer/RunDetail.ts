/**
 * One run as the run viewer (`mcpflow ui`) shows it, as plain JSON: the run (status, redacted
 * input), its steps as a tree (from the one fold of the events, `dsl/flow/EventFold.ts`: status,
 * duration, attempts, retries, compensation, replayed / re-run after a crash, error, what a
 * parked wait waits for) and its timeline (one entry per journaled event worth seeing, with
 * its offset from the start of the run).
 *
 * @example
 * ```ts
 * import { runDetail } from "./RunDetail.ts"
 * const detail = runDetail(record, events, RunStatus.localLiveness())
 * detail.steps[0]?.path // => "order"
 * ```
 * @module
 */
import { type Change, changes, fold, type StepState } from "../../../dsl/flow/EventFold.ts"
import type { FlowEvent } from "../../../dsl/flow/FlowEvents.ts"
import type { RunRecord } from "../../../dsl/ports/RunJournal.ts"
import { type RunView, runView } from "../run/RunQuery.ts"
import type * as RunStatus from "../run/RunStatus.ts"
import { faultText, formatMs, gatewayText, isNotablePolicyEvent, noteText, policyText } from "../run/Text.ts"

/**
 * A step of the tree, depth-first in the order the steps were first seen.
 *
 * @example
 * ```ts
 * const s: StepView = { path: "order/charge", name: "charge", depth: 1, kind: "step", status: "failed", startMs: 12, durationMs: 40, attempts: 3, retries: [], replayed: false, rerun: false, error: "card declined", compensation: undefined, waiting: undefined, why: undefined, notes: [], faults: [] }
 * ```
 */
export interface StepView {
  readonly path: string
  readonly name: string
  readonly depth: number
  readonly kind: string
  readonly status: StepState["status"]
  /** When it started, in ms from the start of the run. */
  readonly startMs: number | undefined
  readonly durationMs: number | undefined
  readonly attempts: number | undefined
  readonly retries: StepState["retries"]
  readonly replayed: boolean
  readonly rerun: boolean
  readonly error: string | undefined
  readonly compensation: StepState["compensation"]
  readonly waiting: StepState["waiting"]
  readonly why: string | undefined
  /** The step's last policy and gateway notes, phrased. */
  readonly notes: ReadonlyArray<string>
  /** The faults a chaos harness injected into its tool calls (`mcpflow run --chaos`), phrased. */
  readonly faults: ReadonlyArray<string>
}

/**
 * What a timeline entry records.
 *
 * @example
 * ```ts
 * const k: TimelineKind = "compensated"
 * ```
 */
export type TimelineKind =
  | "flow"
  | "started"
  | "succeeded"
  | "replayed"
  | "failed"
  | "skipped"
  | "waiting"
  | "retry"
  | "compensating"
  | "compensated"
  | "compensation-failed"
  | "policy"
  | "gateway"
  | "published"
  | "fault"

/**
 * One entry of the timeline.
 *
 * @example
 * ```ts
 * const e: TimelineEntry = { offsetMs: 40, kind: "retry", path: "order/charge", text: "retry 2 in 100ms: Timeout" }
 * ```
 */
export interface TimelineEntry {
  /** ms from the start of the run. */
  readonly offsetMs: number
  readonly kind: TimelineKind
  readonly path: string
  readonly text: string
}

/**
 * One run for the viewer (see the module's comment).
 *
 * @example
 * ```ts
 * const d: RunDetail = { run, steps: [], timeline: [], counters: { retries: 0, compensations: 0, compensationFailures: 0, faultsFired: 0 }, live: false }
 * ```
 */
export interface RunDetail {
  readonly run: RunView
  readonly steps: ReadonlyArray<StepView>
  readonly timeline: ReadonlyArray<TimelineEntry>
  readonly counters: {
    readonly retries: number
    readonly compensations: number
    readonly compensationFailures: number
    /** Faults a chaos harness injected (`mcpflow run --chaos`). */
    readonly faultsFired: number
  }
  /** Whether the run may still change (running, sleeping or waiting): the page polls it. */
  readonly live: boolean
}

/** The phrase of one event's change for the timeline, or `undefined` for changes not worth a line. */
const entryOf = (change: Change): Omit<TimelineEntry, "offsetMs"> | undefined => {
  switch (change.what) {
    case "started": {
      const event = change.event
      return { kind: "flow", path: "", text: `${event.resumed === true ? "resumed" : "started"} ${event.flow} on the ${event.engine} engine` }
    }
    case "finished": {
      const event = change.event
      return {
        kind: "flow",
        path: event.failedStep ?? "",
        text: `finished: ${event.outcome} after ${formatMs(event.durationMs)}${event.error === undefined ? "" : `: ${event.error}`}`
      }
    }
    case "step":
      return stepEntry(change)
    case "retry":
      return { kind: "retry", path: change.path, text: `retry ${change.retry.attempt} in ${formatMs(change.retry.delayMs)}: ${change.retry.reason}` }
    case "compensation": {
      const event = change.event
      switch (event._tag) {
        case "CompensationStarted":
          return { kind: "compensating", path: change.path, text: "compensating" }
        case "Compensated":
          return {
            kind: "compensated",
            path: change.path,
            text: event.replayed === true ? "compensated (replayed)" : `compensated in ${formatMs(event.durationMs)}`
          }
        case "CompensationFailed":
          return { kind: "compensation-failed", path: change.path, text: `compensation failed: ${event.error}` }
      }
    }
    case "policy": {
      const event = change.event.event
      return event._tag === "AttemptFailed" || isNotablePolicyEvent(event) ? { kind: "policy", path: change.path, text: policyText(event) } : undefined
    }
    case "gateway": {
      const event = change.event.event
      return event._tag === "ToolProgress" || event._tag === "ServerLog" ? undefined : { kind: "gateway", path: change.path, text: gatewayText(event) }
    }
    case "published":
      return { kind: "published", path: change.path, text: `published ${change.event.topic} to ${change.event.handlers} handler(s)` }
    case "fault":
      return { kind: "fault", path: change.path, text: faultText(change.event) }
  }
}

/** The timeline phrase of a step's start, end, wait or skip. */
const stepEntry = (change: Extract<Change, { readonly what: "step" }>): Omit<TimelineEntry, "offsetMs"> | undefined => {
  const step = change.step
  switch (change.status) {
    case "running":
      return step.kind === "step" || step.rerun
        ? { kind: "started", path: step.path, text: step.rerun ? "started again (re-run after a crash)" : "started" }
        : undefined
    case "succeeded": {
      const attempts = change.event.attempts
      return step.replayed
        ? { kind: "replayed", path: step.path, text: "replayed from the journal (not run again)" }
        : {
          kind: "succeeded",
          path: step.path,
          text: `succeeded in ${formatMs(change.event.durationMs)}${attempts !== undefined && attempts > 1 ? ` after ${attempts} attempts` : ""}`
        }
    }
    case "failed":
    case "interrupted":
      return { kind: "failed", path: step.path, text: `${change.status} after ${formatMs(change.event.durationMs)}: ${change.event.error}` }
    case "skipped":
      return { kind: "skipped", path: step.path, text: `skipped: ${change.event.why}` }
    case "waiting": {
      const event = change.event
      return {
        kind: "waiting",
        path: step.path,
        text: event.signal !== undefined
          ? `waiting for signal ${JSON.stringify(event.signal)}`
          : `sleeping until ${event.until === undefined ? "?" : new Date(event.until).toISOString()}`
      }
    }
  }
}

/**
 * The timeline of a run's events: one entry per event worth seeing, with its offset from `start`.
 *
 * @example
 * ```ts
 * timeline(events, record.startedAt).map((e) => e.kind) // => ["flow", "started", "succeeded", "flow"]
 * ```
 */
export const timeline = (events: ReadonlyArray<FlowEvent>, start: number): ReadonlyArray<TimelineEntry> =>
  changes(events).flatMap((change) => {
    const entry = entryOf(change)
    return entry === undefined ? [] : [{ offsetMs: Math.max(0, change.event.at - start), ...entry }]
  })

/**
 * One run for the viewer: its view, step tree, timeline and counters.
 *
 * @example
 * ```ts
 * runDetail(record, events, RunStatus.localLiveness()).live // => false for a finished run
 * ```
 */
export const runDetail = (record: RunRecord, events: ReadonlyArray<FlowEvent>, probe: RunStatus.Liveness): RunDetail => {
  const run = runView(record, events, probe)
  const state = fold(events)
  const start = state.startedAt ?? record.startedAt
  const steps: Array<StepView> = []
  const visit = (path: string, depth: number): void => {
    const node = state.nodes.get(path)
    if (node === undefined) return
    steps.push({
      path: node.path,
      name: node.name,
      depth,
      kind: node.kind,
      status: node.status,
      startMs: node.startedAt === undefined ? undefined : node.startedAt - start,
      durationMs: node.durationMs ?? (node.status === "running" && node.startedAt !== undefined ? Math.max(0, probe.now - node.startedAt) : undefined),
      attempts: node.attempts,
      retries: node.retries,
      replayed: node.replayed,
      rerun: node.rerun,
      error: node.error,
      compensation: node.compensation,
      waiting: node.waiting,
      why: node.why,
      notes: node.notes.map(noteText),
      faults: node.faults.map(faultText)
    })
    for (const child of node.children) visit(child, depth + 1)
  }
  for (const root of state.roots) visit(root, 0)
  return {
    run,
    steps,
    timeline: timeline(events, start),
    counters: {
      retries: state.retries,
      compensations: state.compensations,
      compensationFailures: state.compensationFailures,
      faultsFired: state.faultsFired
    },
    live: run.status === "running" || run.status === "sleeping" || run.status === "waiting"
  }
}
