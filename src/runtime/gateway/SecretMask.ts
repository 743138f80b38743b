/**
 * Masks the secrets of a gateway's config in the text its servers produce. A server may echo
 * what mcpflow gave it — an HTTP server its `Authorization` header in an error body, a stdio
 * server its API key on stderr — and that text is shown (`mcpflow tools`, `call`, run reports),
 * journaled (`runs.db`) and exported (JSON reports, spans). The gateway builds one mask from the
 * values it holds as `Redacted` (env values of stdio servers, header values of HTTP servers, and
 * what `${VAR}` expanded into them) and applies it to everything a server says before anyone
 * sees it: tool results, tool errors, connection errors with their stderr tail, server log lines,
 * progress messages and published tool descriptions.
 *
 * Each value is masked as it is, plus the credential of `Bearer <v>`-style values and the
 * base64, URL and JSON-escaped forms of both; values shorter than {@link MIN_SECRET_LENGTH}
 * characters are left alone (masking every `1` would mask everything).
 *
 * @example
 * ```ts
 * const mask = SecretMask.make(["Bearer s3cr3t-t0k3n"])
 * mask.text("HTTP 500: got Authorization: Bearer s3cr3t-t0k3n") // => "HTTP 500: got Authorization: <redacted>"
 * mask.text("token=s3cr3t-t0k3n")                                // => "token=<redacted>"
 * ```
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Redacted } from "effect"
import { McpflowToolError, type ToolErrorReason } from "../../../dsl/ToolError.ts"
import type { GatewayEvent } from "../../../dsl/ports/McpGateway.ts"
import type { GatewayConfig } from "./ServerConfig.ts"

/**
 * Values shorter than this are not masked.
 *
 * @example
 * ```ts
 * SecretMask.make(["abc"]).active // => false
 * ```
 */
export const MIN_SECRET_LENGTH = 4

/**
 * What a masked secret is replaced with (what `String(Redacted.make(x))` prints).
 *
 * @example
 * ```ts
 * SecretMask.make(["hunter22"]).text("pw hunter22") // => `pw ${SecretMask.REPLACEMENT}`
 * ```
 */
export const REPLACEMENT = "<redacted>"

/**
 * One gateway's mask (see the module doc). When `active` is false every function returns its
 * argument unchanged, and the gateway skips masking altogether.
 *
 * @example
 * ```ts
 * const safe = mask.error(failure) // the same McpflowToolError, its texts masked
 * ```
 */
