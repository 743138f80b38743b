/**
 * `compareContract`: the drift kinds `mcpflow check` reports (input field types, outputs).
 */
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import { compareContract } from "../../src/runtime/gateway/Discovery.ts"

const published = [{
  name: "get",
  inputSchema: { type: "object" as const, properties: { id: { type: "integer" }, q: { type: "string" } }, required: ["id"] },
  outputSchema: { type: "object" as const, properties: { name: { type: "string" }, size: { type: "number" } }, required: ["name"] }
}]

const contract = (input: Tool.ContractSchema, output: Tool.ContractSchema) =>
  Tool.make({ server: "s", name: "get", description: "", input, output })

describe("compareContract", () => {
  it("finds nothing when input and output match (integer counts as number)", () => {
    const c = contract(
      Schema.Struct({ id: Schema.Int, q: Schema.optionalKey(Schema.String) }),
      Schema.Struct({ name: Schema.String, size: Schema.optionalKey(Schema.Finite) })
    )
    assert.deepStrictEqual(compareContract(c, published), [])
  })

  it("names an input field whose type changed and output fields that drifted", () => {
    const c = contract(
      Schema.Struct({ id: Schema.String }),
      Schema.Struct({ name: Schema.Finite, owner: Schema.String })
    )
    const found = compareContract(c, published).map((m) => [m.kind, m.field, m.detail])
    assert.deepStrictEqual(found, [
      ["InputTypeChanged", "id", "'id' is a number on the server but a string in the contract"],
      ["OutputChanged", "owner", "the contract expects output field 'owner' but the server's output schema does not have it"],
      ["OutputChanged", "name", "output field 'name' is a string on the server but a number in the contract"]
    ])
  })
})
