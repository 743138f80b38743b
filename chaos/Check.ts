/**
 * The chaos property kit: run any program that needs an `McpGateway` against fake servers
 * misbehaving per a {@link FaultPlan}, in virtual time, and check invariants; let fast-check
 * search fault plans and shrink a failure to a minimal plan with a replay token.
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
 * - `no-duplicate-request`: a non-idempotent tool (contract annotated `idempotent: false`, or
 *   listed in `nonIdempotent`) is never sent again for one logical request (by default:
 *   identical arguments; `requestKey` picks e.g. the idempotency key) after an earlier send
 *   that may have had its effect: one answered, cancelled (timeout), cut by a closed
 *   connection, or still pending. Re-sending after a refusal (`isError`, JSON-RPC error) is fine,
 *   and so is a call carrying an `idempotency_key` (the server's dedup makes the repeat safe).
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
import { Cause, Duration, Effect, Exit } from "effect"
import type { ContractInfo } from "../dsl/Contract.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import { matchesAllowlist } from "../src/runtime/gateway/McpJson.ts"
import type { InProcessServerConfig, ServerConfig } from "../src/runtime/gateway/ServerConfig.ts"
import * as Arbitraries from "./Arbitraries.ts"
import * as FakeServer from "./FakeServer.ts"
import * as F from "./Fault.ts"
import * as Injector from "./Injector.ts"
import * as RunSeed from "./RunSeed.ts"
import * as VirtualTime from "./VirtualTime.ts"

/**
 * How a run ended.
 *
 * @example
 * ```ts
 * const o: Outcome<number, string> = { _tag: "Failure", error: "declined" }
 * ```
 */
export type Outcome<A, E> =
  | { readonly _tag: "Success"; readonly value: A }
  | { readonly _tag: "Failure"; readonly error: E }
  | { readonly _tag: "Defect"; readonly cause: string }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "Hang"; readonly atMs: number }

/**
 * An invariant that did not hold in a run.
 *
 * @example
 * ```ts
 * const v: Violation = { invariant: "never-hangs", detail: "still running at 3600000 ms" }
 * ```
 */
export interface Violation {
  readonly invariant: string
  readonly detail: string
}

/**
 * Everything one run produced: the plan, the outcome, the faults that fired, the calls sent,
 * per-tool counters, the models' final snapshots by server key, and the violations.
 *
 * @example
 * ```ts
 * const run = yield* Chaos.runOnce(spec, plan)
 * run.outcome._tag // => "Success"
 * ```
 */
export interface RunResult<A, E> {
  readonly plan: F.FaultPlan
  readonly outcome: Outcome<A, E>
  readonly log: ReadonlyArray<Injector.Injection>
  readonly sent: ReadonlyArray<Injector.SentCall>
  readonly stats: ReadonlyArray<Injector.ToolStats>
  readonly serverPeaks: Readonly<Record<string, number>>
  readonly snapshots: Readonly<Record<string, unknown>>
  /** Virtual milliseconds from start to end. */
  readonly durationMs: number
  readonly violations: ReadonlyArray<Violation>
}

/**
 * A user invariant over a finished run (models' snapshots, outcome, injection log, counters).
 *
 * @example
 * ```ts
 * const atMostOnce: Invariant<unknown, unknown> = {
 *   name: "charged at most once",
 *   holds: (run) => (run.snapshots.payment as { charges: ReadonlyArray<unknown> }).charges.length <= 1
 * }
 * ```
 */
export interface Invariant<A, E> {
  readonly name: string
  readonly holds: (run: Omit<RunResult<A, E>, "violations">) => boolean
  /** Explains a violation (default: the name). */
  readonly detail?: ((run: Omit<RunResult<A, E>, "violations">) => string) | undefined
}

/**
 * What to run: fresh servers per run, the program, and the invariants' settings.
 *
 * @example
 * ```ts
 * const spec: Spec<void, McpflowToolError> = { servers: makeServers, program, allow: ["payment.*"], maxConcurrency: { "payment.charge": 2 } }
 * ```
 */
