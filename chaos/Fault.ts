/**
 * The fault catalogue: every way a fake MCP server can misbehave, as Schema-described data, so a
 * {@link FaultPlan} prints, serialises (JSON) and replays.
 *
 * Every fault has a `target` (`"payment"`, `"payment.*"`, `"payment.charge"`, `"*"`, or a
 * pattern with `*` anywhere in the tool part such as `"k8s.kubectl_*"`), an injection `rate` in
 * `[0, 1]` (the chance a matching call is hit), an optional `window` in virtual time
 * (`fromMs` inclusive, `toMs` exclusive, measured on the run's Clock) and an optional `burst`
 * (once it fires on a call, it also hits the next `burst - 1` calls of that tool: correlated
 * failures). A call fault may also be limited to its first `times` firings (`times: 1`: "lose one
 * response") and to calls whose arguments match `where` (a partial match: one tenant, one
 * region; typed by the tool's contract with {@link on}).
 *
 * Each kind is described once, in {@link byKind}: where it is injected (handler, transport or
 * connection), what it does, what the caller sees through the gateway, its `--faults` names and
 * how its parameters print (plan descriptions and the injection log both use it).
 *
 * @example
 * ```ts
 * import { Fault } from "mcpflow/chaos"
 * const plan = Fault.plan(42, [
 *   Fault.lostResponse("payment.charge", { rate: 0.2 }),
 *   Fault.latency("inventory.*", Fault.lognormal(50, 1), { rate: 0.5 })
 * ])
 * Fault.encodePlan(plan) // JSON-ready data
 * ```
 * @module
 */
import { Schema } from "effect"
import type { ContractInfo, ContractSchema } from "../dsl/Contract.ts"

const Millis = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * A window of virtual time: from `fromMs` (inclusive) to `toMs` (exclusive), on the run's Clock.
 *
 * @example
 * ```ts
 * const w: Window = { fromMs: 1_000, toMs: 5_000 }
 * ```
 */
export const Window = Schema.Struct({ fromMs: Millis, toMs: Millis })

/**
 * A window of virtual time.
 *
 * @example
 * ```ts
 * const w: Window = { fromMs: 0, toMs: 60_000 }
 * ```
 */
export type Window = typeof Window.Type

const common = {
  /** `server`, `server.*`, `server.tool`, `server.prefix_*`, or `*`. */
  target: Schema.String,
  /** The chance in `[0, 1]` that a matching call (or connection) is hit. */
  rate: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  /** Only inside this window of virtual time. */
  window: Schema.optionalKey(Window),
  /** Once it fires, it also hits the next `burst - 1` calls of the same tool. */
  burst: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /**
   * The fault's identity: its decisions are keyed by it (not by its place in the plan), so
   * removing another fault from the plan does not change whether this one fires. Drawn plans
   * give every fault one; without it the fault's position is its key.
   */
  id: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  /** It fires at most this many times in a run (a burst's calls count). */
  times: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** Only calls whose arguments contain these values (a deep partial match; call faults only). */
  where: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
}

/**
 * A latency distribution, in milliseconds of virtual time.
 *
 * @example
 * ```ts
 * const d: Distribution = { _tag: "Pareto", scaleMs: 20, shape: 1.5, capMs: 60_000 }
 * ```
 */
export const Distribution = Schema.Union([
  Schema.TaggedStruct("Fixed", { ms: Millis }),
  Schema.TaggedStruct("Uniform", { minMs: Millis, maxMs: Millis }),
  /** Heavy-tailed: `median · e^(sigma·Z)`. */
  Schema.TaggedStruct("LogNormal", { medianMs: Millis, sigma: Millis, capMs: Schema.optionalKey(Millis) }),
  /** Heavy-tailed: `scale / U^(1/shape)`. */
  Schema.TaggedStruct("Pareto", { scaleMs: Millis, shape: Schema.Finite.check(Schema.isGreaterThan(0)), capMs: Schema.optionalKey(Millis) })
])

