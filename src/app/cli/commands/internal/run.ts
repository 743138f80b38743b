/**
 * `mcpflow run flows/x.ts`: runs the flow a file exports by default, with the run report (see
 * `../run.ts` for its flags), and {@link load}, the flow loader of every command that takes a
 * flow file.
 *
 * @example
 * ```ts
 * run({ file: "flows/cicd.ts", ...flags })
 * ```
 * @module
 */
import * as path from "node:path"
import { Effect, Option, type Redacted } from "effect"
import type { Address } from "../../../../runtime/observe/Address.ts"
import * as Observe from "../../../run/Observe.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { loadFlow } from "../../../run/LoadFlow.ts"
import { runFlow } from "../../../run/RunFlow.ts"
import { databaseOf, type RunSettings, toRunSettings } from "../../Flags.ts"
import { CliExit } from "../../output.ts"
import { webhookOf } from "./webhook.ts"

/**
 * Loads a flow file; a file that cannot be used is a usage error (exit 2) naming the file.
 *
 * @example
 * ```ts
 * const { flow, sandbox } = yield* load("flows/cicd.ts")
 * ```
 */
export const load = (file: string) =>
  loadFlow(file).pipe(Effect.mapError((error) => new CliExit({ code: ExitCode.Usage, message: error.message })))

/**
 * Runs `mcpflow run <file>`.
 *
 * @example
 * ```ts
 * run({ ...flags, file: "flows/cicd.ts" })
 * ```
 */
export const run = Effect.fn("mcpflow.run")(function*({ database, detach, file, metrics, webhook, ...flags }: Omit<RunSettings, "input" | "rate"> & {
  readonly file: string
  readonly webhook?: Option.Option<string> | undefined
  readonly database?: Option.Option<Redacted.Redacted<string>> | undefined
  readonly detach?: boolean | undefined
  readonly input: Option.Option<unknown>
  readonly rate: Option.Option<number>
  readonly metrics?: Option.Option<Address> | undefined
}) {
  const cluster = databaseOf(database ?? Option.none(), process.env)
  if (Option.isSome(cluster)) {
    const { submit } = yield* Effect.promise(() => import("./cluster.ts"))
    return yield* submit({ file, database: cluster.value, detach: detach === true, settings: toRunSettings(flags) }).pipe(
      Effect.provide(Observe.layer({ metrics: metrics ?? Option.none(), otlp: flags.otlp }))
    )
  }
  if (detach === true) return yield* new CliExit({ code: ExitCode.Usage, message: "--detach submits the run to a cluster: add --database postgres://… (or set MCPFLOW_DATABASE_URL)" })
  const hook = yield* webhookOf(webhook ?? Option.none(), flags.config)
  const { flow, local, sandbox } = yield* load(file)
  yield* runFlow(flow, toRunSettings(flags), { sandbox, local, file: path.resolve(file), trigger: "cli", webhook: hook }).pipe(
    Effect.provide(Observe.layer({ metrics: metrics ?? Option.none(), otlp: flags.otlp }))
  )
})
