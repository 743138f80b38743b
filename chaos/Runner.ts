/**
 * The chaos runner behind `mcpflow chaos <flow.ts>`: loads a flow file's chaos setup, runs the
 * check while collecting a summary (faults injected by kind, outcomes by kind, invariants held
 * or violated, p50/p99 virtual duration, retries, breaker trips), renders it as a table, JSON or
 * JUnit XML, and replays one case with a full event trace.
 *
 * A flow's chaos suite lives next to it, in `flows/<name>.chaos.ts`, exporting `chaos`
 * ({@link ChaosSuite}: its servers — definitions backed by models or a sandbox's state, for
 * invariants over that state — input, invariants and settings) and the flow as its default
 * export. Without a suite, the runner uses the flow file's exported `sandbox` (server configs
 * made by `FakeServer.make`), with the faults injected through `FakeServer.CurrentInjector`.
 *
 * @example
 * ```ts
 * // flows/order.chaos.ts
 * export { default } from "./order.ts"
 * export const chaos: ChaosSuite = { servers: shopServers, input: { orderId: "o1" }, invariants: [orderAtomic], deadline: "10 minutes" }
 * ```
 * @module
 */
import { Effect, type Schema } from "effect"
import type { Flow } from "../dsl/flow/Flow.ts"
import * as EventFold from "../dsl/flow/EventFold.ts"
import type { FlowEvent } from "../dsl/flow/FlowEvents.ts"
import type { ServerConfig } from "../src/runtime/gateway/ServerConfig.ts"
import type * as Arbitraries from "./Arbitraries.ts"
import type * as RunSpec from "./RunSpec.ts"
import type { Definition } from "./FakeServer.ts"
import * as F from "./Fault.ts"
import * as FlowCheck from "./FlowCheck.ts"

/**
 * What a flow's `<name>.chaos.ts` exports as `chaos`: everything of `Chaos.checkFlow`'s options but the search
 * settings, which come from the command line (a suite may give defaults).
 *
 * @example
 * ```ts
 * export const chaos: ChaosSuite = { servers: shopServers, input: { orderId: "o1", amount: 25 }, invariants: [orderAtomic] }
 * ```
 */
export interface ChaosSuite {
  readonly servers?: Effect.Effect<ReadonlyArray<Definition> | Readonly<Record<string, ServerConfig>>> | undefined
  readonly input?: unknown
  readonly invariants?: ReadonlyArray<FlowCheck.FlowInvariant<any, any>> | undefined
  readonly deadline?: RunSpec.Spec<unknown, unknown>["deadline"]
  readonly allow?: ReadonlyArray<string> | undefined
  readonly maxConcurrency?: Readonly<Record<string, number>> | undefined
  readonly nonIdempotent?: ReadonlyArray<string> | undefined
  /** What makes two sends of a non-idempotent tool "one logical request" (default: the step and call that sent them, see `no-duplicate-request`). */
  readonly requestKey?: RunSpec.Spec<unknown, unknown>["requestKey"]
  /** Settings of the built-in invariants: `{ "saga-atomicity": { off: "why" } }` switches one off (the report shows why). */
  readonly builtIn?: RunSpec.BuiltInSettings | undefined
  readonly limits?: RunSpec.Spec<unknown, unknown>["limits"]
  readonly runs?: number | undefined
  readonly faults?: Partial<Arbitraries.PlanOptions> | undefined
}

/** Every name `--faults` accepts, lower-cased, to its kind (from `Fault.byKind`). */
const kindNames: ReadonlyMap<string, F.FaultKind> = new Map(
  F.kinds.flatMap((kind) => [kind, F.byKind[kind].flag, ...F.byKind[kind].aliases].map((name) => [name.toLowerCase(), kind] as const))
)

/**
 * Reads `--faults latency,drop,lost-response,…` (each kind's flag name or aliases in
 * `Fault.byKind`, or the kind's own name such as `LostResponse`). Fails with the names it does not know.
 *
 * @example
 * ```ts
 * Runner.parseKinds("latency,drop,lost-response") // => { ok: true, kinds: ["Latency", "ConnectionDrop", "LostResponse"] }
 * ```
 */