/**
 * A latency distribution.
 *
 * @example
 * ```ts
 * const d: Distribution = { _tag: "Fixed", ms: 250 }
 * ```
 */
export type Distribution = typeof Distribution.Type

/**
 * Every fault kind, as a tagged union Schema.
 *
 * @example
 * ```ts
 * Schema.decodeUnknownSync(Fault.Fault)({ _tag: "Hang", target: "ci.build", rate: 1 })
 * ```
 */
export const Fault = Schema.Union([
  Schema.TaggedStruct("Latency", { ...common, distribution: Distribution, phase: Schema.Literals(["before", "after"]) }),
  Schema.TaggedStruct("Hang", { ...common }),
  Schema.TaggedStruct("ToolError", { ...common, message: Schema.String }),
  Schema.TaggedStruct("JsonRpcError", { ...common, code: Schema.Int, message: Schema.String }),
  Schema.TaggedStruct("RateLimited", { ...common, retryAfterMs: Millis }),
  Schema.TaggedStruct("InvalidOutput", { ...common, drift: Schema.Literals(["missing-field", "wrong-type", "extra-field"]) }),
  Schema.TaggedStruct("ConnectionDrop", { ...common }),
  Schema.TaggedStruct("LostResponse", { ...common, then: Schema.Literals(["silence", "close"]) }),
  Schema.TaggedStruct("CorruptMessage", { ...common, direction: Schema.Literals(["request", "response"]) }),
  Schema.TaggedStruct("DuplicateMessage", { ...common, direction: Schema.Literals(["request", "response"]) }),
  Schema.TaggedStruct("ServerDown", { ...common, fromMs: Millis, forMs: Millis }),
  Schema.TaggedStruct("Flapping", { ...common, upMs: Schema.Finite.check(Schema.isGreaterThan(0)), downMs: Schema.Finite.check(Schema.isGreaterThan(0)) }),
  Schema.TaggedStruct("SlowStart", { ...common, delayMs: Millis }),
  Schema.TaggedStruct("ProgressStall", {
    ...common,
    afterUpdates: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    forMs: Schema.optionalKey(Millis)
  }),
  Schema.TaggedStruct("Crash", { ...common, phase: Schema.Literals(["before", "after"]) })
])

/**
 * One fault of the catalogue.
 *
 * @example
 * ```ts
 * const f: Fault = { _tag: "ToolError", target: "docker.*", rate: 0.1, message: "daemon not running" }
 * ```
 */
export type Fault = typeof Fault.Type

/**
 * The name of a fault kind.
 *
 * @example
 * ```ts
 * const k: FaultKind = "LostResponse"
 * ```
 */
export type FaultKind = Fault["_tag"]

/**
 * One fault kind, described once: where it is injected, what it does, what the caller sees
 * through the gateway, its names for `--faults`, and its parameters as a short phrase.
 *
 * @example
 * ```ts
 * Fault.byKind.LostResponse.callerSees // => "`Timeout` or `ConnectionLost`; the side effect happened"
 * ```
 */
export interface KindDescription<K extends FaultKind> {
  /** Where it is injected (a `Crash` is decided in the transport, as its call is sent or answered). */
  readonly injectedAt: "handler" | "transport" | "connection"
  /** What the fake server does. */
  readonly does: string
  /** What the caller sees through the gateway. */
  readonly callerSees: string
  /** Its kebab-case name for `mcpflow chaos --faults`. */
  readonly flag: string
  /** Other names `--faults` accepts (besides the flag and the kind itself). */
  readonly aliases: ReadonlyArray<string>
  /** Its parameters as a short phrase ("" when it has none). */
  readonly params: (fault: Extract<Fault, { readonly _tag: K }>) => string
}

/**
 * Every fault kind's description, keyed by kind, in the order arbitraries prefer when
 * shrinking (simplest first).
 *
 * @example
 * ```ts
 * Fault.byKind.ServerDown.injectedAt // => "connection"
 * ```
 */
