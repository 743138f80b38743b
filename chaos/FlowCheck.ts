/**
 * Flow-aware chaos: run a flow (`Flow.run` on `FlowEngine.layerMemory`) against fault-injected
 * fake servers in virtual time, collect its `FlowEvents`, and check invariants over the outcome,
 * the models' final snapshots, the event stream and the injection log.
 *
 * Built-in invariants, besides those of `Chaos.check` (`typed-outcome`, `never-hangs`,
 * `allowlist`, `concurrency`, `no-duplicate-request`):
 *
 * - `steps-settle`: unless the run hung, every step that started also ended (succeeded or failed);
 * - `saga-atomicity` (on the event stream): when the run fails, every step with a compensation
 *   that succeeded is followed by its `Compensated` event; the same inside a saga block that
 *   failed (even when the flow recovers). A `CompensationFailed` is a violation. Which steps carry
 *   a compensation comes from the flow's plan (`Flow.plan` with the run's input) and from the
 *   compensations seen running. Atomicity on the stateful models is {@link atomic}.
 * - `crash-resume` (when a `Crash` fault fired; see `FlowCrash.ts`): the run was resumed from its
 *   journal, no completed step ran again and no compensation ran twice. Runs use the in-memory
 *   engine, but a plan with a `Crash` fault runs on a temporary SQLite journal.
 *
 * @example
 * ```ts
 * const report = yield* Chaos.checkFlow(orderFlow, {
 *   input: { orderId: "o1" },
 *   servers: orderServers,
 *   invariants: [Chaos.atomic("order", { committed: shipped, undone: nothingHeld })],
 *   runs: 200,
 *   seed: 42
 * })
 * if (!report.ok) console.log(Chaos.formatFlow(report, { file: "flows/order.ts" }))
 * ```
 * @module
 */
import fc from "fast-check"
import { Effect, type Schema } from "effect"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import type { Flow } from "../dsl/flow/Flow.ts"
import * as FlowModule from "../dsl/flow/Flow.ts"
import * as FlowEngine from "../dsl/ports/FlowEngine.ts"
import * as EventFold from "../dsl/flow/EventFold.ts"
import type { StepState, StepStatus } from "../dsl/flow/EventFold.ts"
import type { FlowError } from "../dsl/flow/FlowError.ts"
import { type FlowEvent, FlowEvents } from "../dsl/flow/FlowEvents.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import type * as Arbitraries from "./Arbitraries.ts"
import * as BuiltInInvariants from "./BuiltInInvariants.ts"
import * as Check from "./Check.ts"
import * as ReplayToken from "./ReplayToken.ts"
import * as ReportText from "./ReportText.ts"
import * as RunOnce from "./RunOnce.ts"
import * as RunSpec from "./RunSpec.ts"
import * as F from "./Fault.ts"
import * as FlowCrash from "./FlowCrash.ts"
import * as WorkerPool from "./internal/WorkerPool.ts"
import type * as WorkerSpec from "./internal/WorkerSpec.ts"

/**
 * One flow run under a plan: everything `Chaos.runOnce` reports, plus the run's events.
 *
 * @example
 * ```ts
 * const run = yield* Chaos.runFlowOnce(spec, plan)
 * run.events.filter((e) => e._tag === "StepFailed")
 * ```
 */
export interface FlowRunResult<A, E> extends RunSpec.RunResult<A, E> {
  readonly events: ReadonlyArray<FlowEvent>
}

/**
 * A user invariant over a finished flow run.
 *
 * @example
 * ```ts
 * const noAlert: FlowInvariant<unknown, unknown> = {
 *   name: "no alert on success",
 *   holds: (run) => run.outcome._tag !== "Success" || !run.events.some((e) => e._tag === "StepStarted" && e.path === "alert")
 * }
 * ```
 */
export interface FlowInvariant<A, E> {
  readonly name: string
  readonly holds: (run: Omit<FlowRunResult<A, E>, "violations">) => boolean
  readonly detail?: ((run: Omit<FlowRunResult<A, E>, "violations">) => string) | undefined
}

