/**
 * `mcpflow call`'s hint from the server's tool list: the tool meant, what the server publishes,
 * or the argument meant; nothing when the list says nothing more.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Tool } from "@modelcontextprotocol/sdk/types.js"
import { hint } from "../../src/app/cli/commands/internal/call.ts"

const tool = (name: string, properties: Record<string, object> = {}): Tool => ({ name, inputSchema: { type: "object", properties } })
const tools = [tool("read_text_file", { path: {}, head: {} }), tool("write_file", { path: {}, content: {} })]

describe("mcpflow call: the hint", () => {
  it("names the tool meant, or what the server publishes", () => {
    assert.strictEqual(hint(tools, { server: "fs", tool: "read_txt_file" }, {}), `did you mean "read_text_file"?`)
    assert.strictEqual(hint(tools, { server: "fs", tool: "delete" }, {}), "fs publishes: read_text_file, write_file")
    assert.strictEqual(hint([], { server: "fs", tool: "delete" }, {}), "fs publishes no tools")
  })

  it("names the argument meant; says nothing of arguments far from any, or when all are known", () => {
    assert.strictEqual(hint(tools, { server: "fs", tool: "write_file" }, { path: "a", contnet: "x" }), `"contnet" is not an argument of write_file; did you mean "content"?`)
    assert.isUndefined(hint(tools, { server: "fs", tool: "write_file" }, { path: "a", mode: "0644" }))
    assert.isUndefined(hint(tools, { server: "fs", tool: "read_text_file" }, { path: "a" }))
  })
})
