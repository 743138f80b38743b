/**
 * What `mcpflow run` journals besides its steps, read back by `mcpflow show` (text and JSON):
 * a live chaos run's fired faults (one `FaultFired` event per fault, under the step whose call it
 * hit, the same faults as its `RunSummary`), and a succeeded run's output on the SQLite engine
 * (a `Schema.Date` and a `Schema.Redacted` field: the run succeeds, the token is sealed in the
 * journal and shown as `<redacted>`). Spawns `bin/mcpflow.js` (run `npm run build` first).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import { plainEnv, root, runCli } from "../support/cli.ts"

const fixture = (name: string) => join(root, "test/e2e/fixtures", name)
const tmp = mkdtempSync(join(tmpdir(), "mcpflow-journaled-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const mcpflow = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => runCli(args, { env: { ...plainEnv, ...env } })

const lastJson = <A>(stdout: string): A => JSON.parse(stdout.trim().split("\n").at(-1)!) as A

interface Fault {
  readonly kind: string
  readonly server: string
  readonly tool: string
  readonly call: number
  readonly step?: string
  readonly detail?: string
}

// The two cases are independent (their own state directories): they run side by side.
describe.concurrent("mcpflow run journals", () => {
  it("a live chaos run's fired faults: FaultFired events under their steps, shown by show and show --json", async () => {
    const stateDir = join(tmp, "chaos")
    const run = await mcpflow(["run", fixture("orders.ts"), "--input", '{"mode":"ok"}', "--chaos", "3", "--rate", "1", "--json", "--state-dir", stateDir])
    const summary = lastJson<{ runId: string; chaos?: { seed: number; faults: ReadonlyArray<Fault> } }>(run.stdout)
    const faults = summary.chaos?.faults ?? []
    assert.isAbove(faults.length, 0, run.stdout + run.stderr)
    assert.isTrue(faults.every((f) => f.step === "reserve" || f.step === "charge"), JSON.stringify(faults))

    const [shown, text] = await Promise.all([
      mcpflow(["show", summary.runId.slice(0, 8), "--json", "--state-dir", stateDir]),
      mcpflow(["show", summary.runId, "--state-dir", stateDir])
    ])
    assert.strictEqual(shown.code, 0, shown.stderr)
    const detail = JSON.parse(shown.stdout) as { events: ReadonlyArray<{ _tag: string } & Partial<Fault> & { path?: string; at?: number }> }
    const journaled = detail.events.filter((e) => e._tag === "FaultFired")
    // The same faults as the RunSummary, each under the step whose call it hit.
    assert.deepStrictEqual(
      journaled.map((e) => [e.path, e.kind, `${e.server}.${e.tool}`, e.call]),
      faults.map((f) => [f.step, f.kind, `${f.server}.${f.tool}`, f.call])
    )
    assert.isTrue(journaled.every((e) => typeof e.at === "number" && e.at > 1e12), "each has its time")

    assert.strictEqual(text.code, 0, text.stderr)
    const first = faults[0]!
    assert.include(text.stdout, `ϟ fault ${first.kind} on ${first.server}.${first.tool} (call ${first.call})`)
  }, 90_000)

  it("a durable run whose output holds a Date and a Redacted succeeds; show prints the output with <redacted>", async () => {
    const stateDir = join(tmp, "dated")
    const env = { MCPFLOW_JOURNAL_KEY: "e2e-journal-key-output" }
    const run = await mcpflow(["run", fixture("datedOutput.ts"), "--input", '{"n":21}', "--json", "--state-dir", stateDir], env)
    assert.strictEqual(run.code, 0, run.stdout + run.stderr)
    const summary = lastJson<{ runId: string; outcome: string; output: unknown }>(run.stdout)
    assert.strictEqual(summary.outcome, "success")
    assert.deepStrictEqual(summary.output, { at: "2026-12-05T10:00:00.000Z", token: "<redacted>", n: 42 })

    const [shown, text] = await Promise.all([
      mcpflow(["show", summary.runId, "--json", "--state-dir", stateDir]),
      mcpflow(["show", summary.runId, "--state-dir", stateDir])
    ])
    assert.deepStrictEqual((JSON.parse(shown.stdout) as { output: unknown }).output, { at: "2026-12-05T10:00:00.000Z", token: "<redacted>", n: 42 })
    assert.include(text.stdout, `output: {"at":"2026-12-05T10:00:00.000Z","token":"<redacted>","n":42}`)
    for (const out of [run, shown, text]) assert.notInclude(out.stdout + out.stderr, "tok-planted-output-7")
    for (const file of readdirSync(stateDir)) {
      if (file.endsWith(".db") || file.endsWith("-wal")) {
        assert.isFalse(readFileSync(join(stateDir, file)).includes("tok-planted-output-7"), `the token in ${file}`)
      }
    }
  }, 90_000)
})