/**
 * What to run: the flow, its input, fresh servers per run (definitions or a sandbox's configs),
 * and the invariants' settings (as in `Chaos.Spec`).
 *
 * @example
 * ```ts
 * const spec: FlowSpec<typeof In, typeof Out, McpflowToolError, McpGateway> = { flow, input: { orderId: "o1" }, servers }
 * ```
 */
export interface FlowSpec<I extends Schema.Top, O extends Schema.Top, E, R>
  extends Omit<RunSpec.Spec<O["Type"], E | FlowError>, "program" | "invariants">
{
  readonly flow: Flow<I, O, E, R>
  readonly input: I["Encoded"]
  readonly invariants?: ReadonlyArray<FlowInvariant<O["Type"], E | FlowError>> | undefined
  /** The run id of every run (default `"chaos"`): fixed, so event streams compare byte for byte. */
  readonly runId?: string | undefined
}

/**
 * Options of {@link checkFlow}: the spec without the flow, plus the search settings of `Chaos.check`.
 *
 * @example
 * ```ts
 * const o: FlowCheckOptions<typeof In, typeof Out, never, McpGateway> = { input: {}, servers, runs: 500, seed: 42, faults: { rate: 0.2 } }
 * ```
 */
export interface FlowCheckOptions<I extends Schema.Top, O extends Schema.Top, E, R> extends Omit<FlowSpec<I, O, E, R>, "flow"> {
  readonly runs?: number | undefined
  readonly seed?: number | undefined
  readonly path?: string | undefined
  readonly faults?: fc.Arbitrary<F.FaultPlan> | Partial<Arbitraries.PlanOptions> | undefined
  /**
   * Sees every run of the search before the first violation (for summaries). Runs made on worker
   * threads come without the servers' snapshots, and a failure's error as its tags only.
   */
  readonly observe?: ((run: FlowRunResult<O["Type"], E | FlowError>) => void) | undefined
  /**
   * Where worker threads load this same spec from: a module and its export (a `FlowSpec`, or a
   * function of `args` returning one). Without it every run is made in this thread, and so is
   * every run when the workers fail (the report is the same, only slower).
   */
  readonly workerSpec?: WorkerSpec.SpecSource | undefined
  /**
   * How many threads run the search's runs (with {@link workerSpec}): this one and `workers - 1`
   * worker threads, started at once so that this thread runs while they start; 1 runs them all in
   * this thread. Default: one per core, at most 8, for 400 runs or more (else 1; 1 under vitest,
   * whose files already run in parallel). The report is the same whatever the number: plans are drawn and results merged in
   * order, and shrinking runs in this thread.
   */
  readonly workers?: number | undefined
}

/**
 * What {@link checkFlow} found (see `Chaos.SearchReport`), with the flow's name.
 *
 * @example
 * ```ts
 * if (!report.ok) console.log(Chaos.formatFlow(report))
 * ```
 */
export interface FlowCheckReport<A, E> extends Check.SearchReport<FlowRunResult<A, E>>, Check.Assumptions {
  readonly flow: string
  /** The input every run was given (what a replay needs besides the token). */
  readonly input: unknown
  /** The flow plan's warnings: policies that escape the fixed order across levels (see `FlowPlan.warnings`). */
  readonly warnings: ReadonlyArray<string>
}

/**
 * The services a flow may need from a chaos run: the gateway and the flow engine.
 *
 * @example
 * ```ts
 * const flow: Flow<typeof In, typeof Out, never, Chaos.ChaosServices> = myFlow
 * ```
 */
export type ChaosServices = McpGateway | FlowEngine.FlowEngine | WorkflowEngine

interface Planned {
  /** The paths of the steps with a compensation. */
  readonly compensable: ReadonlySet<string>
  /** The tools the flow declares or reached while planning. */
  readonly tools: ReadonlyArray<{ readonly server: string; readonly tool: string; readonly idempotent: boolean | undefined; readonly readOnly: boolean | undefined }>
  /** The plan's warnings (policies that escape the fixed order across levels). */
  readonly warnings: ReadonlyArray<string>
}