export interface Spec<A, E> {
  /**
   * Builds the fake servers of one run (state starts over each time): definitions, or ready
   * server configs by key (e.g. a flow file's sandbox) made by `FakeServer.make` — those are
   * built with the run's injector as {@link FakeServer.CurrentInjector}. With configs, give
   * `tools` so fault targets and idempotency are known.
   */
  readonly servers: Effect.Effect<ReadonlyArray<FakeServer.Definition> | Readonly<Record<string, ServerConfig>>>
  /** The contracts the program may call: fault targets and annotations when `servers` gives configs. */
  readonly tools?: ReadonlyArray<ContractInfo> | undefined
  readonly program: Effect.Effect<A, E, McpGateway>
  readonly invariants?: ReadonlyArray<Invariant<A, E>> | undefined
  /** The virtual deadline of a run (default 1 hour). */
  readonly deadline?: Duration.Input | undefined
  /** `server.tool` patterns every sent call must match. */
  readonly allow?: ReadonlyArray<string> | undefined
  /** Bounds of calls in flight, by `server.tool` or by `server`. */
  readonly maxConcurrency?: Readonly<Record<string, number>> | undefined
  /** Extra non-idempotent tools (`server.tool` patterns), besides contracts annotated `idempotent: false`. */
  readonly nonIdempotent?: ReadonlyArray<string> | undefined
  /** The logical request of a sent call (default: its canonical arguments). */
  readonly requestKey?: ((call: Injector.SentCall) => string) | undefined
  /** Server limits applied to every fake (e.g. `callTimeoutMs`). */
  readonly limits?: { readonly callTimeoutMs?: number | undefined; readonly connectTimeoutMs?: number | undefined } | undefined
}

const outcomeOf = <A, E>(r: VirtualTime.Result<A, E>): Outcome<A, E> => {
  if (r.hung || r.exit === undefined) return { _tag: "Hang", atMs: r.endMs }
  const exit = r.exit
  if (Exit.isSuccess(exit)) return { _tag: "Success", value: exit.value }
  const reasons = exit.cause.reasons
  const fail = reasons.find((x) => x._tag === "Fail")
  if (reasons.some((x) => x._tag === "Die")) return { _tag: "Defect", cause: Cause.pretty(exit.cause) }
  if (fail?._tag === "Fail") return { _tag: "Failure", error: fail.error }
  return { _tag: "Interrupted" }
}

const nonIdempotentTools = (tools: ReadonlyArray<Arbitraries.Target & { readonly contract?: ContractInfo }>, extra: ReadonlyArray<string>) => {
  const set = new Set<string>()
  for (const t of tools) {
    if (t.contract?.annotations.idempotent === false || (extra.length > 0 && matchesAllowlist(extra, t.server, t.tool))) {
      set.add(`${t.server}.${t.tool}`)
    }
  }
  return set
}

const isDefinitions = (u: ReadonlyArray<FakeServer.Definition> | Readonly<Record<string, ServerConfig>>): u is ReadonlyArray<FakeServer.Definition> =>
  Array.isArray(u)

/** The tools of a run: the definitions' handlers, then `spec.tools` (deduplicated, in order). */
const toolsOf = (
  made: ReadonlyArray<FakeServer.Definition> | Readonly<Record<string, ServerConfig>>,
  extra: ReadonlyArray<ContractInfo> | undefined
): Array<Arbitraries.Target & { readonly contract: ContractInfo }> => {
  const out: Array<Arbitraries.Target & { readonly contract: ContractInfo }> = []
  const seen = new Set<string>()
  const add = (server: string, contract: ContractInfo) => {
    const id = `${server}.${contract.tool}`
    if (seen.has(id)) return
    seen.add(id)
    out.push({ server, tool: contract.tool, contract })
  }
  if (isDefinitions(made)) for (const d of made) for (const h of d.handlers) add(d.key, h.contract)
  for (const c of extra ?? []) add(c.server, c)
  return out
}

