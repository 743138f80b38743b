/**
 * The plain-line and JSON-line forms of the run report: one pure function from what an event
 * changed (the fold's `Change`) to the lines it prints, for logs and CI (`CI=true`, pipes), and
 * the event itself as a line for `--json`.
 *
 * @example
 * ```ts
 * import { apply, emptyState } from "../../../dsl/flow/EventFold.ts"
 * import { plainLines } from "./Lines.ts"
 * const state = emptyState()
 * plainLines(apply(state, { _tag: "StepSucceeded", runId: "r", at: 0, path: "build", kind: "step", durationMs: 412, replayed: false }), { level: "normal", color: false })
 * // => ["✓ build 412ms"]
 * ```
 * @module
 */
import type { Change } from "../../../dsl/flow/EventFold.ts"
import type { FlowEvent } from "../../../dsl/flow/FlowEvents.ts"
import { faultText, formatMs, gatewayText, isNotablePolicyEvent, policyText, safeJson, waitingText } from "./Text.ts"
import { paint } from "./Style.ts"
import type { Summary } from "./Summary.ts"

/**
 * How much the report says: `quiet` only the summary, `normal` steps and notable policy events,
 * `verbose` also every policy event, tool progress and server logs.
 *
 * @example
 * ```ts
 * const level: Level = "verbose"
 * ```
 */
export type Level = "quiet" | "normal" | "verbose"

/**
 * Options of the text renderers.
 *
 * @example
 * ```ts
 * const options: TextOptions = { level: "normal", color: false }
 * ```
 */
export interface TextOptions {
  readonly level: Level
  readonly color: boolean
}

const kindLabel = (kind: string): string => (kind === "step" ? "" : ` (${kind})`)

const attemptsText = (attempts: number | undefined): string =>
  attempts !== undefined && attempts > 1 ? ` (${attempts} attempts)` : ""

/**
 * The first line of a run report: flow, run id, engine, and whether it runs on the sandbox.
 *
 * @example
 * ```ts
 * headerLine({ _tag: "FlowStarted", runId: "1a2b3c4d-…", at: 0, flow: "cicd", engine: "memory", sandbox: true }, false)
 * // => "mcpflow · cicd · run 1a2b3c4d · memory engine · sandbox: in-process fake servers, nothing real is touched"
 * ```
 */
export const headerLine = (event: FlowEvent.FlowStarted, color: boolean): string => {
  const c = paint(color)
  const where = event.sandbox === true ? c.yellow("sandbox: in-process fake servers, nothing real is touched") : "real servers"
  const resumed = event.resumed === true
    ? ` · ${c.yellow(`resumed${(event.inFlight?.length ?? 0) > 0 ? `; re-running ${event.inFlight!.join(", ")}` : ""}`)}`
    : ""
  return `${c.bold(`mcpflow · ${event.flow}`)} · run ${event.runId.slice(0, 8)} · ${event.engine} engine · ${where}${resumed}`
}

/**
 * The plain lines for what one event changed (`EventFold.apply`), at a level (none at `quiet`).
 *
 * @example
 * ```ts
 * plainLines(apply(state, { _tag: "StepSkipped", runId: "r", at: 0, path: "deploy", kind: "step", why: "condition false" }), { level: "normal", color: false })
 * // => ["↷ deploy skipped: condition false"]
 * ```
 */
export const plainLines = (change: Change, options: TextOptions): ReadonlyArray<string> => {
  if (options.level === "quiet") return []
  const verbose = options.level === "verbose"
  const c = paint(options.color)
  switch (change.what) {
    case "started":
      return [headerLine(change.event, options.color)]
    case "finished":
      return []
    case "step":
      return [stepLine(change, c)]
    case "retry":
      return [`${c.yellow("↻")} ${change.path}: attempt ${change.retry.attempt} in ${formatMs(change.retry.delayMs)} after ${change.retry.reason}`]
    case "compensation": {
      const undo = change.compensation
      return undo.status === "running"
        ? verbose ? [`${c.yellow("⟲")} ${change.path}: compensating`] : []
        : undo.status === "compensated"
        ? [`${c.yellow("⟲")} ${change.path} compensated ${c.dim(formatMs(undo.durationMs ?? 0))}`]
        : [`${c.red("✗")} ${change.path} compensation failed: ${c.red(undo.error ?? "")}`]
    }
    case "policy": {
      const event = change.event.event
      if (change.retryEcho) return [] // reported as the retry
      return verbose || isNotablePolicyEvent(event) ? [`${c.yellow("!")} ${change.path}: ${policyText(event)}`] : []
    }
    case "gateway":
      return verbose ? [`  ${change.path}: ${gatewayText(change.event.event)}`] : []
    case "published":
      return verbose
        ? [`» ${change.path === "" ? "" : `${change.path}: `}published ${change.event.topic} to ${change.event.handlers} handler(s)`]
        : []
    case "fault":
      return [`${c.yellow("ϟ")} ${change.path === "" ? "" : `${change.path}: `}${faultText(change.event)}`]
  }
}

/** The line of a step's start, end, wait or skip. */
const stepLine = (change: Extract<Change, { readonly what: "step" }>, c: ReturnType<typeof paint>): string => {
  const step = change.step
  const label = `${step.path}${kindLabel(step.kind)}`
  switch (change.status) {
    case "running":
      return `${c.cyan("▸")} ${label}${step.rerun ? c.yellow(" (re-run after crash: it was in flight when the process died)") : ""}`
    case "succeeded":
      return `${c.green("✓")} ${label} ${c.dim(formatMs(step.durationMs ?? 0))}${attemptsText(change.event.attempts)}${
        step.replayed ? c.dim(" (replayed from the journal)") : ""
      }${
        change.event.sealedWith === "-"
          ? c.yellow(" (its sensitive values are journaled redacted: set MCPFLOW_JOURNAL_KEY to make such runs resumable)")
          : ""
      }`
    case "interrupted":
      return `${c.yellow("⊘")} ${label} interrupted after ${formatMs(step.durationMs ?? 0)}`
    case "failed":
      return `${c.red("✗")} ${label} ${c.dim(formatMs(step.durationMs ?? 0))}${attemptsText(change.event.attempts)}: ${
        c.red(`${step.errorTag === undefined ? "" : `${step.errorTag}: `}${step.error ?? ""}`)
      }`
    case "waiting":
      return `${c.cyan("⏸")} ${label} ${waitingText(step.waiting ?? {}, change.event.runId)}`
    case "skipped":
      return `${c.dim("↷")} ${label} skipped: ${step.why ?? ""}`
  }
}

/**
 * The `--json` line of an event: the event itself, one JSON object, no newline inside.
 *
 * @example
 * ```ts
 * JSON.parse(jsonLine(event))._tag // => "StepStarted"
 * ```
 */
export const jsonLine = (event: FlowEvent | Summary | (Summary & { readonly output: unknown })): string => safeJson(event)
