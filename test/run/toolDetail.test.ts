/**
 * `mcpflow tools server.tool`: one tool's description, arguments (nested fields by path), output,
 * annotations and an example call; the short type of a JSON Schema.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Tool } from "@modelcontextprotocol/sdk/types.js"
import { describeTool, typeText } from "../../src/app/cli/commands/internal/tools.ts"

describe("mcpflow tools server.tool", () => {
  it("the short type of a schema", () => {
    assert.strictEqual(typeText({ type: "string" }), "string")
    assert.strictEqual(typeText({ type: "array", items: { type: "number" } }), "number[]")
    assert.strictEqual(typeText({ enum: ["text", "blob"] }), `"text" | "blob"`)
    assert.strictEqual(typeText({ anyOf: [{ type: "string" }, { type: "null" }] }), "string | null")
    assert.strictEqual(typeText({ type: "array", items: { anyOf: [{ type: "string" }, { type: "number" }] } }), "(string | number)[]")
    assert.strictEqual(typeText({ type: ["string", "number"] }), "string | number")
    assert.strictEqual(typeText({}), "any")
  })

  it("arguments with nested fields by path, output, annotations and an example with the required arguments", () => {
    const tool: Tool = {
      name: "edit_file",
      title: "Edit File",
      description: "Make line-based edits.\nReturns a diff.",
      inputSchema: {
        type: "object",
        properties: {
          path: { type: "string" },
          edits: {
            type: "array",
            items: { type: "object", properties: { oldText: { type: "string", description: "Text to find" } }, required: ["oldText"] }
          },
          dryRun: { type: "boolean", default: false, description: "Preview only\nsecond line" }
        },
        required: ["path", "edits"]
      },
      outputSchema: { type: "object", properties: { content: { type: "string" }, note: { type: "string" } }, required: ["content"] },
      annotations: { destructiveHint: true }
    }
    assert.deepStrictEqual(describeTool("fs", tool), [
      "fs.edit_file — Edit File",
      "",
      "Make line-based edits.",
      "Returns a diff.",
      "",
      "arguments:",
      "  path             string    required",
      "  edits            object[]  required",
      "  edits[].oldText  string    required       Text to find",
      "  dryRun           boolean   default false  Preview only",
      "",
      "output (structured content):",
      "  content  string",
      "  note     string  optional",
      "",
      "annotations: destructive",
      "",
      "example:",
      `  mcpflow call fs.edit_file --args '{"path":"…","edits":[]}'`
    ])
  })

  it("a tool without arguments or output schema says so", () => {
    const lines = describeTool("s", { name: "ping", inputSchema: { type: "object" } })
    assert.deepStrictEqual(lines, [
      "s.ping",
      "",
      "arguments: none",
      "",
      "output: not declared (the tool answers with content blocks)",
      "",
      "example:",
      "  mcpflow call s.ping --args '{}'"
    ])
  })
})
