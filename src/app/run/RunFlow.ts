/**
 * Runs one flow from the command line: picks its servers (sandbox or `.mcp.json`), runs it on
 * the engine `EngineChoice.ts` picks (in memory for `--dry-run` and `--no-journal`) with the run report attached, exports spans when asked, and turns
 * the outcome into an exit code (0 success, 1 failed, 2 bad input/config/usage, 130 interrupted).
 *
 * @example
 * ```ts
 * import { runFlow } from "./RunFlow.ts"
 * runFlow(cicd, settings, { sandbox: cicdSandbox }) // Effect<void, CliExit, FileSystem>
 * ```
 * @module
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import { Effect, Exit, Layer, Option, References, Result, type Schema, type Scope } from "effect"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import * as Flow from "../../../dsl/flow/Flow.ts"
import type { FlowEngine } from "../../../dsl/ports/FlowEngine.ts"
import type { RunJournal } from "../../../dsl/ports/RunJournal.ts"
import { FlowEvents } from "../../../dsl/flow/FlowEvents.ts"
import { CliExit } from "../cli/output.ts"
import * as GatewayLayer from "../../runtime/gateway/GatewayLayer.ts"
import { GatewayEvents, type McpGateway } from "../../../dsl/ports/McpGateway.ts"
import type { ServerConfig } from "../../runtime/gateway/ServerConfig.ts"
import * as FakeServer from "../../../chaos/FakeServer.ts"
import * as FakeState from "../../../chaos/FakeState.ts"
import * as WireChaos from "../../../chaos/WireChaos.ts"
import { loadMcpJson } from "../../runtime/gateway/McpJson.ts"
import type { Injector } from "../../../chaos/Injector.ts"
import * as EngineChoice from "./EngineChoice.ts"
import * as RunSeed from "../../../chaos/RunSeed.ts"
import * as LiveChaos from "./LiveChaos.ts"
import type { RunSettings } from "../cli/Flags.ts"
import { ExitCode, exitCodeOfExit } from "./ExitCode.ts"
import type { Level } from "./Lines.ts"
import * as Reporter from "./Reporter.ts"
import * as GitHubSummary from "./GitHubSummary.ts"
import type { Summary } from "./Summary.ts"
import * as Tracing from "./Tracing.ts"
import * as Metrics from "../../runtime/observe/Metrics.ts"
import * as Sampling from "../../runtime/observe/Sampling.ts"
import * as AuditTrail from "../../runtime/audit/AuditTrail.ts"
import type { WebhookSettings } from "../serve/WebhookSettings.ts"

/**
 * The services a flow run from the command line can have: the gateway and the engine.
 *
 * @example
 * ```ts
 * const flow: Flow.Flow<typeof Input, typeof Output, McpflowToolError, RunServices> = cicd
 * ```
 */
export type RunServices = McpGateway | FlowEngine | WorkflowEngine

/**
 * A flow's sandbox: an effect that starts in-process fake servers and returns them by key.
 *
 * @example
 * ```ts
 * const sandbox: Sandbox = cicdSandbox
 * ```
 */
export type Sandbox = Effect.Effect<Readonly<Record<string, ServerConfig>>, unknown, Scope.Scope>

/**
 * Where a flow came from: its sandbox, if it has one.
 *
 * @example
 * ```ts
 * const source: FlowSource = { sandbox: cicdSandbox }
 * ```
 */
export interface FlowSource {
  readonly sandbox?: Sandbox | undefined
  /** The flow's file (recorded in the journal so `mcpflow resume <runId>` finds it). */
  readonly file?: string | undefined
  /**
   * Real servers the flow starts itself when no `--config` is given (e.g. local stdio servers),
   * with the gateway allowlist to apply: a run on them is reported as a real-servers run.
   */
  readonly local?: { readonly servers: Sandbox; readonly allow?: ReadonlyArray<string> | undefined } | undefined
  /** An engine already open (a worker runs many runs on one); default: the one the flags pick. */
  readonly engine?: Layer.Layer<FlowEngine | WorkflowEngine | RunJournal> | undefined
  /** The new run's id, when the caller chose it (`mcpflow serve` answers with it first); default a random UUID. */
  readonly runId?: string | undefined
  /** What started the run (`cli`, `http`, `schedule <cron>`), recorded in the journal. */
  readonly trigger?: string | undefined
  /**
   * Where the run's outcome is announced when it ends (signed, retried); a webhook that keeps
   * failing is reported on stderr and never changes the run's outcome or exit code.
   */
  readonly webhook?: WebhookSettings | undefined
}