export const byKind: { readonly [K in FaultKind]: KindDescription<K> } = {
  ToolError: {
    injectedAt: "handler",
    does: "answers `isError: true` with the message",
    callerSees: "`ToolFailed`",
    flag: "tool-error",
    aliases: ["error"],
    params: (f) => JSON.stringify(f.message)
  },
  Hang: {
    injectedAt: "handler",
    does: "never answers (interrupted by `notifications/cancelled`)",
    callerSees: "`Timeout`",
    flag: "hang",
    aliases: [],
    params: () => ""
  },
  ConnectionDrop: {
    injectedAt: "transport",
    does: "does not deliver the request and closes the connection",
    callerSees: "`ConnectionLost`; nothing happened on the server",
    flag: "drop",
    aliases: ["connection-drop"],
    params: () => ""
  },
  LostResponse: {
    injectedAt: "transport",
    does: "delivers the request and runs the handler, drops its response, then silence or a closed connection",
    callerSees: "`Timeout` or `ConnectionLost`; the side effect happened",
    flag: "lost-response",
    aliases: [],
    params: (f) => `then ${f.then}`
  },
  JsonRpcError: {
    injectedAt: "handler",
    does: "throws `McpError(code, message)`; the SDK answers a JSON-RPC error",
    callerSees: "`Protocol` (or what the code means, e.g. -32000 → `ConnectionLost`)",
    flag: "json-rpc-error",
    aliases: ["rpc-error"],
    params: (f) => `${f.code} ${JSON.stringify(f.message)}`
  },
  RateLimited: {
    injectedAt: "handler",
    does: "answers `isError: true`, \"rate limit exceeded, retry after N ms\"",
    callerSees: "`RateLimited` with `retryAfterMs`",
    flag: "rate-limited",
    aliases: ["rate-limit"],
    params: (f) => `retry after ${f.retryAfterMs}ms`
  },
  Latency: {
    injectedAt: "handler",
    does: "sleeps on the Clock before or after the side effect",
    callerSees: "a slow answer; `Timeout` when longer than the call's timeout",
    flag: "latency",
    aliases: [],
    params: (f) => `${fmtDist(f.distribution)} ${f.phase}`
  },
  InvalidOutput: {
    injectedAt: "handler",
    does: "drifts the encoded result: a required field removed, a field's type changed, or a field added",
    callerSees: "`InvalidOutput` (an extra field is tolerated by a `Schema.Struct` contract)",
    flag: "invalid-output",
    aliases: ["drift"],
    params: (f) => f.drift
  },
  DuplicateMessage: {
    injectedAt: "transport",
    does: "delivers the request twice (the handler runs twice) or the response twice (the client drops the second)",
    callerSees: "success; a duplicated request doubles a non-idempotent side effect",
    flag: "duplicate",
    aliases: ["duplicate-message"],
    params: (f) => f.direction
  },
  CorruptMessage: {
    injectedAt: "transport",
    does: "garbles the request or response JSON; the receiving side reports a parse error and drops it",
    callerSees: "`Timeout`",
    flag: "corrupt",
    aliases: ["corrupt-message"],
    params: (f) => f.direction
  },
  ServerDown: {
    injectedAt: "connection",
    does: "from `fromMs` for `forMs` of virtual time the handshake fails and calls close the connection",
    callerSees: "`ConnectionLost`, then `ServerUnavailable` while it stays down",
    flag: "server-down",
    aliases: ["down"],
    params: (f) => `down [${f.fromMs}ms, ${f.fromMs + f.forMs}ms)`
  },
  Flapping: {
    injectedAt: "connection",
    does: "down `downMs`, up `upMs`, repeating from `window.fromMs`",
    callerSees: "as `ServerDown`, periodically",
    flag: "flapping",
    aliases: ["flap"],
    params: (f) => `up ${f.upMs}ms / down ${f.downMs}ms`
  },
  SlowStart: {
    injectedAt: "connection",
    does: "delays the `initialize` answer by `delayMs` (a cold start)",
    callerSees: "a slow first call; `ServerUnavailable` past the connect timeout",
    flag: "slow-start",
    aliases: [],
    params: (f) => `handshake +${f.delayMs}ms`
  },
  ProgressStall: {
    injectedAt: "handler",
    does: "lets `afterUpdates` progress notifications through, then holds the handler at its next one for `forMs` (or for ever)",
    callerSees: "no progress; `Timeout` when the call's timeout is reset by progress, or a late answer",
    flag: "progress-stall",
    aliases: ["stall"],
    params: (f) => `after ${f.afterUpdates} update(s), ${f.forMs === undefined ? "for ever" : `for ${f.forMs}ms`}`
  },
  Crash: {
    injectedAt: "transport",
    does: "the process running the run dies as the call is sent (`before`) or once its answer came back (`after`); the run resumes from its journal",
    callerSees: "nothing in the crashed process; the resumed run replays completed steps and re-runs the one in flight",
    flag: "crash",
    aliases: [],
    params: (f) => f.phase
  }
}

