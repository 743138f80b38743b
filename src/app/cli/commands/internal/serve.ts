/**
 * `mcpflow serve flows/a.ts …`: owns a state directory (like `mcpflow worker`) and serves the
 * given flows over HTTP (`effect/http` on `NodeHttpServer`, loopback by default): start a run,
 * deliver a signal, read a run's status (routes in `../../../serve/Routes.ts`), behind the bearer
 * token in `MCPFLOW_SERVE_TOKEN`; runs the served flows' schedules (`Flow.schedule`). With
 * `--webhook <url>` or `MCPFLOW_WEBHOOK_URL` (and `MCPFLOW_WEBHOOK_SECRET`), each run it started
 * is announced there, signed, when it finishes. Prints the address it listens on
 * (with `--port 0`, the port the system chose) as its first line on stdout.
 *
 * @example
 * ```sh
 * MCPFLOW_SERVE_TOKEN=… npx mcpflow serve flows/deploy.ts --port 8787
 * ```
 * @module
 */
import { createServer } from "node:http"
import * as path from "node:path"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Console, Context, Effect, FiberSet, Layer, Option, Redacted } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import type { WorkflowEngine } from "effect/workflow/WorkflowEngine"
import type { AnyFlow } from "../../../../../dsl/flow/FlowDefinition.ts"
import type { FlowEngine } from "../../../../../dsl/ports/FlowEngine.ts"
import { RunJournal } from "../../../../../dsl/ports/RunJournal.ts"
import type { Address } from "../../../../runtime/observe/Address.ts"
import * as Engines from "../../../../runtime/engine/Engines.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import type { LoadedFlow } from "../../../run/LoadFlow.ts"
import { runFlow } from "../../../run/RunFlow.ts"
import * as Observe from "../../../run/Observe.ts"
import { routes } from "../../../serve/Routes.ts"
import * as Schedules from "../../../serve/Schedules.ts"
import { defaultRunSettings } from "../../Flags.ts"
import { CliExit } from "../../output.ts"
import { load } from "./run.ts"
import { webhookOf } from "./webhook.ts"

const usage = (message: string) => new CliExit({ code: ExitCode.Usage, message })

/** A secret from the environment, `Redacted` from the moment it is read (undefined when unset or empty). */
const secretFromEnv = (name: string): Redacted.Redacted<string> | undefined => {
  const value = process.env[name]
  return value === undefined || value === "" ? undefined : Redacted.make(value, { label: name })
}

const loopback = new Set(["127.0.0.1", "::1", "localhost"])

/**
 * The serve command.
 *
 * @example
 * ```ts
 * serve({ files: ["flows/deploy.ts"], host: "127.0.0.1", port: 0, stateDir: ".mcpflow", config: Option.none(), webhook: Option.none(), json: false, verbose: false })
 * ```
 */
export const serve = Effect.fn("mcpflow.serve")(function*({ config, files, host, json, maxBody, metrics, port, stateDir, verbose, webhook }: {
  readonly files: ReadonlyArray<string>
  readonly host: string
  readonly port: number
  readonly stateDir: string
  readonly config: Option.Option<string>
  readonly webhook: Option.Option<string>
  readonly maxBody?: number | undefined
  readonly json: boolean
  readonly verbose: boolean
  readonly metrics?: Option.Option<Address> | undefined
}) {
  const token = secretFromEnv("MCPFLOW_SERVE_TOKEN")
  if (token === undefined) return yield* usage("mcpflow serve needs a bearer token: set MCPFLOW_SERVE_TOKEN (clients send Authorization: Bearer <token>)")
  const hook = yield* webhookOf(webhook, config)
  const loaded = new Map<string, LoadedFlow>()
  for (const file of files) {
    const flow = yield* load(file)
    if (loaded.has(flow.flow.name)) return yield* usage(`two flow files define the flow ${JSON.stringify(flow.flow.name)}`)
    loaded.set(flow.flow.name, { ...flow, file: path.resolve(file) })
  }
  yield* Effect.scoped(
    Effect.gen(function*() {
      const context = yield* Layer.build(Engines.durable(stateDir))
      const engine = Layer.succeedContext(context) as Layer.Layer<FlowEngine | WorkflowEngine | RunJournal>
      const journal = Context.get(context, RunJournal)
      const runs = yield* FiberSet.make()
      /** One run of a served flow, to its end (its webhook announced). */
      const runOne = (name: string, input: unknown, runId: string, trigger: string) => {
        const source = loaded.get(name)!
        return runFlow(source.flow, { ...defaultRunSettings, input, config, quiet: !verbose, verbose, stateDir, rate: 0 }, {
          sandbox: source.sandbox,
          local: source.local,
          file: source.file,
          engine,
          runId,
          trigger,
          webhook: hook
        })
      }
      const start = (flow: AnyFlow, input: unknown, runId: string) =>
        FiberSet.run(runs)(Effect.exit(runOne(flow.name, input, runId, "http"))).pipe(Effect.asVoid)
      const served = { flows: new Map([...loaded].map(([name, l]) => [name, l.flow as AnyFlow])), journal, start, maxBodyBytes: maxBody }
      const server = yield* Layer.build(
        HttpRouter.serve(routes(token, served), { disableLogger: true, disableListenLog: true }).pipe(
          Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host }))
        )
      )
      const address = Context.get(server, HttpServer.HttpServer).address
      const bound = { host, port: address._tag === "UnixPathAddress" ? port : address.port }
      const url = HttpServer.formatAddress(address)
      const names = [...loaded.keys()]
      const schedules = [...loaded.values()].flatMap((l) => (l.schedule === undefined ? [] : [l.schedule]))
      yield* json
        ? Console.log(JSON.stringify({ listening: { ...bound, url }, flows: names, webhook: hook?.url, schedules: schedules.map((s) => ({ flow: s.flow, cron: s.expression, timeZone: s.timeZone })) }))
        : Console.log(`mcpflow serve listening on ${url} · flows: ${names.join(", ")}${hook === undefined ? "" : ` · webhook: ${hook.url}`}${
          schedules.length === 0 ? "" : ` · schedules: ${schedules.map((s) => `${s.flow} (${s.expression})`).join(", ")}`
        }`)
      if (!loopback.has(host)) yield* Console.error(`warning: serving on ${host}, not loopback: anyone who can reach it and has the token can start runs`)
      yield* Effect.forkScoped(Schedules.run(schedules, {
        start: (schedule, runId) => runOne(schedule.flow, schedule.input, runId, schedule.label),
        report: (tick) => Console.error(json ? JSON.stringify({ schedule: tick }) : Schedules.tickLine(tick))
      }))
      return yield* Effect.never
    })
  ).pipe(
    // One metrics endpoint for the server's lifetime, counting every run it starts.
    Effect.provide(Observe.layer({ metrics: metrics ?? Option.none() })),
    Effect.catch((e: unknown) =>
      Effect.fail(e instanceof CliExit ? e : usage(e instanceof Error ? e.message : String(e)))
    )
  )
})
