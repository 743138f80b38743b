/**
 * The chaos property kit's search: let fast-check draw fault plans, run each (`RunOnce.ts`) and
 * shrink a run that breaks an invariant to a minimal plan with a replay token
 * (`ReplayToken.ts`); the run's inputs and results are in `RunSpec.ts`, the built-in invariants
 * in `BuiltInInvariants.ts`, the text renderings in `ReportText.ts`.
 *
 * Each run builds fresh servers (so model state starts over), one {@link Injector} for the
 * plan, a gateway over the fakes, and drives the program on a `TestClock` until it ends or the
 * virtual deadline passes ({@link VirtualTime.run}), with `Random` seeded from the plan
 * ({@link RunSeed.withPlanRandom}: retry jitter and hedging draw the same numbers whenever the
 * plan is run again, so a seed gives the same report byte for byte). Built-in invariants:
 *
 * - `typed-outcome`: the program ends in success or a typed failure (no defect, no interruption);
 * - `never-hangs`: it ends before the virtual deadline;
 * - `allowlist` (with `allow`): every call the client sent matches a `server.tool` pattern;
 * - `concurrency` (with `maxConcurrency`): the most calls in flight per tool (`server.tool`) or
 *   per server (`server`) stays within its bound;
 * - `no-duplicate-request`: a tool not known to be safe to repeat (the same rule as `Retry`:
 *   its contract lacks `idempotent: true` / `readOnly: true` — unknown counts as
 *   non-idempotent — or it is listed in `nonIdempotent`) is never sent again for one logical
 *   request after an earlier send that may have had its effect: one answered, cancelled
 *   (timeout), cut by a closed connection, or still pending. A request is identified by where it
 *   was sent (the step's path and the call's index in the step's attempt, see
 *   `BuiltInInvariants.sameRequest`), not by its arguments alone; `requestKey` overrides it.
 *   Re-sending after a refusal (`isError`, JSON-RPC error) is fine, and so is a call carrying an
 *   `idempotency_key` (the server's dedup makes the repeat safe).
 *
 * Each built-in invariant can be configured or switched off with a reason (`builtIn`); reports
 * list those, and the tools with no idempotency annotation. A counterexample is shrunk by
 * fast-check, then brought to a 1-minimal plan ({@link minimize}; `minimal` in the report).
 *
 * The plans {@link check} draws (see {@link planArbitrary}) cover every tool of the servers and
 * focus on the non-idempotent ones: half the faults are ambiguous ones (a lost response, a hang,
 * a timeout-length latency, a duplicated or corrupted message, a dropped connection) on those
 * tools, since that is where retries go wrong. Pass `faults: { focus: [] }` to draw uniformly.
 * Servers may be definitions or ready configs (a flow file's sandbox): configs made by
 * `FakeServer.make` pick up the run's injector from {@link FakeServer.CurrentInjector}.
 *
 * @example
 * ```ts
 * const report = yield* Chaos.check({
 *   servers: Effect.map(Ledger.make(), (ledger) => [ledger.server("payment", bindings)]),
 *   program: Payment.charge({ orderId: "o1", amount: 10 }),
 *   invariants: [{ name: "charged at most once", holds: (run) => (run.snapshots.payment as LedgerSnapshot).charges.length <= 1 }],
 *   runs: 200,
 *   seed: 42
 * })
 * if (!report.ok) console.log(Chaos.format(report))
 * ```
 * @module
 */
import fc from "fast-check"
import { Effect } from "effect"
import * as Arbitraries from "./Arbitraries.ts"
import type * as F from "./Fault.ts"
import type * as Injector from "./Injector.ts"
import * as WorkerPool from "./internal/WorkerPool.ts"
import type * as WorkerSpec from "./internal/WorkerSpec.ts"
import { tokenOf } from "./ReplayToken.ts"
import { runOnce, targetsOf } from "./RunOnce.ts"
import { builtInNames, offReason, outcomeKind, type Outcome, type RunResult, type Spec, type Violation } from "./RunSpec.ts"

/**
 * Options of {@link check}: a spec plus how many runs, the fast-check seed (and path, to replay
 * fast-check's own search), and the fault plans to draw.
 *
 * @example
 * ```ts
 * const o: CheckOptions<void, McpflowToolError> = { ...spec, runs: 200, seed: 42, faults: { rate: 0.2, kinds: ["LostResponse", "Hang"] } }
 * ```
 */
