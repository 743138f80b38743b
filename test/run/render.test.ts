/**
 * The run report's pure renderers: event sequences → model → plain lines, tree lines, summary,
 * path taken, JSON lines.
 */
import { assert, describe, it } from "@effect/vitest"
import type { FlowEvent } from "../../dsl/flow/FlowEvents.ts"
import { jsonLine, plainLines } from "../../src/app/run/Lines.ts"
import { changes, fold } from "../../dsl/flow/EventFold.ts"
import { formatMs, policyText } from "../../src/app/run/Text.ts"
import { stripAnsi } from "../../src/app/run/Style.ts"
import { pathTakenLines, summarize, summaryLines } from "../../src/app/run/Summary.ts"
import { treeLines } from "../../src/app/run/Tree.ts"

type Spec = FlowEvent extends infer T ? T extends FlowEvent ? Omit<T, "runId" | "at"> : never : never

/** Stamps events with a run id and increasing times (10 ms apart). */
const events = (...specs: ReadonlyArray<Spec>): Array<FlowEvent> =>
  specs.map((spec, i) => ({ ...spec, runId: "run-1234abcd", at: 1_000 + i * 10 }) as FlowEvent)

/** A saga that fails at `charge` after a retry; `reserve` is compensated; `ship` skipped. */
const failedRun = events(
  { _tag: "FlowStarted", flow: "orders", engine: "memory", sandbox: true },
  { _tag: "StepStarted", path: "reserve", kind: "step" },
  { _tag: "StepSucceeded", path: "reserve", kind: "step", durationMs: 20, replayed: false },
  { _tag: "StepStarted", path: "charge", kind: "step" },
  { _tag: "StepRetried", path: "charge", attempt: 2, delayMs: 400, reason: "Timeout" },
  { _tag: "Policy", path: "charge", event: { _tag: "RetryScheduled", policy: "retry", attempt: 2, delayMs: 400, reason: "Timeout" } },
  { _tag: "Policy", path: "charge", event: { _tag: "BreakerTransition", policy: "breaker", key: "pay", from: "closed", to: "open" } },
  { _tag: "Policy", path: "charge", event: { _tag: "CacheMiss", policy: "cache", key: "k" } },
  { _tag: "Gateway", path: "charge", event: { _tag: "ToolProgress", server: "pay", tool: "charge", progress: 1, total: 2 } },
  {
    _tag: "StepFailed",
    path: "charge",
    kind: "step",
    durationMs: 830,
    error: "pay.charge failed: card declined",
    errorTag: "McpflowToolError.ToolFailed",
    interrupted: false,
    attempts: 2
  },
  { _tag: "StepSkipped", path: "ship", kind: "step", why: "condition false" },
  { _tag: "CompensationStarted", path: "reserve" },
  { _tag: "Compensated", path: "reserve", durationMs: 5 },
  {
    _tag: "FlowFinished",
    flow: "orders",
    outcome: "failure",
    durationMs: 1_234,
    failedStep: "charge",
    error: "pay.charge failed: card declined",
    errorTag: "McpflowToolError"
  }
)

const plain = (evts: ReadonlyArray<FlowEvent>, level: "quiet" | "normal" | "verbose") =>
  changes(evts).flatMap((change) => plainLines(change, { level, color: false }))