/** The flow's plan for this input (`Flow.plan`), cached per flow and input. */
const plans = new WeakMap<object, Map<string, Promise<Planned>>>()

const planned = <I extends Schema.Top, O extends Schema.Top, E, R>(spec: { readonly flow: Flow<I, O, E, R>; readonly input: I["Encoded"] }): Effect.Effect<Planned> =>
  Effect.promise(() => {
    let byInput = plans.get(spec.flow)
    if (byInput === undefined) {
      byInput = new Map()
      plans.set(spec.flow, byInput)
    }
    const key = JSON.stringify(spec.input) ?? ""
    let p = byInput.get(key)
    if (p === undefined) {
      p = Effect.runPromise(
        FlowModule.plan(spec.flow, spec.input).pipe(
          Effect.map((plan): Planned => ({
            compensable: new Set(plan.nodes.filter((n) => n.compensated).map((n) => n.path)),
            warnings: plan.warnings,
            tools: plan.tools.map((t) => ({
              server: t.server,
              tool: t.tool,
              idempotent: t.annotations.idempotent as boolean | undefined,
              readOnly: t.annotations.readOnly as boolean | undefined
            }))
          })),
          Effect.orElseSucceed((): Planned => ({
            compensable: new Set(),
            warnings: [],
            tools: spec.flow.uses.map((c) => ({ server: c.server, tool: c.tool, idempotent: c.annotations.idempotent, readOnly: c.annotations.readOnly }))
          }))
        )
      )
      byInput.set(key, p)
    }
    return p
  })

const under = (path: string, scope: string) => scope === "" || path === scope || path.startsWith(`${scope}/`)

/**
 * The built-in flow invariants over an event stream (`steps-settle`, `saga-atomicity`).
 *
 * @example
 * ```ts
 * Chaos.flowViolations(run.events, run.outcome, new Set(["order/charge"]))
 * ```
 */
export const flowViolations = (
  events: ReadonlyArray<FlowEvent>,
  outcome: RunSpec.Outcome<unknown, unknown>,
  compensable: ReadonlySet<string>
): Array<RunSpec.Violation> => {
  const out: Array<RunSpec.Violation> = []
  if (outcome._tag !== "Hang") {
    const open = new Map<string, number>()
    // After a crash, the steps the dead process left in flight settle in the resumed run: check the last process's events.
    let last = 0
    events.forEach((e, i) => {
      if (e._tag === "FlowStarted") last = i
    })
    for (const e of events.slice(last)) {
      if (e._tag === "StepStarted") open.set(e.path, (open.get(e.path) ?? 0) + 1)
      else if (e._tag === "StepSucceeded" || e._tag === "StepFailed") {
        const n = (open.get(e.path) ?? 0) - 1
        if (n <= 0) open.delete(e.path)
        else open.set(e.path, n)
      }
    }
    if (open.size > 0) out.push({ invariant: "steps-settle", detail: `started but never ended: ${[...open.keys()].join(", ")}` })
  }
  const withUndo = new Set(compensable)
  for (const e of events) if (e._tag === "CompensationStarted") withUndo.add(e.path)
  const finished = events.find((e): e is FlowEvent.FlowFinished => e._tag === "FlowFinished")
  // The scopes whose failure must undo their completed steps: the run (when it failed), and every saga block that failed.
  const failedScopes: Array<{ readonly scope: string; readonly index: number }> = []
  events.forEach((e, index) => {
    if (e._tag === "StepFailed" && e.kind === "saga") failedScopes.push({ scope: e.path, index })
  })
  if (finished !== undefined && finished.outcome !== "success") failedScopes.push({ scope: "", index: events.indexOf(finished) })
  const missing = new Set<string>()
  const failed: Array<string> = []
  for (const { index, scope } of failedScopes) {
    events.forEach((e, i) => {
      if (i >= index || e._tag !== "StepSucceeded" || !withUndo.has(e.path) || !under(e.path, scope)) return
      const undone = events.some((u) => u._tag === "Compensated" && u.path === e.path)
      if (undone) return
      if (events.some((u) => u._tag === "CompensationFailed" && u.path === e.path)) failed.push(e.path)
      else missing.add(e.path)
    })
  }
  if (missing.size > 0) {
    out.push({ invariant: "saga-atomicity", detail: `completed, compensable and never compensated after the failure: ${[...missing].join(", ")}` })
  }
  if (failed.length > 0) out.push({ invariant: "saga-atomicity", detail: `compensation failed: ${[...new Set(failed)].join(", ")}` })
  return out
}