export interface CheckOptions<A, E> extends Spec<A, E> {
  readonly runs?: number | undefined
  readonly seed?: number | undefined
  readonly path?: string | undefined
  /** An arbitrary of plans, or options for {@link Arbitraries.faultPlan} (targets default to every tool of the servers). */
  readonly faults?: fc.Arbitrary<F.FaultPlan> | Partial<Arbitraries.PlanOptions> | undefined
  /**
   * Where worker threads load this same spec from (a module and its export: the spec, or a
   * function of `args` returning one). Without it every run is made in this thread; so is every
   * run when the workers fail (the same report, only slower).
   */
  readonly workerSpec?: WorkerSpec.SpecSource | undefined
  /**
   * How many threads run the search's runs (with {@link workerSpec}): this one and `workers - 1`
   * worker threads; 1 runs them all in this thread. Default: one per core, at most 8, for 400 runs
   * or more (else 1; 1 under vitest). The report is the same whatever the number; shrinking runs in this thread.
   */
  readonly workers?: number | undefined
}

/**
 * What a green run assumed: the tools it counted as non-idempotent for want of an annotation,
 * and the built-in invariants switched off (with their reasons).
 *
 * @example
 * ```ts
 * const a: Assumptions = { unannotated: ["notes.append"], off: { "never-hangs": "a daemon" } }
 * ```
 */
export interface Assumptions {
  /** Tools with no idempotency annotation (neither `idempotent` nor `readOnly: true`): counted as non-idempotent. */
  readonly unannotated: ReadonlyArray<string>
  /** Built-in invariants switched off (`builtIn`), with the reason given. */
  readonly off: Readonly<Record<string, string>>
}

/**
 * The {@link Assumptions} of a spec, given its tools with no idempotency annotation.
 *
 * @example
 * ```ts
 * Chaos.assumptions({ builtIn: { "never-hangs": { off: "a daemon" } } }, []) // => { unannotated: [], off: { "never-hangs": "a daemon" } }
 * ```
 */
export const assumptions = (spec: Pick<Spec<unknown, unknown>, "builtIn">, unannotated: ReadonlyArray<string>): Assumptions => ({
  unannotated,
  off: Object.fromEntries(builtInNames.flatMap((n) => {
    const reason = offReason(spec, n)
    return reason === undefined ? [] : [[n, reason]]
  }))
})

/**
 * What {@link check} found: ok, or the shrunk counterexample with its replay token; plus
 * counts over the runs of the search (before shrinking), and what the check assumed.
 *
 * @example
 * ```ts
 * if (!report.ok) console.log(Chaos.format(report))
 * ```
 */
export interface CheckReport<A, E> extends Assumptions {
  readonly ok: boolean
  readonly runs: number
  readonly seed: number
  readonly path: string | undefined
  readonly shrinks: number
  readonly counterexample: RunResult<A, E> | undefined
  readonly token: string | undefined
  readonly faultsFired: Readonly<Record<string, number>>
  readonly outcomes: Readonly<Record<string, number>>
  /** The error thrown by a run itself, if any (a bug of the harness or of an invariant). */
  readonly error: string | undefined
  /**
   * Whether the counterexample's plan is 1-minimal: the run without any one of its faults
   * violates no invariant (checked after shrinking; `undefined` without a counterexample).
   */
  readonly minimal: boolean | undefined
}

/**
 * Searches fault plans for one that breaks an invariant; a failure is shrunk to a minimal plan.
 *
 * @example
 * ```ts
 * const seed = Number(process.env.FC_SEED ?? Date.now())
 * const report = yield* Chaos.check({ servers, program, runs: 200, seed, faults: { rate: 0.2 } })
 * assert.isTrue(report.ok, Chaos.format(report))
 * ```
 */