/**
 * Every fault kind, in the order of {@link byKind}.
 *
 * @example
 * ```ts
 * Fault.kinds.includes("Hang") // => true
 * ```
 */
export const kinds: ReadonlyArray<FaultKind> = Object.keys(byKind) as ReadonlyArray<FaultKind>

/**
 * Where a kind is injected: in the handler, in the transport, or at the connection.
 *
 * @example
 * ```ts
 * Fault.injectedAt("LostResponse") // => "transport"
 * ```
 */
export const injectedAt = (kind: FaultKind): KindDescription<FaultKind>["injectedAt"] => byKind[kind].injectedAt

/**
 * A fault's parameters as a short phrase (its kind's `params`).
 *
 * @example
 * ```ts
 * Fault.paramsOf(Fault.lostResponse("payment.charge")) // => "then silence"
 * ```
 */
export const paramsOf = (f: Fault): string => (byKind[f._tag].params as (fault: Fault) => string)(f)

/**
 * A list of faults and the seed of every decision made from it.
 *
 * @example
 * ```ts
 * const plan: FaultPlan = { seed: 1, faults: [{ _tag: "Hang", target: "ci.build", rate: 1 }] }
 * ```
 */
export const FaultPlan = Schema.Struct({ seed: Schema.Int, faults: Schema.Array(Fault) })

/**
 * A fault plan.
 *
 * @example
 * ```ts
 * const none: FaultPlan = { seed: 0, faults: [] }
 * ```
 */
export type FaultPlan = typeof FaultPlan.Type

/**
 * Builds a fault plan.
 *
 * @example
 * ```ts
 * Fault.plan(7, [Fault.hang("ci.build")])
 * ```
 */
export const plan = (seed: number, faults: ReadonlyArray<Fault>): FaultPlan => ({ seed, faults })

/**
 * The plan that injects nothing (still records calls and concurrency).
 *
 * @example
 * ```ts
 * FakeServer.make("ci", handlers, { injector: Injector.make(Fault.none) })
 * ```
 */
export const none: FaultPlan = { seed: 0, faults: [] }

const planJson = Schema.toCodecJson(FaultPlan)
const encodeJson = Schema.encodeSync(planJson)
const decodeJson = Schema.decodeUnknownSync(planJson)

/**
 * A plan as JSON-ready data.
 *
 * @example
 * ```ts
 * JSON.stringify(Fault.encodePlan(plan))
 * ```
 */
export const encodePlan = (p: FaultPlan): unknown => encodeJson(p)

/**
 * Reads a plan back from JSON data (throws a `SchemaError` naming the bad field).
 *
 * @example
 * ```ts
 * Fault.decodePlan(JSON.parse(text))
 * ```
 */
export const decodePlan = (u: unknown): FaultPlan => decodeJson(u)