/**
 * Runs the flow once under a plan and checks every invariant.
 *
 * @example
 * ```ts
 * const run = yield* Chaos.runFlowOnce(spec, Fault.plan(0, [Fault.lostResponse("payment.charge")]))
 * console.log(Chaos.stepTree(run.events))
 * ```
 */
export const runFlowOnce = <I extends Schema.Top, O extends Schema.Top, E, R extends ChaosServices>(
  spec: FlowSpec<I, O, E, R>,
  plan: F.FaultPlan
): Effect.Effect<FlowRunResult<O["Type"], E | FlowError>> =>
  Effect.gen(function*() {
    const { compensable } = yield* planned(spec)
    const events: Array<FlowEvent> = []
    const sink = { emit: (e: FlowEvent) => void events.push(e) }
    // A plan that may crash the run journals it (a temporary SQLite journal) and resumes it after each crash.
    if (F.hasCrash(plan)) yield* FlowCrash.preload
    const journal = F.hasCrash(plan) ? FlowCrash.journal() : undefined
    const { program, restart } = journal !== undefined
      ? FlowCrash.attempts(spec.flow, spec.input, spec.runId ?? "chaos", journal, sink.emit) as unknown as {
        readonly program: Effect.Effect<O["Type"], E | FlowError, McpGateway>
        readonly restart: RunSpec.Restart<O["Type"], E | FlowError>
      }
      : {
        program: FlowModule.run(spec.flow, spec.input, { runId: spec.runId ?? "chaos" }).pipe(
          Effect.provide(FlowEngine.layerMemory),
          Effect.provideService(FlowEvents, sink)
        ) as unknown as Effect.Effect<O["Type"], E | FlowError, McpGateway>,
        restart: undefined
      }
    const withEvents = <X>(run: X) => ({ ...run, events })
    const invariants: Array<RunSpec.Invariant<O["Type"], E | FlowError>> = (spec.invariants ?? []).map((inv) => ({
      name: inv.name,
      holds: (run) => inv.holds(withEvents(run)),
      detail: inv.detail === undefined ? undefined : (run) => inv.detail!(withEvents(run))
    }))
    const { flow: _flow, input: _input, invariants: _inv, runId: _runId, ...rest } = spec
    const run = yield* RunOnce.runOnce({ ...rest, tools: spec.tools ?? spec.flow.uses, program, restart, invariants }, plan).pipe(
      Effect.ensuring(Effect.sync(() => journal?.remove()))
    )
    const outcome = run.outcome as RunSpec.Outcome<unknown, unknown>
    const builtIn = [...flowViolations(events, outcome, compensable), ...FlowCrash.violations(events, outcome, run.log)]
      .filter((v) => RunSpec.offReason(spec, v.invariant) === undefined)
    return { ...run, violations: [...run.violations, ...builtIn], events }
  })

/**
 * Re-runs the one case a token names.
 *
 * @example
 * ```ts
 * const run = yield* Chaos.replayFlow(spec, "eyJzZWVkIjo…")
 * console.log(Chaos.formatFlowRun(run))
 * ```
 */
export const replayFlow = <I extends Schema.Top, O extends Schema.Top, E, R extends ChaosServices>(
  spec: FlowSpec<I, O, E, R>,
  token: string
): Effect.Effect<FlowRunResult<O["Type"], E | FlowError>> => Effect.suspend(() => runFlowOnce(spec, ReplayToken.planOf(token)))