/**
 * The fault targets and the non-idempotent tools (the default focus) of a spec's servers.
 *
 * @example
 * ```ts
 * const { targets, focus } = yield* Chaos.targetsOf(spec)
 * ```
 */
export const targetsOf = <A, E>(spec: Spec<A, E>): Effect.Effect<{ readonly targets: ReadonlyArray<Arbitraries.Target>; readonly focus: ReadonlyArray<Arbitraries.Target> }> =>
  Effect.map(spec.servers.pipe(Effect.provideService(FakeServer.CurrentInjector, Injector.make(F.none))), (made) => {
    const tools = toolsOf(made, spec.tools)
    const risky = nonIdempotentTools(tools, spec.nonIdempotent ?? [])
    const targets = tools.map(({ server, tool }) => ({ server, tool }))
    return { targets, focus: targets.filter((t) => risky.has(`${t.server}.${t.tool}`)) }
  })

const builtIns = <A, E>(
  spec: Spec<A, E>,
  run: Omit<RunResult<A, E>, "violations">,
  nonIdempotent: ReadonlySet<string>,
  deadlineMs: number
): Array<Violation> => {
  const out: Array<Violation> = []
  const o = run.outcome
  if (o._tag === "Defect") out.push({ invariant: "typed-outcome", detail: `the program died: ${o.cause.split("\n")[0]}` })
  if (o._tag === "Interrupted") out.push({ invariant: "typed-outcome", detail: "the program was interrupted" })
  if (o._tag === "Hang") {
    out.push({
      invariant: "never-hangs",
      detail: o.atMs >= deadlineMs
        ? `still running at the virtual deadline (${deadlineMs} ms)`
        : `stuck at ${o.atMs} ms with nothing left to wake it`
    })
  }
  if (spec.allow !== undefined) {
    const allow = spec.allow
    const outside = [...new Set(run.sent.filter((c) => !matchesAllowlist(allow, c.server, c.tool)).map((c) => `${c.server}.${c.tool}`))]
    if (outside.length > 0) out.push({ invariant: "allowlist", detail: `called outside [${allow.join(", ")}]: ${outside.join(", ")}` })
  }
  for (const [key, bound] of Object.entries(spec.maxConcurrency ?? {})) {
    if (key.includes(".")) {
      for (const s of run.stats) {
        if (F.matches(key, s.server, s.tool) && s.peakInFlight > bound) {
          out.push({ invariant: "concurrency", detail: `${s.server}.${s.tool} had ${s.peakInFlight} calls in flight (bound ${bound})` })
        }
      }
    } else {
      const peak = run.serverPeaks[key] ?? 0
      if (peak > bound) out.push({ invariant: "concurrency", detail: `server ${key} had ${peak} calls in flight (bound ${bound})` })
    }
  }
  const keyOf = spec.requestKey ?? ((c: Injector.SentCall) => c.args)
  const earlier = new Map<string, Array<Injector.SentCall>>()
  const reported = new Set<string>()
  for (const c of run.sent) {
    const id = `${c.server}.${c.tool}`
    if (!nonIdempotent.has(id) || carriesIdempotencyKey(c.args)) continue
    const k = `${id} ${keyOf(c)}`
    const before = earlier.get(k) ?? []
    const unsafe = before.find((b) => b.end !== "refused")
    if (unsafe !== undefined && !reported.has(k)) {
      reported.add(k)
      out.push({
        invariant: "no-duplicate-request",
        detail: `non-idempotent ${id} was sent again (#${c.call}) for one request after #${unsafe.call} ended ${unsafe.end}: ${keyOf(c)}`
      })
    }
    before.push(c)
    earlier.set(k, before)
  }
  return out
}

/**
 * A call that carries an idempotency key may be sent again: the key is how a non-idempotent
 * tool makes a repeat safe. (Whether the server honours it is for the models' own invariants,
 * e.g. "never charged twice", to check.)
 */
