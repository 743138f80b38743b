/**
 * `Alternatives`: a typed table capability → ordered alternatives; serving tries them in order,
 * says which served, and the run's summary lists degraded and lost capabilities.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Result, Schema } from "effect"
import { Alternatives, Flow, FlowEngine, FlowEvents, parallel, step } from "../../dsl/flow/index.ts"
import { fold } from "../../dsl/flow/EventFold.ts"
import { McpflowToolError, McpGateway, NotAllowed, ServerUnavailable, Tool, ToolFailed } from "../../dsl/index.ts"
import { summarize, summaryLines } from "../../src/app/run/Summary.ts"

const Snyk = Tool.server("snyk", {
  test: Tool.define({
    description: "Scan an image",
    input: Schema.Struct({ image: Schema.String }),
    output: Schema.Struct({ issues: Schema.Array(Schema.String) })
  })
})
const Trivy = Tool.server("trivy", {
  image: Tool.define({
    description: "Scan an image",
    input: Schema.Struct({ target: Schema.String }),
    output: Schema.Struct({ vulns: Schema.Array(Schema.Struct({ id: Schema.String })) })
  })
})
const Semgrep = Tool.server("semgrep", {
  scan: Tool.define({ description: "SAST", input: Schema.Struct({ path: Schema.String }), output: Schema.Struct({ findings: Schema.Number }) })
})

const Audit = Alternatives.table({
  scan: [
    Alternatives.tool(Snyk.test, { args: (image: string) => ({ image }), result: (out) => Effect.succeed(out.issues) }),
    Alternatives.tool(Trivy.image, { args: (image: string) => ({ target: image }), result: (out) => Effect.succeed(out.vulns.map((v) => v.id)) })
  ],
  sast: [Alternatives.tool(Semgrep.scan, { args: (path: string) => ({ path }), result: (out) => Effect.succeed(out.findings) })]
}, { when: (e) => !(e instanceof McpflowToolError && e.reason._tag === "NotAllowed") })

/** A gateway whose servers in `down` are unavailable and in `refused` not allowed; it records the tools called. */
const gatewayOf = (down: ReadonlyArray<string>, refused: ReadonlyArray<string> = []) => {
  const called: Array<string> = []
  const gateway = McpGateway.of({
    servers: [],
    call: (contract, input) =>
      Effect.suspend(() => {
        called.push(contract.name)
        const where = { server: contract.server, tool: contract.tool }
        if (refused.includes(contract.server)) return Effect.fail(new McpflowToolError({ reason: new NotAllowed({ ...where, allowed: [] }) }))
        if (down.includes(contract.server)) {
          return Effect.fail(new McpflowToolError({ reason: new ServerUnavailable({ ...where, detail: "down" }) }))
        }
        if (contract.server === "snyk") return Effect.succeed({ issues: [`snyk:${(input as { image: string }).image}`] } as never)
        if (contract.server === "trivy") return Effect.succeed({ vulns: [{ id: `trivy:${(input as { target: string }).target}` }] } as never)
        return Effect.fail(new McpflowToolError({ reason: new ToolFailed({ ...where, text: "boom" }) }))
      }),
    callRaw: () => Effect.die("unused"),
    listTools: () => Effect.succeed([]),
    checkContracts: () => Effect.succeed([]),
    status: Effect.succeed([])
  })
  return { called, gateway }
}

/** As JSON: what served and its value, or the error's tag (and reason). */
const json = (r: Result.Result<Alternatives.Served<unknown>, unknown>) =>
  Result.isSuccess(r)
    ? { servedBy: r.success.servedBy, value: r.success.value, failures: r.success.failures.map((f) => f.by) }
    : { error: (r.failure as { _tag: string })._tag, ...(r.failure instanceof McpflowToolError ? { reason: r.failure.reason._tag } : {}) }

const audit = Flow.make({
  name: "audit",
  input: Schema.Struct({}),
  output: Schema.Unknown,
  uses: [Snyk.test, Trivy.image, Semgrep.scan],
  run: () =>
    Effect.map(
      parallel("checks", {
        scan: step("scan", Alternatives.serve(Audit.scan, "api:1")),
        sast: step("sast", Alternatives.serve(Audit.sast, "src/"))
      }, { mode: "settle" }),
      (settled) => ({ scan: json(settled.scan), sast: json(settled.sast) })
    )
})

const runAudit = (down: ReadonlyArray<string>, refused: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const { called, gateway } = gatewayOf(down, refused)
    const sink = FlowEvents.collect()
    const exit = yield* Effect.exit(Flow.run(audit, {}).pipe(
      Effect.provideService(FlowEvents.FlowEvents, sink),
      Effect.provideService(McpGateway, gateway),
      Effect.provide(FlowEngine.layerMemory)
    ))
    return { called, exit, summary: summarize(fold(sink.events)), events: sink.events }
  })

describe("Alternatives", () => {
  it.effect("the preferred alternative serves: not degraded, the later ones not called", () =>
    Effect.gen(function*() {
      const served = yield* Alternatives.serve(Audit.scan, "api:1").pipe(Effect.provideService(McpGateway, gatewayOf([]).gateway))
      assert.deepStrictEqual(served, { value: ["snyk:api:1"], capability: "scan", servedBy: "snyk.test", preferred: "snyk.test", degraded: false, failures: [] })
    }))

  it.effect("the next alternative serves with its own mapping; the summary says which served and which capability is lost", () =>
    Effect.gen(function*() {
      const { called, exit, summary } = yield* runAudit(["snyk"])
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.deepStrictEqual(Exit.isSuccess(exit) ? exit.value : undefined, {
        scan: { servedBy: "trivy.image", value: ["trivy:api:1"], failures: ["snyk.test"] }, // trivy's own argument and result mapping
        sast: { error: "CapabilityLost" }
      })
      assert.sameMembers(called, ["snyk.test", "semgrep.scan", "trivy.image"])
      assert.sameMembers([...summary.degraded ?? []], ["sast lost", "scan served by trivy.image instead of snyk.test"])
      const line = summaryLines(summary, { color: false }).find((l) => l.startsWith("  degraded: "))
      assert.include(line, "sast lost")
      assert.include(line, "scan served by trivy.image instead of snyk.test")
    }))

  it.effect("a failure `when` refuses is not worked around: it stops there, with its own error", () =>
    Effect.gen(function*() {
      const { called, exit } = yield* runAudit([], ["snyk"])
      assert.deepInclude(Exit.isSuccess(exit) ? exit.value as object : {}, { scan: { error: "McpflowToolError", reason: "NotAllowed" } })
      assert.notInclude(called, "trivy.image")
    }))

  it.effect("a plan lists every alternative's tool on the step, and the order as a fallback policy", () =>
    Effect.gen(function*() {
      const plan = yield* Flow.plan(audit)
      const scan = plan.nodes.find((n) => n.path === "checks/scan/scan")
      assert.deepStrictEqual(scan?.tools, ["snyk.test", "trivy.image"])
      assert.deepStrictEqual(scan?.policies, ["fallback(capability=scan, alternatives=snyk.test|trivy.image)"])
    }))
})