/**
 * The fault plans {@link checkFlow} draws: `faults` itself when it is an arbitrary; else plans
 * over the tools the flow may call (its plan's tools — declared in `uses` or reached — that the
 * servers serve, when they are definitions), focused on the non-idempotent ones.
 *
 * @example
 * ```ts
 * const plans = yield* Chaos.flowPlans({ flow, input, servers }, { rate: 0.2 })
 * ```
 */
export const flowPlans = <I extends Schema.Top, O extends Schema.Top, E, R>(
  spec: Pick<FlowSpec<I, O, E, R>, "flow" | "input" | "servers" | "tools" | "nonIdempotent" | "builtIn">,
  faults: fc.Arbitrary<F.FaultPlan> | Partial<Arbitraries.PlanOptions> | undefined
): Effect.Effect<fc.Arbitrary<F.FaultPlan>> =>
  Effect.gen(function*() {
    const base = { servers: spec.servers, tools: spec.tools ?? spec.flow.uses, nonIdempotent: spec.nonIdempotent, builtIn: spec.builtIn, program: Effect.void }
    if (faults instanceof fc.Arbitrary) return faults
    const served = yield* RunOnce.targetsOf(base)
    const servedIds = new Set(served.targets.map((t) => `${t.server}.${t.tool}`))
    const { tools } = yield* planned(spec)
    const used = tools.filter((t) => servedIds.has(`${t.server}.${t.tool}`))
    const targets = used.length > 0 ? used.map(({ server, tool }) => ({ server, tool })) : served.targets
    const extra = BuiltInInvariants.nonIdempotentOf(spec)
    const focus = used.length > 0
      ? used.filter((t) => t.idempotent === false || (extra.length > 0 && extra.some((p) => F.matches(p, t.server, t.tool)))).map(({ server, tool }) => ({ server, tool }))
      : served.focus
    return yield* Check.planArbitrary(base, { targets, focus, ...faults })
  })

/**
 * Searches fault plans for one that breaks an invariant of the flow; a failure is shrunk to a
 * minimal plan with a replay token. Fault targets are the tools of the servers and of the flow's
 * `uses`; the plans focus on its non-idempotent tools (see `Chaos.planArbitrary`).
 *
 * @example
 * ```ts
 * const report = yield* Chaos.checkFlow(cicd, { input: {}, servers: cicdSandbox, runs: 500, seed: 42, faults: { rate: 0.2 } })
 * ```
 */
export const checkFlow = <I extends Schema.Top, O extends Schema.Top, E, R extends ChaosServices>(
  flow: Flow<I, O, E, R>,
  options: FlowCheckOptions<I, O, E, R>
): Effect.Effect<FlowCheckReport<O["Type"], E | FlowError>> =>
  Effect.gen(function*() {
    const { faults, observe, path, runs, seed, workerSpec, workers, ...rest } = options
    const spec: FlowSpec<I, O, E, R> = { ...rest, flow, tools: options.tools ?? flow.uses }
    const arbitrary = yield* flowPlans(spec, faults)
    const parallel = WorkerPool.parallelRuns<FlowRunResult<O["Type"], E | FlowError>>(
      path === undefined ? workerSpec : undefined,
      workers,
      runs,
      (plan) => Effect.runPromise(runFlowOnce(spec, plan))
    )
    const report = yield* Check.search({ seed, runs, path, arbitrary, observe, parallel }, (plan) => runFlowOnce(spec, plan))
    const { warnings } = yield* planned(spec)
    return { ...report, ...Check.assumptions(spec, yield* flowUnannotated(spec)), flow: flow.name, input: options.input, warnings }
  })

/**
 * The tools a flow may call (its plan's: declared in `uses` or reached) that say nothing about
 * idempotency (see `Chaos.unannotated`); without a plan, those of its servers.
 *
 * @example
 * ```ts
 * const tools = yield* Chaos.flowUnannotated({ flow, input, servers }) // => ["notes.append"]
 * ```
 */