export const parseKinds = (text: string): { readonly ok: true; readonly kinds: ReadonlyArray<F.FaultKind> } | { readonly ok: false; readonly unknown: ReadonlyArray<string> } => {
  const kinds: Array<F.FaultKind> = []
  const unknown: Array<string> = []
  for (const raw of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const kind = kindNames.get(raw.toLowerCase())
    if (kind === undefined) unknown.push(raw)
    else if (!kinds.includes(kind)) kinds.push(kind)
  }
  return unknown.length > 0 || kinds.length === 0 ? { ok: false, unknown: unknown.length > 0 ? unknown : [text] } : { ok: true, kinds }
}

/**
 * The names `--faults` accepts.
 *
 * @example
 * ```ts
 * Runner.kindFlagNames.includes("lost-response") // => true
 * ```
 */
export const kindFlagNames: ReadonlyArray<string> = F.kinds.map((kind) => F.byKind[kind].flag)

/**
 * Counters over the runs of a search (not the shrinking runs).
 *
 * @example
 * ```ts
 * const s: Summary = { runs: 500, durationsMs: [], retries: 12, breakerTrips: 1, violations: {} }
 * ```
 */
export interface Summary {
  runs: number
  readonly durationsMs: Array<number>
  retries: number
  breakerTrips: number
  /** Runs that violated each invariant. */
  readonly violations: Record<string, number>
}

/**
 * A fresh summary and the `observe` callback that fills it.
 *
 * @example
 * ```ts
 * const { summary, observe } = Runner.collector()
 * yield* Chaos.checkFlow(flow, { ...options, observe })
 * ```
 */
export const collector = (): { readonly summary: Summary; readonly observe: (run: FlowCheck.FlowRunResult<unknown, unknown>) => void } => {
  const summary: Summary = { runs: 0, durationsMs: [], retries: 0, breakerTrips: 0, violations: {} }
  return {
    summary,
    observe: (run) => {
      summary.runs++
      summary.durationsMs.push(run.durationMs)
      const folded = EventFold.fold(run.events)
      summary.retries += folded.retries
      summary.breakerTrips += folded.breakerTrips
      for (const v of new Set(run.violations.map((v) => v.invariant))) summary.violations[v] = (summary.violations[v] ?? 0) + 1
    }
  }
}

/**
 * The `q` quantile of some numbers (nearest rank), 0 when empty.
 *
 * @example
 * ```ts
 * Runner.quantile([1, 2, 3, 4], 0.5) // => 2
 * ```
 */
export const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  if (xs.length === 0) return 0
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/**
 * The invariants a check applies, built-in then the suite's own.
 *
 * @example
 * ```ts
 * Runner.invariantNames({ maxConcurrency: { stock: 3 } }) // => ["typed-outcome", "never-hangs", "concurrency", …]
 * ```
 */
export const invariantNames = (suite: Pick<ChaosSuite, "allow" | "maxConcurrency" | "invariants">): ReadonlyArray<string> => [
  "typed-outcome",
  "never-hangs",
  ...(suite.allow !== undefined ? ["allowlist"] : []),
  ...(suite.maxConcurrency !== undefined ? ["concurrency"] : []),
  "no-duplicate-request",
  "steps-settle",
  "saga-atomicity",
  ...(suite.invariants ?? []).map((i) => i.name)
]

/** An invariant's state in a report: held, violated, or switched off (with the reason). */
const stateOf = (report: FlowCheck.FlowCheckReport<unknown, unknown>, violated: ReadonlySet<string>, name: string): "held" | "violated" | "off" =>
  report.off[name] !== undefined ? "off" : violated.has(name) ? "violated" : "held"

/**
 * The JSON summary of a check (what `--json` prints).
 *
 * @example
 * ```ts
 * JSON.stringify(Runner.toJson(report, summary, names, "flows/order.ts"))
 * ```
 */
