/**
 * Deterministic fault decisions for a {@link FaultPlan}, an injection log, and call statistics.
 *
 * One `Injector` serves every fake server of a run. For each `tools/call` the client sends, the
 * wrapping transport asks it for a decision: the call's index (per `server.tool`, counted from
 * 0), the latencies to add in the handler, and at most one other fault (the first of the plan
 * that fires, in plan order). A fault fires when its target, its window and its `where` (the
 * call's arguments) match, it has firings left (`times`), and a keyed draw
 * `Prng.uniform(seed, fault key, server, tool, call index)` is below its rate (the key is the
 * fault's `id`, else its index: see `Fault.decisionKey`), or when an
 * earlier firing opened a burst on that tool. A `Crash` fires only when the run listens for
 * crashes ({@link Injector.onCrash}). Connection faults (`ServerDown`, `Flapping`,
 * `SlowStart`) are decided per server and per connection. Times come from the fake server's
 * Clock, so `TestClock` (or the chaos runner's virtual time) drives windows and delays.
 *
 * Every fault that fired is appended to {@link Injector.log}, and every call the client sent is
 * kept with its canonical arguments; `stats()` gives calls sent and executed and the peak number
 * of calls in flight per tool (for bulkhead and idempotency invariants).
 *
 * @example
 * ```ts
 * const injector = Injector.make(Fault.plan(7, [Fault.hang("ci.build", { rate: 0.5 })]))
 * const ci = yield* FakeServer.make("ci", handlers, { injector })
 * // … run the program …
 * console.log(Injector.formatLog(injector.log))
 * ```
 * @module
 */
import { Schema } from "effect"
import { canonicalJson } from "../dsl/policy/internal/CanonicalJson.ts"
import * as F from "./Fault.ts"
import * as Prng from "./Prng.ts"

/**
 * One fault that fired: kind, where, which call (or connection) of that tool (or server), the
 * virtual time, the plan index of the fault and a short detail.
 *
 * @example
 * ```ts
 * const i: Injection = { atMs: 1200, server: "payment", tool: "charge", call: 1, kind: "LostResponse", fault: 0, detail: "then silence" }
 * ```
 */
export const Injection = Schema.Struct({
  atMs: Schema.Number,
  server: Schema.String,
  /** The tool, or `(connect)` for a connection fault. */
  tool: Schema.String,
  /** The call index of this `server.tool` (from 0), or the connection index for `(connect)`. */
  call: Schema.Number,
  kind: Schema.String,
  /** The fault's index in the plan. */
  fault: Schema.Number,
  detail: Schema.String
})

/**
 * One fault that fired.
 *
 * @example
 * ```ts
 * const kinds = injector.log.map((i: Injection) => i.kind)
 * ```
 */
export type Injection = typeof Injection.Type

/**
 * One `tools/call` request the client sent (before any transport fault).
 *
 * @example
 * ```ts
 * const c: SentCall = { server: "payment", tool: "charge", call: 0, atMs: 0, args: '{"amount":10}' }
 * ```
 */
export interface SentCall {
  readonly server: string
  readonly tool: string
  readonly call: number
  readonly atMs: number
  /** The arguments as canonical JSON (sorted keys). */
  readonly args: string
  /** The path of the step that sent it (`""` outside any step), when the gateway said (see {@link CallSite}). */
  readonly step?: string | undefined
  /** Its index among the calls of that step's attempt (a call re-sent by a retry keeps its index). */
  readonly stepCall?: number | undefined
  /**
   * How the call ended for the client: `answered` (a result), `refused` (an `isError` result or
   * a JSON-RPC error: it surely had no effect... as far as the server says), `cancelled` (the
   * client gave up, e.g. its timeout), `closed` (the connection closed first), or `pending`.
   */
  readonly end: CallEnd
}