/**
 * Which servers a run talks to.
 *
 * @example
 * ```ts
 * const servers: Servers = { _tag: "Config", file: ".mcp.json" }
 * ```
 */
export type Servers =
  | { readonly _tag: "Sandbox" }
  | { readonly _tag: "Local" }
  | { readonly _tag: "Config"; readonly file: string; readonly implicit?: boolean | undefined }

/**
 * Picks the servers from the flags: `--config` for real servers (with `--chaos`: wire faults in
 * front of them); `--sandbox`, `--dry-run` or `--chaos` alone for the sandbox; by default the
 * sandbox when the flow has one, else `./.mcp.json`. Asking for both,
 * or for a sandbox the flow does not have, is a usage error (the message says why). The implicit
 * `./.mcp.json` may be missing: the flow then runs with no server (a flow without tools needs
 * none; a tool call fails `UnknownTool` naming the server).
 *
 * @example
 * ```ts
 * chooseServers({ config: Option.none(), sandbox: false, dryRun: false, hasSandbox: true }) // => Result.succeed({ _tag: "Sandbox" })
 * ```
 */
export const chooseServers = (options: {
  readonly config: Option.Option<string>
  readonly sandbox: boolean
  readonly dryRun: boolean
  readonly chaos?: boolean | undefined
  readonly hasSandbox: boolean
  readonly hasLocal?: boolean | undefined
}): Result.Result<Servers, string> => {
  // `--chaos` with `--config`: wire faults in front of the real servers.
  const wantsSandbox = options.sandbox || options.dryRun || (options.chaos === true && Option.isNone(options.config))
  if (Option.isSome(options.config) && wantsSandbox) {
    return Result.fail(`--config runs against real servers; it cannot be combined with ${options.dryRun ? "--dry-run" : "--sandbox"}`)
  }
  if (Option.isSome(options.config)) return Result.succeed({ _tag: "Config", file: options.config.value })
  if (wantsSandbox && !options.hasSandbox) {
    return Result.fail(
      `this flow has no sandbox; export one (\`export const sandbox = …\`) or pass it to main, or run with --config .mcp.json`
    )
  }
  if (wantsSandbox || options.hasSandbox) return Result.succeed({ _tag: "Sandbox" })
  if (options.hasLocal === true) return Result.succeed({ _tag: "Local" })
  return Result.succeed({ _tag: "Config", file: "./.mcp.json", implicit: true })
}

/**
 * The report's level from the flags (`--quiet` wins over `--verbose`).
 *
 * @example
 * ```ts
 * levelOf({ quiet: false, verbose: true }) // => "verbose"
 * ```
 */
export const levelOf = (settings: { readonly quiet: boolean; readonly verbose: boolean }): Level =>
  settings.quiet ? "quiet" : settings.verbose ? "verbose" : "normal"

/**
 * Where a journaled sandbox run keeps its fakes' state: `<stateDir>/sandbox/<runId>.json`
 * (saved after each call a fake answers, restored by `mcpflow resume`).
 *
 * @example
 * ```ts
 * sandboxStateFile(".mcpflow", "3f2a") // => ".mcpflow/sandbox/3f2a.json"
 * ```
 */
export const sandboxStateFile = (stateDir: string, runId: string): string =>
  join(stateDir, "sandbox", `${runId.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`)

/**
 * The MCP gateway a run of `source` talks to, for the servers chosen by {@link chooseServers}.
 *
 * @example
 * ```ts
 * const gateway = gatewayLayer({ _tag: "Sandbox" }, { sandbox })
 * ```
 */
export const gatewayLayer = (
  servers: Servers,
  source: FlowSource,
  injector?: Injector | undefined,
  store?: FakeState.Store | undefined
): Layer.Layer<McpGateway, unknown> =>
  servers._tag === "Config"
    ? Layer.unwrap(Effect.sync(() =>
      servers.implicit === true && !existsSync(servers.file)
        ? GatewayLayer.layer({ servers: {} })
        : injector === undefined
        ? GatewayLayer.layerFromFile(servers.file)
        // --chaos with real servers: wire faults in front of their connections.
        : Layer.unwrap(Effect.map(loadMcpJson(servers.file), (config) => GatewayLayer.layer(WireChaos.wrapConfig(config, injector))))
    ))
    : servers._tag === "Local"
    ? Layer.unwrap(
      Effect.map(source.local?.servers ?? Effect.succeed({}), (found) =>
        GatewayLayer.layer({ servers: found, ...(source.local?.allow !== undefined ? { allow: source.local.allow } : {}) }))
    )
    : Layer.unwrap(
      Effect.map(
        (source.sandbox ?? Effect.succeed({})).pipe(
          Effect.provideService(FakeServer.CurrentInjector, injector),
          Effect.provideService(FakeState.CurrentStore, store)
        ),
        (found) => GatewayLayer.layer({ servers: found })
      )
    )

