/**
 * `mcpflow call`'s hint from the server's tool list: the tool meant, what the server publishes,
 * or the argument meant; nothing when the list says nothing more.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Tool } from "@modelcontextprotocol/sdk/types.js"
import { argumentIssues, hint } from "../../src/app/cli/commands/internal/call.ts"

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

  describe("arguments checked before anything is sent", () => {
    const readText: Tool = {
      name: "read_text_file",
      inputSchema: { type: "object", properties: { path: { type: "string" }, head: { type: "number" } }, required: ["path"] }
    }
    const closed: Tool = { ...readText, inputSchema: { ...readText.inputSchema, additionalProperties: false } as Tool["inputSchema"] }

    it("fit: no issue", () => {
      assert.deepStrictEqual(argumentIssues(readText, { path: "a", head: 2 }), [])
    })

    it("a typo of an argument is refused with the one meant; the missing argument it stands for is not repeated", () => {
      assert.deepStrictEqual(argumentIssues(readText, { path: "a", haed: 2 }), [`"haed" is not an argument of read_text_file; did you mean "head"?`])
      assert.deepStrictEqual(argumentIssues(readText, { pth: "a" }), [`"pth" is not an argument of read_text_file; did you mean "path"?`])
    })

    it("an argument far from every name: left to an open schema, refused by a closed one with what it takes", () => {
      assert.deepStrictEqual(argumentIssues(readText, { path: "a", mode: "x" }), [])
      assert.deepStrictEqual(argumentIssues(closed, { path: "a", mode: "x" }), [`"mode" is not an argument of read_text_file (it takes "path", "head")`])
    })

    it("what the schema says, at the argument's path", () => {
      assert.deepStrictEqual(argumentIssues(readText, { path: 1, head: "x" }), ["path must be string", "head must be number"])
      assert.deepStrictEqual(argumentIssues(readText, {}), ["args must have required property 'path'"])
      const nested: Tool = {
        name: "apply",
        inputSchema: { type: "object", properties: { spec: { type: "object", properties: { replicas: { type: "integer", minimum: 1 } } } } }
      }
      assert.deepStrictEqual(argumentIssues(nested, { spec: { replicas: 0 } }), ["spec.replicas must be >= 1"])
    })

    it("a nested field missing because it is misspelled: the field meant", () => {
      const entities: Tool = {
        name: "create_entities",
        inputSchema: {
          type: "object",
          properties: {
            entities: {
              type: "array",
              items: { type: "object", properties: { name: { type: "string" }, entityType: { type: "string" } }, required: ["name", "entityType"] }
            }
          },
          required: ["entities"]
        }
      }
      assert.deepStrictEqual(argumentIssues(entities, { entities: [{ name: "a", entityType: "t" }, { name: "b", entityTyp: "t" }] }), [
        `entities.1: "entityTyp" is not a field; did you mean "entityType"?`
      ])
      assert.deepStrictEqual(argumentIssues(entities, { entities: [{ name: "b", kind: "t" }] }), ["entities.0 must have required property 'entityType'"])
    })

    it("a schema Ajv cannot compile: the server decides", () => {
      const broken = { name: "odd", inputSchema: { type: "object", properties: { a: { type: "no-such-type" } } } } as unknown as Tool
      assert.deepStrictEqual(argumentIssues(broken, { a: 1 }), [])
    })
  })
})