export interface SecretMask {
  /** Whether there is anything to mask. */
  readonly active: boolean
  /** A text with every secret replaced by {@link REPLACEMENT}. */
  readonly text: (text: string) => string
  /**
   * A value with every string in it masked: plain objects and arrays are walked (a new value
   * when something changed), `Redacted` values and other class instances are kept as they are.
   */
  readonly value: <A>(value: A) => A
  /** A tool error with its texts (server text, details, issues) masked. */
  readonly error: (error: McpflowToolError) => McpflowToolError
  /** A gateway event with the server's text in it masked. */
  readonly event: (event: GatewayEvent) => GatewayEvent
  /** A `tools/call` result with every string masked. */
  readonly result: (result: CallToolResult) => CallToolResult
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** `Bearer x`, `Basic x`, `token x`, …: a scheme word, then the credential. */
const schemeValue = /^([A-Za-z][A-Za-z0-9_-]*)\s+(\S+)$/

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64")

/** A value and the forms it may be echoed in. */
const formsOf = (secret: string): ReadonlyArray<string> => {
  const cores = [secret]
  const scheme = schemeValue.exec(secret)
  if (scheme !== null) {
    const credential = scheme[2]!
    cores.push(credential)
    // Basic credentials are base64 of `user:password`.
    if (scheme[1]!.toLowerCase() === "basic") {
      const decoded = Buffer.from(credential, "base64").toString("utf8")
      const password = decoded.slice(decoded.indexOf(":") + 1)
      if (decoded.includes(":") && base64(decoded).replace(/=+$/, "") === credential.replace(/=+$/, "")) {
        cores.push(decoded, password)
      }
    }
  }
  const forms: Array<string> = []
  for (const core of cores) {
    const b64 = base64(core)
    forms.push(
      core,
      b64,
      b64.replace(/=+$/, ""),
      b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
      encodeURIComponent(core),
      JSON.stringify(core).slice(1, -1)
    )
  }
  return forms
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== "object" || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const identity = <A>(a: A): A => a

const inactive: SecretMask = {
  active: false,
  text: identity,
  value: identity,
  error: identity,
  event: identity,
  result: identity
}

/**
 * A mask for `secrets` (see the module doc): each one, its credential when it reads `Scheme
 * <credential>`, and their base64, URL and JSON-escaped forms.
 *
 * @example
 * ```ts
 * const mask = SecretMask.make(["sk-live-1234", "Basic dXNlcjpodW50ZXIy"])
 * mask.text("key sk-live-1234, password hunter2") // => "key <redacted>, password <redacted>"
 * ```
 */
export const make = (secrets: Iterable<string>): SecretMask => {
  const forms = new Set<string>()
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue
    for (const form of formsOf(secret)) if (form.length >= MIN_SECRET_LENGTH) forms.add(form)
  }
  if (forms.size === 0) return inactive
  // Longest first: a secret that contains another is replaced whole.
  const pattern = new RegExp([...forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|"), "g")

  const text = (input: string): string => {
    pattern.lastIndex = 0
    return pattern.test(input) ? input.replace(pattern, REPLACEMENT) : input
  }

  const walk = (input: unknown): unknown => {
    if (typeof input === "string") return text(input)
    if (Array.isArray(input)) {
      let out: Array<unknown> | undefined
      for (let i = 0; i < input.length; i++) {
        const masked = walk(input[i])
        if (masked !== input[i]) (out ??= input.slice())[i] = masked
      }
      return out ?? input
    }
    if (isPlainObject(input)) {
      let out: Record<string, unknown> | undefined
      for (const key of Object.keys(input)) {
        const masked = walk(input[key])
        if (masked !== input[key]) (out ??= { ...input })[key] = masked
      }
      return out ?? input
    }
    // Redacted values, class instances (Date, Option, …) and primitives other than strings.
    return input
  }
  const value = <A>(input: A): A => walk(input) as A

  const reason = (input: ToolErrorReason): ToolErrorReason => {
    const fields: Record<string, unknown> = {}
    let changed = false
    for (const [key, field] of Object.entries(input)) {
      if (key === "_tag") continue
      const masked = key === "primary" || key === "fallback"
        ? reason(field as ToolErrorReason)
        : typeof field === "string"
        ? text(field)
        : Array.isArray(field)
        ? walk(field)
        : field
      if (masked !== field) changed = true
      fields[key] = masked
    }
    if (!changed) return input
    // Every reason is a Schema.TaggedClass whose constructor takes its fields.
    const Reason = input.constructor as new(fields: Record<string, unknown>) => ToolErrorReason
    return new Reason(fields)
  }

  const error = (input: McpflowToolError): McpflowToolError => {
    const masked = reason(input.reason)
    return masked === input.reason ? input : new McpflowToolError({ reason: masked })
  }

  const event = (input: GatewayEvent): GatewayEvent => {
    switch (input._tag) {
      case "ServerConnecting":
      case "ReplicaServed":
        return input
      case "HealthChanged":
      case "ServerConnected":
      case "ServerDisconnected":
      case "ServerLog":
      case "ToolProgress":
      case "FaultFired":
        return walk(input) as GatewayEvent
    }
  }

  return { active: true, text, value, error, event, result: value }
}

/**
 * The secrets of a gateway config: every env value of a stdio server, every header value of an
 * HTTP or SSE server, and the config's extra `secrets` (what `${VAR}` expanded into them).
 *
 * @example
 * ```ts
 * secretsOf({ servers: { gh: { type: "http", url, headers: { Authorization: Redacted.make("Bearer t0k3n") } } } })
 * // => ["Bearer t0k3n"]
 * ```
 */
export const secretsOf = (config: GatewayConfig): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const server of Object.values(config.servers)) {
    const values = server.type === "stdio" ? server.env : server.type === "in-process" ? {} : server.headers
    for (const secret of Object.values(values)) out.push(Redacted.value(secret))
  }
  for (const secret of config.secrets ?? []) out.push(Redacted.value(secret))
  return out
}

/**
 * The mask of a gateway config (see {@link secretsOf}).
 *
 * @example
 * ```ts
 * const mask = SecretMask.fromConfig(config)
 * if (mask.active) result = mask.result(result)
 * ```
 */
export const fromConfig = (config: GatewayConfig): SecretMask => make(secretsOf(config))
