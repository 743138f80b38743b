/**
 * What of a value may enter the audit log: its JSON form with every sensitive part replaced by
 * `<redacted>` — a `Redacted` value (a `Schema.Redacted` field of a contract's input or output,
 * of a flow's input), a sealed journal envelope (`internal/Sealing.ts`), and any string a
 * {@link SecretMask} knows (the config's env and header values). The plain strings found inside
 * `Redacted` values are collected, so the same secret echoed elsewhere (a server's error text)
 * can be masked too. Large values are cut to a marker.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { redact } from "./AuditRedact.ts"
 *
 * redact({ user: "ana", password: Redacted.make("hunter22") }) // => { value: { user: "ana", password: "<redacted>" }, secrets: ["hunter22"] }
 * ```
 * @module
 */
import { Redacted } from "effect"
import { isEnvelope } from "../../../dsl/flow/internal/Sealing.ts"
import { REPLACEMENT, type SecretMask } from "../gateway/SecretMask.ts"

/**
 * The most characters of JSON an entry keeps of one value; a larger one becomes a marker.
 *
 * @example
 * ```ts
 * redact("x".repeat(MAX_JSON_CHARS)).value // => "<truncated: 16386 characters>"
 * ```
 */
export const MAX_JSON_CHARS = 16_384

const walk = (value: unknown, mask: SecretMask | undefined, secrets: Array<string>, depth: number): unknown => {
  if (Redacted.isRedacted(value)) {
    const inner = Redacted.value(value)
    if (typeof inner === "string" && !isEnvelope(inner)) secrets.push(inner)
    return REPLACEMENT
  }
  switch (typeof value) {
    case "string":
      return isEnvelope(value) ? REPLACEMENT : mask === undefined ? value : mask.text(value)
    case "number":
      return Number.isFinite(value) ? value : String(value)
    case "boolean":
      return value
    case "bigint":
      return value.toString()
    case "undefined":
    case "function":
    case "symbol":
      return undefined
  }
  if (value === null) return null
  if (depth > 32) return "<too deep>"
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (Array.isArray(value)) return value.map((item) => walk(item, mask, secrets, depth + 1) ?? null)
  if (value instanceof Map) return [...value].map(([k, v]) => [walk(k, mask, secrets, depth + 1), walk(v, mask, secrets, depth + 1)])
  if (value instanceof Set) return [...value].map((v) => walk(v, mask, secrets, depth + 1))
  // Plain objects and class instances (Schema classes, Option, …): their own enumerable fields.
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value as object)) {
    const field = walk((value as Record<string, unknown>)[key], mask, secrets, depth + 1)
    if (field !== undefined) out[key] = field
  }
  return out
}

/**
 * `value` as the audit log may keep it (see the module doc), and the secrets found in its
 * `Redacted` parts.
 *
 * @example
 * ```ts
 * redact({ token: "Bearer t0k3n-abc" }, SecretMask.make(["Bearer t0k3n-abc"])).value // => { token: "<redacted>" }
 * ```
 */
export const redact = (
  value: unknown,
  mask?: SecretMask | undefined
): { readonly value: unknown; readonly secrets: ReadonlyArray<string> } => {
  const secrets: Array<string> = []
  const walked = walk(value, mask, secrets, 0)
  const length = walked === undefined ? 0 : (JSON.stringify(walked) ?? "").length
  return { value: length > MAX_JSON_CHARS ? `<truncated: ${length} characters>` : walked, secrets }
}
