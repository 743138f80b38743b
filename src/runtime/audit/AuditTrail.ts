/**
 * Feeds the audit log (`dsl/ports/AuditLog.ts`) from what a run already reports: the run's
 * `FlowEvents` (started, resumed, finished, compensations, a signal received) and every call
 * through the `McpGateway` (server.tool, step, arguments and result redacted, outcome, duration),
 * stamped with the caller's identity ({@link actorOf}). The CLI's run, resume, signal and cancel
 * paths install {@link layer} and wrap the run in {@link around}.
 *
 * A call's arguments and result are redacted (`AuditRedact.ts`); the secrets found in the
 * arguments' `Redacted` fields are also masked in the call's error and result strings, for the
 * caller as well (a server echoing a password in its error text does not carry it into the
 * journal or the report). An entry that cannot be written does not stop the run: the first
 * write failure is logged as an error.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as AuditTrail from "./AuditTrail.ts"
 *
 * Flow.run(deploy, input).pipe(AuditTrail.around, Effect.provide(gateway), Effect.provide(AuditTrail.layer({ stateDir: ".mcpflow" })))
 * ```
 * @module
 */
import { existsSync } from "node:fs"
import { userInfo } from "node:os"
import { join } from "node:path"
import { Cause, Clock, Config, Context, Duration, Effect, Exit, Layer, Option } from "effect"
import { CurrentScope } from "../../../dsl/flow/RunScope.ts"
import { type FlowEvent, FlowEvents } from "../../../dsl/flow/FlowEvents.ts"
import { type AuditEntry, AuditLog, type AuditRecord } from "../../../dsl/ports/AuditLog.ts"
import { CallSites, McpGateway } from "../../../dsl/ports/McpGateway.ts"
import { JournalError } from "../../../dsl/ports/RunJournal.ts"
import { McpflowToolError } from "../../../dsl/ToolError.ts"
import * as SecretMask from "../gateway/SecretMask.ts"
import { ensureDirectory } from "../engine/StateDir.ts"
import { redact } from "./AuditRedact.ts"
import * as SqliteAuditLog from "./SqliteAuditLog.ts"

/**
 * The environment variable naming who runs mcpflow (default: the OS user).
 *
 * @example
 * ```ts
 * actorVariable // => "MCPFLOW_ACTOR"
 * ```
 */
export const actorVariable = "MCPFLOW_ACTOR"

/**
 * The environment variable holding the audit retention (`90d`, `12w`; default: keep forever).
 *
 * @example
 * ```ts
 * retainVariable // => "MCPFLOW_AUDIT_RETAIN"
 * ```
 */
export const retainVariable = "MCPFLOW_AUDIT_RETAIN"

/**
 * Who the entries name: `MCPFLOW_ACTOR` when set (a CI job, a service account), else the OS
 * user running mcpflow, else `unknown`.
 *
 * @example
 * ```ts
 * const actor = yield* AuditTrail.actorOf // => "ana"
 * ```
 */
export const actorOf: Effect.Effect<string> = Effect.map(
  Effect.orElseSucceed(Config.option(Config.String(actorVariable)), () => Option.none<string>()),
  (configured) => {
    const named = Option.getOrUndefined(configured)?.trim()
    if (named !== undefined && named !== "") return named
    try {
      return userInfo().username || "unknown"
    } catch {
      return process.env.USER ?? process.env.USERNAME ?? "unknown"
    }
  }
)

/**
 * Reads an age: `30m`, `12h`, `90d`, `12w` (a number and a unit), or undefined when it is not one.
 *
 * @example
 * ```ts
 * parseRetention("90d") // => Duration.days(90)
 * parseRetention("soon") // => undefined
 * ```
 */
export const parseRetention = (text: string): Duration.Duration | undefined => {
  const match = /^(\d+(?:\.\d+)?)\s*(m|h|d|w)$/.exec(text.trim())
  if (match === null || !(Number(match[1]) > 0)) return undefined
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as "m" | "h" | "d" | "w"]
  return Duration.millis(Number(match[1]) * unit)
}

