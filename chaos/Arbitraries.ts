/**
 * fast-check arbitraries for fault plans over given servers and tools. They shrink toward fewer
 * faults (the list), simpler kinds (the catalogue's order: `ToolError` first), rate 1 (a fault
 * that fires every time, for `horizonMs` unless `permanent`), no window, no burst, and the first
 * target.
 *
 * @example
 * ```ts
 * import fc from "fast-check"
 * import { Arbitraries } from "mcpflow/chaos"
 *
 * const plans = Arbitraries.faultPlan({ targets: [{ server: "payment", tool: "charge" }], rate: 0.2, maxFaults: 3 })
 * fc.sample(plans, 1)
 * ```
 * @module
 */
import fc from "fast-check"
import * as F from "./Fault.ts"

/**
 * One tool a fault may target.
 *
 * @example
 * ```ts
 * const t: Target = { server: "inventory", tool: "reserve" }
 * ```
 */
export interface Target {
  readonly server: string
  readonly tool: string
}

/**
 * Options of {@link faultPlan}.
 *
 * @example
 * ```ts
 * const o: PlanOptions = { targets, kinds: ["LostResponse", "Hang"], rate: 0.2, maxFaults: 3, horizonMs: 60_000 }
 * ```
 */
export interface PlanOptions {
  /** The tools of the program's servers. Faults target one tool, `server.*` or a server. */
  readonly targets: ReadonlyArray<Target>
  /** The kinds to draw from (default: {@link defaultKinds}, the catalogue but the opt-in kinds). */
  readonly kinds?: ReadonlyArray<F.FaultKind> | undefined
  /** The injection rate of drawn faults; by default each fault gets 1, 0.5 or 0.2. */
  readonly rate?: number | undefined
  /** At most this many faults per plan (default 3). */
  readonly maxFaults?: number | undefined
  /** At least this many (default 0: shrinking may drop every fault that is not needed). */
  readonly minFaults?: number | undefined
  /** The span of virtual time windows and outages are drawn in (default 60 s). */
  readonly horizonMs?: number | undefined
  /** Draw windows and bursts (default true). */
  readonly windows?: boolean | undefined
  /**
   * Also draw faults that never end: rate 1 with no window, hitting every matching call of the
   * run (default false: a fault at rate 1 lasts `horizonMs`). Such a fault is a tool broken for
   * good: every saga that must undo through it fails, whatever it does; write one by hand
   * (`Fault.toolError("pay.refund")`) to check what a flow reports then.
   */
  readonly permanent?: boolean | undefined
  /** Also target whole servers (`server.*`), not only the tools (default true). */
  readonly wildcards?: boolean | undefined
  /**
   * The tools the invariants care most about (e.g. the non-idempotent ones): besides the faults
   * drawn over every target, a share of the faults ({@link focusWeight}) hits one of these tools
   * with a kind that leaves the caller unsure whether the call had its effect
   * ({@link ambiguousKinds}). `Chaos.check` focuses on the non-idempotent tools by default.
   */
  readonly focus?: ReadonlyArray<Target> | undefined
  /** The weight of focused faults against 1 for the others (default 1: half the faults). */
  readonly focusWeight?: number | undefined
  /**
   * Different kinds per target in one plan: each fault is drawn from one of these rules, with
   * the rule's kinds, on the tools its target matches (a pattern, or `Fault.on(contract, where)`
   * to hit only calls with those arguments). With `perTarget`, `kinds` and `focus` do not apply.
   */
  readonly perTarget?: ReadonlyArray<TargetRule> | undefined
}

/**
 * One rule of {@link PlanOptions.perTarget}: these kinds on these calls.
 *
 * @example
 * ```ts
 * const forward: TargetRule = { target: "payment.charge", kinds: ["ToolError", "RateLimited"] }
 * const undo: TargetRule = { target: Fault.on(Payment.refund, { currency: "EUR" }), kinds: ["LostResponse", "Hang"] }
 * ```
 */
export interface TargetRule {
  readonly target: F.Target
  readonly kinds: ReadonlyArray<F.FaultKind>
}