export const flowUnannotated = <I extends Schema.Top, O extends Schema.Top, E, R>(
  spec: Pick<FlowSpec<I, O, E, R>, "flow" | "input" | "servers" | "tools">
): Effect.Effect<ReadonlyArray<string>> =>
  Effect.gen(function*() {
    const { tools } = yield* planned(spec)
    if (tools.length > 0) {
      return [...new Set(tools.filter((t) => t.idempotent === undefined && t.readOnly !== true).map((t) => `${t.server}.${t.tool}`))].sort()
    }
    const served = yield* RunOnce.targetsOf({ servers: spec.servers, tools: spec.tools ?? spec.flow.uses, program: Effect.void })
    return served.unannotated
  })

/**
 * Atomicity on the stateful models: a run that succeeded must have `committed` everything, a run
 * that failed (or hung) must have `undone` everything (e.g. no reservation held, no charge left
 * unrefunded).
 *
 * @example
 * ```ts
 * Chaos.atomic("order", {
 *   committed: (run) => Ledger.netFor(ledger(run), "o1") === 25,
 *   undone: (run) => Ledger.netFor(ledger(run), "o1") === 0 && Inventory.heldFor(stock(run), "o1").length === 0
 * })
 * ```
 */
export const atomic = <A, E>(
  name: string,
  sides: {
    readonly committed: (run: Omit<FlowRunResult<A, E>, "violations">) => boolean
    readonly undone: (run: Omit<FlowRunResult<A, E>, "violations">) => boolean
    readonly describe?: ((run: Omit<FlowRunResult<A, E>, "violations">) => string) | undefined
  }
): FlowInvariant<A, E> => ({
  name: `atomic: ${name}`,
  holds: (run) => (run.outcome._tag === "Success" ? sides.committed(run) : sides.undone(run)),
  detail: (run) =>
    `${run.outcome._tag === "Success" ? "the run succeeded but did not commit everything" : "the run did not succeed but left effects behind"}` +
    (sides.describe === undefined ? "" : `: ${sides.describe(run)}`)
})

const icons: Readonly<Record<StepStatus, string>> = { succeeded: "✓", failed: "✗", interrupted: "⊘", skipped: "○", running: "…", waiting: "⏸" }

const firstLine = (text: string): string => text.split("\n")[0] ?? ""

const errorText = (errorTag: string | undefined, error: string): string =>
  `${errorTag ?? ""}${errorTag ? ": " : ""}${firstLine(error)}`

const detailOf = (node: StepState): string => {
  switch (node.status) {
    case "succeeded":
      return `${node.durationMs}ms`
    case "failed":
    case "interrupted":
      return `${node.durationMs}ms ${errorText(node.errorTag, node.error ?? "")}`
    case "skipped":
      return `skipped: ${node.why}`
    case "running":
    case "waiting":
      return ""
  }
}

const undoOf = (node: StepState): string => {
  const undo = node.compensation
  if (undo === undefined) return ""
  switch (undo.status) {
    case "running":
      return "↩ compensating…"
    case "compensated":
      return `↩ compensated (${undo.durationMs}ms)`
    case "failed":
      return `↩ compensation FAILED: ${firstLine(undo.error ?? "")}`
  }
}

/**
 * The run's step tree, from its events (folded by `EventFold`): one line per step or group,
 * indented by depth, with its outcome, virtual duration, retries and compensation.
 *
 * @example
 * ```ts
 * console.log(Chaos.stepTree(run.events))
 * // ✓ order (saga) 40ms
 * //   ✓ reserve 10ms ↩ compensated
 * //   ✗ charge 5000ms McpflowToolError.Timeout: …
 * ```
 */
