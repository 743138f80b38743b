/**
 * The cluster side of `mcpflow worker` and `mcpflow run` (`--database postgres://…`):
 * - {@link runner}: an Effect Cluster runner serving the flow files it was given, each run with
 *   its flow's servers (`--config`, else its sandbox, else its local servers, else `.mcp.json`),
 *   and their schedules (`ClusterCron`: each tick fires once across the runners);
 * - {@link submit}: a run submitted to the cluster and followed with the usual live report and
 *   exit codes, or, with `--detach`, its id printed at once.
 *
 * A database that cannot be used (malformed URL, Postgres down, schema from a newer mcpflow)
 * is one line on stderr and exit 2; the URL's password is never printed.
 *
 * @example
 * ```sh
 * npx mcpflow worker --database postgres://mcpflow@db/mcpflow --listen 127.0.0.1:34431 flows/deploy.ts
 * npx mcpflow run flows/deploy.ts --database postgres://mcpflow@db/mcpflow
 * ```
 * @module
 */
import * as path from "node:path"
import { Console, Context, Effect, Layer, Option, type Redacted, Result, Schedule, Semaphore } from "effect"
import { Flow } from "../../../../../dsl/flow/index.ts"
import { cancelWait, deliverRaw } from "../../../../../dsl/flow/Durable.ts"
import { FlowEvents } from "../../../../../dsl/flow/FlowEvents.ts"
import { SharedState } from "../../../../../dsl/policy/Policy.ts"
import { RunHost } from "../../../../../dsl/ports/RunHost.ts"
import * as ClusterEngine from "../../../../runtime/cluster/ClusterEngine.ts"
import * as ClusterSchedules from "../../../../runtime/cluster/ClusterSchedules.ts"
import { DatabaseError } from "../../../../runtime/cluster/DatabaseError.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { chooseServers, gatewayLayer, runFlow } from "../../../run/RunFlow.ts"
import type { RunSettings } from "../../Flags.ts"
import { CliExit } from "../../output.ts"
import { loadFlow } from "../../../run/LoadFlow.ts"
import { RunJournal } from "../../../../../dsl/ports/RunJournal.ts"
import * as PgRunJournal from "../../../../runtime/sql/postgres/PgRunJournal.ts"
import * as PgAuditLog from "../../../../runtime/sql/postgres/PgAuditLog.ts"
import * as AuditTrail from "../../../../runtime/audit/AuditTrail.ts"
import { McpGateway } from "../../../../../dsl/ports/McpGateway.ts"

/** A flow file, or a usage error naming what is wrong with it. */
const load = (file: string) =>
  loadFlow(file).pipe(Effect.mapError((error) => new CliExit({ code: ExitCode.Usage, message: error.message })))

/** A database error as the CLI reports it: one line, exit 2. */
const usage = (error: DatabaseError) => new CliExit({ code: ExitCode.Usage, message: error.message })

/** The engine layer, built now so that a bad database is a usage error before anything runs. */
const build = <A>(layer: Layer.Layer<A, DatabaseError>, database: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const invalid = DatabaseError.checkUrl(database)
    if (invalid !== undefined) return yield* usage(invalid)
    return yield* Layer.build(layer).pipe(Effect.mapError(usage))
  })

const parseListen = (listen: string): Result.Result<{ readonly host: string; readonly port: number }, string> => {
  const match = /^(.*):(\d+)$/.exec(listen)
  const port = match === null ? NaN : Number(match[2])
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    return Result.fail(`--listen ${JSON.stringify(listen)}: expected host:port, e.g. 127.0.0.1:34431`)
  }
  return Result.succeed({ host: match[1] === "" ? "127.0.0.1" : match[1]!, port })
}

/**
 * `mcpflow worker --database …`: a cluster runner serving `files` until interrupted.
 *
 * @example
 * ```ts
 * yield* runner({ database, files: ["flows/deploy.ts"], listen: "127.0.0.1:34431", config: Option.none(), verbose: false })
 * ```
 */
