/**
 * End-to-end tests of the run history commands (`runs`, `show`, `cancel`, `prune`), of JSON
 * errors, and of `plan` on a definition error: each case spawns `bin/mcpflow.js` (run
 * `npm run build` first). Most cases read a journal this file writes itself (one run per status,
 * owners alive or gone, chosen ids), so they take no flow run; one case runs a real flow parked on
 * `Flow.waitFor` in another process, follows it, and cancels it.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Effect } from "effect"
import { afterAll, assert, describe, it, onTestFinished } from "vitest"
import type { FlowEvent } from "../../dsl/flow/FlowEvents.ts"
import { type CliRun, limited, plainEnv, startCli } from "../support/cli.ts"
import { RunJournal } from "../../dsl/ports/RunJournal.ts"
import { layer as journalLayer } from "../../src/runtime/engine/SqliteRunJournal.ts"

const root = resolve(import.meta.dirname, "../..")
const fixture = (name: string) => join(root, "test/e2e/fixtures", name)
const tmp = mkdtempSync(join(tmpdir(), "mcpflow-history-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

type Done = CliRun

const start = (args: ReadonlyArray<string>, onStdout?: (all: string) => void, env: Record<string, string> = {}) =>
  startCli(args, { env: { ...plainEnv, ...env }, onStdout })
/** A short command, at most 3 at a time (the machine may be small and busy). */
const mcpflow = limited(3, (args: ReadonlyArray<string>): Promise<Done> => start(args).done)

const day = 86_400_000
const deadPid = 4_194_304 + 17 // above Linux's pid_max: never a live process

/** A journal with one run per status, written directly (ids chosen so prefixes are known). */
const seedJournal = async (stateDir: string) => {
  const file = join(stateDir, "runs.db")
  const { mkdirSync } = await import("node:fs")
  mkdirSync(stateDir, { recursive: true })
  const now = Date.now()
  const ev = (runId: string, at: number, e: Record<string, unknown>) => ({ runId, at, ...e }) as unknown as FlowEvent
  await Effect.runPromise(
    RunJournal.use((j) =>
      Effect.gen(function*() {
        const add = (runId: string, flow: string, startedAt: number) =>
          j.start({ runId, flow, input: {}, fingerprint: "f", startedAt })
        yield* add("aaaa1111-0000-4000-8000-000000000001", "deploy", now - 10 * day)
        yield* j.finish({ runId: "aaaa1111-0000-4000-8000-000000000001", status: "succeeded", finishedAt: now - 10 * day + 500 })
        yield* add("aaaa2222-0000-4000-8000-000000000002", "deploy", now - 2 * day)
        yield* j.finish({ runId: "aaaa2222-0000-4000-8000-000000000002", status: "failed", finishedAt: now - 2 * day + 900, failedStep: "apply", error: "boom" })
        yield* add("bbbb0000-0000-4000-8000-000000000003", "backup", now - 3000) // crashed: its owner is gone
        yield* add("cccc0000-0000-4000-8000-000000000004", "backup", now - 2000) // running: owned by this live process
        yield* add("dddd0000-0000-4000-8000-000000000005", "deploy", now - 1000) // waiting for a signal
        j.appendUnsafe(ev("dddd0000-0000-4000-8000-000000000005", now - 900, { _tag: "StepStarted", path: "wait:approval", kind: "wait" }))
        j.appendUnsafe(ev("dddd0000-0000-4000-8000-000000000005", now - 900, { _tag: "StepWaiting", path: "wait:approval", kind: "wait", signal: "approval" }))
        yield* add("eeee0000-0000-4000-8000-000000000006", "deploy", now - 500) // sleeping
        j.appendUnsafe(ev("eeee0000-0000-4000-8000-000000000006", now - 400, { _tag: "StepStarted", path: "soak", kind: "wait" }))
        j.appendUnsafe(ev("eeee0000-0000-4000-8000-000000000006", now - 400, { _tag: "StepWaiting", path: "soak", kind: "wait", until: now + 3_600_000 }))
        yield* add("ffff0000-0000-4000-8000-000000000007", "deploy", now - 100)
        yield* j.finish({ runId: "ffff0000-0000-4000-8000-000000000007", status: "cancelled", finishedAt: now - 50 })
      })
    ).pipe(Effect.provide(journalLayer(file)), Effect.scoped)
  )
  const db = new DatabaseSync(file)
  db.prepare("UPDATE mcpflow_runs SET owner_pid = ? WHERE run_id LIKE 'bbbb%' OR run_id LIKE 'dddd%'").run(deadPid)
  const beat = () =>
    db.prepare("UPDATE mcpflow_runs SET owner_pid = ?, owner_host = ?, heartbeat_at = ? WHERE run_id LIKE 'cccc%'").run(process.pid, hostname(), Date.now())
  beat()
  // The live owner's heartbeat, as a process running the run writes it (every 2 s).
  const timer = setInterval(beat, 1000)
  return { file, stop: () => (clearInterval(timer), db.close()) }
}

