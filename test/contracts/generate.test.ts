/**
 * Contract generation against a corpus of JSON Schemas: each generated Schema accepts and rejects
 * sample values as the JSON Schema would; generation is byte-stable; explicit `undefined` inputs
 * are omitted rather than sent as `null`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Effect, Exit, Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import { generateContracts, type PublishedTool } from "../../src/runtime/contracts/Generate.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

interface Case {
  readonly name: string
  readonly schema: Record<string, unknown>
  readonly accept: ReadonlyArray<unknown>
  readonly reject: ReadonlyArray<unknown>
}

const obj = (properties: Record<string, unknown>, required: ReadonlyArray<string> = [], extra: Record<string, unknown> = {}) => ({
  type: "object",
  properties,
  required,
  ...extra
})

const corpus: ReadonlyArray<Case> = [
  { name: "required", schema: obj({ a: { type: "string" } }, ["a"]), accept: [{ a: "x" }], reject: [{}, { a: 1 }] },
  { name: "optional", schema: obj({ a: { type: "string" } }), accept: [{}, { a: "x" }], reject: [{ a: null }, { a: 2 }] },
  { name: "number", schema: obj({ n: { type: "number" } }, ["n"]), accept: [{ n: 1.5 }], reject: [{ n: "1" }] },
  { name: "integer", schema: obj({ n: { type: "integer" } }, ["n"]), accept: [{ n: 3 }], reject: [{ n: 1.5 }] },
  { name: "bounds", schema: obj({ n: { type: "integer", minimum: 1, maximum: 5 } }, ["n"]), accept: [{ n: 1 }, { n: 5 }], reject: [{ n: 0 }, { n: 6 }] },
  { name: "boolean", schema: obj({ b: { type: "boolean" } }, ["b"]), accept: [{ b: false }], reject: [{ b: "false" }] },
  { name: "enum", schema: obj({ e: { type: "string", enum: ["a", "b"] } }, ["e"]), accept: [{ e: "a" }], reject: [{ e: "c" }] },
  { name: "const", schema: obj({ k: { const: "fixed" } }, ["k"]), accept: [{ k: "fixed" }], reject: [{ k: "other" }] },
  { name: "nested", schema: obj({ o: obj({ x: { type: "number" } }, ["x"]) }, ["o"]), accept: [{ o: { x: 1 } }], reject: [{ o: {} }, { o: 1 }] },
  { name: "array", schema: obj({ xs: { type: "array", items: { type: "string" } } }, ["xs"]), accept: [{ xs: [] }, { xs: ["a"] }], reject: [{ xs: [1] }, { xs: "a" }] },
  { name: "arrayOfObjects", schema: obj({ xs: { type: "array", items: obj({ id: { type: "string" } }, ["id"]) } }, ["xs"]), accept: [{ xs: [{ id: "1" }] }], reject: [{ xs: [{}] }] },
  { name: "minItems", schema: obj({ xs: { type: "array", items: { type: "number" }, minItems: 1 } }, ["xs"]), accept: [{ xs: [1] }], reject: [{ xs: [] }] },
  { name: "anyOf", schema: obj({ u: { anyOf: [{ type: "string" }, { type: "number" }] } }, ["u"]), accept: [{ u: "a" }, { u: 1 }], reject: [{ u: true }] },
  { name: "oneOf", schema: obj({ u: { oneOf: [obj({ kind: { const: "a" } }, ["kind"]), obj({ kind: { const: "b" }, n: { type: "number" } }, ["kind", "n"])] } }, ["u"]), accept: [{ u: { kind: "a" } }, { u: { kind: "b", n: 1 } }], reject: [{ u: { kind: "c" } }, { u: { kind: "b" } }] },
  { name: "typeArray", schema: obj({ v: { type: ["string", "null"] } }, ["v"]), accept: [{ v: null }, { v: "s" }], reject: [{ v: 1 }] },
  { name: "stringLength", schema: obj({ s: { type: "string", minLength: 2, maxLength: 3 } }, ["s"]), accept: [{ s: "ab" }], reject: [{ s: "a" }, { s: "abcd" }] },
  { name: "pattern", schema: obj({ s: { type: "string", pattern: "^[a-z]+$" } }, ["s"]), accept: [{ s: "abc" }], reject: [{ s: "ABC" }] },
  { name: "format", schema: obj({ s: { type: "string", format: "uri", description: "where" } }, ["s"]), accept: [{ s: "https://x" }], reject: [{ s: 1 }] },
  { name: "defs", schema: { ...obj({ p: { $ref: "#/definitions/Point" } }, ["p"]), definitions: { Point: obj({ x: { type: "number" }, y: { type: "number" } }, ["x", "y"]) } }, accept: [{ p: { x: 1, y: 2 } }], reject: [{ p: { x: 1 } }] },
  { name: "recursive", schema: { ...obj({ t: { $ref: "#/definitions/Tree" } }, ["t"]), definitions: { Tree: obj({ value: { type: "number" }, kids: { type: "array", items: { $ref: "#/definitions/Tree" } } }, ["value"]) } }, accept: [{ t: { value: 1, kids: [{ value: 2, kids: [] }] } }], reject: [{ t: { value: 1, kids: [{}] } }] },
  { name: "record", schema: obj({ m: { type: "object", additionalProperties: { type: "number" } } }, ["m"]), accept: [{ m: { a: 1 } }], reject: [{ m: { a: "1" } }] },
  { name: "openObject", schema: obj({ m: { type: "object" } }, ["m"]), accept: [{ m: { any: [1, "x"] } }], reject: [{ m: "x" }] },
  { name: "draft2020", schema: { $schema: "https://json-schema.org/draft/2020-12/schema", ...obj({ p: { $ref: "#/$defs/P" } }, ["p"]), $defs: { P: { type: "string" } } }, accept: [{ p: "x" }], reject: [{ p: 1 }] }
]

const tools: ReadonlyArray<PublishedTool> = corpus.map((c) => ({ name: c.name, description: `case ${c.name}`, inputSchema: c.schema }))

const generateTo = async (file: string) => {
  const source = await Effect.runPromise(generateContracts([{ key: "corpus", tools }], { toolImport: path.join(root, "dsl/index.ts") }))
  fs.writeFileSync(file, source)
  return source
}

describe("generateContracts", () => {
  it("translates a corpus of JSON Schemas into Schemas that accept and reject like them", async () => {
    const dir = fs.mkdtempSync(path.join(root, "test/contracts/.gen-"))
    try {
      const file = path.join(dir, "corpus.ts")
      const source = await generateTo(file)
      assert.include(source, `"a": Schema.optionalKey(Schema.String)`)
      assert.include(source, `"description": "where"`)
      const module = (await import(pathToFileURL(file).href)) as { readonly Corpus: Record<string, Tool.ContractInfo> }
      for (const c of corpus) {
        const contract = module.Corpus[c.name]
        assert.isDefined(contract, c.name)
        const decode = Schema.decodeUnknownExit(Schema.toCodecJson(contract!.input))
        for (const v of c.accept) assert.isTrue(Exit.isSuccess(decode(v)), `${c.name} should accept ${JSON.stringify(v)}`)
        for (const v of c.reject) assert.isTrue(Exit.isFailure(decode(v)), `${c.name} should reject ${JSON.stringify(v)}`)
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("gives identical bytes for the same tools, in whatever order they are listed", async () => {
    const a = await Effect.runPromise(generateContracts([{ key: "corpus", tools }]))
    const b = await Effect.runPromise(generateContracts([{ key: "corpus", tools: [...tools].reverse() }]))
    assert.strictEqual(a, b)
  })

  it("maps annotations, names that are not identifiers, and a missing output schema", async () => {
    const source = await Effect.runPromise(generateContracts([{
      key: "my-server",
      tools: [{ name: "get-sum", description: "Add", inputSchema: obj({}), annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false } }]
    }]))
    assert.include(source, `export const MyServer = Tool.server("my-server", {`)
    assert.include(source, `  getSum: Tool.define({\n    name: "get-sum",`)
    assert.include(source, `output: Schema.String,`)
    assert.include(source, `annotations: { readOnly: true, idempotent: true, openWorld: false }`)
  })

  it("fails with a typed error naming the tool whose schema cannot be translated", async () => {
    const exit = await Effect.runPromiseExit(generateContracts([{
      key: "s",
      tools: [{ name: "bad", inputSchema: obj({ p: { $ref: "https://example.com/x.json" } }) }]
    }]))
    assert.isTrue(Exit.isFailure(exit))
    if (Exit.isFailure(exit)) assert.include(String(exit.cause), "s.bad")
  })
})

describe("encodeInput", () => {
  it("omits an explicit undefined in an optional field instead of sending null", async () => {
    const T = Tool.make({
      server: "s",
      name: "t",
      description: "",
      input: Schema.Struct({ path: Schema.String, head: Schema.optional(Schema.Number), nested: Schema.optional(Schema.Struct({ n: Schema.optional(Schema.Number) })) }),
      output: Schema.String
    })
    const args = await Effect.runPromise(T.encodeInput({ path: "a", head: undefined, nested: { n: undefined } }))
    assert.deepStrictEqual(args, { path: "a", nested: {} })
  })
})
