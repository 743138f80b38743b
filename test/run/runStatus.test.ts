/**
 * Run statuses from what the journal knows (the record, its owner, its events), and the Markdown
 * summary a run appends to `$GITHUB_STEP_SUMMARY`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { assert, describe, it } from "vitest"
import type { FlowEvent } from "../../dsl/flow/FlowEvents.ts"
import type { RunRecord } from "../../dsl/ports/RunJournal.ts"
import * as GitHubSummary from "../../src/app/run/GitHubSummary.ts"
import { heartbeatTimeoutMs, type Liveness, runStatus } from "../../src/app/run/RunStatus.ts"
import type { Summary } from "../../src/app/run/Summary.ts"

const record = (patch: Partial<RunRecord> = {}): RunRecord => ({
  runId: "r1",
  flow: "deploy",
  status: "running",
  startedAt: 0,
  finishedAt: undefined,
  input: {},
  fingerprint: "f",
  source: undefined,
  failedStep: undefined,
  error: undefined,
  errorTag: undefined,
  owner: { pid: 42, host: "box", heartbeatAt: 1_000 },
  ...patch
})
const probe = (patch: Partial<Liveness> = {}): Liveness => ({ now: 2_000, host: "box", alive: (pid) => pid === 42, ...patch })
const ev = (e: Record<string, unknown>) => ({ runId: "r1", at: 10, ...e }) as unknown as FlowEvent

describe("runStatus", () => {
  it("an unfinished run is running while its owner lives, crashed when its pid is gone or its heartbeat is stale", () => {
    assert.strictEqual(runStatus(record(), [], probe()).status, "running")
    assert.strictEqual(runStatus(record(), [], probe({ alive: () => false })).status, "crashed")
    assert.strictEqual(runStatus(record(), [], probe({ now: 1_000 + heartbeatTimeoutMs })).status, "crashed")
    assert.strictEqual(runStatus(record({ owner: undefined }), [], probe()).status, "crashed")
    // another host: the pid cannot be checked, the heartbeat decides
    assert.strictEqual(runStatus(record(), [], probe({ host: "other", alive: () => false })).status, "running")
  })

  it("a run parked on a durable wait is waiting (for which signal) or sleeping (until when), whoever owns it", () => {
    const waiting = [
      ev({ _tag: "StepStarted", path: "wait:approval", kind: "wait" }),
      ev({ _tag: "StepWaiting", path: "wait:approval", kind: "wait", signal: "approval" })
    ]
    assert.deepStrictEqual(runStatus(record(), waiting, probe({ alive: () => false })), {
      status: "waiting",
      step: "wait:approval",
      waitingFor: "approval"
    })
    const sleeping = [ev({ _tag: "StepWaiting", path: "soak", kind: "wait", until: 9_000 })]
    assert.deepStrictEqual(runStatus(record(), sleeping, probe()), { status: "sleeping", step: "soak", until: 9_000 })
    // the wait ended: no longer parked
    const woke = [...waiting, ev({ _tag: "StepSucceeded", path: "wait:approval", kind: "wait", durationMs: 5, replayed: false })]
    assert.strictEqual(runStatus(record(), woke, probe()).status, "running")
  })

  it("a finished run keeps its stored status", () => {
    for (const status of ["succeeded", "failed", "cancelled", "interrupted"] as const) {
      assert.strictEqual(runStatus(record({ status }), [], probe({ alive: () => false })).status, status)
    }
  })
})

const summary: Summary = {
  _tag: "RunSummary",
  flow: "orders",
  runId: "3d87c2c5-0000",
  outcome: "failure",
  durationMs: 1234,
  sandbox: true,
  steps: { succeeded: 1, failed: 1, skipped: 0, interrupted: 0, compensated: 1 },
  retries: 2,
  compensations: { ran: 1, failed: 0 },
  failedStep: "charge",
  errorTag: "McpflowToolError.ToolFailed",
  error: "card | declined",
  chaos: { seed: 7, faults: [{ atMs: 0, server: "shop", tool: "charge", call: 1, kind: "ToolError", detail: "injected" }] }
}

describe("GitHub step summary", () => {
  it("appends one Markdown section per run to the file $GITHUB_STEP_SUMMARY names, and nothing when it is unset", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpflow-gh-"))
    try {
      const file = join(dir, "summary.md")
      await Effect.runPromise(GitHubSummary.append(summary, { GITHUB_STEP_SUMMARY: file }))
      await Effect.runPromise(GitHubSummary.append({ ...summary, outcome: "success", chaos: undefined, error: undefined, errorTag: undefined, failedStep: undefined }, { GITHUB_STEP_SUMMARY: file }))
      await Effect.runPromise(GitHubSummary.append(summary, {}))
      const text = readFileSync(file, "utf8")
      assert.strictEqual(text.match(/^### /gm)?.length, 2)
      assert.include(text, "### ❌ mcpflow · orders failed in 1.2s")
      assert.include(text, "### ✅ mcpflow · orders succeeded in 1.2s")
      assert.include(text, "| failed step | `charge` |")
      assert.include(text, "| cause | McpflowToolError.ToolFailed: card \\| declined |", "a pipe in a cell is escaped")
      assert.include(text, "- +0ms `shop.charge` (call 1) ToolError: injected")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
