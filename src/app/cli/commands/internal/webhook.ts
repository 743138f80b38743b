/**
 * The webhook of a command that runs flows (`run`, `worker`, `serve`): `--webhook`, else
 * `MCPFLOW_WEBHOOK_URL` (signed with `MCPFLOW_WEBHOOK_SECRET`), else `mcpflow.webhook` of the
 * `--config` file.
 *
 * @example
 * ```ts
 * const hook = yield* webhookOf(Option.some("http://127.0.0.1:9/hook"), Option.none())
 * ```
 * @module
 */
import { Effect, Option, Result } from "effect"
import { loadMcpJson } from "../../../../runtime/gateway/McpJson.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { settingsFrom, type WebhookSettings } from "../../../serve/WebhookSettings.ts"
import { CliExit } from "../../output.ts"

/**
 * The webhook from the flag or the environment (see `Webhook.settingsFrom`), else from the
 * `mcpflow.webhook` entry of the config file; a bad URL or a missing secret in the flag or the
 * environment is a usage error (exit 2). A config file that does not load yields no webhook
 * here: the run then fails on the same file, with its config error and exit 2.
 *
 * @example
 * ```ts
 * const hook = yield* webhookOf(Option.none(), Option.some(".mcp.json")) // $MCPFLOW_WEBHOOK_URL, else the file's, or undefined
 * ```
 */
export const webhookOf = (
  flag: Option.Option<string>,
  config: Option.Option<string> = Option.none()
): Effect.Effect<WebhookSettings | undefined, CliExit> =>
  Result.match(settingsFrom(flag, process.env), {
    onSuccess: (settings) =>
      settings !== undefined || Option.isNone(config)
        ? Effect.succeed(settings)
        : loadMcpJson(config.value).pipe(
          Effect.map((loaded): WebhookSettings | undefined => loaded.webhook),
          Effect.orElseSucceed(() => undefined)
        ),
    onFailure: (message) => Effect.fail(new CliExit({ code: ExitCode.Usage, message }))
  })
