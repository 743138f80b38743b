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
import { Effect, Option } from "effect"
import type { Address } from "../../../../runtime/observe/Address.ts"
import * as Observe from "../../../run/Observe.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { loadFlow } from "../../../run/LoadFlow.ts"
import { runFlow } from "../../../run/RunFlow.ts"
import { type RunSettings, toRunSettings } from "../../Flags.ts"
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
export const run = Effect.fn("mcpflow.run")(function*({ file, metrics, webhook, ...flags }: Omit<RunSettings, "input" | "rate"> & {
  readonly file: string
  readonly webhook?: Option.Option<string> | undefined
  readonly input: Option.Option<unknown>
  readonly rate: Option.Option<number>
  readonly metrics?: Option.Option<Address> | undefined
}) {
  const hook = yield* webhookOf(webhook ?? Option.none())
  const { flow, local, sandbox } = yield* load(file)
  yield* runFlow(flow, toRunSettings(flags), { sandbox, local, file: path.resolve(file), trigger: "cli", webhook: hook }).pipe(
    Effect.provide(Observe.layer({ metrics: metrics ?? Option.none(), otlp: flags.otlp }))
  )
})