describe("plain lines", () => {
  it("one line per started, finished, skipped, retried and compensated step; notable policy events", () => {
    assert.deepStrictEqual(plain(failedRun, "normal"), [
      "mcpflow · orders · run run-1234 · memory engine · sandbox: in-process fake servers, nothing real is touched",
      "▸ reserve",
      "✓ reserve 20ms",
      "▸ charge",
      "↻ charge: attempt 2 in 400ms after Timeout",
      "! charge: breaker pay closed → open",
      "✗ charge 830ms (2 attempts): McpflowToolError.ToolFailed: pay.charge failed: card declined",
      "↷ ship skipped: condition false",
      "⟲ reserve compensated 5ms"
    ])
  })

  it("verbose adds every policy event (but not the retry twice), tool progress and compensation starts", () => {
    const lines = plain(failedRun, "verbose")
    assert.include(lines, "! charge: cache miss")
    assert.include(lines, "  charge: progress pay.charge 1/2")
    assert.include(lines, "⟲ reserve: compensating")
    assert.strictEqual(lines.filter((l) => l.includes("400ms")).length, 1)
  })

  it("quiet prints no event line", () => {
    assert.deepStrictEqual(plain(failedRun, "quiet"), [])
  })

  it("groups carry their kind; interrupted steps say so; replayed steps too", () => {
    assert.deepStrictEqual(
      plain(
        events(
          { _tag: "StepStarted", path: "checks", kind: "parallel" },
          { _tag: "StepSucceeded", path: "checks/a", kind: "step", durationMs: 1_500, replayed: true },
          { _tag: "StepFailed", path: "checks/b", kind: "step", durationMs: 300, error: "interrupted", errorTag: "Interrupted", interrupted: true }
        ),
        "normal"
      ),
      ["▸ checks (parallel)", "✓ checks/a 1.5s (replayed from the journal)", "⊘ checks/b interrupted after 300ms"]
    )
  })

  it("colours only when asked", () => {
    const [line] = plainLines(changes(failedRun)[2]!, { level: "normal", color: true })
    assert.notStrictEqual(line, stripAnsi(line ?? ""))
    assert.strictEqual(stripAnsi(line ?? ""), "✓ reserve 20ms")
  })
})

describe("json lines", () => {
  it("each event is one JSON object on one line", () => {
    for (const event of failedRun) {
      const line = jsonLine(event)
      assert.notInclude(line, "\n")
      assert.deepStrictEqual(JSON.parse(line), event)
    }
  })
})

describe("tree", () => {
  it("nests children, shows compensations under the step they undo, retries and progress inline", () => {
    const running = fold(events(
      { _tag: "FlowStarted", flow: "orders", engine: "memory" },
      { _tag: "StepStarted", path: "order", kind: "saga" },
      { _tag: "StepStarted", path: "order/reserve", kind: "step" },
      { _tag: "StepSucceeded", path: "order/reserve", kind: "step", durationMs: 20, replayed: false },
      { _tag: "StepStarted", path: "order/charge", kind: "step" },
      { _tag: "StepRetried", path: "order/charge", attempt: 2, delayMs: 400, reason: "Timeout" },
      { _tag: "Gateway", path: "order/charge", event: { _tag: "ToolProgress", server: "pay", tool: "charge", progress: 1, total: 2 } }
    ))
    assert.deepStrictEqual(treeLines(running, { now: 1_100, color: false, level: "normal" }), [
      "▸ order (saga) 90ms…",
      "  ✓ reserve 20ms",
      "  ▸ charge 60ms… ↻ attempt 2 in 400ms after Timeout pay.charge 1/2"
    ])
    const done = fold(failedRun)
    assert.deepStrictEqual(treeLines(done, { now: 2_000, color: false, level: "normal" }), [
      "✓ reserve 20ms",
      "  ⟲ compensated 5ms",
      "✗ charge 830ms (2 attempts): McpflowToolError.ToolFailed: pay.charge failed: card declined",
      "  ! breaker pay closed → open",
      "↷ ship skipped: condition false"
    ])
    assert.include(treeLines(done, { now: 2_000, color: false, level: "verbose" }), "  · cache miss")
  })

  it("collapses finished groups, then drops the oldest lines, to fit; cuts long lines", () => {
    const specs: Array<Spec> = [{ _tag: "StepStarted", path: "batch", kind: "forEach" }]
    for (let i = 0; i < 20; i++) {
      specs.push({ _tag: "StepStarted", path: `batch/${i}`, kind: "item" })
      specs.push({ _tag: "StepSucceeded", path: `batch/${i}`, kind: "item", durationMs: 1, replayed: false })
    }
    specs.push({ _tag: "StepSucceeded", path: "batch", kind: "forEach", durationMs: 30, replayed: false })
    specs.push({ _tag: "StepStarted", path: "next", kind: "step" })
    const model = fold(events(...specs))
    assert.deepStrictEqual(treeLines(model, { now: 2_000, color: false, level: "normal", maxLines: 5 }), [
      "✓ batch (forEach) 30ms [20 succeeded]",
      "▸ next 580ms…"
    ])
    const cut = treeLines(model, { now: 2_000, color: false, level: "normal", maxLines: 1, columns: 10 })
    assert.strictEqual(cut.length, 1)
    assert.strictEqual(stripAnsi(cut[0]!), "▸ next 58…")
  })
})