/**
 * Where a call was made, as the gateway sends it in the request's `_meta`: the step's path and
 * the call's index within the step's attempt (see `CallSites` in `dsl/ports/McpGateway.ts`).
 *
 * @example
 * ```ts
 * const site: CallSite = { step: "order/charge", call: 0 }
 * ```
 */
export interface CallSite {
  readonly step: string
  readonly call: number
}

/**
 * How a sent call ended for the client.
 *
 * @example
 * ```ts
 * const e: CallEnd = "cancelled"
 * ```
 */
export type CallEnd = "pending" | "answered" | "refused" | "cancelled" | "closed"

/**
 * Counters of one tool: requests the client sent, handler executions (a duplicated request runs
 * twice), and the most calls in flight at once as the client sees them (from the request until
 * its answer, its cancellation or the connection's close).
 *
 * @example
 * ```ts
 * const s: ToolStats = { server: "ci", tool: "build", sent: 3, executed: 3, peakInFlight: 2 }
 * ```
 */
export interface ToolStats {
  readonly server: string
  readonly tool: string
  readonly sent: number
  readonly executed: number
  readonly peakInFlight: number
}

/**
 * The handler-level part of a decision.
 *
 * @example
 * ```ts
 * const d: HandlerFault = { _tag: "ToolError", target: "ci.build", rate: 1, message: "boom" }
 * ```
 */
export type HandlerFault = Extract<F.Fault, { readonly _tag: "Hang" | "ToolError" | "JsonRpcError" | "RateLimited" | "InvalidOutput" | "ProgressStall" }>

/**
 * The per-call transport part of a decision (`Down` when the server is down or flapping).
 *
 * @example
 * ```ts
 * const t: TransportFault = { _tag: "Down", kind: "ServerDown" }
 * ```
 */
export type TransportFault =
  | Extract<F.Fault, { readonly _tag: "ConnectionDrop" | "LostResponse" | "CorruptMessage" | "DuplicateMessage" | "Crash" }>
  | { readonly _tag: "Down"; readonly kind: "ServerDown" | "Flapping" }

/**
 * What happens to one call.
 *
 * @example
 * ```ts
 * const d: CallDecision = { call: 0, latencyBeforeMs: 0, latencyAfterMs: 0, handler: undefined, transport: undefined }
 * ```
 */
export interface CallDecision {
  readonly call: number
  readonly latencyBeforeMs: number
  readonly latencyAfterMs: number
  readonly handler: HandlerFault | undefined
  readonly transport: TransportFault | undefined
}

/**
 * What a fake server's connection needs from the run: the clock and a way to sleep on it.
 *
 * @example
 * ```ts
 * const env: ServerEnv = { now: () => clock.currentTimeMillisUnsafe(), sleep: (ms) => run(Effect.sleep(ms)) }
 * ```
 */
export interface ServerEnv {
  readonly now: () => number
  readonly sleep: (ms: number) => Promise<void>
}

/**
 * The hooks one server's transport and handlers use.
 *
 * @example
 * ```ts
 * const hooks = injector.server("ci", env)
 * ```
 */
export interface ServerHooks {
  readonly key: string
  readonly env: ServerEnv
  /** Counts a new connection; a reason string refuses it (the server is down). */
  readonly connect: () => { readonly index: number; readonly refused: string | undefined; readonly startDelayMs: number }
  /** Decides a call the client is sending (made at `site`, when the gateway said where). */
  readonly decide: (tool: string, args: unknown, site?: CallSite | undefined) => CallDecision
  /** Whether the server is down at this moment (checked when a response arrives). */
  readonly downNow: () => "ServerDown" | "Flapping" | undefined
  readonly callStarted: (tool: string) => void
  readonly callEnded: (tool: string, call: number, end: CallEnd) => void
  readonly executed: (tool: string) => void
  /** Marks activity (messages, handler steps) for the chaos runner's idle detection. */
  readonly touch: () => void
  /** The process running the run dies now (a `Crash` fault fired): tells the run's crash listener. */
  readonly crash: () => void
}

