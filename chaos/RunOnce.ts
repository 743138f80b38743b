/**
 * One chaos run: build fresh servers and one {@link Injector} for the plan, a gateway over the
 * fakes, drive the program on virtual time until it ends or the virtual deadline passes
 * ({@link VirtualTime.run}) with `Random` seeded from the plan ({@link RunSeed.withPlanRandom}),
 * then check the built-in invariants and the spec's own.
 *
 * @example
 * ```ts
 * const run = yield* Chaos.runOnce(spec, Fault.plan(1, [Fault.lostResponse("payment.charge")]))
 * run.violations // => []
 * ```
 * @module
 */
import { Cause, Duration, Effect, Exit } from "effect"
import type { ContractInfo } from "../dsl/Contract.ts"
import { matchesAllowlist } from "../src/runtime/gateway/Allowlist.ts"
import type { InProcessServerConfig, ServerConfig } from "../src/runtime/gateway/ServerConfig.ts"
import type * as Arbitraries from "./Arbitraries.ts"
import * as BuiltInInvariants from "./BuiltInInvariants.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
import * as ConnectionPool from "./ConnectionPool.ts"
import * as Crash from "./Crash.ts"
import * as FakeServer from "./FakeServer.ts"
import * as F from "./Fault.ts"
import * as Injector from "./Injector.ts"
import { planOf } from "./ReplayToken.ts"
import * as RunSeed from "./RunSeed.ts"
import type { Outcome, RunResult, Spec } from "./RunSpec.ts"
import * as VirtualTime from "./VirtualTime.ts"

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

/**
 * The declared non-idempotent tools among some (`server.tool`): contracts annotated
 * `idempotent: false`, and those matching an `extra` pattern — where the plans focus their
 * faults (the `no-duplicate-request` invariant guards more: every tool not known to be safe to
 * repeat, see `BuiltInInvariants.mayNotRepeat`).
 *
 * @example
 * ```ts
 * nonIdempotentTools([{ server: "payment", tool: "charge", contract }], []) // => Set { "payment.charge" }
 * ```
 */
export const nonIdempotentTools = (tools: ReadonlyArray<Arbitraries.Target & { readonly contract?: ContractInfo }>, extra: ReadonlyArray<string>) => {
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

/**
 * The tools of a run: the definitions' handlers, then `spec.tools` (deduplicated, in order).
 *
 * @example
 * ```ts
 * toolsOf(definitions, undefined).map((t) => `${t.server}.${t.tool}`)
 * ```
 */
export const toolsOf = (
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
export const targetsOf = <A, E>(spec: Spec<A, E>): Effect.Effect<{
  readonly targets: ReadonlyArray<Arbitraries.Target>
  readonly focus: ReadonlyArray<Arbitraries.Target>
  /** The tools among the targets whose contracts say nothing about idempotency (see {@link unannotated}). */
  readonly unannotated: ReadonlyArray<string>
}> =>
  Effect.map(spec.servers.pipe(Effect.provideService(FakeServer.CurrentInjector, Injector.make(F.none))), (made) => {
    const tools = toolsOf(made, spec.tools)
    const risky = nonIdempotentTools(tools, BuiltInInvariants.nonIdempotentOf(spec))
    const targets = tools.map(({ server, tool }) => ({ server, tool }))
    return { targets, focus: targets.filter((t) => risky.has(`${t.server}.${t.tool}`)), unannotated: unannotated(tools) }
  })

/**
 * The tools (`server.tool`, sorted) whose contracts say nothing about idempotency: neither
 * `idempotent` nor `readOnly: true`. Retries and `no-duplicate-request` count them as
 * non-idempotent; reports list them, so a reader knows what a green run assumed.
 *
 * @example
 * ```ts
 * Chaos.unannotated([{ server: "notes", tool: "append", contract }]) // => ["notes.append"] when `contract.annotations` is {}
 * ```
 */
export const unannotated = (tools: ReadonlyArray<Arbitraries.Target & { readonly contract?: ContractInfo | undefined }>): ReadonlyArray<string> =>
  [
    ...new Set(
      tools
        .filter((t) => t.contract === undefined || (t.contract.annotations.idempotent === undefined && t.contract.annotations.readOnly !== true))
        .map((t) => `${t.server}.${t.tool}`)
    )
  ].sort()

const withLimits = (config: ServerConfig, limits: Spec<unknown, unknown>["limits"]): ServerConfig => {
  if (config.type !== "in-process" || limits === undefined) return config
  const c: InProcessServerConfig = {
    ...config,
    ...(limits.callTimeoutMs !== undefined ? { callTimeoutMs: limits.callTimeoutMs } : {}),
    ...(limits.connectTimeoutMs !== undefined ? { connectTimeoutMs: limits.connectTimeoutMs } : {})
  }
  return c
}

interface Pooled {
  readonly pool: ConnectionPool.Pool
  /** The servers' identities (definitions only; configs are not pooled), learnt on first use. */
  infos: ReadonlyArray<ConnectionPool.ServerInfo> | undefined
  busy: boolean
}

/** One pool per check: keyed by the spec's `servers` (the same Effect for every run of a check). */
const pools = new WeakMap<object, Pooled>()

/**
 * The pool a run of `spec` uses, prepared (one idle pair per server), and what to do after the
 * run; `undefined` when its servers are configs. A run that starts while another run of the same
 * servers holds the pool (two checks at once) gets a pool of its own, prepared the same way.
 */
const acquirePool = <A, E>(spec: Spec<A, E>) =>
  Effect.gen(function*() {
    let entry = pools.get(spec.servers)
    if (entry === undefined) {
      entry = { pool: ConnectionPool.make(), infos: undefined, busy: false }
      pools.set(spec.servers, entry)
    }
    if (entry.infos === undefined) {
      const made = yield* spec.servers.pipe(Effect.provideService(FakeServer.CurrentInjector, Injector.make(F.none)))
      entry.infos = isDefinitions(made) ? made.map((d) => ({ key: d.key, name: d.options?.name, version: d.options?.version })) : []
    }
    const infos = entry.infos
    if (infos.length === 0) return undefined
    const own = entry.busy ? undefined : entry
    const pool = own?.pool ?? ConnectionPool.make()
    if (own !== undefined) own.busy = true
    yield* Effect.promise(() => pool.prepare(infos))
    return {
      pool,
      done: Effect.promise(async () => {
        if (own !== undefined) own.busy = false
        else await pool.close()
      })
    }
  })

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
    // Connections kept across the runs of a check (a plan that may crash connects anew, as before).
    const pooled = F.hasCrash(plan) || !ConnectionPool.settings.enabled ? undefined : yield* acquirePool(spec)
    const pool = pooled?.pool
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
              servers[def.key] = yield* FakeServer.fromDefinition(def, { ...spec.limits, injector, pool })
            }
          } else {
            for (const [key, config] of Object.entries(made)) servers[key] = withLimits(config, spec.limits)
          }
          // Only a plan that may crash pays for the crash machinery (a gate per attempt).
          return yield* (F.hasCrash(plan)
            ? Crash.supervise(servers, injector, spec.program, spec.restart)
            : Effect.provide(spec.program, GatewayLayer.layer({ servers })))
        }).pipe(RunSeed.withPlanRandom(plan)),
      { deadlineMs, extraActivity: injector.activity }
    ).pipe(Effect.ensuring(pooled?.done ?? Effect.void))
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
    const violations = BuiltInInvariants.violations(spec, base, BuiltInInvariants.mayNotRepeat(toolsOf(made, spec.tools), BuiltInInvariants.nonIdempotentOf(spec)), deadlineMs)
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
