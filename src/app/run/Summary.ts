/**
 * The run's final summary: outcome, duration, steps by status, retries, compensations and, for
 * a failure, the failing step with its typed cause. Pure functions over the report's model.
 *
 * @example
 * ```ts
 * import { fold } from "./Model.ts"
 * import { summarize, summaryLines } from "./Summary.ts"
 *
 * summaryLines(summarize(fold(events)), { color: false })
 * // => ["✓ cicd succeeded in 1.8s (sandbox)", "  steps: 5 succeeded · retries: 0 · compensations: 0"]
 * ```
 * @module
 */
import type { RunState } from "../../../dsl/flow/EventFold.ts"
import { formatMs } from "./Text.ts"
import { paint } from "./Style.ts"

/**
 * How a run ended.
 *
 * @example
 * ```ts
 * const o: Outcome = "interrupted"
 * ```
 */
export type Outcome = "success" | "failure" | "interrupted"

/**
 * The summary of one run; also the last line of `--json` output (`_tag: "RunSummary"`).
 *
 * @example
 * ```ts
 * const s: Summary = {
 *   _tag: "RunSummary", flow: "cicd", runId: "r1", outcome: "failure", durationMs: 1200, sandbox: true,
 *   steps: { succeeded: 2, failed: 1, skipped: 0, interrupted: 0, compensated: 1 },
 *   retries: 2, compensations: { ran: 1, failed: 0 },
 *   failedStep: "test", errorTag: "McpflowToolError.ToolFailed", error: "docker.docker_run: exit 1"
 * }
 * ```
 */
export interface Summary {
  readonly _tag: "RunSummary"
  readonly flow: string
  readonly runId: string | undefined
  readonly outcome: Outcome
  readonly durationMs: number
  readonly sandbox: boolean
  /** Leaf steps (kind `step`) by final status; `compensated` counts succeeded steps later undone. */
  readonly steps: {
    readonly succeeded: number
    readonly failed: number
    readonly skipped: number
    readonly interrupted: number
    readonly compensated: number
  }
  readonly retries: number
  readonly compensations: { readonly ran: number; readonly failed: number }
  readonly failedStep?: string | undefined
  readonly errorTag?: string | undefined
  readonly error?: string | undefined
  /** Capabilities served by another alternative than the preferred one, or lost ("scan served by trivy.image instead of snyk.test", "sast lost"). */
  readonly degraded?: ReadonlyArray<string> | undefined
  /**
   * Policies that met in the wrong order across levels while the run ran: a step whose policy
   * retries around a call with a circuit breaker of its own (see `PolicyEvent` `PolicyOrder`).
   */
  readonly warnings?: ReadonlyArray<string> | undefined
  /** A live chaos run (`--chaos <seed>`): its seed and every fault that fired, in order. */
  readonly chaos?: ChaosFired | undefined
}

/**
 * The faults a live chaos run injected: `atMs` counts from the first fault; `call` is 1-based.
 *
 * @example
 * ```ts
 * const c: ChaosFired = { seed: 42, faults: [{ atMs: 0, server: "shop", tool: "charge", call: 1, kind: "ToolError", detail: "injected" }] }
 * ```
 */
export interface ChaosFired {
  readonly seed: number
  /** Faults in front of real servers (`--config`): decisions are seeded, timing is not. */
  readonly wire?: boolean | undefined
  readonly faults: ReadonlyArray<{
    readonly atMs: number
    readonly server: string
    readonly tool: string
    readonly call: number
    readonly kind: string
    /** The step whose call it hit, when known (not for connection faults). */
    readonly step?: string | undefined
    readonly detail?: string | undefined
  }>
}

/**
 * What the summary needs when the run ended before the interpreter could report it (bad input:
 * no event was emitted) — the failure as the runner saw it.
 *
 * @example
 * ```ts
 * const f: Fallback = { flow: "cicd", outcome: "failure", durationMs: 3, errorTag: "FlowError.InvalidFlowInput", error: "cicd: invalid input …" }
 * ```
 */
export interface Fallback {
  readonly flow: string
  readonly outcome: Outcome
  readonly durationMs: number
  readonly sandbox?: boolean | undefined
  readonly errorTag?: string | undefined
  readonly error?: string | undefined
}

/**
 * The summary of a run from its model; `fallback` fills in what the events did not say.
 *
 * @example
 * ```ts
 * summarize(fold(events)).outcome // => "success"
 * ```
 */
export const summarize = (model: RunState, fallback?: Fallback): Summary => {
  const steps = { succeeded: 0, failed: 0, skipped: 0, interrupted: 0, compensated: 0 }
  for (const node of model.nodes.values()) {
    if (node.kind !== "step") continue
    if (node.status === "succeeded") steps.succeeded++
    else if (node.status === "failed") steps.failed++
    else if (node.status === "skipped") steps.skipped++
    else if (node.status === "interrupted") steps.interrupted++
    if (node.compensation?.status === "compensated") steps.compensated++
  }
  const finished = model.finished
  const failedStep = finished?.failedStep
  const failedNode = failedStep === undefined ? undefined : model.nodes.get(failedStep)
  const outcome: Outcome = finished?.outcome ?? fallback?.outcome ?? "failure"
  const failure = outcome === "success"
    ? {}
    : {
      failedStep,
      // The step's own tag says more (`McpflowToolError.ToolFailed`) than the flow's squashed one.
      errorTag: failedNode?.errorTag ?? finished?.errorTag ?? fallback?.errorTag,
      error: finished?.error ?? failedNode?.error ?? fallback?.error
    }
  return {
    _tag: "RunSummary",
    flow: model.flow ?? finished?.flow ?? fallback?.flow ?? "flow",
    runId: model.runId,
    outcome,
    durationMs: finished?.durationMs ?? fallback?.durationMs ?? 0,
    sandbox: model.sandbox || fallback?.sandbox === true,
    steps,
    retries: model.retries,
    compensations: { ran: model.compensations, failed: model.compensationFailures },
    ...(model.degraded.length > 0 ? { degraded: [...model.degraded] } : {}),
    ...(model.warnings.length > 0 ? { warnings: [...model.warnings] } : {}),
    ...failure
  }
}