export const check = <A, E>(options: CheckOptions<A, E>): Effect.Effect<CheckReport<A, E>> =>
  Effect.gen(function*() {
    const arbitrary = yield* planArbitrary(options, options.faults)
    const parallel = WorkerPool.parallelRuns<RunResult<A, E>>(
      options.path === undefined ? options.workerSpec : undefined,
      options.workers,
      options.runs,
      (plan) => Effect.runPromise(runOnce(options, plan))
    )
    const report = yield* search({ seed: options.seed, runs: options.runs, path: options.path, arbitrary, parallel }, (plan) => runOnce(options, plan))
    const { unannotated } = yield* targetsOf(options)
    return { ...report, ...assumptions(options as Spec<unknown, unknown>, unannotated) }
  })

/**
 * The fault plans {@link check} draws: `faults` itself when it is an arbitrary, else
 * {@link Arbitraries.faultPlan} over every tool of the spec's servers, focused on its
 * non-idempotent tools (the ones the built-in idempotency invariant guards) unless `focus` says
 * otherwise.
 *
 * @example
 * ```ts
 * const plans = yield* Chaos.planArbitrary(spec, { rate: 0.2, kinds: ["LostResponse", "Hang"] })
 * ```
 */
export const planArbitrary = <A, E>(
  spec: Spec<A, E>,
  faults: fc.Arbitrary<F.FaultPlan> | Partial<Arbitraries.PlanOptions> | undefined
): Effect.Effect<fc.Arbitrary<F.FaultPlan>> =>
  faults instanceof fc.Arbitrary
    ? Effect.succeed(faults)
    : Effect.flatMap(targetsOf(spec), ({ focus, targets }) =>
      targets.length === 0 && (faults?.targets === undefined || faults.targets.length === 0)
        ? Effect.die(new Error("Chaos: no fault targets: the servers are configs, not definitions; give `tools` (the contracts the program calls) or `faults.targets`"))
        : Effect.sync(() => Arbitraries.faultPlan({ targets, focus, ...faults })))

/**
 * What a search found, for any kind of run (see {@link check} and `Chaos.checkFlow`).
 *
 * @example
 * ```ts
 * const report: SearchReport<RunResult<number, never>> = yield* Chaos.search(options, (plan) => Chaos.runOnce(spec, plan))
 * ```
 */
export interface SearchReport<R> extends Omit<CheckReport<unknown, unknown>, "counterexample" | keyof Assumptions> {
  readonly counterexample: R | undefined
}

/**
 * The search behind {@link check}: fast-check draws plans from `arbitrary`, `runOne` runs each;
 * a run with a violation fails the property and is shrunk to a minimal plan, which is run once
 * more for the report. `observe` sees every run of the search before the first violation (not
 * the shrinking runs).
 *
 * @example
 * ```ts
 * const report = yield* Chaos.search({ seed: 42, runs: 200, arbitrary }, (plan) => Chaos.runOnce(spec, plan))
 * ```
 */