/**
 * The retention from `MCPFLOW_AUDIT_RETAIN` (none when unset); a value that is not an age fails
 * naming the variable.
 *
 * @example
 * ```ts
 * const retain = yield* AuditTrail.configuredRetention // Option.some(Duration.days(90)) with MCPFLOW_AUDIT_RETAIN=90d
 * ```
 */
export const configuredRetention: Effect.Effect<Option.Option<Duration.Duration>, JournalError> = Effect.flatMap(
  Effect.orElseSucceed(Config.option(Config.String(retainVariable)), () => Option.none<string>()),
  (text) => {
    if (Option.isNone(text) || text.value.trim() === "") return Effect.succeed(Option.none())
    const parsed = parseRetention(text.value)
    return parsed === undefined
      ? Effect.fail(
        new JournalError({
          file: retainVariable,
          reason: "Io",
          detail: `${retainVariable}=${JSON.stringify(text.value)} is not an age: write 90d, 12w, 48h or 30m`
        })
      )
      : Effect.succeed(Option.some(parsed))
  }
)

/**
 * The audit recorder of a process: who it is, and the sinks and gateway wrapper that write
 * entries to its {@link AuditLog}.
 *
 * @example
 * ```ts
 * const trail = yield* AuditTrail
 * trail.record({ at: Date.now(), action: "signal.sent", runId, target: "approval", outcome: "ok" })
 * ```
 */
export class AuditTrail extends Context.Service<AuditTrail, {
  readonly actor: string
  readonly log: AuditLog["Service"]
  /** Appends an entry (the actor is added); a write failure is logged once, never thrown. */
  readonly record: (record: Omit<AuditRecord, "actor">) => void
  /** A `FlowEvents` sink that records run decisions, then passes every event on. */
  readonly flowEvents: (sink: { readonly emit: (event: FlowEvent) => void }) => { readonly emit: (event: FlowEvent) => void }
  /** The gateway with every `call` and `callRaw` recorded. */
  readonly gateway: (gateway: McpGateway["Service"]) => McpGateway["Service"]
}>()("mcpflow/audit/AuditTrail") {}

/** The signal a `Flow.waitFor` step at `path` waits for, from its name (`wait:approval`). */
const signalOfPath = (path: string): string | undefined => {
  const last = path.slice(path.lastIndexOf("/") + 1)
  return last.startsWith("wait:") ? last.slice("wait:".length) : undefined
}

/**
 * The entry a flow event makes, if any (run started/resumed/finished, a compensation, a signal
 * received); `signals` remembers which signal each parked step waits for.
 *
 * @example
 * ```ts
 * fromFlowEvent({ _tag: "FlowStarted", runId: "r1", at: 0, flow: "cicd", engine: "sqlite" }, new Map())
 * // => { at: 0, runId: "r1", action: "run.started", target: "cicd", outcome: "ok", detail: "engine sqlite" }
 * ```
 */
export const fromFlowEvent = (event: FlowEvent, signals: Map<string, string>): Omit<AuditRecord, "actor"> | undefined => {
  const base = { at: event.at, runId: event.runId === "" ? undefined : event.runId }
  switch (event._tag) {
    case "FlowStarted":
      return {
        ...base,
        action: event.resumed === true ? "run.resumed" : "run.started",
        target: event.flow,
        outcome: "ok",
        detail: `engine ${event.engine}${event.sandbox === true ? ", sandbox" : ""}${
          event.inFlight !== undefined && event.inFlight.length > 0 ? `, re-running ${event.inFlight.join(", ")}` : ""
        }`
      }
    case "FlowFinished":
      return {
        ...base,
        action: "run.finished",
        target: event.flow,
        step: event.failedStep,
        outcome: event.outcome,
        durationMs: event.durationMs,
        detail: event.error === undefined ? undefined : `${event.errorTag ?? "Error"}: ${event.error}`
      }
    case "StepWaiting":
      if (event.signal !== undefined) signals.set(`${event.runId}\u0000${event.path}`, event.signal)
      return undefined
    case "StepSucceeded": {
      if (event.kind !== "wait" || event.replayed) return undefined
      const signal = signals.get(`${event.runId}\u0000${event.path}`) ?? signalOfPath(event.path)
      return signal === undefined
        ? undefined
        : { ...base, action: "signal.received", step: event.path, target: signal, outcome: "ok", durationMs: event.durationMs }
    }
    case "Compensated":
      return { ...base, action: "compensation", step: event.path, outcome: event.replayed === true ? "replayed" : "ok", durationMs: event.durationMs }
    case "CompensationFailed":
      return { ...base, action: "compensation", step: event.path, outcome: "failed", detail: event.error }
    default:
      return undefined
  }
}