interface Listed {
  readonly runId: string
  readonly flow: string
  readonly status: string
  readonly parked?: { readonly step: string; readonly waitingFor?: string; readonly until?: number }
}

describe("run history", () => {
  it("tells every status apart, filters, accepts unique id prefixes, and says why a prefix is refused", async () => {
    const state = join(tmp, "seeded")
    const seeded = await seedJournal(state)
    onTestFinished(seeded.stop)
    const [all, crashed, deploySince, limited, byPrefix, ambiguous, none, text, misspelled] = await Promise.all([
      mcpflow(["runs", "--json", "--state-dir", state]),
      mcpflow(["runs", "--json", "--status", "crashed", "--state-dir", state]),
      mcpflow(["runs", "--json", "--flow", "deploy", "--since", "1d", "--state-dir", state]),
      mcpflow(["runs", "--json", "--limit", "2", "--state-dir", state]),
      mcpflow(["show", "dddd", "--json", "--state-dir", state]),
      mcpflow(["show", "aaaa", "--json", "--state-dir", state]),
      mcpflow(["show", "9999", "--state-dir", state]),
      mcpflow(["runs", "--state-dir", state]),
      mcpflow(["runs", "--flow", "delpoy", "--state-dir", state])
    ])
    assert.strictEqual(all.code, 0, all.stderr)
    const statuses = Object.fromEntries((JSON.parse(all.stdout) as Array<Listed>).map((r) => [r.runId.slice(0, 8), r.status]))
    assert.deepStrictEqual(statuses, {
      aaaa1111: "succeeded",
      aaaa2222: "failed",
      bbbb0000: "crashed",
      cccc0000: "running",
      dddd0000: "waiting",
      eeee0000: "sleeping",
      ffff0000: "cancelled"
    } as Record<string, string>)
    const waiting = (JSON.parse(all.stdout) as Array<Listed>).find((r) => r.runId.startsWith("dddd"))!
    assert.deepStrictEqual(waiting.parked, { status: "waiting", step: "wait:approval", waitingFor: "approval" } as never)
    const sleeping = (JSON.parse(all.stdout) as Array<Listed>).find((r) => r.runId.startsWith("eeee"))!
    assert.strictEqual(sleeping.parked?.step, "soak")
    assert.isAbove(sleeping.parked?.until ?? 0, Date.now())

    assert.deepStrictEqual((JSON.parse(crashed.stdout) as Array<Listed>).map((r) => r.runId.slice(0, 4)), ["bbbb"])
    assert.deepStrictEqual((JSON.parse(deploySince.stdout) as Array<Listed>).map((r) => r.runId.slice(0, 4)), ["ffff", "eeee", "dddd"])
    assert.deepStrictEqual((JSON.parse(limited.stdout) as Array<Listed>).map((r) => r.runId.slice(0, 4)), ["ffff", "eeee"])

    assert.strictEqual(byPrefix.code, 0, byPrefix.stderr)
    assert.strictEqual((JSON.parse(byPrefix.stdout) as Listed).runId, "dddd0000-0000-4000-8000-000000000005")

    assert.strictEqual(ambiguous.code, 2)
    assert.include(ambiguous.stderr, "ambiguous")
    assert.include(ambiguous.stderr, "aaaa1111-0000-4000-8000-000000000001")
    assert.include(ambiguous.stderr, "aaaa2222-0000-4000-8000-000000000002")
    const error = JSON.parse(ambiguous.stdout) as { error: { tag: string; message: string; exitCode: number } }
    assert.deepStrictEqual(Object.keys(error.error), ["tag", "message", "exitCode"])
    assert.strictEqual(error.error.tag, "UsageError")
    assert.strictEqual(error.error.exitCode, 2)
    assert.include(error.error.message, "aaaa1111")

    assert.strictEqual(none.code, 2)
    assert.include(none.stderr, 'no run with id or id prefix "9999"')
    // A flow name that matches nothing but is close to one that has runs says which.
    assert.strictEqual(misspelled.code, 0, misspelled.stderr)
    assert.include(misspelled.stdout, `no run of a flow named "delpoy"; did you mean "deploy"?`)
    assert.strictEqual(none.stdout, "", "no JSON without --json")

    assert.match(text.stdout, /dddd0000\s+deploy\s+waiting .*wait:approval: waiting for signal "approval"/)
    assert.match(text.stdout, /eeee0000\s+deploy\s+sleeping .*soak: sleeping until \d{4}-/)
    assert.match(text.stdout, /bbbb0000\s+backup\s+crashed/)
  })

  it("cancels a crashed run at once, refuses a finished one, and prunes only old finished runs", async () => {
    const state = join(tmp, "prune")
    const seeded = await seedJournal(state)
    onTestFinished(seeded.stop)
    const cancelled = await mcpflow(["cancel", "bbbb", "--json", "--state-dir", state])
    assert.strictEqual(cancelled.code, 0, cancelled.stderr)
    assert.deepInclude(JSON.parse(cancelled.stdout), { runId: "bbbb0000-0000-4000-8000-000000000003", status: "cancelled", compensated: false })
    const again = await mcpflow(["cancel", "bbbb", "--json", "--state-dir", state])
    assert.strictEqual(again.code, 2)
    assert.include(JSON.parse(again.stdout).error.message, "already cancelled")
    const pruned = await mcpflow(["prune", "--older-than", "1d", "--json", "--state-dir", state])
    assert.strictEqual(pruned.code, 0, pruned.stderr)
    assert.sameMembers((JSON.parse(pruned.stdout) as { pruned: Array<string> }).pruned, [
      "aaaa1111-0000-4000-8000-000000000001",
      "aaaa2222-0000-4000-8000-000000000002"
    ])
    const left = await mcpflow(["runs", "--json", "--state-dir", state])
    assert.deepStrictEqual((JSON.parse(left.stdout) as Array<Listed>).map((r) => r.runId.slice(0, 4)), ["ffff", "eeee", "dddd", "cccc", "bbbb"])
    const bad = await mcpflow(["prune", "--older-than", "soon", "--json", "--state-dir", state])
    assert.strictEqual(bad.code, 2)
    assert.strictEqual(JSON.parse(bad.stdout).error.tag, "UsageError")
  })

  it("a run parked on Flow.waitFor says what it waits for, is followed from another process, and is cancelled there with its compensations", async () => {
    const state = join(tmp, "parked")
    const marker = join(tmp, "parked.log")
    let sawWait: () => void = () => {}
    const waited = new Promise<void>((r) => (sawWait = r))
    const owner = start(["run", fixture("parked.ts"), "--input", JSON.stringify({ marker }), "--state-dir", state, "--json"], (out) => {
      if (out.includes('"_tag":"StepWaiting"')) sawWait()
    })
    await Promise.race([waited, owner.done])
    const listed = await mcpflow(["runs", "--json", "--state-dir", state])
    const run = (JSON.parse(listed.stdout) as Array<Listed>)[0]!
    assert.strictEqual(run.status, "waiting", listed.stdout)
    assert.strictEqual(run.parked?.waitingFor, "approval")
    const follow = start(["show", run.runId.slice(0, 8), "--follow", "--state-dir", state])
    const cancel = await mcpflow(["cancel", run.runId.slice(0, 8), "--state-dir", state])
    assert.strictEqual(cancel.code, 0, cancel.stderr)
    assert.include(cancel.stdout, "cancelled")
    const [ownerDone, followed] = await Promise.all([owner.done, follow.done])
    assert.notStrictEqual(ownerDone.code, 0, ownerDone.stderr)
    assert.deepStrictEqual(readFileSync(marker, "utf8").trim().split("\n"), ["released hold-1"], "the compensation ran once")
    assert.strictEqual(followed.code, 0, followed.stderr)
    assert.include(followed.stdout, "✓ reserve")
    assert.include(followed.stdout, '⏸ wait:approval (wait) waiting for signal "approval"')
    assert.include(followed.stdout, `run ${run.runId.slice(0, 8)} cancelled`)
    const shown = await mcpflow(["show", run.runId.slice(0, 8), "--state-dir", state])
    assert.include(shown.stdout, "· cancelled")
  })

  it("reports a parked wait as waiting, not interrupted", async () => {
    const state = join(tmp, "parked-text")
    let sawWait: () => void = () => {}
    const waited = new Promise<void>((r) => (sawWait = r))
    const owner = startCli(["run", fixture("parked.ts"), "--input", '{"marker":"x"}', "--state-dir", state], {
      env: { NO_COLOR: "1", CI: "true" },
      killAfterMs: 40_000,
      onStderr: (all) => all.includes("waiting for signal") && sawWait()
    })
    await Promise.race([waited, owner.done])
    owner.child.kill("SIGINT")
    const { stderr } = await owner.done
    assert.include(stderr, '⏸ wait:approval (wait) waiting for signal "approval" (send it: mcpflow signal ')
    assert.notInclude(stderr, "wait:approval (wait) interrupted")
  })
}, 240_000)

