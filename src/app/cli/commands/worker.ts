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
import { Console, Context, Effect, Fiber, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import type { FlowEngine } from "../../../../dsl/ports/FlowEngine.ts"
import * as Engines from "../../../runtime/engine/Engines.ts"
import { RunJournal } from "../../../../dsl/ports/RunJournal.ts"
import { RunExitCode } from "../../run/ExitCode.ts"
import * as RunFlags from "../../run/Flags.ts"
import { runFlow } from "../../run/RunFlow.ts"
import { CliExit } from "../output.ts"
import { load } from "./run.ts"

/**
 * The worker command.
 *
 * @example
 * ```sh
 * npx mcpflow worker --once
 * ```
 */
export const worker = Command.make(
  "worker",
  {
    stateDir: RunFlags.stateDir,
    config: RunFlags.config,
    poll: Flag.Int("poll").pipe(
      Flag.withMetavar("seconds"),
      Flag.withDescription("How often to look for runs to continue (default 2)"),
      Flag.withDefault(2)
    ),
    once: Flag.Boolean("once").pipe(
      Flag.withDescription("Continue the runs pending now, wait for them, then exit (exit 1 if one failed)"),
      Flag.withDefault(false)
    ),
    verbose: RunFlags.verbose
  },
  Effect.fn("mcpflow.worker")(function*({ config, once, poll, stateDir, verbose }) {
    if (!existsSync(Engines.journalFile(stateDir))) {
      return yield* new CliExit({ code: RunExitCode.Usage, message: `no journal in ${stateDir}` })
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
                  input: record.input,
                  config,
                  sandbox: false,
                  dryRun: false,
                  json: false,
                  quiet: !verbose,
                  verbose,
                  otlp: Option.none(),
                  stateDir,
                  noJournal: false,
                  resume: Option.some(record.runId),
                  force: false,
                  chaos: Option.none(),
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
          if (failed.length > 0) return yield* new CliExit({ code: RunExitCode.Failure, message: "" })
          return
        }
        while (true) {
          yield* round
          yield* Effect.sleep(`${Math.max(1, poll)} seconds`)
        }
      })
    ).pipe(
      Effect.catch((e: unknown) =>
        Effect.fail(
          e instanceof CliExit ? e : new CliExit({ code: RunExitCode.Usage, message: e instanceof Error ? e.message : String(e) })
        )
      )
    )
  })
).pipe(
  Command.withShortDescription("Continue a state directory's unfinished runs"),
  Command.withDescription(
    "Own the journal of a state directory and continue its unfinished runs: runs whose process died, runs parked in a durable sleep or waiting for a signal (mcpflow signal records it; the worker delivers it). Each run uses its flow file's sandbox, or --config. --once continues what is pending, waits for those runs, and exits (1 if one failed)."
  )
)