/**
 * The kinds after which a caller cannot tell whether its call had its effect: the side effect
 * may have happened (or happened twice) while the caller saw a timeout, a closed connection or
 * a slow answer. These are the faults that break non-idempotent retries.
 *
 * @example
 * ```ts
 * Arbitraries.ambiguousKinds.includes("LostResponse") // => true
 * ```
 */
export const ambiguousKinds: ReadonlyArray<F.FaultKind> = [
  "Hang",
  "ConnectionDrop",
  "LostResponse",
  "Latency",
  "DuplicateMessage",
  "CorruptMessage"
]

/**
 * The kinds drawn only when asked for by name in `kinds`: `Crash` (each crash resumes the run on
 * a temporary SQLite journal, a much slower run) and `ProgressStall` (it only bites handlers that
 * report progress).
 *
 * @example
 * ```ts
 * Arbitraries.optInKinds // => ["ProgressStall", "Crash"]
 * ```
 */
export const optInKinds: ReadonlyArray<F.FaultKind> = ["ProgressStall", "Crash"]

/**
 * The kinds a plan draws from when `kinds` is not given: the catalogue but {@link optInKinds}.
 *
 * @example
 * ```ts
 * Arbitraries.defaultKinds.includes("Crash") // => false
 * ```
 */
export const defaultKinds: ReadonlyArray<F.FaultKind> = F.kinds.filter((k) => !optInKinds.includes(k))

/**
 * The target patterns for a set of tools: each `server.tool`, then each `server.*`.
 *
 * @example
 * ```ts
 * Arbitraries.targetPatterns([{ server: "a", tool: "x" }]) // => ["a.x", "a.*"]
 * ```
 */
export const targetPatterns = (targets: ReadonlyArray<Target>): ReadonlyArray<string> => {
  const tools = targets.map((t) => `${t.server}.${t.tool}`)
  const servers = [...new Set(targets.map((t) => `${t.server}.*`))]
  return [...new Set([...tools, ...servers])]
}

const distribution: fc.Arbitrary<F.Distribution> = fc.oneof(
  fc.constantFrom(100, 1_000, 10_000, 90_000).map((ms) => F.fixed(ms)),
  fc.tuple(fc.integer({ min: 0, max: 1_000 }), fc.integer({ min: 1, max: 60_000 })).map(([a, b]) => F.uniform(a, a + b)),
  fc.tuple(fc.constantFrom(50, 500, 5_000), fc.constantFrom(0.5, 1, 2)).map(([m, s]) => F.lognormal(m, s, 600_000)),
  fc.tuple(fc.constantFrom(20, 200), fc.constantFrom(1.5, 1.1, 3)).map(([m, a]) => F.pareto(m, a, 600_000))
)

/**
 * One fault of the given kinds over the given targets.
 *
 * @example
 * ```ts
 * fc.sample(Arbitraries.fault({ targets: [{ server: "ci", tool: "build" }] }), 3)
 * ```
 */