/**
 * A fault plan's live state for one run.
 *
 * @example
 * ```ts
 * const injector = Injector.make(plan)
 * injector.log // the faults that fired so far
 * ```
 */
export interface Injector {
  readonly plan: F.FaultPlan
  /** Every fault that fired, in order. */
  readonly log: ReadonlyArray<Injection>
  /** Every `tools/call` the client sent, in order. */
  readonly sent: ReadonlyArray<SentCall>
  /** Counters per `server.tool`, sorted by server then tool. */
  readonly stats: () => ReadonlyArray<ToolStats>
  /** The most calls in flight at once per server (key `server`), as the client saw them. */
  readonly serverPeaks: () => Readonly<Record<string, number>>
  /** A counter that grows with every message and handler step (idle detection). */
  readonly activity: () => number
  /** The hooks for one server (made by `FakeServer.make`). */
  readonly server: (key: string, env: ServerEnv) => ServerHooks
  /**
   * Who handles a `Crash` (the chaos run, which resumes the run): without a listener, `Crash`
   * faults do not fire.
   */
  readonly onCrash: (listener: (() => void) | undefined) => void
}

interface MutableStats {
  sent: number
  executed: number
  inFlight: number
  peakInFlight: number
}

/**
 * A latency drawn from a distribution, keyed like every other decision.
 *
 * @example
 * ```ts
 * Injector.sampleLatency(Fault.lognormal(50, 1), 7, 0, "ci", "build", 3) // => e.g. 81.2
 * ```
 */
export const sampleLatency = (d: F.Distribution, seed: number, ...key: ReadonlyArray<string | number>): number => {
  switch (d._tag) {
    case "Fixed":
      return d.ms
    case "Uniform":
      return Math.round(d.minMs + (d.maxMs - d.minMs) * Prng.uniform(seed, ...key, "lat"))
    case "LogNormal": {
      const ms = d.medianMs * Math.exp(d.sigma * Prng.normal(seed, ...key, "lat"))
      return Math.round(d.capMs === undefined ? ms : Math.min(ms, d.capMs))
    }
    case "Pareto": {
      const u = Math.max(1 - Prng.uniform(seed, ...key, "lat"), 1e-12)
      const ms = d.scaleMs / u ** (1 / d.shape)
      return Math.round(d.capMs === undefined ? ms : Math.min(ms, d.capMs))
    }
  }
}

const isHandlerFault = (f: F.Fault): f is HandlerFault => f._tag !== "Latency" && F.injectedAt(f._tag) === "handler"

/** The injection log's detail of a fault: its parameters, or the latency drawn. */
const detailOf = (f: F.Fault, latencyMs?: number): string =>
  f._tag === "Latency" ? `${latencyMs ?? 0}ms ${f.phase}` : F.paramsOf(f)

/**
 * Makes the live state of a plan for one run.
 *
 * @example
 * ```ts
 * const injector = Injector.make(Fault.plan(1, [Fault.toolError("ci.*", "boom", { rate: 0.3 })]))
 * ```
 */
