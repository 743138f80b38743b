/**
 * The gateway's result check for `client.callTool` (`src/runtime/gateway/CallToolResultCheck.ts`)
 * never disagrees with the SDK's `CallToolResultSchema` it stands in for: on arbitrary answers
 * (valid, near-valid and wrong), when the shortcut answers, zod succeeds with an equal value (the
 * shortcut hands the answer on as it is, zod copies it); otherwise the answer goes through zod
 * itself.
 *
 * Replay a failure with the printed seed: `FC_SEED=<seed> npx vitest run test/gatewayResultCheck.test.ts`.
 */
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js"
import * as fc from "fast-check"
import { assert, describe, it } from "vitest"
import { callToolResultCheck, isPlainResult } from "../src/runtime/gateway/CallToolResultCheck.ts"

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31)
console.log(`call result check properties: seed ${seed}; replay with FC_SEED=${seed}`)

// fast-check's records and dictionaries may come without a prototype (zod accepts them and copies
// them into plain objects, so the shortcut leaves them to zod); the JSON-like variants below
// (`noNullPrototype`) are the answers a server sends.
const leaf = fc.constantFrom<unknown>("text", "image", "hi", "", 0, 1, true, false, null, undefined, [], {})
const block = fc.oneof(
  fc.record({ type: fc.constant("text"), text: fc.string({ maxLength: 4 }) }, { noNullPrototype: true }),
  fc.record({ type: fc.constant("text"), text: fc.string({ maxLength: 4 }) }),
  fc.record({ type: fc.constantFrom("text", "image"), text: leaf }, { requiredKeys: [] }),
  fc.record({ type: fc.constant("text"), text: fc.string(), annotations: fc.constant({ priority: 1 }), extra: leaf }, {
    requiredKeys: ["type", "text"]
  }),
  leaf
)
const recordKey = fc.constantFrom("a", "b", "echoed", "length", "constructor", "__proto__")
const record = fc.oneof(
  fc.dictionary(recordKey, leaf, { maxKeys: 3, noNullPrototype: true }),
  fc.dictionary(recordKey, leaf, { maxKeys: 3 }),
  fc.constant(Object.assign(Object.create(null), { a: 1 })),
  fc.constant({ [Symbol("s")]: 1, a: 1 }),
  fc.constant(new Date(0)),
  leaf
)
const answer = fc.oneof(
  fc.record(
    { content: fc.oneof(fc.array(block, { maxLength: 3 }), leaf), structuredContent: record, isError: leaf, _meta: leaf, other: leaf },
    { requiredKeys: [], noNullPrototype: true }
  ),
  fc.record({ content: fc.array(fc.record({ type: fc.constant("text"), text: fc.string() }, { noNullPrototype: true })), structuredContent: record }, {
    noNullPrototype: true
  }),
  leaf
)

describe("CallToolResultCheck", () => {
  it("agrees with CallToolResultSchema whenever it answers, and answers for plain text results", () => {
    let shortcut = 0
    fc.assert(
      fc.property(answer, (value) => {
        const plain = isPlainResult(value)
        if (plain) shortcut++
        const ours = callToolResultCheck.safeParse(value)
        const zod = CallToolResultSchema.safeParse(value)
        assert.strictEqual(ours.success, zod.success)
        if (ours.success && zod.success) assert.deepStrictEqual(ours.data, zod.data)
        // The shortcut's answer is the value itself; anything else is zod's own result.
        if (plain && ours.success) assert.strictEqual(ours.data, value)
      }),
      { seed, numRuns: 3000 }
    )
    assert.isAbove(shortcut, 100)
  })

  it("takes the shortcut for the common shape and hands the answer on without copying it", () => {
    const structured = { echoed: "ping", length: 4 }
    const input = { content: [{ type: "text" as const, text: "ping" }], structuredContent: structured, isError: false }
    assert.isTrue(isPlainResult(input))
    const parsed = callToolResultCheck.safeParse(input)
    assert.isTrue(parsed.success)
    if (!parsed.success) return
    assert.strictEqual(parsed.data, input)
    assert.strictEqual(parsed.data.structuredContent, structured)
    // Not the common shape: zod decides, and copies.
    const annotated = { content: [{ type: "text" as const, text: "ping", annotations: { priority: 1 } }] }
    assert.isFalse(isPlainResult(annotated))
    const viaZod = callToolResultCheck.safeParse(annotated)
    assert.isTrue(viaZod.success)
    if (viaZod.success) assert.notStrictEqual(viaZod.data, annotated)
  })

  it("rejects what zod rejects, with zod's error", () => {
    const parsed = callToolResultCheck.safeParse({ content: [{ type: "text", text: 1 }] })
    assert.isFalse(parsed.success)
    if (!parsed.success) assert.include(String(parsed.error), "text")
  })
})