/**
 * The `run.finished` event a webhook receives: the run's id, flow, status and outcome.
 *
 * @example
 * ```ts
 * finishedEvent(summary, { runId: "r1", trigger: "cli", startedAt: 0 }, 900).status // => "succeeded"
 * ```
 */
export const finishedEvent = (
  summary: Summary,
  run: { readonly runId: string; readonly trigger: string | undefined; readonly startedAt: number },
  finishedAt: number
) => ({
  event: "run.finished",
  runId: run.runId,
  flow: summary.flow,
  status: summary.outcome === "success" ? "succeeded" : summary.outcome === "interrupted" ? "interrupted" : "failed",
  trigger: run.trigger,
  startedAt: run.startedAt,
  finishedAt,
  durationMs: summary.durationMs,
  failedStep: summary.failedStep,
  error: summary.error,
  errorTag: summary.errorTag
})

/** Delivers the run's `run.finished` event; a failure after every retry is reported, never raised. */
const announce = (
  settings: WebhookSettings,
  summary: Summary,
  run: { readonly runId: string; readonly trigger: string | undefined; readonly startedAt: number }
): Effect.Effect<void> =>
  // Loaded when a webhook is configured: a run without one never loads the HTTP client.
  Effect.promise(() => Promise.all([import("../serve/Webhook.ts"), import("effect/http/FetchHttpClient")])).pipe(
    Effect.flatMap(([Webhook, FetchHttpClient]) =>
      Webhook.deliver(settings, finishedEvent(summary, run, Date.now())).pipe(Effect.provide(FetchHttpClient.layer))
    ),
    Effect.catch((e) => Effect.sync(() => void process.stderr.write(`run ${run.runId}: ${e.message}; the run's outcome stands\n`)))
  )

/**
 * Runs `flow` with the settings of its command line and reports it. Fails with a `CliExit`
 * carrying the exit code (its message is empty: the report already said what happened); an
 * interrupted run (Ctrl-C) runs its compensations, reports, and stays interrupted (exit 130).
 *
 * @example
 * ```ts
 * Command.make("cicd", runFlags, (flags) => runFlow(cicd, toRunSettings(flags), { sandbox: cicdSandbox }))
 * ```
 */