/** The outcome and detail of a call's exit. */
const outcomeOf = (exit: Exit.Exit<unknown, unknown>): { readonly outcome: string; readonly detail?: string | undefined } => {
  if (Exit.isSuccess(exit)) return { outcome: "ok" }
  if (Cause.hasInterruptsOnly(exit.cause)) return { outcome: "interrupted" }
  const error = Cause.squash(exit.cause)
  if (error instanceof McpflowToolError) return { outcome: error.reason._tag, detail: error.message }
  return { outcome: "defect", detail: error instanceof Error ? error.message : String(error) }
}

/**
 * The recorder over `log` for `actor` (see {@link AuditTrail}).
 *
 * @example
 * ```ts
 * const trail = AuditTrail.make(log, "ana")
 * const gateway = trail.gateway(yield* McpGateway)
 * ```
 */
export const make = (log: AuditLog["Service"], actor: string): AuditTrail["Service"] => {
  let failed = false
  const record = (entry: Omit<AuditRecord, "actor">): void => {
    try {
      log.appendUnsafe({ ...entry, actor })
    } catch (thrown) {
      if (!failed) {
        failed = true
        Effect.runFork(Effect.logError(`audit log ${log.location} could not be written: ${thrown instanceof Error ? thrown.message : String(thrown)}`))
      }
    }
  }
  const signals = new Map<string, string>()

  /** One call, recorded when it ends; its error and result masked of its own Redacted arguments. */
  const audited = <A>(
    server: string,
    tool: string,
    input: unknown,
    call: Effect.Effect<A, McpflowToolError>
  ): Effect.Effect<A, McpflowToolError> =>
    Effect.withFiber((fiber) => {
      const scope = fiber.getRef(CurrentScope)
      const step = fiber.getRef(CallSites)?.path ?? scope.path
      const clock = fiber.getRef(Clock.Clock)
      const at = clock.currentTimeMillisUnsafe()
      const args = redact(input)
      const mask = args.secrets.length === 0 ? undefined : SecretMask.make(args.secrets)
      const masked = mask === undefined || !mask.active ? call : call.pipe(Effect.mapError(mask.error), Effect.map(mask.value))
      return Effect.onExit(masked, (exit) =>
        Effect.sync(() =>
          record({
            at,
            runId: scope.run?.runId,
            step: step === "" ? undefined : step,
            action: "tool.call",
            target: `${server}.${tool}`,
            durationMs: clock.currentTimeMillisUnsafe() - at,
            args: args.value,
            ...outcomeOf(exit),
            ...(Exit.isSuccess(exit) ? { result: redact(exit.value, mask).value } : {})
          })
        ))
    })

  return AuditTrail.of({
    actor,
    log,
    record,
    flowEvents: (sink) => ({
      emit: (event) => {
        const entry = fromFlowEvent(event, signals)
        if (entry !== undefined) record(entry)
        sink.emit(event)
      }
    }),
    gateway: (gateway) =>
      McpGateway.of({
        ...gateway,
        call: (contract, input, options) => audited(contract.server, contract.tool, input, gateway.call(contract, input, options)),
        callRaw: (server, tool, args, options) => audited(server, tool, args, gateway.callRaw(server, tool, args, options))
      })
  })
}

/**
 * The audit trail over an {@link AuditLog} in context: the actor from {@link actorOf}, and the
 * retention from `retain` (else `MCPFLOW_AUDIT_RETAIN`) applied once when the layer starts.
 *
 * @example
 * ```ts
 * AuditTrail.layerWith({ retain: Duration.days(90) }).pipe(Layer.provide(SqliteAuditLog.layer(file)))
 * ```
 */
