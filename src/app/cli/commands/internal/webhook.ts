/**
 * The webhook of a command that runs flows (`run`, `worker`, `serve`): `--webhook`, else
 * `MCPFLOW_WEBHOOK_URL`, signed with `MCPFLOW_WEBHOOK_SECRET`.
 *
 * @example
 * ```ts
 * const hook = yield* webhookOf(Option.some("http://127.0.0.1:9/hook"))
 * ```
 * @module
 */
import { Effect, type Option, Result } from "effect"
import { ExitCode } from "../../../run/ExitCode.ts"
import { settingsFrom, type WebhookSettings } from "../../../serve/WebhookSettings.ts"
import { CliExit } from "../../output.ts"

/**
 * The webhook from the flag or the environment (see `Webhook.settingsFrom`); a bad URL or a
 * missing secret is a usage error (exit 2).
 *
 * @example
 * ```ts
 * const hook = yield* webhookOf(Option.none()) // $MCPFLOW_WEBHOOK_URL, or undefined
 * ```
 */
export const webhookOf = (flag: Option.Option<string>): Effect.Effect<WebhookSettings | undefined, CliExit> =>
  Result.match(settingsFrom(flag, process.env), {
    onSuccess: Effect.succeed,
    onFailure: (message) => Effect.fail(new CliExit({ code: ExitCode.Usage, message }))
  })
