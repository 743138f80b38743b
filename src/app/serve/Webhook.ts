/**
 * Outbound webhooks: when a run `mcpflow serve` started finishes, its outcome is POSTed as JSON
 * to the configured URL, signed with HMAC-SHA256 over the exact body with a `Redacted` secret
 * (`X-Mcpflow-Signature: sha256=<hex>`), and retried on a transport error or a non-2xx answer
 * with an exponential backoff.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { Effect, Redacted, Schedule, Schema } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"

/**
 * Where and how finished runs are announced.
 *
 * @example
 * ```ts
 * const hook: WebhookSettings = { url: "https://ci.example/hooks/mcpflow", secret: Redacted.make(process.env.MCPFLOW_WEBHOOK_SECRET!) }
 * ```
 */
export interface WebhookSettings {
  readonly url: string
  readonly secret: Redacted.Redacted<string>
  /** The retry policy's delays (default: exponential from 250 ms). */
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** Retries after the first attempt (default 5). */
  readonly retries?: number | undefined
}

/**
 * The header that carries the body's signature.
 *
 * @example
 * ```ts
 * request.headers[signatureHeader] // => "sha256=9f2c…"
 * ```
 */
export const signatureHeader = "x-mcpflow-signature"

/**
 * The signature of `body`: `sha256=` and the hex HMAC-SHA256 of its bytes under `secret`.
 *
 * @example
 * ```ts
 * sign(Redacted.make("s3cret"), '{"runId":"r1"}') // => "sha256=…"
 * ```
 */
export const sign = (secret: Redacted.Redacted<string>, body: string): string =>
  `sha256=${createHmac("sha256", Redacted.value(secret)).update(body).digest("hex")}`

/**
 * Whether `signature` is the signature of `body` under `secret` (constant-time): what a
 * receiver checks.
 *
 * @example
 * ```ts
 * verify(secret, body, request.headers["x-mcpflow-signature"]) // => true
 * ```
 */
export const verify = (secret: Redacted.Redacted<string>, body: string, signature: string | undefined): boolean => {
  if (signature === undefined) return false
  const expected = Buffer.from(sign(secret, body))
  const given = Buffer.from(signature)
  return expected.length === given.length && timingSafeEqual(expected, given)
}

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
