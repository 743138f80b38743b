/**
 * The invariants every chaos run checks (see `Check.ts`): a typed outcome, no hang, the
 * allowlist, concurrency bounds, and no duplicated non-idempotent request.
 *
 * @example
 * ```ts
 * const violations = BuiltInInvariants.violations(spec, run, nonIdempotent, deadlineMs)
 * ```
 * @module
 */
import type { ContractInfo } from "../dsl/Contract.ts"
import { isRepeatable } from "../dsl/policy/internal/PolicyContext.ts"
import { matchesAllowlist } from "../src/runtime/gateway/Allowlist.ts"
import * as F from "./Fault.ts"
import type * as Injector from "./Injector.ts"
import { type NoDuplicateSettings, offReason, type RunResult, type Spec, type Violation } from "./RunSpec.ts"

/**
 * The built-in invariants of a run that did not hold: `typed-outcome`, `never-hangs`,
 * `allowlist` (with `spec.allow`), `concurrency` (with `spec.maxConcurrency`) and
 * `no-duplicate-request` over the tools that may not be repeated (`mayNotRepeat(server, tool)`:
 * see {@link mayNotRepeat}); those switched off (`spec.builtIn`) are left out.
 *
 * @example
 * ```ts
 * BuiltInInvariants.violations(spec, run, BuiltInInvariants.mayNotRepeat(tools, []), 3_600_000)
 * ```
 */
export const violations = <A, E>(
  spec: Spec<A, E>,
  run: Omit<RunResult<A, E>, "violations">,
  mayNotRepeat: (server: string, tool: string) => boolean,
  deadlineMs: number
): Array<Violation> => {
  const out = violationsOn(spec, run, mayNotRepeat, deadlineMs)
  return out.filter((v) => offReason(spec, v.invariant) === undefined)
}

/**
 * The settings of `no-duplicate-request` (undefined when it is off or not configured).
 *
 * @example
 * ```ts
 * BuiltInInvariants.noDuplicateSettings({ builtIn: { "no-duplicate-request": { nonIdempotent: ["a.*"] } } })?.nonIdempotent // => ["a.*"]
 * ```
 */
export const noDuplicateSettings = (spec: Pick<Spec<unknown, unknown>, "builtIn">): NoDuplicateSettings | undefined => {
  const s = spec.builtIn?.["no-duplicate-request"]
  return s === undefined || "off" in s ? undefined : s
}

/**
 * What makes two sends one request for `no-duplicate-request`: the setting's `requestKey`, else
 * the spec's, else undefined (by call site, see {@link sameRequest}).
 *
 * @example
 * ```ts
 * BuiltInInvariants.requestKeyOf({ requestKey: (c) => c.args })
 * ```
 */
export const requestKeyOf = (
  spec: Pick<Spec<unknown, unknown>, "builtIn" | "requestKey">
): ((call: Injector.SentCall) => string) | undefined => noDuplicateSettings(spec)?.requestKey ?? spec.requestKey

/**
 * The extra non-idempotent patterns of a spec: its `nonIdempotent` and `no-duplicate-request`'s.
 *
 * @example
 * ```ts
 * BuiltInInvariants.nonIdempotentOf({ nonIdempotent: ["a.*"] }) // => ["a.*"]
 * ```
 */
export const nonIdempotentOf = (spec: Pick<Spec<unknown, unknown>, "builtIn" | "nonIdempotent">): ReadonlyArray<string> => [
  ...(spec.nonIdempotent ?? []),
  ...(noDuplicateSettings(spec)?.nonIdempotent ?? [])
]