export const layerWith = (
  options?: { readonly retain?: Duration.Duration | undefined } | undefined
): Layer.Layer<AuditTrail, JournalError, AuditLog> =>
  Layer.effect(AuditTrail)(
    Effect.gen(function*() {
      const log = yield* AuditLog
      const actor = yield* actorOf
      const retain = options?.retain ?? Option.getOrUndefined(yield* configuredRetention)
      if (retain !== undefined) yield* log.prune(Date.now() - Duration.toMillis(retain), actor)
      return make(log, actor)
    })
  )

/**
 * The audit trail of a state directory: the `mcpflow_audit` table of `<stateDir>/runs.db`
 * (the directory is created), with retention applied on open.
 *
 * @example
 * ```ts
 * program.pipe(AuditTrail.around, Effect.provide(AuditTrail.layer({ stateDir: ".mcpflow" })))
 * ```
 */
export const layer = (options: {
  readonly stateDir: string
  readonly retain?: Duration.Duration | undefined
}): Layer.Layer<AuditTrail | AuditLog, JournalError> => {
  const file = join(options.stateDir, "runs.db")
  const store = Layer.unwrap(
    Effect.suspend(() => {
      const problem = ensureDirectory(options.stateDir)
      return problem === undefined
        ? Effect.succeed(SqliteAuditLog.layer(file))
        : Effect.fail(new JournalError({ file, reason: "Io", detail: problem }))
    })
  )
  return layerWith(options).pipe(Layer.provideMerge(store))
}

/**
 * Records what `effect` does when an {@link AuditTrail} is in context (else runs it as it is):
 * its `FlowEvents` and its `McpGateway` calls. Put it inside the `FlowEvents` and gateway it
 * should see (earlier in a `pipe`).
 *
 * @example
 * ```ts
 * Flow.run(flow, input).pipe(AuditTrail.around, Effect.provideService(FlowEvents, sink), Effect.provide(gateway))
 * ```
 */
export const around = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | McpGateway> =>
  Effect.flatMap(Effect.serviceOption(AuditTrail), (trail) =>
    Option.isNone(trail) ? effect : effect.pipe(
      Effect.updateService(FlowEvents, trail.value.flowEvents),
      Effect.updateService(McpGateway, trail.value.gateway)
    ))

/**
 * Records one decision taken outside a run's process (`mcpflow signal`, `mcpflow cancel`) when an
 * {@link AuditTrail} is in context; nothing otherwise.
 *
 * @example
 * ```ts
 * yield* AuditTrail.decision({ action: "signal.sent", runId, target: "approval", outcome: "ok" })
 * ```
 */
export const decision = (entry: Omit<AuditRecord, "actor" | "at">): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(AuditTrail), (trail) =>
    Option.isNone(trail)
      ? Effect.void
      : Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => trail.value.record({ ...entry, at }))))

/**
 * A run's audit entries, oldest first, from a state directory (for the run viewer and `mcpflow
 * audit`); none when the state directory has no journal. Reads only.
 *
 * @example
 * ```ts
 * const entries = yield* AuditTrail.runEntries(".mcpflow", "3d87c2c5-…")
 * ```
 */
export const runEntries = (stateDir: string, runId: string): Effect.Effect<ReadonlyArray<AuditEntry>, JournalError> =>
  readEntries(stateDir, { runId })

/**
 * The audit entries a query selects in a state directory, oldest first (none without a journal).
 *
 * @example
 * ```ts
 * const lastDay = yield* AuditTrail.readEntries(".mcpflow", { since: Date.now() - 86_400_000 })
 * ```
 */
export const readEntries = (
  stateDir: string,
  query?: Parameters<AuditLog["Service"]["entries"]>[0]
): Effect.Effect<ReadonlyArray<AuditEntry>, JournalError> =>
  Effect.suspend(() => {
    const file = join(stateDir, "runs.db")
    if (!existsSync(file)) return Effect.succeed([])
    return AuditLog.use((log) => log.entries(query)).pipe(Effect.provide(SqliteAuditLog.layer(file)))
  })