/**
 * The common options of every constructor.
 *
 * @example
 * ```ts
 * const o: Options = { rate: 0.2, window: { fromMs: 0, toMs: 10_000 }, burst: 3 }
 * ```
 */
export interface Options {
  readonly rate?: number | undefined
  readonly window?: Window | undefined
  readonly burst?: number | undefined
  /** At most this many firings in a run (`times: 1`: only the first matching call). */
  readonly times?: number | undefined
  /** Only calls whose arguments contain these values (see {@link on} for a typed selector). */
  readonly where?: Readonly<Record<string, unknown>> | undefined
}

/**
 * A deep partial of a tool's arguments: the values a call must carry to match.
 *
 * @example
 * ```ts
 * const w: DeepPartial<{ tenant: string; order: { region: string; id: string } }> = { order: { region: "eu" } }
 * ```
 */
export type DeepPartial<T> = T extends ReadonlyArray<unknown> ? T
  : T extends object ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
  : T

/**
 * Which calls a fault hits: a target pattern, and optionally arguments they must carry.
 *
 * @example
 * ```ts
 * const s: Selector = { target: "payment.charge", where: { tenant: "acme" } }
 * ```
 */
export interface Selector {
  readonly target: string
  readonly where?: Readonly<Record<string, unknown>> | undefined
}

/**
 * A target: a `server.tool` pattern, or a {@link Selector} (from {@link on}).
 *
 * @example
 * ```ts
 * const t: Target = Fault.on(Payment.charge, { tenant: "acme" })
 * ```
 */
export type Target = string | Selector

/**
 * The calls of one tool whose arguments match `where`, typed by the tool's contract (its
 * encoded input, as sent on the wire): aim a fault at one tenant or one region without one fake
 * server per target.
 *
 * @example
 * ```ts
 * Fault.lostResponse(Fault.on(Payment.charge, { tenant: "acme" }), { times: 1 })
 * ```
 */
export const on = <In extends ContractSchema, Out extends ContractSchema>(
  contract: ContractInfo<In, Out>,
  where?: DeepPartial<In["Encoded"]>
): Selector => ({
  target: `${contract.server}.${contract.tool}`,
  ...(where !== undefined ? { where: where as Readonly<Record<string, unknown>> } : {})
})

const base = (target: Target, o: Options | undefined) => {
  const selector = typeof target === "string" ? { target } : target
  const where = o?.where ?? selector.where
  return {
    target: selector.target,
    rate: o?.rate ?? 1,
    ...(o?.window !== undefined ? { window: o.window } : {}),
    ...(o?.burst !== undefined ? { burst: o.burst } : {}),
    ...(o?.times !== undefined ? { times: o.times } : {}),
    ...(where !== undefined ? { where } : {})
  }
}

/**
 * A fixed latency.
 *
 * @example
 * ```ts
 * Fault.latency("ci.*", Fault.fixed(500))
 * ```
 */
export const fixed = (ms: number): Distribution => ({ _tag: "Fixed", ms })

/**
 * A uniform latency between two bounds.
 *
 * @example
 * ```ts
 * Fault.uniform(10, 200)
 * ```
 */
export const uniform = (minMs: number, maxMs: number): Distribution => ({ _tag: "Uniform", minMs, maxMs })

/**
 * A heavy-tailed log-normal latency (`median · e^(sigma·Z)`), optionally capped.
 *
 * @example
 * ```ts
 * Fault.lognormal(50, 1.2, 30_000)
 * ```
 */
export const lognormal = (medianMs: number, sigma: number, capMs?: number): Distribution =>
  capMs === undefined ? { _tag: "LogNormal", medianMs, sigma } : { _tag: "LogNormal", medianMs, sigma, capMs }

/**
 * A heavy-tailed Pareto latency (`scale / U^(1/shape)`), optionally capped.
 *
 * @example
 * ```ts
 * Fault.pareto(20, 1.5, 60_000)
 * ```
 */