describe("run summaries", () => {
  it("a live chaos run puts the faults that fired in its RunSummary, and a run appends Markdown to $GITHUB_STEP_SUMMARY", async () => {
    const summaryFile = join(tmp, "step-summary.md")
    const [json, text] = await Promise.all([
      start(["run", fixture("orders.ts"), "--input", '{"mode":"ok"}', "--chaos", "3", "--rate", "1", "--json", "--no-journal"], undefined, {
        GITHUB_STEP_SUMMARY: summaryFile
      }).done,
      start(["run", fixture("orders.ts"), "--input", '{"mode":"ok"}', "--chaos", "3", "--rate", "1", "--no-journal"]).done
    ])
    const last = JSON.parse(json.stdout.trimEnd().split("\n").at(-1)!) as {
      _tag: string
      chaos?: { seed: number; faults: Array<{ server: string; kind: string }> }
    }
    assert.strictEqual(last._tag, "RunSummary")
    assert.strictEqual(last.chaos?.seed, 3)
    assert.isAbove(last.chaos?.faults.length ?? 0, 0, json.stdout)
    assert.isTrue(last.chaos!.faults.every((f) => f.server === "shop"))
    assert.include(text.stderr, `chaos seed 3: ${last.chaos!.faults.length} fault`)
    assert.include(text.stderr, "replay this run: the same command with --chaos 3")
    const markdown = readFileSync(summaryFile, "utf8")
    assert.match(markdown, /^### (✅|❌) mcpflow · orders (succeeded|failed) in /)
    assert.include(markdown, `| chaos | seed 3: ${last.chaos!.faults.length} fault(s) fired |`)
  })
}, 120_000)

describe("JSON errors and plans you can gate on", () => {
  it("every command prints one JSON error shape with --json; plan exits 2 on a duplicate step name", async () => {
    const state = join(tmp, "errors")
    const [show, signal, tools, call, plan, planJson, worker] = await Promise.all([
      mcpflow(["show", "x", "--json", "--state-dir", state]),
      mcpflow(["signal", "x", "approval", "--json", "--state-dir", state]),
      mcpflow(["tools", "--config", join(tmp, "missing.json"), "--json"]),
      mcpflow(["call", "nodot", "--json"]),
      mcpflow(["plan", fixture("duplicate.ts")]),
      mcpflow(["plan", fixture("duplicate.ts"), "--json"]),
      mcpflow(["worker", "--once", "--json", "--state-dir", state])
    ])
    for (const [name, done] of Object.entries({ show, signal, tools, call, planJson, worker })) {
      assert.strictEqual(done.code, 2, `${name}: ${done.stderr}`)
      const parsed = JSON.parse(done.stdout) as { error: { tag: string; message: string; exitCode: number } }
      assert.deepStrictEqual(Object.keys(parsed), ["error"], name)
      assert.strictEqual(parsed.error.exitCode, 2, name)
      assert.isString(parsed.error.tag, name)
      assert.isAbove(parsed.error.message.length, 0, name)
    }
    assert.strictEqual(plan.code, 2, plan.stderr)
    assert.strictEqual(plan.stdout, "")
    assert.deepStrictEqual(plan.stderr.trim().split("\n"), [
      'duplicate: flow definition error: duplicate step name "build" in the flow; names must be unique per scope'
    ])
    assert.include(JSON.parse(planJson.stdout).error.message, 'duplicate step name "build"')
    assert.isFalse(existsSync(join(state, "runs.db")), "nothing created a journal")
  })
}, 180_000)
