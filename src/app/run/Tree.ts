/**
 * The live step tree of a TTY report: one line per step or group, indented under its parent,
 * with status marks (▸ running, ✓ succeeded, ✗ failed, ↷ skipped, ⊘ interrupted, ⟲ compensated),
 * timings, attempt counts, retries inline, and compensations under the step they undo.
 *
 * @example
 * ```ts
 * import { fold } from "./Model.ts"
 * import { treeLines } from "./Tree.ts"
 * treeLines(fold(events), { now: Date.now(), color: false, level: "normal" })
 * // => ["✓ build 412ms", "▸ test 0.8s… docker.docker_run 2/5"]
 * ```
 * @module
 */
import type { Level } from "./Lines.ts"
import type { RunState, StepState } from "../../../dsl/flow/EventFold.ts"
import { faultText, formatMs, isTreeNote, noteText, progressText, waitingText } from "./Text.ts"
import { paint } from "./Style.ts"

/**
 * Options of {@link treeLines}.
 *
 * @example
 * ```ts
 * const options: TreeOptions = { now: Date.now(), color: true, level: "normal", maxLines: 30, columns: 100 }
 * ```
 */
export interface TreeOptions {
  /** The current time on the run's clock, for the elapsed time of running steps. */
  readonly now: number
  readonly color: boolean
  readonly level: Level
  /** At most this many lines: finished groups collapse first, then the oldest lines go. */
  readonly maxLines?: number | undefined
  /** Cut lines to this width (a wrapped line would break the redraw). */
  readonly columns?: number | undefined
}

const kindLabel = (kind: string): string => (kind === "step" ? "" : ` (${kind})`)

const nodeLine = (node: StepState, options: TreeOptions): string => {
  const c = paint(options.color)
  const label = `${node.name}${kindLabel(node.kind)}`
  const attempts = node.attempts !== undefined && node.attempts > 1 ? ` (${node.attempts} attempts)` : ""
  switch (node.status) {
    case "running": {
      const elapsed = node.startedAt === undefined ? "" : ` ${c.dim(`${formatMs(Math.max(0, options.now - node.startedAt))}…`)}`
      const retry = node.retries.at(-1)
      const retryText = retry === undefined
        ? ""
        : ` ${c.yellow(`↻ attempt ${retry.attempt} in ${formatMs(retry.delayMs)} after ${retry.reason}`)}`
      const progress = node.progress === undefined ? "" : ` ${c.dim(progressText(node.progress))}`
      return `${c.cyan("▸")} ${label}${elapsed}${retryText}${progress}`
    }
    case "succeeded":
      return `${c.green("✓")} ${label} ${c.dim(formatMs(node.durationMs ?? 0))}${attempts}${node.replayed ? c.dim(" (replayed)") : ""}${
        node.rerun ? c.yellow(" (re-run after crash)") : ""
      }`
    case "failed":
      return `${c.red("✗")} ${label} ${c.dim(formatMs(node.durationMs ?? 0))}${attempts}: ${
        c.red(`${node.errorTag === undefined ? "" : `${node.errorTag}: `}${node.error ?? ""}`)
      }`
    case "skipped":
      return `${c.dim(`↷ ${label} skipped: ${node.why ?? ""}`)}`
    case "waiting":
      return `${c.cyan("⏸")} ${label} ${waitingText(node.waiting ?? {})}`
    case "interrupted":
      return `${c.yellow("⊘")} ${label} interrupted ${c.dim(formatMs(node.durationMs ?? 0))}`
  }
}

const compensationLine = (node: StepState, color: boolean): string | undefined => {
  const c = paint(color)
  const comp = node.compensation
  if (comp === undefined) return undefined
  switch (comp.status) {
    case "running":
      return `${c.yellow("⟲")} compensating…`
    case "compensated":
      return `${c.yellow("⟲")} compensated ${c.dim(formatMs(comp.durationMs ?? 0))}`
    case "failed":
      return `${c.red("✗")} compensation failed: ${c.red(comp.error ?? "")}`
  }
}

const isFinished = (node: StepState): boolean => node.status !== "running"

const countLeaves = (model: RunState, node: StepState, counts: Map<string, number>): void => {
  for (const path of node.children) {
    const child = model.nodes.get(path)
    if (child === undefined) continue
    if (child.children.length === 0) counts.set(child.status, (counts.get(child.status) ?? 0) + 1)
    else countLeaves(model, child, counts)
  }
}

const collapsedText = (model: RunState, node: StepState): string => {
  const counts = new Map<string, number>()
  countLeaves(model, node, counts)
  return [...counts].map(([status, n]) => `${n} ${status}`).join(", ")
}

const render = (model: RunState, options: TreeOptions, collapse: boolean): Array<string> => {
  const lines: Array<string> = []
  const c = paint(options.color)
  const visit = (path: string, depth: number) => {
    const node = model.nodes.get(path)
    if (node === undefined) return
    const indent = "  ".repeat(depth)
    const collapsed = collapse && node.children.length > 0 && isFinished(node)
    lines.push(`${indent}${nodeLine(node, options)}${collapsed ? c.dim(` [${collapsedText(model, node)}]`) : ""}`)
    const comp = compensationLine(node, options.color)
    if (comp !== undefined) lines.push(`${indent}  ${comp}`)
    if (options.level === "verbose") for (const note of node.notes) lines.push(`${indent}  ${c.dim(`· ${noteText(note)}`)}`)
    else for (const note of node.notes.filter(isTreeNote)) lines.push(`${indent}  ${c.yellow(`! ${noteText(note)}`)}`)
    for (const fault of node.faults) lines.push(`${indent}  ${c.yellow(`ϟ ${faultText(fault)}`)}`)
    if (!collapsed) for (const child of node.children) visit(child, depth + 1)
  }
  for (const root of model.roots) visit(root, 0)
  return lines
}

/** Visible width of a string, ignoring ANSI sequences. */
const cut = (line: string, columns: number): string => {
  let visible = 0
  let out = ""
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!
    if (ch === "\x1b") {
      const end = line.slice(i).search(/[A-Za-z]/)
      if (end >= 0) {
        out += line.slice(i, i + end + 1)
        i += end
        continue
      }
    }
    if (visible >= columns - 1) {
      return `${out}…\x1b[0m`
    }
    out += ch
    visible++
  }
  return out
}

/**
 * The tree's lines for the current model: every node in the order it started, children
 * indented; groups that finished collapse (with counts) when the tree would not fit `maxLines`.
 *
 * @example
 * ```ts
 * treeLines(model, { now: 1_000, color: false, level: "normal" })
 * // => ["✓ reserve 20ms", "  ⟲ compensated 5ms", "✗ charge 30ms: PaymentError: card declined"]
 * ```
 */
export const treeLines = (model: RunState, options: TreeOptions): ReadonlyArray<string> => {
  const max = options.maxLines ?? Infinity
  let lines = render(model, options, false)
  if (lines.length > max) lines = render(model, options, true)
  if (lines.length > max) {
    const keep = max - 1
    lines = keep < 1
      ? lines.slice(lines.length - Math.max(1, max))
      : [paint(options.color).dim(`… ${lines.length - keep} earlier lines`), ...lines.slice(lines.length - keep)]
  }
  const columns = options.columns
  return columns === undefined ? lines : lines.map((line) => cut(line, columns))
}