export const pareto = (scaleMs: number, shape: number, capMs?: number): Distribution =>
  capMs === undefined ? { _tag: "Pareto", scaleMs, shape } : { _tag: "Pareto", scaleMs, shape, capMs }

/**
 * Latency on matching calls: `phase: "before"` delays the side effect, `"after"` delays the
 * answer once the side effect happened.
 *
 * @example
 * ```ts
 * Fault.latency("payment.charge", Fault.fixed(90_000), { rate: 0.1 }, "after")
 * ```
 */
export const latency = (target: Target, distribution: Distribution, o?: Options, phase: "before" | "after" = "before"): Fault => ({
  _tag: "Latency",
  ...base(target, o),
  distribution,
  phase
})

/**
 * The call never answers.
 *
 * @example
 * ```ts
 * Fault.hang("ci.build")
 * ```
 */
export const hang = (target: Target, o?: Options): Fault => ({ _tag: "Hang", ...base(target, o) })

/**
 * The tool answers `isError: true` with a message.
 *
 * @example
 * ```ts
 * Fault.toolError("docker.build", "no space left on device")
 * ```
 */
export const toolError = (target: Target, message = "injected tool failure", o?: Options): Fault => ({
  _tag: "ToolError",
  ...base(target, o),
  message
})

/**
 * The server answers a JSON-RPC error.
 *
 * @example
 * ```ts
 * Fault.jsonRpcError("k8s.*", -32603, "internal error")
 * ```
 */
export const jsonRpcError = (target: Target, code = -32603, message = "injected internal error", o?: Options): Fault => ({
  _tag: "JsonRpcError",
  ...base(target, o),
  code,
  message
})

/**
 * The server refuses with "rate limit exceeded, retry after N ms".
 *
 * @example
 * ```ts
 * Fault.rateLimited("github.search", 2_000, { rate: 0.3 })
 * ```
 */
export const rateLimited = (target: Target, retryAfterMs = 1_000, o?: Options): Fault => ({
  _tag: "RateLimited",
  ...base(target, o),
  retryAfterMs
})

/**
 * The result drifts from the contract's output schema.
 *
 * @example
 * ```ts
 * Fault.invalidOutput("k8s.get", "missing-field")
 * ```
 */
export const invalidOutput = (
  target: Target,
  drift: "missing-field" | "wrong-type" | "extra-field" = "missing-field",
  o?: Options
): Fault => ({ _tag: "InvalidOutput", ...base(target, o), drift })

/**
 * The connection drops as the request is sent; the request never arrives.
 *
 * @example
 * ```ts
 * Fault.connectionDrop("fs.*", { rate: 0.05 })
 * ```
 */
export const connectionDrop = (target: Target, o?: Options): Fault => ({ _tag: "ConnectionDrop", ...base(target, o) })

/**
 * The side effect happens, then the response is lost: `then: "silence"` (the caller's timeout
 * fires) or `"close"` (the connection closes).
 *
 * @example
 * ```ts
 * Fault.lostResponse("payment.charge", { rate: 0.2 })
 * ```
 */
export const lostResponse = (target: Target, o?: Options, then: "silence" | "close" = "silence"): Fault => ({
  _tag: "LostResponse",
  ...base(target, o),
  then
})

/**
 * A request or response is garbled on the wire.
 *
 * @example
 * ```ts
 * Fault.corruptMessage("ci.*", "response")
 * ```
 */
export const corruptMessage = (target: Target, direction: "request" | "response" = "response", o?: Options): Fault => ({
  _tag: "CorruptMessage",
  ...base(target, o),
  direction
})

/**
 * A request or response is delivered twice.
 *
 * @example
 * ```ts
 * Fault.duplicateMessage("payment.charge", "request")
 * ```
 */
export const duplicateMessage = (target: Target, direction: "request" | "response" = "request", o?: Options): Fault => ({
  _tag: "DuplicateMessage",
  ...base(target, o),
  direction
})

