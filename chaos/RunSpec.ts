/**
 * What a chaos run is given and what it produces: the {@link Spec} (fresh servers, the program,
 * the invariants' settings), user {@link Invariant}s, and the {@link RunResult} (outcome, faults
 * that fired, calls sent, counters, the models' snapshots, violations).
 *
 * @example
 * ```ts
 * const spec: Chaos.Spec<void, McpflowToolError> = { servers: makeServers, program, allow: ["payment.*"] }
 * ```
 * @module
 */
import type { Duration, Effect } from "effect"
import type { ContractInfo } from "../dsl/Contract.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import type { ServerConfig } from "../src/runtime/gateway/ServerConfig.ts"
import type * as FakeServer from "./FakeServer.ts"
import type * as F from "./Fault.ts"
import type * as Injector from "./Injector.ts"

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
  /** Extra non-idempotent tools (`server.tool` patterns), besides every contract not annotated `idempotent: true` or `readOnly: true`. */
  readonly nonIdempotent?: ReadonlyArray<string> | undefined
  /** The logical request of a sent call (default: its canonical arguments). */
  readonly requestKey?: ((call: Injector.SentCall) => string) | undefined
  /** Server limits applied to every fake (e.g. `callTimeoutMs`). */
  readonly limits?: { readonly callTimeoutMs?: number | undefined; readonly connectTimeoutMs?: number | undefined } | undefined
  /**
   * Settings of the built-in invariants, by name: switch one off with the reason the report
   * shows (`{ "no-duplicate-request": { off: "the ledger deduplicates by order id" } }`), or
   * configure it.
   */
  readonly builtIn?: BuiltInSettings | undefined
  /**
   * How the program goes on after a `Crash` fault killed the process running it (default: it
   * starts over, as a script without a journal would). `Chaos.checkFlow` resumes the flow from
   * its journal.
   */
  readonly restart?: Restart<A, E> | undefined
}

/**
 * What takes over after a crash: `crashed(n)` is called at the instant of the `n`-th crash
 * (synchronously: keep what a killed process leaves behind, e.g. a copy of its journal), then
 * `resume(n)` runs against the same servers.
 *
 * @example
 * ```ts
 * const restart: Restart<number, never> = { crashed: () => {}, resume: () => program }
 * ```
 */
export interface Restart<A, E> {
  readonly crashed: (crash: number) => void
  readonly resume: (crash: number) => Effect.Effect<A, E, McpGateway>
}

/**
 * The names of the built-in invariants (`allowlist` and `concurrency` apply only with their
 * settings; `steps-settle`, `saga-atomicity` and `crash-resume` only to flows, the last one
 * only when a `Crash` fault fired).
 *
 * @example
 * ```ts
 * const n: BuiltInName = "no-duplicate-request"
 * ```
 */
export type BuiltInName =
  | "typed-outcome"
  | "never-hangs"
  | "allowlist"
  | "concurrency"
  | "no-duplicate-request"
  | "steps-settle"
  | "saga-atomicity"
  | "crash-resume"

/**
 * Every built-in invariant's name, in the order reports list them.
 *
 * @example
 * ```ts
 * Chaos.builtInNames.includes("saga-atomicity") // => true
 * ```
 */
export const builtInNames: ReadonlyArray<BuiltInName> = [
  "typed-outcome",
  "never-hangs",
  "allowlist",
  "concurrency",
  "no-duplicate-request",
  "steps-settle",
  "saga-atomicity",
  "crash-resume"
]

/**
 * A built-in invariant switched off, and why (the report prints the reason next to its name).
 *
 * @example
 * ```ts
 * const o: Off = { off: "the fake ledger deduplicates by order id" }
 * ```
 */
export interface Off {
  readonly off: string
}

/**
 * What `no-duplicate-request` treats as one request and which tools it guards (besides every
 * tool not annotated `idempotent: true` / `readOnly: true`). The same as the spec's
 * `requestKey` and `nonIdempotent`, which they extend.
 *
 * @example
 * ```ts
 * const s: NoDuplicateSettings = { requestKey: (call) => call.args, nonIdempotent: ["billing.*"] }
 * ```
 */
export interface NoDuplicateSettings {
  readonly requestKey?: ((call: Injector.SentCall) => string) | undefined
  readonly nonIdempotent?: ReadonlyArray<string> | undefined
}

/**
 * Settings of the built-in invariants, by name: each may be switched off with a reason
 * (`{ off: "…" }`); `no-duplicate-request` may instead be configured.
 *
 * @example
 * ```ts
 * const b: BuiltInSettings = { "saga-atomicity": { off: "compensations are checked on the models by atomic: order" } }
 * ```
 */
export type BuiltInSettings = {
  readonly [K in Exclude<BuiltInName, "no-duplicate-request">]?: Off | undefined
} & {
  readonly "no-duplicate-request"?: Off | NoDuplicateSettings | undefined
}

/**
 * The reason a built-in invariant is off, or `undefined` when it applies.
 *
 * @example
 * ```ts
 * Chaos.offReason({ builtIn: { "never-hangs": { off: "a daemon" } } }, "never-hangs") // => "a daemon"
 * ```
 */
export const offReason = (spec: { readonly builtIn?: BuiltInSettings | undefined }, name: string): string | undefined => {
  const setting = (spec.builtIn as Readonly<Record<string, Off | NoDuplicateSettings | undefined>> | undefined)?.[name]
  return setting !== undefined && "off" in setting && typeof setting.off === "string" ? setting.off : undefined
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
