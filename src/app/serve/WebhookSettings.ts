/**
 * A webhook's settings — its URL and `Redacted` secret from the flag or the environment — and
 * the HMAC-SHA256 signature of its bodies (what a sender adds and a receiver checks). No HTTP
 * client here: a command reads its settings without loading one.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { Option, Redacted, Result, type Schedule } from "effect"

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
 * The webhook a command announces finished runs to: the `--webhook` flag, else
 * `MCPFLOW_WEBHOOK_URL`, signed with `MCPFLOW_WEBHOOK_SECRET` (`Redacted` from the moment it is
 * read). `undefined` when neither names a URL; a failure (a usage error) when the URL is not
 * http(s) or the secret is missing.
 *
 * @example
 * ```ts
 * settingsFrom(Option.none(), { MCPFLOW_WEBHOOK_URL: "http://127.0.0.1:9/hook", MCPFLOW_WEBHOOK_SECRET: "s" }) // => Result.succeed({ url, secret })
 * ```
 */
export const settingsFrom = (
  flag: Option.Option<string>,
  env: Readonly<Record<string, string | undefined>>
): Result.Result<WebhookSettings | undefined, string> => {
  const fromEnv = env["MCPFLOW_WEBHOOK_URL"]
  const url = Option.getOrUndefined(flag) ?? (fromEnv === "" ? undefined : fromEnv)
  if (url === undefined) return Result.succeed(undefined)
  const origin = Option.isSome(flag) ? "--webhook" : "MCPFLOW_WEBHOOK_URL"
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) return Result.fail(`${origin}: not an http(s) URL: ${url}`)
  const secret = env["MCPFLOW_WEBHOOK_SECRET"]
  if (secret === undefined || secret === "") {
    return Result.fail(`${origin} needs MCPFLOW_WEBHOOK_SECRET (the HMAC-SHA256 key its bodies are signed with)`)
  }
  return Result.succeed({ url, secret: Redacted.make(secret, { label: "MCPFLOW_WEBHOOK_SECRET" }) })
}