/**
 * The server is down from `fromMs` for `forMs` of virtual time.
 *
 * @example
 * ```ts
 * Fault.serverDown("payment", 0, 30_000)
 * ```
 */
export const serverDown = (target: Target, fromMs: number, forMs: number, o?: Options): Fault => ({
  _tag: "ServerDown",
  ...base(target, o),
  fromMs,
  forMs
})

/**
 * The server goes down for `downMs`, up for `upMs`, and so on (from `window.fromMs`, else 0).
 *
 * @example
 * ```ts
 * Fault.flapping("k8s", 5_000, 1_000)
 * ```
 */
export const flapping = (target: Target, upMs: number, downMs: number, o?: Options): Fault => ({
  _tag: "Flapping",
  ...base(target, o),
  upMs,
  downMs
})

/**
 * The server's handshake answer is delayed by `delayMs` (a cold start).
 *
 * @example
 * ```ts
 * Fault.slowStart("ml", 20_000)
 * ```
 */
export const slowStart = (target: Target, delayMs: number, o?: Options): Fault => ({
  _tag: "SlowStart",
  ...base(target, o),
  delayMs
})

/**
 * A handler that reports progress stalls: it lets `afterUpdates` progress notifications through,
 * then holds at its next one for `forMs` of virtual time (omitted: for ever). A caller whose
 * timeout is reset by progress sees a `Timeout`; with `forMs`, a late answer.
 *
 * @example
 * ```ts
 * Fault.progressStall("ml.train", 2, 120_000)
 * ```
 */
export const progressStall = (target: Target, afterUpdates = 0, forMs?: number, o?: Options): Fault => ({
  _tag: "ProgressStall",
  ...base(target, o),
  afterUpdates,
  ...(forMs !== undefined ? { forMs } : {})
})

/**
 * The process running the run dies at a matching call: as the request is sent (`"before"`: it
 * never arrives) or once its answer came back (`"after"`: the side effect happened, the journal
 * does not know). A flow check then resumes the run from its journal (a temporary SQLite one)
 * against the same servers; a plain program is run again from the start. Fires once unless
 * `times` says otherwise.
 *
 * @example
 * ```ts
 * Fault.crash("payment.charge_card", "after")
 * ```
 */
export const crash = (target: Target, phase: "before" | "after" = "before", o?: Options): Fault => ({
  _tag: "Crash",
  ...base(target, { ...o, times: o?.times ?? 1 }),
  phase
})

/**
 * Whether a plan may crash its run (it has a `Crash` fault).
 *
 * @example
 * ```ts
 * Fault.hasCrash(Fault.plan(1, [Fault.crash("payment.charge")])) // => true
 * ```
 */
export const hasCrash = (p: FaultPlan): boolean => p.faults.some((f) => f._tag === "Crash")

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)

const sameJson = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]))
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && sameJson(a[k], b[k]))
  }
  return false
}

/**
 * Whether a call's arguments carry every value of `where` (objects match partially, level by
 * level; arrays and scalars match exactly). No `where` matches every call.
 *
 * @example
 * ```ts
 * Fault.matchesArgs({ order: { region: "eu" } }, { order: { region: "eu", id: "o1" }, amount: 5 }) // => true
 * Fault.matchesArgs({ tenant: "acme" }, { tenant: "globex" }) // => false
 * ```
 */
export const matchesArgs = (where: Readonly<Record<string, unknown>> | undefined, args: unknown): boolean => {
  if (where === undefined) return true
  if (!isRecord(args)) return false
  for (const [k, want] of Object.entries(where)) {
    const got = args[k]
    if (isRecord(want) ? !(isRecord(got) && matchesArgs(want, got)) : !sameJson(want, got)) return false
  }
  return true
}

const patternCache = new Map<string, RegExp>()

const toRegExp = (pattern: string): RegExp => {
  let re = patternCache.get(pattern)
  if (re === undefined) {
    re = new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)
    patternCache.set(pattern, re)
  }
  return re
}

