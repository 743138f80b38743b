/**
 * A run's summary for a GitHub Actions job page: when `GITHUB_STEP_SUMMARY` names a file, each
 * run appends a short Markdown section to it (outcome, steps, retries, compensations, the failing
 * step and cause, the faults a live chaos run fired). A file that cannot be written is reported on
 * stderr and does not change the run's exit code.
 *
 * @example
 * ```ts
 * import * as GitHubSummary from "./GitHubSummary.ts"
 * yield* GitHubSummary.append(summary, process.env)
 * ```
 * @module
 */
import { appendFileSync } from "node:fs"
import { Effect } from "effect"
import type { Summary } from "./Summary.ts"
import { formatMs } from "./Text.ts"

/** Text for a Markdown table cell: pipes escaped, one line. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ")

/**
 * The Markdown section for one run.
 *
 * @example
 * ```ts
 * markdown(summary).split("\n")[0] // => "### ✅ mcpflow · cicd succeeded in 1.2s"
 * ```
 */
export const markdown = (summary: Summary): string => {
  const icon = summary.outcome === "success" ? "✅" : summary.outcome === "interrupted" ? "⏹️" : "❌"
  const verb = summary.outcome === "success" ? "succeeded in" : summary.outcome === "interrupted" ? "interrupted after" : "failed in"
  const s = summary.steps
  const rows: Array<[string, string]> = [
    ["run", summary.runId === undefined ? "—" : `\`${summary.runId}\``],
    ["servers", summary.sandbox ? "sandbox" : "real servers"],
    ["steps", `${s.succeeded} succeeded, ${s.failed} failed, ${s.skipped} skipped, ${s.interrupted} interrupted, ${s.compensated} compensated`],
    ["retries", String(summary.retries)],
    ["compensations", `${summary.compensations.ran} ran, ${summary.compensations.failed} failed`]
  ]
  if (summary.failedStep !== undefined) rows.push(["failed step", `\`${summary.failedStep}\``])
  if (summary.error !== undefined) rows.push(["cause", `${summary.errorTag === undefined ? "" : `${summary.errorTag}: `}${summary.error}`])
  if (summary.chaos !== undefined) rows.push(["chaos", `seed ${summary.chaos.seed}: ${summary.chaos.faults.length} fault(s) fired`])
  const faults = summary.chaos === undefined || summary.chaos.faults.length === 0
    ? []
    : [
      "",
      "<details><summary>faults that fired</summary>",
      "",
      ...summary.chaos.faults.slice(0, 50).map((f) =>
        `- +${f.atMs}ms \`${f.server}.${f.tool}\` (call ${f.call}) ${f.kind}${f.detail ? `: ${cell(f.detail)}` : ""}`
      ),
      "",
      "</details>"
    ]
  return [
    `### ${icon} mcpflow · ${summary.flow} ${verb} ${formatMs(summary.durationMs)}`,
    "",
    "| | |",
    "| --- | --- |",
    ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`),
    ...faults,
    "",
    ""
  ].join("\n")
}

/**
 * Appends {@link markdown} to the file `$GITHUB_STEP_SUMMARY` names; nothing when it is unset or
 * empty.
 *
 * @example
 * ```ts
 * yield* append(summary, { GITHUB_STEP_SUMMARY: "/tmp/summary.md" })
 * ```
 */
export const append = (summary: Summary, env: Readonly<Record<string, string | undefined>>): Effect.Effect<void> =>
  Effect.sync(() => {
    const file = env.GITHUB_STEP_SUMMARY
    if (file === undefined || file === "") return
    try {
      appendFileSync(file, markdown(summary))
    } catch (error) {
      process.stderr.write(`mcpflow: cannot append the run summary to $GITHUB_STEP_SUMMARY (${file}): ${String(error)}\n`)
    }
  })
