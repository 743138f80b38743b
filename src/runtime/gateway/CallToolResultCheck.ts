/**
 * The result schema the gateway hands the SDK's `client.callTool`: the SDK's own
 * `CallToolResultSchema`, with a shortcut for the common shape. The SDK parses every answer with
 * that zod union (text, image, audio, resource link, embedded resource per content block), which
 * costs 3–5 µs per call — a third of an in-process call. An answer whose content blocks are all
 * bare text blocks (`{ type: "text", text }`), whose `structuredContent` is absent or a plain
 * object, whose `isError` is absent or a boolean, and which has no `_meta` and no other key is
 * checked here with straight code and copied the way zod copies it (a new result object, new
 * content blocks, a new `structuredContent` object with the same values). Anything else — any
 * other block, annotations, `_meta`, an `undefined` value, a missing `content`, a prototype, a
 * symbol or `__proto__` key — goes through `CallToolResultSchema`, which decides and reports
 * exactly as before.
 *
 * @module
 */
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"

type Parsed = { readonly success: true; readonly data: CallToolResult } | ReturnType<typeof CallToolResultSchema.safeParse>

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * zod's copy of a `z.record(z.string(), z.unknown())`: a plain object (zod's `isPlainObject`),
 * every own key (`Reflect.ownKeys`) a string, `__proto__` skipped; `undefined` when not sure.
 */
const recordCopy = (value: Record<string, unknown>): Record<string, unknown> | undefined => {
  const proto = Object.getPrototypeOf(value)
  if ((proto !== Object.prototype && proto !== null) || Object.hasOwn(value, "constructor")) return undefined
  const out: Record<string, unknown> = {}
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== "string" || key === "__proto__") return undefined
    out[key] = value[key]
  }
  return out
}

/** Counts `value`'s enumerable keys (own and inherited) and checks it has no other own ones. */
const hasExactly = (value: object, n: number): boolean => {
  let keys = 0
  for (const _ in value) keys++
  return keys === n && Object.getOwnPropertyNames(value).length === n
}

/** The copy zod would make of `result`, or `undefined` when the shortcut is not sure (exported for tests). */
export const plainCopy = (result: unknown): CallToolResult | undefined => {
  if (!isObject(result)) return undefined
  const content = result.content
  if (!Array.isArray(content)) return undefined
  let known = 1
  const structured = result.structuredContent
  let structuredOut: Record<string, unknown> | undefined
  if (structured !== undefined) {
    if (!isObject(structured) || (structuredOut = recordCopy(structured)) === undefined) return undefined
    known++
  } else if ("structuredContent" in result) return undefined
  const isError = result.isError
  if (isError !== undefined) {
    if (typeof isError !== "boolean") return undefined
    known++
  } else if ("isError" in result) return undefined
  if (!hasExactly(result, known)) return undefined
  const blocks: Array<{ type: "text"; text: string }> = new Array(content.length)
  for (let i = 0; i < content.length; i++) {
    const block: unknown = content[i]
    if (!isObject(block) || block.type !== "text" || typeof block.text !== "string" || !hasExactly(block, 2)) return undefined
    blocks[i] = { type: "text", text: block.text }
  }
  const out: CallToolResult = { content: blocks }
  if (structuredOut !== undefined) out.structuredContent = structuredOut
  if (isError !== undefined) out.isError = isError
  return out
}

/**
 * `CallToolResultSchema` for the SDK's `safeParse` (it calls `safeParse(data)` on a schema
 * without zod 4's `_zod` marker): the shortcut when it is sure, the zod schema otherwise.
 *
 * @example
 * ```ts
 * callToolResultCheck.safeParse({ content: [{ type: "text", text: "hi" }] }) // => { success: true, data: { content: [...] } }
 * ```
 */
export const callToolResultCheck = {
  safeParse(data: unknown): Parsed {
    const copy = plainCopy(data)
    return copy === undefined ? CallToolResultSchema.safeParse(data) : { success: true, data: copy }
  }
}

/** The same check typed as the SDK's parameter (`client.callTool(params, resultSchema, …)`). */
export const callToolResultSchema = callToolResultCheck as unknown as typeof CallToolResultSchema