const violationsOn = <A, E>(
  spec: Spec<A, E>,
  run: Omit<RunResult<A, E>, "violations">,
  mayNotRepeat: (server: string, tool: string) => boolean,
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
  const requestKey = requestKeyOf(spec)
  const earlier = new Map<string, Array<Injector.SentCall>>()
  const reported = new Set<string>()
  for (const c of run.sent) {
    const id = `${c.server}.${c.tool}`
    if (!mayNotRepeat(c.server, c.tool) || carriesIdempotencyKey(c.args)) continue
    const before = earlier.get(id) ?? []
    const unsafe = before.find((b) => b.end !== "refused" && sameRequest(b, c, requestKey))
    const where = c.step === undefined ? "" : ` by ${c.step === "" ? "the program" : `step "${c.step}"`} (call ${c.stepCall} of ${c.step === "" ? "it" : "the step"})`
    const k = `${id} ${c.step ?? ""}#${c.stepCall ?? ""} ${requestKey?.(c) ?? c.args}`
    if (unsafe !== undefined && !reported.has(k)) {
      reported.add(k)
      out.push({
        invariant: "no-duplicate-request",
        detail: `${id} (not known to be idempotent) was sent again (#${c.call})${where} for one request after #${unsafe.call} ended ${unsafe.end}: ${
          requestKey?.(c) ?? c.args
        }`
      })
    }
    before.push(c)
    earlier.set(id, before)
  }
  return out
}

/**
 * Whether a later send `c` repeats the request of an earlier send `b` of the same tool. With a
 * `requestKey` (the spec's or `no-duplicate-request`'s setting): when their keys are equal.
 * Otherwise by where they were sent (see `Injector.CallSite`): the same call of the same step
 * sent again (a retry, of the call or of its step), or an equal call of the same step sent after
 * the earlier one's fate was unknown to the caller (cancelled, cut by a closed connection, still
 * pending) — a retry written around more than the call. Two steps sending equal arguments are
 * two requests; so are two calls of one step when the first one was answered. Without sites
 * (servers that did not ask for them), equal arguments.
 *
 * @example
 * ```ts
 * const b = { server: "pay", tool: "charge", call: 0, atMs: 0, args: "{}", step: "a", stepCall: 0, end: "answered" } as const
 * BuiltInInvariants.sameRequest(b, { ...b, call: 1, step: "b" }, undefined) // => false
 * ```
 */
export const sameRequest = (
  b: Injector.SentCall,
  c: Injector.SentCall,
  requestKey: ((call: Injector.SentCall) => string) | undefined
): boolean => {
  if (requestKey !== undefined) return requestKey(b) === requestKey(c)
  if (b.step === undefined || c.step === undefined) return b.args === c.args
  if (b.step !== c.step) return false
  if (b.stepCall === c.stepCall) return true
  return b.args === c.args && (b.end === "cancelled" || b.end === "closed" || b.end === "pending")
}

/**
 * A call that carries an idempotency key may be sent again: the key is how a non-idempotent
 * tool makes a repeat safe. (Whether the server honours it is for the models' own invariants,
 * e.g. "never charged twice", to check.)
 *
 * @example
 * ```ts
 * BuiltInInvariants.carriesIdempotencyKey('{"idempotency_key":"order:o1"}') // => true
 * ```
 */
export const carriesIdempotencyKey = (args: string): boolean => {
  try {
    const parsed: unknown = JSON.parse(args)
    if (typeof parsed !== "object" || parsed === null) return false
    const key = (parsed as Record<string, unknown>).idempotency_key ?? (parsed as Record<string, unknown>).idempotencyKey
    return typeof key === "string" && key !== ""
  } catch {
    return false
  }
}

/**
 * Which tools `no-duplicate-request` guards, by the same rule as `Retry`: every tool not known to
 * be safe to repeat — a contract without `idempotent: true` or `readOnly: true` (unknown counts
 * as non-idempotent), a tool with no known contract — and every tool matching an `extra`
 * pattern, whatever its annotations.
 *
 * @example
 * ```ts
 * const guarded = BuiltInInvariants.mayNotRepeat([{ server: "fs", tool: "read", contract }], ["payment.*"])
 * guarded("payment", "charge") // => true
 * ```
 */
export const mayNotRepeat = (
  tools: ReadonlyArray<{ readonly server: string; readonly tool: string; readonly contract?: ContractInfo | undefined }>,
  extra: ReadonlyArray<string>
): (server: string, tool: string) => boolean => {
  const repeatable = new Set(tools.filter((t) => isRepeatable(t.contract?.annotations)).map((t) => `${t.server}.${t.tool}`))
  return (server, tool) => (extra.length > 0 && matchesAllowlist(extra, server, tool)) || !repeatable.has(`${server}.${tool}`)
}