export const toJson = (
  report: FlowCheck.FlowCheckReport<unknown, unknown>,
  summary: Summary,
  names: ReadonlyArray<string>,
  file: string
) => {
  const cx = report.counterexample
  const violated = violatedIn(report, summary)
  return {
    flow: report.flow,
    file,
    ok: report.ok,
    seed: report.seed,
    runs: report.runs,
    faultsInjected: report.faultsFired,
    outcomes: report.outcomes,
    invariants: Object.fromEntries(names.concat([...violated].filter((v) => !names.includes(v))).map((n) => [n, stateOf(report, violated, n)])),
    /** Built-in invariants switched off, with the reason given. */
    invariantsOff: report.off,
    /** Tools with no idempotency annotation, counted as non-idempotent: what a green run assumed. */
    unannotatedTools: report.unannotated,
    /** The plan's warnings: policies that escape the fixed order across levels. */
    warnings: report.warnings,
    virtualDurationMs: { p50: quantile(summary.durationsMs, 0.5), p99: quantile(summary.durationsMs, 0.99) },
    retries: summary.retries,
    breakerTrips: summary.breakerTrips,
    ...(cx === undefined
      ? {}
      : {
        counterexample: {
          path: report.path,
          shrinks: report.shrinks,
          /** 1-minimal: without any one of its faults the run violates nothing. */
          minimal: report.minimal ?? false,
          plan: F.encodePlan(cx.plan),
          faultsFired: cx.log,
          violations: cx.violations,
          outcome: cx.outcome._tag,
          token: report.token,
          replay: FlowCheck.replayCommand(file, report.token ?? "", report.input)
        }
      })
  }
}

/** The invariants violated by the counterexample or by any run of the search. */
const violatedIn = (report: FlowCheck.FlowCheckReport<unknown, unknown>, summary: Summary | undefined): Set<string> =>
  new Set([...(report.counterexample?.violations.map((v) => v.invariant) ?? []), ...Object.keys(summary?.violations ?? {})])

