/**
 * Mermaid plans: node ids are injective over step paths and fit Mermaid's id grammar, labels are
 * escaped, and the official `mermaid` parser reads every rendered plan with one node per step.
 *
 * `mermaid` needs a DOM only for DOMPurify, which sanitises labels for rendering; parsing in Node
 * works with DOMPurify's two entry points stubbed (nothing is rendered here).
 *
 * Replay a failure with the printed seed: `FC_SEED=<seed> npx vitest run test/flow/mermaid.test.ts`.
 */
import DOMPurify from "dompurify"
import mermaid from "mermaid"
import * as fc from "fast-check"
import { assert, describe, it } from "vitest"
import { Effect, Exit, Schema } from "effect"
import { Flow, FlowError, Plan, step } from "../../dsl/flow/index.ts"
import type { PlanNode } from "../../dsl/flow/RunScope.ts"

DOMPurify.addHook = () => {}
DOMPurify.sanitize = ((text: unknown) => String(text)) as typeof DOMPurify.sanitize

const seed = Number(process.env.FC_SEED ?? Date.now())
console.log(`mermaid properties: seed ${seed}; replay with FC_SEED=${seed}`)

/** The inverse of `Plan.mermaidId` (after its prefix): proves the encoding injective. */
const decodeId = (id: string): string => {
  const body = id.slice(2)
  const bytes: Array<number> = []
  for (let i = 0; i < body.length;) {
    if (body.startsWith("__", i) && /^[0-9a-f]{2}$/.test(body.slice(i + 2, i + 4))) {
      bytes.push(Number.parseInt(body.slice(i + 2, i + 4), 16))
      i += 4
    } else if (body[i] === "_") {
      bytes.push(0x2f)
      i += 1
    } else {
      bytes.push(body.charCodeAt(i))
      i += 1
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes))
}

/** A step name as the DSL accepts it: non-empty, no `/`; any other character, astral ones too. */
const stepName = fc.string({ unit: "binary", minLength: 1, maxLength: 8 }).filter((s) => !s.includes("/") && s.length > 0)
const stepPath = fc.array(stepName, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"))

/** Mermaid keeps entity codes encoded in its model; this reads them back. */
const decodeLabel = (text: string) =>
  text
    .replace(/ﬂ°°(\d+)¶ß/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/ﬂ°(\w+)¶ß/g, (_, name: string) => ({ quot: "\"", lt: "<", gt: ">", amp: "&" })[name] ?? `#${name};`)

const node = (path: string, compensated = false): PlanNode => ({ path, kind: "step", compensated, tools: [], policies: [] })

const planOf = (nodes: ReadonlyArray<PlanNode>): Plan.FlowPlan => ({
  flow: "f",
  input: {},
  output: {},
  nodes,
  tools: [],
  outside: [],
  notes: [],
  warnings: []
})

/** Parses with the official parser and returns its vertices (id → label). */
let registered = false
const parse = async (source: string): Promise<Map<string, string>> => {
  if (!registered) registered = Boolean(await mermaid.parse("flowchart TD\n  a")) // registers the diagram types
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(source)
  const db = diagram.db as unknown as { getVertices: () => Map<string, { text?: string }> }
  return new Map([...db.getVertices()].map(([id, v]) => [id, decodeLabel(v.text ?? "")]))
}

describe("Mermaid ids and labels", () => {
  it("the steps `a b`, `a_b` and `a-b` get three ids, and the parser sees three nodes", async () => {
    const ids = ["a b", "a_b", "a-b"].map((p) => Plan.mermaidId(p))
    assert.deepStrictEqual(ids, ["n_a__20b", "n_a__5fb", "n_a__2db"])
    const vertices = await parse(Plan.toMermaid(planOf(["a b", "a_b", "a-b"].map((p) => node(p)))))
    assert.deepStrictEqual([...vertices.keys()], ids)
    assert.deepStrictEqual([...vertices.values()], ["a b", "a_b", "a-b"])
  })

  it("distinct paths get distinct ids in Mermaid's id grammar (property)", () => {
    fc.assert(
      fc.property(stepPath, (path) => {
        const id = Plan.mermaidId(path)
        assert.match(id, /^[A-Za-z0-9_]+$/)
        assert.strictEqual(decodeId(id), path) // a left inverse: distinct paths, distinct ids
        assert.notStrictEqual(Plan.mermaidId(path, "u"), id)
      }),
      { seed, numRuns: 500 }
    )
  })

  it("every rendered plan parses with the official parser: one node per step, labels intact (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(stepName, fc.boolean()), { minLength: 1, maxLength: 6, selector: ([name]) => name }),
        async (steps) => {
          const source = Plan.toMermaid(planOf(steps.map(([name, compensated]) => node(name, compensated))))
          const vertices = await parse(source)
          const expected = steps.flatMap(([name, compensated]) =>
            compensated ? [Plan.mermaidId(name), Plan.mermaidId(name, "u")] : [Plan.mermaidId(name)]
          )
          assert.sameMembers([...vertices.keys()], expected, source)
          for (const [name] of steps) {
            assert.strictEqual(vertices.get(Plan.mermaidId(name)), name, source)
          }
        }
      ),
      { seed, numRuns: 40 }
    )
  })

  it("a real flow's plan with groups, a DAG and compensations parses", async () => {
    const vertices = await parse(Plan.toMermaid(planOf([
      { ...node("d"), kind: "dag" },
      { ...node("d/re serve", true), kind: "node" },
      node("d/re serve/call", true),
      { ...node("d/charge"), kind: "node", needs: ["re serve"], condition: "paid \"now\"" },
      node("d/charge/call"),
      { ...node("gate"), kind: "gate" }
    ])))
    assert.includeMembers([...vertices.keys()], [Plan.mermaidId("d/re serve/call"), Plan.mermaidId("d/charge/call"), Plan.mermaidId("gate")])
  })
})

describe("plan definition errors", () => {
  it("a duplicate step name fails the plan with a FlowDefinition error", async () => {
    const dup = Flow.make({
      name: "dup",
      input: Schema.Struct({}),
      output: Schema.Void,
      run: () =>
        Effect.gen(function*() {
          yield* step("build", Effect.void)
          yield* step("build", Effect.void)
        })
    })
    const exit = await Effect.runPromise(Effect.exit(Flow.plan(dup, {})))
    assert.isTrue(Exit.isFailure(exit))
    if (Exit.isFailure(exit)) {
      const error = exit.cause.reasons.map((r) => (r._tag === "Fail" ? r.error : undefined)).find((e) => e !== undefined)
      assert.instanceOf(error, FlowError)
      assert.strictEqual((error as FlowError).reason._tag, "FlowDefinition")
      assert.include((error as FlowError).message, "duplicate step name \"build\"")
    }
  })
})
