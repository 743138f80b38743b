/**
 * The result schema the gateway hands the SDK's `client.callTool`: the SDK's own
 * `CallToolResultSchema`, with a shortcut for the common shape. The SDK parses every answer with
 * that zod union (text, image, audio, resource link, embedded resource per content block), which
 * costs 3–5 µs per call — a third of an in-process call. An answer whose content blocks are all
 * bare text blocks (`{ type: "text", text }`), whose `structuredContent` is absent or a plain
 * object, whose `isError` is absent or a boolean, and which has no `_meta` and no other key is
 * checked here with straight code and handed on as it is. Anything else — any other block,
 * annotations, `_meta`, an `undefined` value, a missing `content`, a prototype, a symbol or
 * `__proto__` key — goes through `CallToolResultSchema`, which decides and reports exactly as
 * before.
 *
 * The shortcut does not copy the answer the way zod's parse does (a new result, new blocks, a new
 * `structuredContent` with the same values): over stdio and HTTP the answer was just parsed from
 * JSON and nothing else holds it, and a contract call's decoder copies the declared keys of
 * `structuredContent` anyway. Only a raw call (`callRaw`) to an in-process server gets the
 * objects that server's handler returned. The copy was ≈ 0.9 µs of a ≈ 12 µs in-process call.
 *
 * @module
 */
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"

type Parsed = { readonly success: true; readonly data: CallToolResult } | ReturnType<typeof CallToolResultSchema.safeParse>

/**
 * An object as `JSON.parse` makes them (its prototype `Object.prototype`). zod also accepts an
 * object without a prototype, but copies it into one with: such an answer goes through zod.
 */
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype

/**
 * An object (see {@link isObject}) zod's `z.record(z.string(), z.unknown())` accepts as it is: no
 * own `constructor`, and every own key (`Reflect.ownKeys`) a string other than `__proto__`.
 * `false` when not sure.
 */
const isPlainRecord = (value: Record<string, unknown>): boolean => {
  if (Object.hasOwn(value, "constructor")) return false
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== "string" || key === "__proto__") return false
  }
  return true
}

/** Counts `value`'s enumerable keys (own and inherited) and checks it has no other own ones. */
const hasExactly = (value: object, n: number): boolean => {
  let keys = 0
  for (const _ in value) keys++
  return keys === n && Object.getOwnPropertyNames(value).length === n
}

/**
 * Whether `result` has the common shape the shortcut decides alone (see the module doc);
 * `false` when it is not sure (exported for tests).
 */
export const isPlainResult = (result: unknown): result is CallToolResult => {
  if (!isObject(result)) return false
  const content = result.content
  if (!Array.isArray(content)) return false
  let known = 1
  const structured = result.structuredContent
  if (structured !== undefined) {
    if (!isObject(structured) || !isPlainRecord(structured)) return false
    known++
  } else if ("structuredContent" in result) return false
  const isError = result.isError
  if (isError !== undefined) {
    if (typeof isError !== "boolean") return false
    known++
  } else if ("isError" in result) return false
  if (!hasExactly(result, known)) return false
  for (let i = 0; i < content.length; i++) {
    const block: unknown = content[i]
    if (!isObject(block) || block.type !== "text" || typeof block.text !== "string" || !hasExactly(block, 2)) return false
  }
  return true
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
    return isPlainResult(data) ? { success: true, data } : CallToolResultSchema.safeParse(data)
  }
}

/** The same check typed as the SDK's parameter (`client.callTool(params, resultSchema, …)`). */
export const callToolResultSchema = callToolResultCheck as unknown as typeof CallToolResultSchema