describe("summary", () => {
  it("a failure: outcome, duration, steps by status, retries, compensations, the failing step and its typed cause", () => {
    const summary = summarize(fold(failedRun))
    assert.deepInclude(summary, {
      _tag: "RunSummary",
      flow: "orders",
      outcome: "failure",
      durationMs: 1_234,
      sandbox: true,
      retries: 1,
      failedStep: "charge",
      errorTag: "McpflowToolError.ToolFailed",
      error: "pay.charge failed: card declined"
    })
    assert.deepStrictEqual(summary.steps, { succeeded: 1, failed: 1, skipped: 1, interrupted: 0, compensated: 1 })
    assert.deepStrictEqual(summary.compensations, { ran: 1, failed: 0 })
    assert.deepStrictEqual(summaryLines(summary, { color: false }), [
      "✗ orders failed in 1.2s (sandbox)",
      "  steps: 1 succeeded, 1 failed, 1 skipped, 1 compensated · 1 retry · compensations: 1",
      "  failed step: charge",
      "  cause: McpflowToolError.ToolFailed: pay.charge failed: card declined"
    ])
  })

  it("a success and an interruption", () => {
    const ok = summarize(fold(events(
      { _tag: "FlowStarted", flow: "cicd", engine: "memory" },
      { _tag: "StepStarted", path: "build", kind: "step" },
      { _tag: "StepSucceeded", path: "build", kind: "step", durationMs: 400, replayed: false },
      { _tag: "FlowFinished", flow: "cicd", outcome: "success", durationMs: 410 }
    )))
    assert.deepStrictEqual(summaryLines(ok, { color: false }), [
      "✓ cicd succeeded in 410ms",
      "  steps: 1 succeeded · 0 retries · compensations: 0"
    ])
    const interrupted = summarize(fold(events(
      { _tag: "FlowStarted", flow: "cicd", engine: "memory" },
      { _tag: "StepStarted", path: "a", kind: "step" },
      { _tag: "StepSucceeded", path: "a", kind: "step", durationMs: 5, replayed: false },
      { _tag: "StepStarted", path: "b", kind: "step" },
      { _tag: "StepFailed", path: "b", kind: "step", durationMs: 5, error: "interrupted", errorTag: "Interrupted", interrupted: true },
      { _tag: "CompensationStarted", path: "a" },
      { _tag: "CompensationFailed", path: "a", error: "inventory down" },
      { _tag: "FlowFinished", flow: "cicd", outcome: "interrupted", durationMs: 65_000, error: "interrupted", errorTag: "Interrupted" }
    )))
    assert.deepStrictEqual(summaryLines(interrupted, { color: false }), [
      "⊘ cicd interrupted after 1m 05s",
      "  steps: 1 succeeded, 1 interrupted · 0 retries · compensations: 0 ran, 1 failed"
    ])
  })

  it("a run that never started takes its failure from the fallback", () => {
    const summary = summarize(fold([]), {
      flow: "orders",
      outcome: "failure",
      durationMs: 2,
      errorTag: "FlowError",
      error: "orders: invalid input at mode: Expected \"ok\""
    })
    assert.strictEqual(summary.flow, "orders")
    assert.strictEqual(summary.error, "orders: invalid input at mode: Expected \"ok\"")
  })

  it("the path taken, for --dry-run", () => {
    assert.deepStrictEqual(pathTakenLines(fold(failedRun), { color: false }), [
      "path taken:",
      "  ✓ reserve (compensated)",
      "  ✗ charge",
      "  ↷ ship (skipped: condition false)"
    ])
  })

  it("gives up after 1 attempt, or after 3 attempts", () => {
    const gaveUp = (attempts: number) => policyText({ _tag: "RetryGaveUp", policy: "retry", attempts, reason: "Timeout" })
    assert.deepStrictEqual([gaveUp(1), gaveUp(3)], ["gave up after 1 attempt: Timeout", "gave up after 3 attempts: Timeout"])
  })

  it("formats durations", () => {
    assert.deepStrictEqual([formatMs(0), formatMs(999.6), formatMs(1_840), formatMs(125_000)], ["0ms", "1000ms", "1.8s", "2m 05s"])
  })
})