export const runFlow = <I extends Schema.Top, O extends Schema.Top, E, R extends RunServices>(
  flow: Flow.Flow<I, O, E, R>,
  settings: RunSettings,
  source: FlowSource
): Effect.Effect<void, CliExit> =>
  Effect.scoped(
    Effect.gen(function*() {
      const env = process.env
      const isTTY = process.stderr.isTTY === true
      const mode = Reporter.detectMode({ json: settings.json, isTTY, env })
      const reporter = yield* Reporter.make({
        mode,
        level: levelOf(settings),
        color: mode !== "json" && Reporter.useColor({ isTTY, env }),
        dryRun: settings.dryRun
      })
      const chosen = chooseServers({
        config: settings.config,
        sandbox: settings.sandbox,
        dryRun: settings.dryRun,
        chaos: Option.isSome(settings.chaos),
        hasSandbox: source.sandbox !== undefined,
        hasLocal: source.local !== undefined
      })
      if (Result.isFailure(chosen)) {
        yield* reporter.finish(Exit.fail({ _tag: "UsageError", message: chosen.failure }), {
          flow: flow.name,
          durationMs: 0
        })
        return yield* new CliExit({ code: ExitCode.Usage, message: "" })
      }
      const servers = chosen.success
      const sandbox = servers._tag === "Sandbox"
      const resumeId = Option.getOrUndefined(settings.resume)
      if (resumeId !== undefined && (settings.noJournal || settings.dryRun)) {
        const flag = settings.noJournal ? "--no-journal" : "--dry-run"
        yield* reporter.finish(Exit.fail({ _tag: "UsageError", message: `--resume needs the journal; drop ${flag}` }), {
          flow: flow.name,
          durationMs: 0
        })
        return yield* new CliExit({ code: ExitCode.Usage, message: "" })
      }
      const injector = Option.match(settings.chaos, {
        onNone: () => undefined,
        onSome: (seed) => LiveChaos.injector(seed, Math.min(1, Math.max(0, settings.rate)), servers._tag === "Config")
      })
      const runId = resumeId ?? source.runId ?? crypto.randomUUID()
      // A journaled sandbox run keeps its fakes' state with the run, so a resume finds what its completed steps did.
      const stored = sandbox && !settings.noJournal && !settings.dryRun
        ? yield* Effect.result(FakeState.fileStore(sandboxStateFile(settings.stateDir, runId), { restore: resumeId !== undefined }))
        : undefined
      if (stored !== undefined && Result.isFailure(stored)) {
        yield* reporter.finish(Exit.fail({ _tag: "UsageError", message: stored.failure.message }), { flow: flow.name, durationMs: 0 })
        return yield* new CliExit({ code: ExitCode.Usage, message: "" })
      }
      const store = stored === undefined ? undefined : stored.success
      const started = Date.now()
      const execution = resumeId !== undefined
        ? Flow.resume(flow, resumeId, { force: settings.force, sandbox }).pipe(
          Effect.provide(source.engine ?? EngineChoice.durable(settings.stateDir))
        )
        : Flow.run(flow, settings.input as I["Encoded"], { runId, sandbox, source: source.file, trigger: source.trigger }).pipe(
          Effect.provide(source.engine ?? EngineChoice.layerFor({ journal: !settings.noJournal && !settings.dryRun, stateDir: settings.stateDir }))
        )
      // MCPFLOW_TRACE_SAMPLE: whether this run's spans are exported (its steps and calls follow).
      const sampleRate = Result.getOrElse(Sampling.sampleRate(env), () => 1)
      const run = (execution as Effect.Effect<O["Type"], unknown, R>).pipe(
        Effect.withSpan(`flow ${flow.name}`, {
          attributes: { "mcpflow.flow": flow.name, "mcpflow.run": runId, "mcpflow.sandbox": sandbox },
          ...(sampleRate < 1 ? { sampled: Sampling.sampled(sampleRate) } : {})
        }),
        // Runs, steps and policy events reach the metrics when someone exports them (Observe.layer).
        Metrics.instrument,
        // A journaled run's decisions and tool calls go to the audit log next to its journal.
        AuditTrail.around,
        Effect.provideService(FlowEvents, reporter.sink),
        // The durable engine's own logs (shard bookkeeping) are not the user's business.
        Effect.provideService(References.MinimumLogLevel, settings.verbose ? "Info" : "Error"),
        // A live chaos run: each fault that fires is journaled by the step whose call it hit.
        Effect.provide(
          injector === undefined
            ? gatewayLayer(servers, source, injector, store)
            : LiveChaos.reportFaults(injector).pipe(Layer.provide(gatewayLayer(servers, source, injector, store)))
        ),
        // Progress and server logs inside steps reach the report as FlowEvents; connection changes
        // here, and — the gateway being built under it — its background health probes' changes.
        Effect.provideService(GatewayEvents, reporter.gateway),
        Effect.provide(settings.noJournal || settings.dryRun ? Layer.empty : AuditTrail.layer({ stateDir: settings.stateDir })),
        Effect.provide(
          Tracing.layer(Tracing.endpointOf(settings.otlp, env), {
            serviceName: "mcpflow",
            attributes: { "mcpflow.flow": flow.name }
          })
        )
      ) as Effect.Effect<O["Type"], unknown>
      // a live chaos run draws its jitter from the chaos seed, like a chaos suite's runs
      const seeded = injector === undefined ? run : run.pipe(RunSeed.withPlanRandom(injector.plan))
      const chaosSeed = Option.getOrUndefined(settings.chaos)
      // The faults that fired go into the RunSummary (its JSON line and its text).
      const chaos = injector !== undefined && chaosSeed !== undefined ? () => LiveChaos.fired(injector, chaosSeed, servers._tag === "Config") : undefined
      let summary: Summary | undefined
      const exit = yield* seeded.pipe(
        Effect.onExit((exit) =>
          Effect.map(
            reporter.finish(exit, { flow: flow.name, durationMs: Date.now() - started, sandbox, chaos }),
            (s) => void (summary = s)
          )
        ),
        Effect.exit
      )
      if (summary !== undefined) yield* GitHubSummary.append(summary, env)
      if (summary !== undefined && source.webhook !== undefined) {
        yield* announce(source.webhook, summary, { runId, trigger: source.trigger ?? (resumeId === undefined ? undefined : "resume"), startedAt: started })
      }
      const code = exitCodeOfExit(exit)
      if (code === ExitCode.Interrupted) return yield* Effect.interrupt
      if (code !== ExitCode.Success) return yield* new CliExit({ code, message: "" })
    })
  )
