/**
 * Chaos results as text: an outcome in one line, one run (plan, outcome, faults that fired,
 * calls sent, violations), and a whole check report with how to replay its counterexample.
 *
 * @example
 * ```ts
 * if (!report.ok) console.log(Chaos.format(report))
 * ```
 * @module
 */
import type { Assumptions, CheckReport } from "./Check.ts"
import * as F from "./Fault.ts"
import * as Injector from "./Injector.ts"
import type { Outcome, RunResult } from "./RunSpec.ts"

/**
 * One line for an outcome.
 *
 * @example
 * ```ts
 * Chaos.fmtOutcome({ _tag: "Hang", atMs: 3_600_000 }) // => "hang at 3600000 ms"
 * ```
 */
export const fmtOutcome = (o: Outcome<unknown, unknown>): string => {
  switch (o._tag) {
    case "Success":
      return `success ${JSON.stringify(o.value) ?? ""}`
    case "Failure": {
      const e = o.error as { readonly message?: unknown }
      return `failure ${typeof e?.message === "string" ? e.message : String(o.error)}`
    }
    case "Defect":
      return `defect ${o.cause.split("\n")[0]}`
    case "Interrupted":
      return "interrupted"
    case "Hang":
      return `hang at ${o.atMs} ms`
  }
}

/**
 * One run as text: plan, outcome, faults that fired, violations.
 *
 * @example
 * ```ts
 * console.log(Chaos.formatRun(yield* Chaos.replay(spec, token)))
 * ```
 */
export const formatRun = (run: RunResult<unknown, unknown>): string =>
  [
    `plan: ${F.describePlan(run.plan)}`,
    `outcome: ${fmtOutcome(run.outcome)} (virtual ${run.durationMs} ms)`,
    `faults fired:\n${Injector.formatLog(run.log).replace(/^/gm, "  ")}`,
    `calls sent: ${run.sent.map((c) => `${c.server}.${c.tool}#${c.call}`).join(", ") || "none"}`,
    run.violations.length === 0
      ? "invariants: all held"
      : `violated:\n${run.violations.map((v) => `  ${v.invariant}: ${v.detail}`).join("\n")}`
  ].join("\n")

/**
 * What a report assumed, as lines: the tools counted as non-idempotent for want of an
 * annotation, and the built-in invariants switched off with their reasons (none when neither).
 *
 * @example
 * ```ts
 * Chaos.assumed({ unannotated: ["notes.append"], off: {} }) // => ["not annotated (counted as non-idempotent): notes.append"]
 * ```
 */
export const assumed = (a: Assumptions): ReadonlyArray<string> => [
  ...(a.unannotated.length > 0 ? [`not annotated (counted as non-idempotent): ${a.unannotated.join(", ")}`] : []),
  ...Object.entries(a.off).map(([name, reason]) => `invariant off: ${name} (${reason || "no reason given"})`)
]

/**
 * `yes`, `no`, or `-` (not checked) for a report's `minimal`.
 *
 * @example
 * ```ts
 * Chaos.yesNo(true) // => "yes"
 * ```
 */
export const yesNo = (b: boolean | undefined): string => (b === undefined ? "-" : b ? "yes" : "no")

/**
 * A check report as text: the summary, and for a failure the seed, path, shrunk plan, faults
 * that fired, violations and how to replay it.
 *
 * @example
 * ```ts
 * if (!report.ok) console.log(Chaos.format(report))
 * ```
 */
export const format = (report: CheckReport<unknown, unknown>): string => {
  const counts = (r: Readonly<Record<string, number>>) =>
    Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k} ${n}`).join(", ") || "none"
  const head = [
    `chaos: ${report.ok ? "every invariant held" : "an invariant was violated"} in ${report.runs} run(s), seed ${report.seed}`,
    `faults fired: ${counts(report.faultsFired)}`,
    `outcomes: ${counts(report.outcomes)}`,
    ...assumed(report)
  ]
  if (report.ok) return head.join("\n")
  return [
    ...head,
    `shrunk ${report.shrinks} time(s); path ${report.path ?? "-"}; 1-minimal: ${yesNo(report.minimal)}`,
    ...(report.error !== undefined ? [`error: ${report.error}`] : []),
    ...(report.counterexample !== undefined ? [formatRun(report.counterexample as RunResult<unknown, unknown>)] : []),
    `replay: Chaos.replay(spec, "${report.token ?? ""}")  or  FC_SEED=${report.seed} (path ${report.path ?? "-"})`
  ].join("\n")
}
