/**
 * The plain-line and JSON-line forms of the run report: one pure function from an event to the
 * lines it prints, for logs and CI (`CI=true`, pipes) and for `--json`.
 *
 * @example
 * ```ts
 * import { plainLines } from "./Lines.ts"
 * plainLines({ _tag: "StepSucceeded", runId: "r", at: 0, path: "build", kind: "step", durationMs: 412, replayed: false }, { level: "normal", color: false })
 * // => ["✓ build 412ms"]
 * ```
 * @module
 */
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
 * The plain lines for one event at a level (none for most events at `quiet`).
 *
 * @example
 * ```ts
 * plainLines({ _tag: "StepSkipped", runId: "r", at: 0, path: "deploy", kind: "step", why: "condition false" }, { level: "normal", color: false })
 * // => ["↷ deploy skipped: condition false"]
 * ```
 */
export const plainLines = (event: FlowEvent, options: TextOptions): ReadonlyArray<string> => {
  if (options.level === "quiet") return []
  const verbose = options.level === "verbose"
  const c = paint(options.color)
  switch (event._tag) {
    case "FlowStarted":
      return [headerLine(event, options.color)]
    case "FlowFinished":
      return []
    case "StepStarted":
      return [
        `${c.cyan("▸")} ${event.path}${kindLabel(event.kind)}${
          event.rerunAfterCrash === true ? c.yellow(" (re-run after crash: it was in flight when the process died)") : ""
        }`
      ]
    case "StepSucceeded":
      return [
        `${c.green("✓")} ${event.path}${kindLabel(event.kind)} ${c.dim(formatMs(event.durationMs))}${attemptsText(event.attempts)}${
          event.replayed ? c.dim(" (replayed from the journal)") : ""
        }${
          event.sealedWith === "-"
            ? c.yellow(" (its sensitive values are journaled redacted: set MCPFLOW_JOURNAL_KEY to make such runs resumable)")
            : ""
        }`
      ]
    case "StepFailed":
      return event.interrupted
        ? [`${c.yellow("⊘")} ${event.path}${kindLabel(event.kind)} interrupted after ${formatMs(event.durationMs)}`]
        : [
          `${c.red("✗")} ${event.path}${kindLabel(event.kind)} ${c.dim(formatMs(event.durationMs))}${attemptsText(event.attempts)}: ${
            c.red(`${event.errorTag === undefined ? "" : `${event.errorTag}: `}${event.error}`)
          }`
        ]
    case "StepWaiting":
      return [`${c.cyan("⏸")} ${event.path}${kindLabel(event.kind)} ${waitingText(event, event.runId)}`]
    case "StepSkipped":
      return [`${c.dim("↷")} ${event.path}${kindLabel(event.kind)} skipped: ${event.why}`]
    case "StepRetried":
      return [`${c.yellow("↻")} ${event.path}: attempt ${event.attempt} in ${formatMs(event.delayMs)} after ${event.reason}`]
    case "CompensationStarted":
      return verbose ? [`${c.yellow("⟲")} ${event.path}: compensating`] : []
    case "Compensated":
      return [`${c.yellow("⟲")} ${event.path} compensated ${c.dim(formatMs(event.durationMs))}`]
    case "CompensationFailed":
      return [`${c.red("✗")} ${event.path} compensation failed: ${c.red(event.error)}`]
    case "Policy":
      if (event.event._tag === "RetryScheduled") return [] // reported as StepRetried
      return verbose || isNotablePolicyEvent(event.event) ? [`${c.yellow("!")} ${event.path}: ${policyText(event.event)}`] : []
    case "Gateway":
      return verbose ? [`  ${event.path}: ${gatewayText(event.event)}`] : []
    case "Published":
      return verbose ? [`» ${event.path === "" ? "" : `${event.path}: `}published ${event.topic} to ${event.handlers} handler(s)`] : []
    case "FaultFired":
      return [`${c.yellow("ϟ")} ${event.path === "" ? "" : `${event.path}: `}${faultText(event)}`]
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
