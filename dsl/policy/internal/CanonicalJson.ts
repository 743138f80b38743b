/**
 * Canonical JSON: the same text for equal values whatever their key order, for cache keys.
 *
 * @example
 * ```ts
 * import * as CanonicalJson from "./internal/CanonicalJson.ts" // inside dsl/policy
 *
 * CanonicalJson.canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) // => '{"a":[2,{"c":4,"d":3}],"b":1}'
 * ```
 * @module
 */

/**
 * JSON text with object keys sorted (by UTF-16 code units) at every depth. Follows
 * `JSON.stringify` for the rest (`toJSON` is honoured; `undefined`, functions and symbols are
 * dropped from objects and become `null` in arrays; non-finite numbers become `null`), except
 * that it never throws: a `bigint` becomes its decimal string and a circular reference becomes
 * `"[Circular]"`.
 *
 * @example
 * ```ts
 * canonicalJson({ z: undefined, y: 1n, x: NaN }) // => '{"x":null,"y":"1"}'
 * ```
 */
export const canonicalJson = (value: unknown): string => encode(value, new Set()) ?? "null"

const encode = (value: unknown, ancestors: Set<object>): string | undefined => {
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    value = (value as { toJSON: () => unknown }).toJSON()
  }
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : "null"
    case "boolean":
      return value ? "true" : "false"
    case "bigint":
      return JSON.stringify(value.toString())
    case "undefined":
    case "function":
    case "symbol":
      return undefined
  }
  if (value === null) return "null"
  const object = value as object
  if (ancestors.has(object)) return JSON.stringify("[Circular]")
  ancestors.add(object)
  let out: string
  if (Array.isArray(object)) {
    out = `[${object.map((item) => encode(item, ancestors) ?? "null").join(",")}]`
  } else {
    const record = object as Record<string, unknown>
    const parts: Array<string> = []
    for (const key of Object.keys(record).sort()) {
      const encoded = encode(record[key], ancestors)
      if (encoded !== undefined) parts.push(`${JSON.stringify(key)}:${encoded}`)
    }
    out = `{${parts.join(",")}}`
  }
  ancestors.delete(object)
  return out
}