const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`)

const counts = (r: Readonly<Record<string, number>>) =>
  Object.entries(r).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)).map(([k, n]) => `${k} ${n}`).join(", ") || "none"

/**
 * The summary table (what `mcpflow chaos` prints).
 *
 * @example
 * ```ts
 * console.log(Runner.table(report, summary, names))
 * ```
 */
export const table = (report: FlowCheck.FlowCheckReport<unknown, unknown>, summary: Summary, names: ReadonlyArray<string>): string => {
  const violated = violatedIn(report, summary)
  const invariants = names.concat([...violated].filter((v) => !names.includes(v)))
    .map((n) => {
      const state = stateOf(report, violated, n)
      return state === "off" ? `– ${n} (off: ${report.off[n] || "no reason given"})` : `${state === "violated" ? "✗" : "✓"} ${n}`
    })
    .join("  ")
  const rows: Array<[string, string]> = [
    ["runs", `${report.runs}${report.ok ? "" : ` (stopped at the first violation; shrunk ${report.shrinks} time(s), 1-minimal: ${report.minimal === true ? "yes" : "no"})`}`],
    ["seed", String(report.seed)],
    ["faults injected", counts(report.faultsFired)],
    ["outcomes", counts(report.outcomes)],
    ["invariants", invariants],
    ["not annotated", report.unannotated.length === 0 ? "none" : `${report.unannotated.join(", ")} (counted as non-idempotent)`],
    ...report.warnings.map((w): [string, string] => ["warning", w]),
    ["virtual duration", `p50 ${fmtMs(quantile(summary.durationsMs, 0.5))}, p99 ${fmtMs(quantile(summary.durationsMs, 0.99))}`],
    ["retries", String(summary.retries)],
    ["breaker trips", String(summary.breakerTrips)]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  return [
    `chaos ${report.flow}: ${report.ok ? "every invariant held" : "AN INVARIANT WAS VIOLATED"}`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)
  ].join("\n")
}

const xml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    // XML 1.0 forbids most control characters.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "")

/**
 * JUnit XML for CI: one test case per invariant, a failure (with the shrunk plan, the faults
 * that fired, the step tree and the replay command) for each violated one.
 *
 * @example
 * ```ts
 * fs.writeFileSync("chaos.xml", Runner.junit(report, names, "flows/order.ts", elapsedMs))
 * ```
 */
export const junit = (
  report: FlowCheck.FlowCheckReport<unknown, unknown>,
  names: ReadonlyArray<string>,
  file: string,
  elapsedMs: number,
  summary?: Summary
): string => {
  const violations = report.counterexample?.violations ?? []
  const violated = violatedIn(report, summary)
  const unique = [...new Set(names.concat([...violated]))]
  const failures = unique.filter((n) => violated.has(n) && report.off[n] === undefined)
  const text = report.ok ? "" : FlowCheck.formatFlow(report, { file })
  const suite = `mcpflow chaos ${report.flow}`
  const cases = unique.map((n) => {
    const vs = violations.filter((v) => v.invariant === n)
    const message = vs.length > 0 ? vs.map((v) => v.detail).join("; ") : `violated in ${summary?.violations[n] ?? 0} run(s) of the search`
    const off = report.off[n]
    const body = off !== undefined
      ? `\n      <skipped message="${xml(`off: ${off || "no reason given"}`)}"/>\n    `
      : !violated.has(n)
      ? ""
      : `\n      <failure message="${xml(message)}" type="InvariantViolated">${xml(text)}</failure>\n    `
    return `    <testcase classname="${xml(suite)}" name="${xml(n)}" time="0">${body}</testcase>`
  })
  const errors = report.error !== undefined && report.counterexample === undefined ? 1 : 0
  const skipped = unique.filter((n) => report.off[n] !== undefined).length
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="mcpflow chaos" tests="${unique.length}" failures="${failures.length}" errors="${errors}" time="${(elapsedMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${xml(suite)}" tests="${unique.length}" failures="${failures.length}" errors="${errors}"${skipped > 0 ? ` skipped="${skipped}"` : ""} time="${(elapsedMs / 1000).toFixed(3)}">`,
    `    <properties>`,
    `      <property name="file" value="${xml(file)}"/>`,
    `      <property name="seed" value="${report.seed}"/>`,
    `      <property name="runs" value="${report.runs}"/>`,
    ...(report.token !== undefined ? [`      <property name="replay" value="${xml(FlowCheck.replayCommand(file, report.token, report.input))}"/>`] : []),
    `    </properties>`,
    ...cases,
    `  </testsuite>`,
    `</testsuites>`,
    ""
  ].join("\n")
}

/**
 * Every event of a run, one per line, with its virtual time (the `--replay` trace).
 *
 * @example
 * ```ts
 * console.log(Runner.eventTrace(run.events))
 * // t=0ms FlowStarted order (memory)
 * // t=0ms StepStarted order (saga)
 * ```
 */
export const eventTrace = (events: ReadonlyArray<FlowEvent>): string => {
  const t0 = events[0]?.at ?? 0
  return EventFold.changes(events).map((change) => `t=${change.event.at - t0}ms ${change.event._tag} ${traceText(change)}`).join("\n")
}

const firstLine = (text: string): string => text.split("\n")[0]!

/** What a step's trace line says after the event's time and name. */
const stepTrace = (change: Extract<EventFold.Change, { readonly what: "step" }>): string => {
  const step = change.step
  switch (change.status) {
    case "running":
      return `${step.path} (${step.kind})`
    case "succeeded":
      return `${step.path} ${step.durationMs}ms`
    case "failed":
    case "interrupted":
      return `${step.path} ${step.durationMs}ms ${step.errorTag ?? ""}: ${firstLine(step.error ?? "")}${
        change.status === "interrupted" ? " (interrupted)" : ""
      }`
    case "waiting":
      return `${step.path} (${step.kind}) ${
        step.waiting?.signal !== undefined ? `for signal ${step.waiting.signal}` : `until ${step.waiting?.until}`
      }`
    case "skipped":
      return `${step.path}: ${step.why}`
  }
}

