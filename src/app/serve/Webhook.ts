/**
 * Outbound webhooks: when a run finishes — started by `mcpflow run`, continued by `mcpflow worker`,
 * started over HTTP by `mcpflow serve` or by a schedule — its outcome is POSTed as JSON to the
 * configured URL (`--webhook` or `MCPFLOW_WEBHOOK_URL`), signed with HMAC-SHA256 over the
 * exact body with a `Redacted` secret (`X-Mcpflow-Signature: sha256=<hex>`), and retried on a transport error or a non-2xx answer
 * with an exponential backoff.
 *
 * @module
 */
import { Effect, Schedule, Schema } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { sign, signatureHeader, type WebhookSettings } from "./WebhookSettings.ts"

export { settingsFrom, sign, signatureHeader, verify, type WebhookSettings } from "./WebhookSettings.ts"

/**
 * The webhook could not be delivered, after every retry.
 *
 * @example
 * ```ts
 * new WebhookFailed({ url: "http://127.0.0.1:9/hook", detail: "HTTP 500", attempts: 6 }).message
 * ```
 */
export class WebhookFailed extends Schema.TaggedError<WebhookFailed>()("WebhookFailed", {
  url: Schema.String,
  detail: Schema.String,
  attempts: Schema.Number
}) {
  override get message(): string {
    return `webhook ${this.url}: ${this.detail} (after ${this.attempts} attempt(s))`
  }
}

/**
 * POSTs `event` as JSON to the webhook, signed, retried with the settings' policy.
 *
 * @example
 * ```ts
 * yield* deliver(hook, { event: "run.finished", runId, flow: "deploy", status: "succeeded" })
 * ```
 */
export const deliver = (settings: WebhookSettings, event: unknown): Effect.Effect<void, WebhookFailed, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const body = JSON.stringify(event)
    const request = HttpClientRequest.post(settings.url).pipe(
      HttpClientRequest.setHeader(signatureHeader, sign(settings.secret, body)),
      HttpClientRequest.bodyText(body, "application/json")
    )
    let attempts = 0
    let last = ""
    yield* Effect.suspend(() => {
      attempts++
      return client.execute(request).pipe(
        Effect.mapError((e) => e.message),
        Effect.flatMap((response) => (response.status >= 200 && response.status < 300 ? Effect.void : Effect.fail(`HTTP ${response.status}`))),
        Effect.tapError((detail) => Effect.sync(() => void (last = detail))),
        Effect.scoped
      )
    }).pipe(
      Effect.retry({ schedule: settings.schedule ?? Schedule.exponential("250 millis"), times: settings.retries ?? 5 }),
      Effect.mapError(() => new WebhookFailed({ url: settings.url, detail: last, attempts }))
    )
  })

