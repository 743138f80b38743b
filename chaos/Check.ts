/**
 * The chaos property kit: run any program that needs an `McpGateway` against fake servers
 * misbehaving per a {@link FaultPlan}, in virtual time, and check invariants; let fast-check
 * search fault plans and shrink a failure to a minimal plan with a replay token.
 *
 * Each run builds fresh servers (so model state starts over), one {@link Injector} for the
 * plan, a gateway over the fakes, and drives the program on a `TestClock` until it ends or the
 * virtual deadline passes ({@link VirtualTime.run}). Built-in invariants:
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
 *   connection, or still pending. Re-sending after a refusal (`isError`, JSON-RPC error) is fine.
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
import * as GatewayLayer from "../src/gateway/GatewayLayer.ts"
import type { McpGateway } from "../src/gateway/McpGateway.ts"
import { matchesAllowlist } from "../src/gateway/McpJson.ts"
import type { InProcessServerConfig } from "../src/gateway/ServerConfig.ts"
import * as Arbitraries from "./Arbitraries.ts"
import * as FakeServer from "./FakeServer.ts"
import * as F from "./Fault.ts"
import * as Injector from "./Injector.ts"
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
  /** Builds the fake servers of one run (state starts over each time). */
  readonly servers: Effect.Effect<ReadonlyArray<FakeServer.Definition>>
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

const nonIdempotentTools = (defs: ReadonlyArray<FakeServer.Definition>, extra: ReadonlyArray<string>) => {
  const set = new Set<string>()
  for (const def of defs) {
    for (const h of def.handlers) {
      const c: ContractInfo = h.contract
      if (c.annotations.idempotent === false || (extra.length > 0 && matchesAllowlist(extra, def.key, c.tool))) {
        set.add(`${def.key}.${c.tool}`)
      }
    }
  }
  return set
}

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
    if (!nonIdempotent.has(id)) continue
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
    const driven = yield* VirtualTime.run(
      () =>
        Effect.gen(function*() {
          defs = yield* spec.servers
          const servers: Record<string, InProcessServerConfig> = {}
          for (const def of defs) {
            servers[def.key] = yield* FakeServer.fromDefinition(def, { ...spec.limits, injector })
          }
          return yield* Effect.provide(spec.program, GatewayLayer.layer({ servers }))
        }),
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
    const violations = builtIns(spec, base, nonIdempotentTools(defs, spec.nonIdempotent ?? []), deadlineMs)
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

const outcomeKind = (o: Outcome<unknown, unknown>): string => {
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
  Effect.gen(function*() {
    const seed = options.seed ?? Date.now()
    const runs = options.runs ?? 100
    let arbitrary: fc.Arbitrary<F.FaultPlan>
    if (options.faults instanceof fc.Arbitrary) {
      arbitrary = options.faults
    } else {
      const defs = yield* options.servers
      const targets = defs.flatMap((d) => d.handlers.map((h) => ({ server: d.key, tool: h.contract.tool })))
      arbitrary = Arbitraries.faultPlan({ targets, ...options.faults })
    }
    const faultsFired: Record<string, number> = {}
    const outcomes: Record<string, number> = {}
    let searching = true
    const property = fc.asyncProperty(arbitrary, async (plan) => {
      const run = await Effect.runPromise(runOnce(options, plan))
      if (searching) {
        for (const i of run.log) faultsFired[i.kind] = (faultsFired[i.kind] ?? 0) + 1
        const k = outcomeKind(run.outcome as Outcome<unknown, unknown>)
        outcomes[k] = (outcomes[k] ?? 0) + 1
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
    const counterexample = plan === undefined ? undefined : yield* runOnce(options, plan)
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

const fmtOutcome = (o: Outcome<unknown, unknown>): string => {
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