/**
 * Whether a target matches a call of `server.tool` (`tool` undefined: a connection of `server`;
 * a tool-level target then matches its server).
 *
 * @example
 * ```ts
 * Fault.matches("payment.*", "payment", "charge") // => true
 * Fault.matches("payment", "payment", "refund") // => true
 * Fault.matches("payment.charge", "payment", undefined) // => true (connection faults hit the server)
 * Fault.matches("search.query", "search#a", "query") // => true (a replica, through WireChaos, is hit by its group's target)
 * Fault.matches("search#a", "search#b", "query") // => false (or by its own)
 * ```
 */
export const matches = (target: string, server: string, tool: string | undefined): boolean => {
  if (target === "*") return true
  const dot = target.indexOf(".")
  const targetServer = dot === -1 ? target : target.slice(0, dot)
  const re = toRegExp(targetServer)
  if (!re.test(server)) {
    // A replica (`group#replica`) is hit by its own target and by its group's.
    const hash = server.indexOf("#")
    if (hash === -1 || !re.test(server.slice(0, hash))) return false
  }
  if (dot === -1 || tool === undefined) return true
  return toRegExp(target.slice(dot + 1)).test(tool)
}

/**
 * The key a fault's decisions are drawn with: its `id` when it has one, else its position in
 * the plan (so plans written by hand keep their decisions).
 *
 * @example
 * ```ts
 * Fault.decisionKey({ ...Fault.hang("a.b"), id: 7 }, 2) // => "id7"
 * Fault.decisionKey(Fault.hang("a.b"), 2) // => 2
 * ```
 */
export const decisionKey = (fault: Fault, index: number): string | number => (fault.id === undefined ? index : `id${fault.id}`)

/**
 * Whether virtual time `nowMs` is inside a fault's window (always, without one).
 *
 * @example
 * ```ts
 * Fault.inWindow(Fault.hang("a", { window: { fromMs: 0, toMs: 10 } }), 5) // => true
 * ```
 */
export const inWindow = (fault: Fault, nowMs: number): boolean =>
  fault.window === undefined || (nowMs >= fault.window.fromMs && nowMs < fault.window.toMs)

const fmtDist = (d: Distribution): string => {
  switch (d._tag) {
    case "Fixed":
      return `${d.ms}ms`
    case "Uniform":
      return `uniform(${d.minMs}..${d.maxMs}ms)`
    case "LogNormal":
      return `lognormal(median ${d.medianMs}ms, σ ${d.sigma}${d.capMs !== undefined ? `, cap ${d.capMs}ms` : ""})`
    case "Pareto":
      return `pareto(scale ${d.scaleMs}ms, α ${d.shape}${d.capMs !== undefined ? `, cap ${d.capMs}ms` : ""})`
  }
}

/**
 * One line describing a fault.
 *
 * @example
 * ```ts
 * Fault.describe(Fault.lostResponse("payment.charge", { rate: 0.2 })) // => "LostResponse(then silence) @ payment.charge rate 0.2"
 * ```
 */
export const describe = (f: Fault): string => {
  const p = paramsOf(f)
  const window = f.window ? ` in [${f.window.fromMs}ms, ${f.window.toMs}ms)` : ""
  const burst = f.burst !== undefined && f.burst > 1 ? ` burst ${f.burst}` : ""
  const where = f.where !== undefined ? ` where ${JSON.stringify(f.where)}` : ""
  const times = f.times !== undefined ? ` ×${f.times}` : ""
  return `${f._tag}${p ? `(${p})` : ""} @ ${f.target}${where} rate ${f.rate}${window}${burst}${times}`
}

/**
 * A plan, one fault per line, with its seed.
 *
 * @example
 * ```ts
 * console.log(Fault.describePlan(plan))
 * ```
 */
export const describePlan = (p: FaultPlan): string =>
  [`seed ${p.seed}, ${p.faults.length} fault(s)`, ...p.faults.map((f, i) => `  [${i}] ${describe(f)}`)].join("\n")