const carriesIdempotencyKey = (args: string): boolean => {
  try {
    const parsed: unknown = JSON.parse(args)
    if (typeof parsed !== "object" || parsed === null) return false
    const key = (parsed as Record<string, unknown>).idempotency_key ?? (parsed as Record<string, unknown>).idempotencyKey
    return typeof key === "string" && key !== ""
  } catch {
    return false
  }
}

const withLimits = (config: ServerConfig, limits: Spec<unknown, unknown>["limits"]): ServerConfig => {
  if (config.type !== "in-process" || limits === undefined) return config
  const c: InProcessServerConfig = {
    ...config,
    ...(limits.callTimeoutMs !== undefined ? { callTimeoutMs: limits.callTimeoutMs } : {}),
    ...(limits.connectTimeoutMs !== undefined ? { connectTimeoutMs: limits.connectTimeoutMs } : {})
  }
  return c
}

const deadlineOf = (spec: Spec<unknown, unknown>): number =>
  spec.deadline === undefined ? 3_600_000 : Duration.toMillis(Duration.fromInputUnsafe(spec.deadline))

/**
 * Runs the program once under a plan and checks every invariant.
 *
 * @example
 * ```ts
 * const run = yield* Chaos.runOnce(spec, Fault.plan(1, [Fault.lostResponse("payment.charge")]))
 * console.log(Injector.formatLog(run.log))
 * ```
 */
export const runOnce = <A, E>(spec: Spec<A, E>, plan: F.FaultPlan): Effect.Effect<RunResult<A, E>> =>
  Effect.gen(function*() {
    const injector = Injector.make(plan)
    const deadlineMs = deadlineOf(spec as Spec<unknown, unknown>)
    let defs: ReadonlyArray<FakeServer.Definition> = []
    let made: ReadonlyArray<FakeServer.Definition> | Readonly<Record<string, ServerConfig>> = []
    const driven = yield* VirtualTime.run(
      () =>
        Effect.gen(function*() {
          made = yield* spec.servers.pipe(Effect.provideService(FakeServer.CurrentInjector, injector))
          const servers: Record<string, ServerConfig> = {}
          if (isDefinitions(made)) {
            defs = made
            for (const def of defs) {
              servers[def.key] = yield* FakeServer.fromDefinition(def, { ...spec.limits, injector })
            }
          } else {
            for (const [key, config] of Object.entries(made)) servers[key] = withLimits(config, spec.limits)
          }
          return yield* Effect.provide(spec.program, GatewayLayer.layer({ servers }))
        }).pipe(RunSeed.withPlanRandom(plan)),
      { deadlineMs, extraActivity: injector.activity }
    )
    const snapshots: Record<string, unknown> = {}
    for (const def of defs) if (def.snapshot !== undefined) snapshots[def.key] = yield* def.snapshot
    const base = {
      plan,
      outcome: outcomeOf(driven),
      log: [...injector.log],
      sent: [...injector.sent],
      stats: injector.stats(),
      serverPeaks: injector.serverPeaks(),
      snapshots,
      durationMs: driven.endMs
    }
    const violations = builtIns(spec, base, nonIdempotentTools(toolsOf(made, spec.tools), spec.nonIdempotent ?? []), deadlineMs)
    for (const inv of spec.invariants ?? []) {
      let held: boolean
      try {
        held = inv.holds(base)
      } catch (error) {
        violations.push({ invariant: inv.name, detail: `the invariant threw: ${String(error)}` })
        continue
      }
      if (!held) violations.push({ invariant: inv.name, detail: inv.detail?.(base) ?? inv.name })
    }
    return { ...base, violations }
  })

/**
 * A replay token: the plan as base64url JSON (it carries the seed of every decision).
 *
 * @example
 * ```ts
 * const token = Chaos.tokenOf(plan)
 * Chaos.planOf(token) // => plan
 * ```
 */
export const tokenOf = (plan: F.FaultPlan): string => Buffer.from(JSON.stringify(F.encodePlan(plan)), "utf8").toString("base64url")

