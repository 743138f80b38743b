/**
 * `mcpflow worker`: a long-running process that owns a state directory's journal and continues
 * its unfinished runs — runs whose process died, runs parked in a durable sleep or waiting for a
 * signal (`mcpflow signal` records it; the worker delivers it). `--once` resumes what is pending
 * and exits when those runs end (for cron jobs and tests).
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
export const worker = Effect.fn("mcpflow.worker")(function*({ config, database, json, listen, metrics, once, poll, serves, stateDir, verbose }: {
    readonly database?: Option.Option<Redacted.Redacted<string>> | undefined
    readonly listen?: string | undefined
    readonly serves?: ReadonlyArray<string> | undefined
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
      return yield* runner({ database: cluster.value, files: serves ?? [], listen: listen ?? "127.0.0.1:34431", config, verbose })
    }
    if (serves !== undefined && serves.length > 0) {
      return yield* new CliExit({ code: ExitCode.Usage, message: "flow files are served by a cluster runner: add --database postgres://… (or set MCPFLOW_DATABASE_URL)" })
    }
    if (!existsSync(Engines.journalFile(stateDir))) {
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
                }, { sandbox, local, file: record.source, engine })
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