export const search = <R extends { readonly log: ReadonlyArray<Injector.Injection>; readonly outcome: Outcome<unknown, unknown>; readonly violations: ReadonlyArray<Violation> }>(
  options: {
    readonly seed?: number | undefined
    readonly runs?: number | undefined
    readonly path?: string | undefined
    readonly arbitrary: fc.Arbitrary<F.FaultPlan>
    readonly observe?: ((run: R) => void) | undefined
    /**
     * Runs the search's plans elsewhere (worker threads), in plan order; the result may stop
     * after the first run with a violation. Shrinking and the final runs stay here.
     */
    readonly parallel?: ((plans: ReadonlyArray<F.FaultPlan>) => Promise<ReadonlyArray<R>>) | undefined
  },
  runOne: (plan: F.FaultPlan) => Effect.Effect<R>
): Effect.Effect<SearchReport<R>> =>
  Effect.gen(function*() {
    const seed = options.seed ?? Date.now()
    const runs = options.runs ?? 100
    const faultsFired: Record<string, number> = {}
    const outcomes: Record<string, number> = {}
    let searching = true
    // With `parallel`: a first pass of the same `fc.check` records the plans it draws (a property
    // that always holds draws them all), they run elsewhere, and the real pass below answers its
    // calls from those runs in order until the first failure; its shrinking runs here.
    const ran = options.parallel !== undefined && options.path === undefined
      ? yield* Effect.promise(async () => {
        const drawn: Array<F.FaultPlan> = []
        await fc.check(fc.asyncProperty(options.arbitrary, async (plan) => (drawn.push(plan), true)), { seed, numRuns: runs })
        return { plans: drawn, runs: await options.parallel!(drawn) }
      })
      : undefined
    let call = 0
    const runOf = (plan: F.FaultPlan): Promise<R> => {
      const index = call++
      // The same seed draws the same plans; a plan that differs (it never should) runs here.
      if (searching && ran !== undefined && index < ran.runs.length && ran.plans[index] !== undefined && samePlan(ran.plans[index]!, plan)) {
        return Promise.resolve(ran.runs[index]!)
      }
      return Effect.runPromise(runOne(plan))
    }
    const property = fc.asyncProperty(options.arbitrary, async (plan) => {
      const run = await runOf(plan)
      if (searching) {
        for (const i of run.log) faultsFired[i.kind] = (faultsFired[i.kind] ?? 0) + 1
        const k = outcomeKind(run.outcome)
        outcomes[k] = (outcomes[k] ?? 0) + 1
        options.observe?.(run)
        if (run.violations.length > 0) searching = false
      }
      return run.violations.length === 0
    })
    const details = yield* Effect.promise(() =>
      fc.check(property, { seed, numRuns: runs, ...(options.path !== undefined ? { path: options.path } : {}) })
    )
    if (!details.failed) {
      return {
        ok: true,
        runs: details.numRuns,
        seed,
        path: undefined,
        shrinks: 0,
        counterexample: undefined,
        token: undefined,
        faultsFired,
        outcomes,
        error: undefined,
        minimal: undefined
      }
    }
    const shrunk = details.counterexample?.[0]
    const reduced = shrunk === undefined ? undefined : yield* minimize(shrunk, runOne)
    return {
      ok: false,
      runs: details.numRuns,
      seed: details.seed,
      path: details.counterexamplePath ?? undefined,
      shrinks: details.numShrinks + (reduced?.removed ?? 0),
      counterexample: reduced?.run,
      token: reduced === undefined ? undefined : tokenOf(reduced.plan),
      faultsFired,
      outcomes,
      error: details.errorInstance === null || details.errorInstance === undefined ? undefined : String(details.errorInstance),
      minimal: reduced?.minimal
    }
  })

const samePlan = (a: F.FaultPlan, b: F.FaultPlan): boolean => a === b || tokenOf(a) === tokenOf(b)

/** At most this many runs to bring a shrunk plan to 1-minimality (a plan of n faults needs at most n·(n+1)/2). */
const MINIMIZE_BUDGET = 64

/**
 * Brings a failing plan down to a 1-minimal one: drops any fault without which the run still
 * violates one of the invariants it violated (fast-check's shrinking may keep an inert fault),
 * until no single fault can go; then checks that the run without any one fault violates nothing
 * (`minimal`). Within a budget of runs; past it, `minimal` is false.
 *
 * @example
 * ```ts
 * const { plan, run, minimal } = yield* Chaos.minimize(shrunkPlan, (p) => Chaos.runOnce(spec, p))
 * ```
 */
export const minimize = <R extends { readonly violations: ReadonlyArray<Violation> }>(
  plan: F.FaultPlan,
  runOne: (plan: F.FaultPlan) => Effect.Effect<R>
): Effect.Effect<{ readonly plan: F.FaultPlan; readonly run: R; readonly removed: number; readonly minimal: boolean }> =>
  Effect.gen(function*() {
    let current = plan
    let run = yield* runOne(plan)
    const wanted = new Set(run.violations.map((v) => v.invariant))
    let budget = MINIMIZE_BUDGET
    let removed = 0
    let minimal = true
    let i = 0
    while (i < current.faults.length) {
      if (budget-- <= 0) {
        minimal = false
        break
      }
      const without = { ...current, faults: current.faults.filter((_, j) => j !== i) }
      const r = yield* runOne(without)
      if (r.violations.some((v) => wanted.has(v.invariant))) {
        current = without
        run = r
        removed++
        i = 0
        minimal = true
      } else {
        // Still needed; 1-minimal means the run without it violates nothing at all.
        if (r.violations.length > 0) minimal = false
        i++
      }
    }
    return { plan: current, run, removed, minimal }
  })