/**
 * The plan in a replay token (throws on a malformed token).
 *
 * @example
 * ```ts
 * Chaos.planOf("eyJzZWVkIjoxLCJmYXVsdHMiOltdfQ") // => { seed: 1, faults: [] }
 * ```
 */
export const planOf = (token: string): F.FaultPlan => F.decodePlan(JSON.parse(Buffer.from(token, "base64url").toString("utf8")))

/**
 * Re-runs the one case a token names.
 *
 * @example
 * ```ts
 * const run = yield* Chaos.replay(spec, "eyJzZWVkIjo…")
 * run.violations // the same as when it was found
 * ```
 */
export const replay = <A, E>(spec: Spec<A, E>, token: string): Effect.Effect<RunResult<A, E>> =>
  Effect.suspend(() => runOnce(spec, planOf(token)))

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
}

/**
 * What {@link check} found: ok, or the shrunk counterexample with its replay token; plus
 * counts over the runs of the search (before shrinking).
 *
 * @example
 * ```ts
 * if (!report.ok) console.log(Chaos.format(report))
 * ```
 */
export interface CheckReport<A, E> {
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
}

/**
 * The kind of an outcome for counts: `Success`, `Failure:<reason or tag>`, `Defect`, `Hang`, `Interrupted`.
 *
 * @example
 * ```ts
 * Chaos.outcomeKind({ _tag: "Failure", error: { _tag: "McpflowToolError", reason: { _tag: "Timeout" } } }) // => "Failure:Timeout"
 * ```
 */
export const outcomeKind = (o: Outcome<unknown, unknown>): string => {
  if (o._tag !== "Failure") return o._tag
  const e = o.error as { readonly _tag?: unknown; readonly reason?: { readonly _tag?: unknown } }
  return `Failure:${typeof e?.reason?._tag === "string" ? e.reason._tag : typeof e?._tag === "string" ? e._tag : "?"}`
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
  Effect.flatMap(planArbitrary(options, options.faults), (arbitrary) =>
    search({ seed: options.seed, runs: options.runs, path: options.path, arbitrary }, (plan) => runOnce(options, plan)))

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
export interface SearchReport<R> extends Omit<CheckReport<unknown, unknown>, "counterexample"> {
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
  },
  runOne: (plan: F.FaultPlan) => Effect.Effect<R>
): Effect.Effect<SearchReport<R>> =>
  Effect.gen(function*() {
    const seed = options.seed ?? Date.now()
    const runs = options.runs ?? 100
    const faultsFired: Record<string, number> = {}
    const outcomes: Record<string, number> = {}
    let searching = true
    const property = fc.asyncProperty(options.arbitrary, async (plan) => {
      const run = await Effect.runPromise(runOne(plan))
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
      return { ok: true, runs: details.numRuns, seed, path: undefined, shrinks: 0, counterexample: undefined, token: undefined, faultsFired, outcomes, error: undefined }
    }
    const plan = details.counterexample?.[0]
    const counterexample = plan === undefined ? undefined : yield* runOne(plan)
    return {
      ok: false,
      runs: details.numRuns,
      seed: details.seed,
      path: details.counterexamplePath ?? undefined,
      shrinks: details.numShrinks,
      counterexample,
      token: plan === undefined ? undefined : tokenOf(plan),
      faultsFired,
      outcomes,
      error: details.errorInstance === null || details.errorInstance === undefined ? undefined : String(details.errorInstance)
    }
  })

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
    `outcomes: ${counts(report.outcomes)}`
  ]
  if (report.ok) return head.join("\n")
  return [
    ...head,
    `shrunk ${report.shrinks} time(s); path ${report.path ?? "-"}`,
    ...(report.error !== undefined ? [`error: ${report.error}`] : []),
    ...(report.counterexample !== undefined ? [formatRun(report.counterexample as RunResult<unknown, unknown>)] : []),
    `replay: Chaos.replay(spec, "${report.token ?? ""}")  or  FC_SEED=${report.seed} (path ${report.path ?? "-"})`
  ].join("\n")
}