export const make = (plan: F.FaultPlan): Injector => {
  const log: Array<Injection> = []
  const sent: Array<{ -readonly [K in keyof SentCall]: SentCall[K] }> = []
  const sentIndex = new Map<string, number>()
  const stats = new Map<string, MutableStats & { readonly server: string; readonly tool: string }>()
  const bursts = new Map<string, number>()
  const callCounts = new Map<string, number>()
  const serverInFlight = new Map<string, { now: number; peak: number }>()
  const serverFlight = (key: string) => {
    let f = serverInFlight.get(key)
    if (f === undefined) {
      f = { now: 0, peak: 0 }
      serverInFlight.set(key, f)
    }
    return f
  }
  let activity = 0
  let crashListener: (() => void) | undefined
  /** Firings per fault (plan index), for `times`. */
  const firings = new Map<number, number>()
  const exhausted = (i: number, f: F.Fault) => f.times !== undefined && (firings.get(i) ?? 0) >= f.times
  const fired = (i: number) => void firings.set(i, (firings.get(i) ?? 0) + 1)
  const seed = plan.seed
  const faults = plan.faults

  const statsOf = (server: string, tool: string) => {
    const id = `${server}.${tool}`
    let s = stats.get(id)
    if (s === undefined) {
      s = { server, tool, sent: 0, executed: 0, inFlight: 0, peakInFlight: 0 }
      stats.set(id, s)
    }
    return s
  }

  const record = (atMs: number, server: string, tool: string, call: number, fault: number, detail: string) => {
    log.push({ atMs, server, tool, call, kind: faults[fault]!._tag, fault, detail })
  }

  /** Each fault's decision key (its id, else its position): see `Fault.decisionKey`. */
  const keys = faults.map((f, i) => F.decisionKey(f, i))

  /**
   * Whether fault `i` fires on this call: target, arguments (`where`), window and `times` left,
   * then an open burst or a keyed draw.
   */
  const fires = (i: number, f: F.Fault, server: string, tool: string, call: number, now: number, args: unknown): boolean => {
    if (!F.matches(f.target, server, tool) || !F.inWindow(f, now) || exhausted(i, f) || !F.matchesArgs(f.where, args)) return false
    if (f._tag === "Crash" && crashListener === undefined) return false
    const burstKey = `${keys[i]}|${server}.${tool}`
    const open = bursts.get(burstKey) ?? 0
    if (open > 0) {
      bursts.set(burstKey, open - 1)
      fired(i)
      return true
    }
    if (f.rate <= 0 || Prng.uniform(seed, keys[i]!, server, tool, call) >= f.rate) return false
    if (f.burst !== undefined && f.burst > 1) bursts.set(burstKey, f.burst - 1)
    fired(i)
    return true
  }

  const downAt = (server: string, now: number): { readonly index: number; readonly kind: "ServerDown" | "Flapping" } | undefined => {
    for (let i = 0; i < faults.length; i++) {
      const f = faults[i]!
      if (f._tag !== "ServerDown" && f._tag !== "Flapping") continue
      if (!F.matches(f.target, server, undefined) || !F.inWindow(f, now)) continue
      if (f.rate < 1 && Prng.uniform(seed, keys[i]!, server, "(down)") >= f.rate) continue
      if (f._tag === "ServerDown") {
        if (now >= f.fromMs && now < f.fromMs + f.forMs) return { index: i, kind: "ServerDown" }
      } else {
        const start = f.window?.fromMs ?? 0
        if ((now - start) % (f.upMs + f.downMs) < f.downMs) return { index: i, kind: "Flapping" }
      }
    }
    return undefined
  }

  const server = (key: string, env: ServerEnv): ServerHooks => {
    let connections = 0
    const touch = () => {
      activity++
    }
    return {
      key,
      env,
      touch,
      connect: () => {
        touch()
        const index = connections++
        const now = env.now()
        const down = downAt(key, now)
        if (down !== undefined) {
          record(now, key, "(connect)", index, down.index, detailOf(faults[down.index]!))
          return { index, refused: `connection refused: server '${key}' is down (injected ${down.kind})`, startDelayMs: 0 }
        }
        let startDelayMs = 0
        for (let i = 0; i < faults.length; i++) {
          const f = faults[i]!
          if (f._tag !== "SlowStart" || !F.matches(f.target, key, undefined) || !F.inWindow(f, now) || exhausted(i, f)) continue
          if (f.rate < 1 && Prng.uniform(seed, keys[i]!, key, "(connect)", index) >= f.rate) continue
          fired(i)
          startDelayMs += f.delayMs
          record(now, key, "(connect)", index, i, detailOf(f))
        }
        return { index, refused: undefined, startDelayMs }
      },
      decide: (tool, args, site) => {
        touch()
        const id = `${key}.${tool}`
        const call = callCounts.get(id) ?? 0
        callCounts.set(id, call + 1)
        const now = env.now()
        sentIndex.set(`${id}#${call}`, sent.length)
        sent.push({
          server: key,
          tool,
          call,
          atMs: now,
          args: canonicalJson(args ?? {}),
          ...(site !== undefined ? { step: site.step, stepCall: site.call } : {}),
          end: "pending"
        })
        statsOf(key, tool).sent++
        const down = downAt(key, now)
        if (down !== undefined) {
          record(now, key, tool, call, down.index, "the connection closes: server down")
          return { call, latencyBeforeMs: 0, latencyAfterMs: 0, handler: undefined, transport: { _tag: "Down", kind: down.kind } }
        }
        let latencyBeforeMs = 0
        let latencyAfterMs = 0
        let handler: HandlerFault | undefined
        let transport: TransportFault | undefined
        for (let i = 0; i < faults.length; i++) {
          const f = faults[i]!
          if (f._tag === "ServerDown" || f._tag === "Flapping" || f._tag === "SlowStart") continue
          if (f._tag !== "Latency" && (handler !== undefined || transport !== undefined)) continue
          if (!fires(i, f, key, tool, call, now, args)) continue
          if (f._tag === "Latency") {
            const ms = sampleLatency(f.distribution, seed, keys[i]!, key, tool, call)
            if (f.phase === "before") latencyBeforeMs += ms
            else latencyAfterMs += ms
            record(now, key, tool, call, i, detailOf(f, ms))
          } else if (isHandlerFault(f)) {
            handler = f
            record(now, key, tool, call, i, detailOf(f))
          } else {
            transport = f as TransportFault
            record(now, key, tool, call, i, detailOf(f))
          }
        }
        return { call, latencyBeforeMs, latencyAfterMs, handler, transport }
      },
      downNow: () => downAt(key, env.now())?.kind,
      callStarted: (tool) => {
        const s = statsOf(key, tool)
        s.inFlight++
        if (s.inFlight > s.peakInFlight) s.peakInFlight = s.inFlight
        const f = serverFlight(key)
        f.now++
        if (f.now > f.peak) f.peak = f.now
      },
      callEnded: (tool, call, end) => {
        const entry = sent[sentIndex.get(`${key}.${tool}#${call}`) ?? -1]
        if (entry !== undefined && entry.end === "pending") entry.end = end
        const s = statsOf(key, tool)
        if (s.inFlight > 0) s.inFlight--
        const f = serverFlight(key)
        if (f.now > 0) f.now--
      },
      executed: (tool) => {
        touch()
        statsOf(key, tool).executed++
      },
      crash: () => {
        touch()
        crashListener?.()
      }
    }
  }

  return {
    plan,
    log,
    sent,
    stats: () =>
      [...stats.values()]
        .map(({ executed, peakInFlight, sent, server, tool }) => ({ server, tool, sent, executed, peakInFlight }))
        .sort((a, b) => (a.server === b.server ? (a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : 0) : a.server < b.server ? -1 : 1)),
    serverPeaks: () => Object.fromEntries([...serverInFlight].map(([k, f]) => [k, f.peak])),
    activity: () => activity,
    server,
    onCrash: (listener) => {
      crashListener = listener
    }
  }
}

/**
 * The injection log as text, one fault per line.
 *
 * @example
 * ```ts
 * console.log(Injector.formatLog(injector.log))
 * // t=1200ms payment.charge#1 LostResponse [0] then silence
 * ```
 */
export const formatLog = (log: ReadonlyArray<Injection>): string =>
  log.length === 0
    ? "(no fault fired)"
    : log.map((i) => `t=${i.atMs}ms ${i.server}.${i.tool}#${i.call} ${i.kind} [${i.fault}]${i.detail ? ` ${i.detail}` : ""}`).join("\n")