export const fault = (options: PlanOptions & { readonly onlyTools?: boolean | undefined }): fc.Arbitrary<F.Fault> => {
  const patterns = options.onlyTools === true || options.wildcards === false
    ? [...new Set(options.targets.map((t) => `${t.server}.${t.tool}`))]
    : targetPatterns(options.targets)
  if (patterns.length === 0) throw new Error("Arbitraries.fault: no targets")
  const horizon = options.horizonMs ?? 60_000
  const kinds = options.kinds ?? defaultKinds
  const ordered = F.kinds.filter((k) => kinds.includes(k))
  const withWindows = options.windows ?? true
  const target = fc.constantFrom(...patterns)
  const rate = options.rate === undefined ? fc.constantFrom(1, 0.5, 0.2) : fc.constant(options.rate)
  // Most faults have no window and no burst (3 in 4): a window drawn over the horizon mostly
  // misses a short program, so windowed faults are the exception; both shrink away.
  const rarely = <A>(arb: fc.Arbitrary<A>): fc.Arbitrary<A | undefined> =>
    fc.oneof({ withCrossShrink: true }, { arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 })
  const window: fc.Arbitrary<F.Window | undefined> = withWindows
    ? rarely(
      fc.tuple(fc.integer({ min: 0, max: horizon }), fc.integer({ min: 1, max: horizon })).map(([from, len]) => ({ fromMs: from, toMs: from + len }))
    )
    : fc.constant(undefined)
  const burst: fc.Arbitrary<number | undefined> = withWindows ? rarely(fc.constantFrom(2, 3, 5)) : fc.constant(undefined)
  // A fault that hits every call for the whole run is a tool that never works: no flow can undo
  // through it or find out whether its call happened. Unless asked for (`permanent`), a fault
  // drawn at rate 1 without a window lasts the horizon.
  const lasting = options.permanent === true
  const common = fc.record({ target, rate, window, burst }).map((c): F.Options & { readonly target: string } =>
    lasting || c.rate < 1 || c.window !== undefined ? c : { ...c, window: { fromMs: 0, toMs: horizon } }
  )
  const byKind = (kind: F.FaultKind): fc.Arbitrary<F.Fault> => {
    switch (kind) {
      case "ToolError":
        return common.map((c) => F.toolError(c.target, "injected tool failure", c))
      case "Hang":
        return common.map((c) => F.hang(c.target, c))
      case "ConnectionDrop":
        return common.map((c) => F.connectionDrop(c.target, c))
      case "LostResponse":
        return fc.tuple(common, fc.constantFrom("silence" as const, "close" as const)).map(([c, then]) => F.lostResponse(c.target, c, then))
      case "JsonRpcError":
        return fc.tuple(common, fc.constantFrom(-32603, -32002, -32099)).map(([c, code]) => F.jsonRpcError(c.target, code, "injected JSON-RPC error", c))
      case "RateLimited":
        return fc.tuple(common, fc.constantFrom(1_000, 100, 30_000)).map(([c, ms]) => F.rateLimited(c.target, ms, c))
      case "Latency":
        return fc.tuple(common, distribution, fc.constantFrom("before" as const, "after" as const)).map(([c, d, phase]) =>
          F.latency(c.target, d, c, phase)
        )
      case "InvalidOutput":
        return fc.tuple(common, fc.constantFrom("missing-field" as const, "wrong-type" as const, "extra-field" as const)).map(([c, drift]) =>
          F.invalidOutput(c.target, drift, c)
        )
      case "DuplicateMessage":
        return fc.tuple(common, fc.constantFrom("request" as const, "response" as const)).map(([c, dir]) => F.duplicateMessage(c.target, dir, c))
      case "CorruptMessage":
        return fc.tuple(common, fc.constantFrom("response" as const, "request" as const)).map(([c, dir]) => F.corruptMessage(c.target, dir, c))
      case "ServerDown":
        return fc.tuple(common, fc.integer({ min: 0, max: horizon }), fc.constantFrom(1_000, 10_000, 60_000)).map(([c, from, len]) =>
          F.serverDown(c.target, from, len, c)
        )
      case "Flapping":
        return fc.tuple(common, fc.constantFrom(5_000, 1_000, 30_000), fc.constantFrom(1_000, 200, 10_000)).map(([c, up, down]) =>
          F.flapping(c.target, up, down, c)
        )
      case "SlowStart":
        return fc.tuple(common, fc.constantFrom(1_000, 10_000, 60_000)).map(([c, ms]) => F.slowStart(c.target, ms, c))
      case "ProgressStall":
        return fc.tuple(common, fc.constantFrom(0, 1, 3), fc.constantFrom(undefined, 10_000, 120_000)).map(([c, after, forMs]) =>
          F.progressStall(c.target, after, forMs, c)
        )
      case "Crash":
        // One crash per fault (a run resumes after each): no burst, at most two firings.
        return fc.tuple(common, fc.constantFrom("before" as const, "after" as const), fc.constantFrom(1, 2)).map(([c, phase, times]) =>
          F.crash(c.target, phase, { ...c, burst: undefined, times })
        )
    }
  }
  return fc.oneof(...ordered.map(byKind))
}