export const runner = Effect.fn("mcpflow.worker.cluster")(function*(options: {
  readonly database: Redacted.Redacted<string>
  readonly files: ReadonlyArray<string>
  readonly listen: string
  readonly config: Option.Option<string>
  readonly verbose: boolean
}) {
  if (options.files.length === 0) {
    return yield* new CliExit({ code: ExitCode.Usage, message: "mcpflow worker --database needs the flow files it serves, e.g. mcpflow worker --database $URL flows/deploy.ts" })
  }
  const address = parseListen(options.listen)
  if (Result.isFailure(address)) return yield* new CliExit({ code: ExitCode.Usage, message: address.failure })
  yield* Effect.scoped(Effect.gen(function*() {
    const loaded = yield* Effect.forEach(options.files, load)
    const names = new Set<string>()
    for (const { file, flow } of loaded) {
      if (names.has(flow.name)) return yield* new CliExit({ code: ExitCode.Usage, message: `${file}: another file already serves the flow ${JSON.stringify(flow.name)}` })
      names.add(flow.name)
    }
    const engine = yield* build(ClusterEngine.runner({ database: options.database, ...address.success }), options.database)
    // The run history every runner writes (`mcpflow runs/show --database`), owned with a heartbeat.
    const journal = yield* PgRunJournal.make({ file: PgRunJournal.journalName(options.database), heartbeat: "2 seconds" }).pipe(
      Effect.provideContext(engine)
    )
    // The audit log next to it: each run's decisions and tool calls (`mcpflow audit --database`).
    const audit = AuditTrail.make(
      yield* PgAuditLog.make({ location: PgRunJournal.journalName(options.database) }).pipe(Effect.provideContext(engine)),
      yield* AuditTrail.actorOf
    )
    // Each flow's servers, connected once for the runner's lifetime; their breakers and rate
    // limits live in Postgres (the engine's Policy.SharedState), shared by every runner.
    const services = new Map<string, Context.Context<never>>()
    for (const { file, flow, local, sandbox } of loaded) {
      const chosen = chooseServers({
        config: options.config,
        sandbox: false,
        dryRun: false,
        hasSandbox: sandbox !== undefined,
        hasLocal: local !== undefined
      })
      if (Result.isFailure(chosen)) return yield* new CliExit({ code: ExitCode.Usage, message: `${file}: ${chosen.failure}` })
      const gateway = yield* Layer.build(gatewayLayer(chosen.success, { sandbox, local, file: path.resolve(file) })).pipe(
        Effect.provideService(SharedState, Context.get(engine, SharedState)),
        Effect.mapError((e) => new CliExit({ code: ExitCode.Usage, message: `${file}: ${e instanceof Error ? e.message : String(e)}` }))
      )
      const sink = options.verbose
        ? { emit: (event: { readonly _tag: string }) => console.error(`${flow.name}: ${JSON.stringify(event)}`) }
        : Context.get(Context.empty(), FlowEvents)
      const lent = Context.add(gateway as Context.Context<never>, McpGateway, audit.gateway(Context.get(gateway, McpGateway)))
      services.set(flow.name, Context.add(Context.add(lent, FlowEvents, audit.flowEvents(sink)), RunJournal, journal))
    }
    const host = RunHost.of({ services: (name) => Effect.succeed(services.get(name)) })
    for (const { flow } of loaded) {
      yield* Flow.serve(flow).pipe(Effect.provideService(RunHost, host), Effect.provideContext(engine))
      // Signals and cancels recorded in the journal (`mcpflow signal/cancel --database`), even for parked runs.
      yield* Effect.forkScoped(
        PgRunJournal.tend(flow.name, {
          deliver: (runId, name, payload) => deliverRaw(flow, runId, name, payload).pipe(Effect.provideContext(engine)),
          cancelWait: (runId, signal) => cancelWait(flow, runId, signal).pipe(Effect.provideContext(engine))
        }).pipe(Effect.provideContext(engine))
      )
    }
    // Schedules: one ClusterCron job each, so a tick fires once across all runners.
    const report = (line: string) => Console.error(line)
    for (const { flow, schedule } of loaded) {
      if (schedule === undefined) continue
      yield* Layer.build(ClusterSchedules.layer(flow, schedule, { report })).pipe(Effect.provideContext(engine))
    }
    yield* Console.error(
      `mcpflow worker: runner ${address.success.host}:${address.success.port} on ${DatabaseError.where(options.database)}, serving ${[...names].join(", ")}`
    )
    return yield* Effect.never
  }))
})

/**
 * `mcpflow run <file> --database …`: the run submitted to the cluster and followed (or, with
 * `detach`, its id printed on stdout — as `{"runId":…}` with `--json`).
 *
 * @example
 * ```ts
 * yield* submit({ file: "flows/deploy.ts", database, detach: true, settings })
 * ```
 */
export const submit = Effect.fn("mcpflow.run.cluster")(function*(options: {
  readonly file: string
  readonly database: Redacted.Redacted<string>
  readonly detach: boolean
  readonly settings: RunSettings
}) {
  const { flow, local, sandbox } = yield* load(options.file)
  if (Option.isSome(options.settings.resume) || options.settings.dryRun || Option.isSome(options.settings.chaos)) {
    return yield* new CliExit({ code: ExitCode.Usage, message: "--database runs on the cluster: --resume, --dry-run and --chaos are not available there" })
  }
  yield* Effect.scoped(Effect.gen(function*() {
    const engine = yield* build(ClusterEngine.client({ database: options.database }), options.database)
    if (options.detach) {
      const runId = yield* Flow.submit(flow, options.settings.input as never).pipe(
        Effect.provideContext(engine),
        Effect.mapError((e) => new CliExit({ code: ExitCode.Usage, message: e.message }))
      )
      yield* Console.log(options.settings.json ? JSON.stringify({ runId }) : runId)
      return
    }
    // The run's steps happen on a runner: this process awaits the result and reports the
    // steps the runner journals (in Postgres) as they come.
    const journal = yield* PgRunJournal.make({ file: PgRunJournal.journalName(options.database) }).pipe(Effect.provideContext(engine))
    const runId = crypto.randomUUID()
    yield* runFlow(flow, { ...options.settings, noJournal: true }, {
      sandbox,
      local,
      file: path.resolve(options.file),
      runId,
      engine: Layer.merge(Layer.succeedContext(engine), followJournal(journal, runId)) as Layer.Layer<never> as NonNullable<
        Parameters<typeof runFlow>[2]["engine"]
      >
    })
  }))
})

/**
 * Reports into the run's `FlowEvents` the events a runner journals for `runId` (polled every
 * 100 ms, and once more when the run ends), but its start and end, which the following process
 * reports itself.
 */
const followJournal = (journal: RunJournal["Service"], runId: string) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const sink = yield* FlowEvents
    const reading = Semaphore.makeUnsafe(1)
    let seen = 0
    const drain = reading.withPermit(Effect.gen(function*() {
      const events = yield* journal.events(runId)
      for (const event of events.slice(seen)) {
        if (event._tag !== "FlowStarted" && event._tag !== "FlowFinished") sink.emit(event)
      }
      seen = Math.max(seen, events.length)
    })).pipe(Effect.ignore)
    yield* Effect.forkScoped(drain.pipe(Effect.repeat(Schedule.spaced("100 millis"))))
    yield* Effect.addFinalizer(() => drain)
  }))