export const stepTree = (events: ReadonlyArray<FlowEvent>): string => {
  const state = EventFold.fold(events)
  const finished = state.finished
  const head = `${state.flow === undefined ? "" : `flow ${state.flow} (${state.engine} engine)`}${
    finished === undefined
      ? ""
      : ` → ${finished.outcome} in ${finished.durationMs}ms${finished.error !== undefined ? ` ${errorText(finished.errorTag, finished.error)}` : ""}`
  }`
  const lines = [head || "flow (no events)"]
  for (const n of state.nodes.values()) {
    const depth = n.path.split("/").length
    const kind = n.kind === "step" ? "" : ` (${n.kind})`
    const retries = n.retries.length > 0 ? ` ⟳${n.retries.length}` : ""
    const undo = undoOf(n)
    lines.push(`${"  ".repeat(depth)}${icons[n.status]} ${n.name}${kind} ${detailOf(n)}${retries}${undo ? ` ${undo}` : ""}`.trimEnd())
  }
  return lines.join("\n")
}

/** A word quoted for a POSIX shell (single quotes; a quote inside becomes `'\''`). */
const shellQuote = (word: string): string => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)

/**
 * The command that replays a case through the CLI: the flow file, the run's input (as JSON;
 * without it the CLI would run the suite's default input) and the token (the plan, with the
 * seed of every decision). The search settings (`--runs`, `--seed`, `--faults`, `--rate`) do
 * not enter a replay: the token is the whole plan.
 *
 * @example
 * ```ts
 * Chaos.replayCommand("flows/order.ts", token, { orderId: "o1" }) // => "npx mcpflow chaos flows/order.ts --input '{\"orderId\":\"o1\"}' --replay 'eyJ…'"
 * ```
 */
export const replayCommand = (file: string, token: string, input?: unknown): string => {
  const json = input === undefined ? undefined : JSON.stringify(input)
  return [...["npx", "mcpflow", "chaos", file, ...(json === undefined ? [] : ["--input", json])].map(shellQuote), "--replay", `'${token}'`].join(" ")
}

/**
 * One flow run as text: plan, outcome, faults that fired, violations, then the step tree.
 *
 * @example
 * ```ts
 * console.log(Chaos.formatFlowRun(yield* Chaos.replayFlow(spec, token)))
 * ```
 */
export const formatFlowRun = (run: FlowRunResult<unknown, unknown>): string =>
  [ReportText.formatRun(run), `step tree:\n${stepTree(run.events).replace(/^/gm, "  ")}`].join("\n")

/**
 * A flow check report as text: the summary; for a failure the seed, the path, the shrunk plan,
 * the faults that fired, the violations, the step tree and the exact replay command.
 *
 * @example
 * ```ts
 * if (!report.ok) console.log(Chaos.formatFlow(report, { file: "flows/order.ts" }))
 * ```
 */
export const formatFlow = (
  report: FlowCheckReport<unknown, unknown>,
  where?: { readonly file?: string | undefined; readonly rerun?: string | undefined }
): string => {
  const counts = (r: Readonly<Record<string, number>>) =>
    Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k} ${n}`).join(", ") || "none"
  const head = [
    `chaos ${report.flow}: ${report.ok ? "every invariant held" : "an invariant was violated"} in ${report.runs} run(s), seed ${report.seed}`,
    `faults fired: ${counts(report.faultsFired)}`,
    `outcomes: ${counts(report.outcomes)}`,
    ...ReportText.assumed(report),
    ...report.warnings.map((w) => `warning: ${w}`)
  ]
  if (report.ok) return head.join("\n")
  const token = report.token ?? ""
  return [
    ...head,
    `seed ${report.seed}, path ${report.path ?? "-"}, shrunk ${report.shrinks} time(s), 1-minimal: ${ReportText.yesNo(report.minimal)}`,
    ...(report.error !== undefined && report.counterexample === undefined ? [`error: ${report.error}`] : []),
    ...(report.counterexample !== undefined ? [formatFlowRun(report.counterexample as FlowRunResult<unknown, unknown>)] : []),
    `replay: ${replayCommand(where?.file ?? "<flow file>", token, report.input)}`,
    ...(where?.rerun !== undefined ? [`   or: ${where.rerun}`] : []),
    `   or: Chaos.replayFlow(spec, "${token}")`
  ].join("\n")
}