/**
 * A fault plan: a seed (shrinking toward 0) and up to `maxFaults` faults (at least `minFaults`,
 * default 0, so shrinking can drop any fault, the last one included). Each fault carries an `id`
 * drawn with it and never shrunk: its decisions are keyed by it, so dropping another fault while
 * shrinking does not change whether it fires.
 *
 * @example
 * ```ts
 * const plans = Arbitraries.faultPlan({ targets: [{ server: "payment", tool: "charge" }, { server: "inventory", tool: "reserve" }] })
 * ```
 */
export const faultPlan = (options: PlanOptions): fc.Arbitrary<F.FaultPlan> =>
  fc.record({
    seed: fc.nat({ max: 2 ** 31 - 1 }),
    faults: fc.uniqueArray(withId(focused(options)), {
      minLength: options.minFaults ?? 0,
      maxLength: options.maxFaults ?? 3,
      selector: (f) => f.id
    })
  })

/**
 * Gives each drawn fault a stable identity (see `Fault.decisionKey`): an id drawn with it that
 * shrinking leaves alone.
 *
 * @example
 * ```ts
 * fc.sample(Arbitraries.withId(Arbitraries.fault({ targets })), 1)[0]!.id // => e.g. 1486302
 * ```
 */
export const withId = (fault: fc.Arbitrary<F.Fault>): fc.Arbitrary<F.Fault> =>
  fc.tuple(fault, fc.noShrink(fc.noBias(fc.nat({ max: 2 ** 31 - 1 })))).map(([f, id]) => ({ ...f, id }))

/**
 * One fault over every target, or (with `focus`) a mixture: with weight `focusWeight` an
 * ambiguous fault on a focused tool, with weight 1 any fault on any target.
 *
 * @example
 * ```ts
 * fc.sample(Arbitraries.focused({ targets, focus: [{ server: "payment", tool: "charge" }] }), 5)
 * ```
 */
export const focused = (options: PlanOptions): fc.Arbitrary<F.Fault> => {
  if (options.perTarget !== undefined && options.perTarget.length > 0) return perTarget(options, options.perTarget)
  const any = fault(options)
  const focus = options.focus ?? []
  if (focus.length === 0) return any
  const kinds = (options.kinds ?? defaultKinds).filter((k) => ambiguousKinds.includes(k))
  if (kinds.length === 0) return any
  const onFocus = fault({ ...options, targets: focus, kinds, onlyTools: true })
  return fc.oneof({ arbitrary: any, weight: 1 }, { arbitrary: onFocus, weight: Math.max(0, options.focusWeight ?? 1) })
}

/**
 * One fault from one of the rules: the rule's kinds on the tools of `options.targets` its target
 * matches (with the rule's `where`, if any). Fails when a rule matches no tool.
 *
 * @example
 * ```ts
 * fc.sample(Arbitraries.perTarget({ targets }, [{ target: "payment.charge", kinds: ["ToolError"] }, { target: "payment.refund", kinds: ["LostResponse"] }]), 4)
 * ```
 */
export const perTarget = (options: PlanOptions, rules: ReadonlyArray<TargetRule>): fc.Arbitrary<F.Fault> =>
  fc.oneof(...rules.map((rule) => {
    const selector = typeof rule.target === "string" ? { target: rule.target } : rule.target
    const targets = options.targets.filter((t) => F.matches(selector.target, t.server, t.tool))
    if (targets.length === 0) {
      throw new Error(`Arbitraries.perTarget: ${selector.target} matches none of the tools (${targetPatterns(options.targets).join(", ")})`)
    }
    if (rule.kinds.length === 0) throw new Error(`Arbitraries.perTarget: no kinds for ${selector.target}`)
    const drawn = fault({ ...options, targets, kinds: rule.kinds, onlyTools: true })
    const where = selector.where
    return where === undefined ? drawn : drawn.map((f): F.Fault => ({ ...f, where }))
  }))