/** What a trace line says after the event's time and name. */
const traceText = (change: EventFold.Change): string => {
  switch (change.what) {
    case "started":
      return `${change.event.flow} (${change.event.engine})`
    case "finished": {
      const e = change.event
      return `${e.outcome} in ${e.durationMs}ms${e.error !== undefined ? `: ${e.errorTag ?? ""} ${firstLine(e.error)}` : ""}`
    }
    case "step":
      return stepTrace(change)
    case "retry":
      return `${change.path} attempt ${change.retry.attempt} in ${change.retry.delayMs}ms: ${change.retry.reason}`
    case "compensation": {
      const undo = change.compensation
      return undo.status === "running"
        ? change.path
        : undo.status === "compensated"
        ? `${change.path} ${undo.durationMs}ms`
        : `${change.path}: ${firstLine(undo.error ?? "")}`
    }
    case "policy":
    case "gateway":
      return `${change.path} ${JSON.stringify(change.event.event)}`
    case "published":
      return `${change.path} ${change.event.topic} (${change.event.handlers} handler(s))`
    case "fault":
      return `${change.path} ${change.event.kind} on ${change.event.server}.${change.event.tool} (call ${change.event.call})`
  }
}

/**
 * The options of `Chaos.checkFlow` for a flow file's suite and the command line's settings.
 *
 * @example
 * ```ts
 * const options = Runner.options(suite, { input: {}, runs: 500, seed: 42, kinds: ["LostResponse"], rate: 0.2 })
 * ```
 */
export const options = <I extends Schema.Top, O extends Schema.Top, E, R>(
  suite: ChaosSuite & { readonly servers: NonNullable<ChaosSuite["servers"]> },
  cli: {
    readonly input: unknown
    readonly runs?: number | undefined
    readonly seed: number
    readonly kinds?: ReadonlyArray<F.FaultKind> | undefined
    readonly rate?: number | undefined
    readonly observe?: ((run: FlowCheck.FlowRunResult<unknown, unknown>) => void) | undefined
    /** Worker threads for the search's runs, and where they load this spec from (see `Chaos.checkFlow`). */
    readonly workers?: number | undefined
    readonly workerSpec?: FlowCheck.FlowCheckOptions<I, O, E, R>["workerSpec"]
  }
): FlowCheck.FlowCheckOptions<I, O, E, R> => ({
  input: cli.input as I["Encoded"],
  servers: suite.servers,
  invariants: suite.invariants,
  deadline: suite.deadline,
  allow: suite.allow,
  maxConcurrency: suite.maxConcurrency,
  nonIdempotent: suite.nonIdempotent,
  requestKey: suite.requestKey,
  builtIn: suite.builtIn,
  limits: suite.limits,
  runs: cli.runs ?? suite.runs ?? 100,
  seed: cli.seed,
  faults: {
    ...suite.faults,
    ...(cli.kinds !== undefined ? { kinds: cli.kinds } : {}),
    ...(cli.rate !== undefined ? { rate: cli.rate } : {})
  },
  observe: cli.observe as never,
  workers: cli.workers,
  workerSpec: cli.workerSpec
})

/**
 * Runs a flow file's check with a summary collector; returns the report, the summary and the
 * invariants' names.
 *
 * @example
 * ```ts
 * const { report, summary, names } = yield* Runner.run(flow, suite, { input: {}, runs: 500, seed: 42 })
 * ```
 */
export const run = <I extends Schema.Top, O extends Schema.Top, E, R extends FlowCheck.ChaosServices>(
  flow: Flow<I, O, E, R>,
  suite: ChaosSuite & { readonly servers: NonNullable<ChaosSuite["servers"]> },
  cli: Omit<Parameters<typeof options>[1], "observe">
) =>
  Effect.gen(function*() {
    const { observe, summary } = collector()
    const report = yield* FlowCheck.checkFlow(flow, options<I, O, E, R>(suite, { ...cli, observe }))
    return { report: report as FlowCheck.FlowCheckReport<unknown, unknown>, summary, names: invariantNames(suite) }
  })
