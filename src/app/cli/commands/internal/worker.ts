/**
 * `mcpflow worker`: a long-running process that owns a state directory's journal and continues
 * its unfinished runs — runs whose process died, runs parked in a durable sleep or waiting for a
 * signal (`mcpflow signal` records it; the worker delivers it). `--once` resumes what is pending
 * and exits when those runs end (for cron jobs and tests). Flow files given as arguments have
 * their schedules run (not with `--once`).
 *
 * @example
 * ```sh
 * npx mcpflow worker --state-dir .mcpflow --poll 2
 * ```
 * @module
 */
import * as path from "node:path"
import { existsSync } from "node:fs"
import { Console, Context, Effect, Fiber, Layer, Option, type Redacted } from "effect"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import type { FlowEngine } from "../../../../../dsl/ports/FlowEngine.ts"
import * as Engines from "../../../../runtime/engine/Engines.ts"
import { RunJournal } from "../../../../../dsl/ports/RunJournal.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { runFlow } from "../../../run/RunFlow.ts"
import { databaseOf, defaultRunSettings } from "../../Flags.ts"
import { CliExit } from "../../output.ts"
import { load } from "./run.ts"
import { webhookOf } from "./webhook.ts"
import type { CheckedSchedule } from "../../../../../dsl/flow/FlowSchedule.ts"
import type { LoadedFlow } from "../../../run/LoadFlow.ts"
import * as Schedules from "../../../serve/Schedules.ts"
import type { Address } from "../../../../runtime/observe/Address.ts"
import * as Observe from "../../../run/Observe.ts"

/**
 * The worker command.
 *
 * @example
 * ```sh
 * npx mcpflow worker --once
 * ```
 */
export const worker = Effect.fn("mcpflow.worker")(function*({ config, database, files, json, listen, metrics, once, poll, stateDir, verbose, webhook }: {
    readonly files?: ReadonlyArray<string> | undefined
    readonly webhook?: Option.Option<string> | undefined
    readonly database?: Option.Option<Redacted.Redacted<string>> | undefined
    readonly listen?: string | undefined
    readonly stateDir: string
    readonly config: Option.Option<string>
    readonly poll: number
    readonly once: boolean
    readonly verbose: boolean
    readonly json?: boolean | undefined
    readonly metrics?: Option.Option<Address> | undefined
  }) {
    const cluster = databaseOf(database ?? Option.none(), process.env)
    if (Option.isSome(cluster)) {
      const { runner } = yield* Effect.promise(() => import("./cluster.ts"))
      return yield* runner({ database: cluster.value, files: files ?? [], listen: listen ?? "127.0.0.1:34431", config, verbose })
    }
    const hook = yield* webhookOf(webhook ?? Option.none(), config)
    // The scheduled flows are loaded (and their schedules checked) before anything starts.
    const scheduled: Array<LoadedFlow & { readonly schedule: CheckedSchedule }> = []
    for (const file of files ?? []) {
      const loaded = yield* load(file)
      if (loaded.schedule === undefined) {
        return yield* new CliExit({ code: ExitCode.Usage, message: `${file}: exports no schedule (export const schedule = Flow.schedule(flow, { cron, input })); to serve it from a cluster runner add --database postgres://… (or set MCPFLOW_DATABASE_URL)` })
      }
      scheduled.push({ ...loaded, file: path.resolve(file), schedule: loaded.schedule })
    }
    if (scheduled.length === 0 && !existsSync(Engines.journalFile(stateDir))) {
      return yield* new CliExit({ code: ExitCode.Usage, message: `no journal in ${stateDir}` })
    }
    yield* Effect.scoped(
      Effect.gen(function*() {
        const context = yield* Layer.build(Engines.durable(stateDir))
        const engine = Layer.succeedContext(context) as Layer.Layer<FlowEngine | WorkflowEngine | RunJournal>
        const journal = Context.get(context, RunJournal)
        const active = new Map<string, Fiber.Fiber<boolean> | undefined>()
        const failed: Array<string> = []
        yield* Console.error(`mcpflow worker on ${Engines.journalFile(stateDir)}${once ? " (once)" : `, polling every ${poll}s`}`)
        const round = Effect.gen(function*() {
          for (const record of yield* journal.list) {
            if (record.status !== "running" || active.has(record.runId)) continue
            if (record.source === undefined) {
              yield* Console.error(`run ${record.runId} (${record.flow}): no flow file recorded; resume it with mcpflow resume --file`)
              active.set(record.runId, undefined)
              continue
            }
            yield* Console.error(`continuing run ${record.runId} (${record.flow}, ${path.relative(process.cwd(), record.source)})`)
            const fiber = yield* Effect.forkChild(
              Effect.gen(function*() {
                const { flow, local, sandbox } = yield* load(record.source!)
                yield* runFlow(flow, {
                  ...defaultRunSettings,
                  input: record.input,
                  config,
                  quiet: !verbose,
                  verbose,
                  stateDir,
                  resume: Option.some(record.runId),
                  rate: 0
                }, { sandbox, local, file: record.source, engine, webhook: hook })
                return true
              }).pipe(
                Effect.catch((e: CliExit) =>
                  Effect.as(
                    Effect.sync(() => failed.push(record.runId)).pipe(
                      Effect.andThen(Console.error(`run ${record.runId} ended: exit ${e.code}${e.message ? ` (${e.message})` : ""}`))
                    ),
                    false
                  )
                )
              )
            )
            active.set(record.runId, fiber)
          }
        })
        if (once) {
          yield* round
          for (const fiber of active.values()) if (fiber !== undefined) yield* Fiber.join(fiber)
          yield* Console.error(`worker: ${active.size} run(s) continued, ${failed.length} failed`)
          if (json === true) yield* Console.log(JSON.stringify({ continued: [...active.keys()], failed }))
          if (failed.length > 0) return yield* new CliExit({ code: ExitCode.Failure, message: "" })
          return
        }
        if (scheduled.length > 0) {
          yield* Console.error(`schedules: ${scheduled.map((s) => `${s.flow.name} (${s.schedule.label})`).join(", ")}`)
          yield* Effect.forkScoped(Schedules.run(scheduled.map((s) => s.schedule), {
            start: (schedule, runId) => {
              const source = scheduled.find((s) => s.schedule === schedule)!
              // The polling round leaves a run this process started alone.
              active.set(runId, undefined)
              return runFlow(source.flow, { ...defaultRunSettings, input: schedule.input, config, quiet: !verbose, verbose, stateDir, rate: 0 }, {
                sandbox: source.sandbox,
                local: source.local,
                file: source.file,
                engine,
                runId,
                trigger: schedule.label,
                webhook: hook
              }).pipe(Effect.ensuring(Effect.sync(() => void active.delete(runId))))
            },
            report: (tick) => Console.error(json === true ? JSON.stringify({ schedule: tick }) : Schedules.tickLine(tick))
          }))
        }
        while (true) {
          yield* round
          yield* Effect.sleep(`${Math.max(1, poll)} seconds`)
        }
      })
    ).pipe(
      // One metrics endpoint for the worker's lifetime, counting every run it continues.
      Effect.provide(Observe.layer({ metrics: metrics ?? Option.none() })),
      Effect.catch((e: unknown) =>
        Effect.fail(
          e instanceof CliExit ? e : new CliExit({ code: ExitCode.Usage, message: e instanceof Error ? e.message : String(e) })
        )
      )
    )
  })