const plural = (n: number, one: string, many: string = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/**
 * The summary as text lines (no trailing newline).
 *
 * @example
 * ```ts
 * summaryLines(summary, { color: false })[0] // => "✗ cicd failed in 1.2s (sandbox)"
 * ```
 */
export const summaryLines = (summary: Summary, options: { readonly color: boolean }): ReadonlyArray<string> => {
  const c = paint(options.color)
  const where = summary.sandbox ? " (sandbox)" : ""
  const head = summary.outcome === "success"
    ? c.green(`✓ ${summary.flow} succeeded in ${formatMs(summary.durationMs)}${where}`)
    : summary.outcome === "interrupted"
    ? c.yellow(`⊘ ${summary.flow} interrupted after ${formatMs(summary.durationMs)}${where}`)
    : c.red(`✗ ${summary.flow} failed in ${formatMs(summary.durationMs)}${where}`)
  const s = summary.steps
  const counts = [
    `${s.succeeded} succeeded`,
    ...(s.failed > 0 ? [`${s.failed} failed`] : []),
    ...(s.skipped > 0 ? [`${s.skipped} skipped`] : []),
    ...(s.interrupted > 0 ? [`${s.interrupted} interrupted`] : []),
    ...(s.compensated > 0 ? [`${s.compensated} compensated`] : [])
  ].join(", ")
  const compensations = summary.compensations.failed > 0
    ? `compensations: ${summary.compensations.ran} ran, ${summary.compensations.failed} failed`
    : `compensations: ${summary.compensations.ran}`
  const lines = [head, `  steps: ${counts} · ${plural(summary.retries, "retry", "retries")} · ${compensations}`]
  if (summary.outcome === "failure") {
    if (summary.failedStep !== undefined) lines.push(`  failed step: ${summary.failedStep}`)
    const tag = summary.errorTag === undefined ? "" : `${summary.errorTag}: `
    if (summary.error !== undefined) lines.push(`  cause: ${c.red(`${tag}${summary.error}`)}`)
  }
  if (summary.degraded !== undefined && summary.degraded.length > 0) lines.push(c.yellow(`  degraded: ${summary.degraded.join("; ")}`))
  for (const warning of summary.warnings ?? []) lines.push(c.yellow(`  warning: ${warning}`))
  if (summary.chaos !== undefined) lines.push(...chaosLines(summary.chaos))
  return lines
}

/**
 * The lines of a live chaos run's faults (the first 30), and how to replay it.
 *
 * @example
 * ```ts
 * chaosLines({ seed: 7, faults: [] }) // => ["  chaos seed 7: 0 faults fired", "  replay this run: the same command with --chaos 7"]
 * ```
 */
export const chaosLines = (chaos: ChaosFired): ReadonlyArray<string> => {
  const n = chaos.faults.length
  return [
    `  chaos seed ${chaos.seed}: ${n} fault${n === 1 ? "" : "s"} fired${n > 30 ? " (first 30 shown)" : ""}`,
    ...chaos.faults.slice(0, 30).map((f) =>
      `    +${f.atMs}ms ${f.server}.${f.tool} (call ${f.call}${f.step ? `, step ${f.step}` : ""}) ${f.kind}${f.detail ? `: ${f.detail}` : ""}`
    ),
    chaos.wire === true
      ? `  real servers: the same --chaos ${chaos.seed} makes the same decision for the same call, but real time and real servers are not deterministic`
      : `  replay this run: the same command with --chaos ${chaos.seed}`
  ]
}

/**
 * The path actually taken (for `--dry-run`): every step that ran or was skipped, in order.
 *
 * @example
 * ```ts
 * pathTakenLines(model, { color: false })
 * // => ["path taken:", "  ✓ build", "  ✓ test", "  ↷ deploy (skipped: condition false)"]
 * ```
 */
export const pathTakenLines = (model: RunState, options: { readonly color: boolean }): ReadonlyArray<string> => {
  const c = paint(options.color)
  const lines = ["path taken:"]
  for (const path of model.taken) {
    const node = model.nodes.get(path)
    if (node === undefined) continue
    switch (node.status) {
      case "succeeded":
        lines.push(`  ${c.green("✓")} ${path}${node.compensation?.status === "compensated" ? c.dim(" (compensated)") : ""}`)
        break
      case "failed":
        lines.push(`  ${c.red("✗")} ${path}`)
        break
      case "skipped":
        lines.push(`  ${c.dim("↷")} ${path}${c.dim(` (skipped: ${node.why ?? "condition false"})`)}`)
        break
      case "interrupted":
        lines.push(`  ${c.yellow("⊘")} ${path} (interrupted)`)
        break
      case "running":
        lines.push(`  ▸ ${path}`)
    }
  }
  if (lines.length === 1) lines.push("  (no step ran)")
  return lines
}
