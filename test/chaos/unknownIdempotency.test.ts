/**
 * `no-duplicate-request` uses the same rule as `Retry`: a tool not annotated `idempotent: true`
 * or `readOnly: true` counts as non-idempotent. A flow that retries an un-annotated tool with
 * `retryNonIdempotent: true` is caught; the same flow on a tool declared idempotent is not.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Chaos, FakeServer, Fault } from "../../chaos/index.ts"
import { Flow, step } from "../../dsl/flow/index.ts"
import { Tool } from "../../dsl/index.ts"

const notesWith = (annotations: { readonly idempotent?: boolean }) =>
  Tool.server("notes", {
    append: Tool.define({
      description: "Append a line to the team's notes",
      input: Schema.Struct({ text: Schema.String }),
      output: Schema.Struct({ lines: Schema.Number }),
      annotations
    })
  })

const setup = (annotations: { readonly idempotent?: boolean }) => {
  const Notes = notesWith(annotations)
  const flow = Flow.make({
    name: "append-with-retries",
    input: Schema.Struct({ text: Schema.String }),
    output: Schema.Struct({ lines: Schema.Number }),
    uses: [Notes],
    run: ({ text }) =>
      step("append", Notes.append({ text }, { timeout: "5 seconds" }), {
        policy: { retry: { maxAttempts: 3, backoff: { kind: "constant", initial: "1 second" }, retryNonIdempotent: true } }
      })
  })
  const servers = Effect.sync(() => {
    let lines = 0
    return [{ key: "notes", handlers: [FakeServer.handle(Notes.append, () => Effect.sync(() => ({ lines: ++lines })))] }] as ReadonlyArray<FakeServer.Definition>
  })
  return { flow, servers }
}

/** The first response is lost after the line was appended: the retry appends it again. */
const lostOnce = Fault.plan(1, [Fault.lostResponse("notes.append", { window: { fromMs: 0, toMs: 1 } })])

describe("no-duplicate-request: unknown idempotency counts as non-idempotent", () => {
  it("a retried un-annotated tool (retryNonIdempotent: true) is caught", async () => {
    const { flow, servers } = setup({})
    const run = await Effect.runPromise(Chaos.runFlowOnce({ flow, input: { text: "deploy done" }, servers }, lostOnce))
    assert.strictEqual(run.sent.length, 2, Chaos.formatFlowRun(run))
    assert.deepStrictEqual(run.violations.map((v) => v.invariant), ["no-duplicate-request"], Chaos.formatFlowRun(run))
    assert.include(run.violations[0]!.detail, "notes.append (not known to be idempotent) was sent again (#1)")
    const report = await Effect.runPromise(Chaos.checkFlow(flow, { input: { text: "deploy done" }, servers, runs: 100, seed: 3, faults: { kinds: ["LostResponse"] } }))
    assert.isFalse(report.ok, "the search finds it too")
    assert.deepStrictEqual(report.counterexample?.violations.map((v) => v.invariant), ["no-duplicate-request"])
  })

  it("the same retries on a tool declared idempotent hold", async () => {
    const { flow, servers } = setup({ idempotent: true })
    const run = await Effect.runPromise(Chaos.runFlowOnce({ flow, input: { text: "deploy done" }, servers }, lostOnce))
    assert.strictEqual(run.sent.length, 2, Chaos.formatFlowRun(run))
    assert.deepStrictEqual(run.violations, [], Chaos.formatFlowRun(run))
  })
})
