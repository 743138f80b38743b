/**
 * Durable runs with real processes: a flow journaled in SQLite is SIGKILLed mid-step (or
 * mid-compensation), then resumed by a new process. Side effects go to a file, so "exactly
 * once" is checked across processes.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as fc from "fast-check"
import { afterAll, assert, describe, it } from "vitest"
import { tsNode } from "../support/tsNode.ts"

const root = path.resolve(import.meta.dirname, "../..")
const fixture = (name: string) => path.join(import.meta.dirname, "fixtures", name)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mcpflow-durable-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

const seed = Number(process.env.FC_SEED ?? Date.now())
console.log(`durable.test.ts fast-check seed: ${seed} (replay with FC_SEED=${seed})`)

interface Done {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** A process started by a test, and what it has printed so far. */
interface Started {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** How it ended: its code and all it printed (after its output streams closed, not only its exit). */
  readonly done: Promise<Done>
}

const spawnNode = (args: ReadonlyArray<string>, env: Record<string, string | undefined>): Started => {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d) => (stdout += String(d)))
  child.stderr!.on("data", (d) => (stderr += String(d)))
  const done = new Promise<Done>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })))
  return { child, stdout: () => stdout, stderr: () => stderr, done }
}

/** A fixture script run with the TypeScript loader. */
const start = (script: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Started =>
  spawnNode([...tsNode.args, fixture(script), ...args], { ...tsNode.env, ...env })

const run = async (script: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const { child, done } = start(script, args, env)
  const timer = setTimeout(() => child.kill("SIGKILL"), 45_000)
  const result = await done
  clearTimeout(timer)
  return result
}

const cli = path.join(root, "bin", "mcpflow.js")
const cliEnv = { CI: "true", NO_COLOR: "1" }

/** The `mcpflow` bin, started (`args` include `--state-dir`). */
const startCli = (args: ReadonlyArray<string>): Started => spawnNode([cli, ...args], cliEnv)

/** Runs the `mcpflow` bin to its end. */
const cliRun = (args: ReadonlyArray<string>): Promise<Done> => startCli(args).done

/** The run id a `mcpflow run --json` printed first. */
const runIdOf = (started: Started): string => (JSON.parse(started.stdout().split("\n")[0]!) as { runId: string }).runId

/** How a started process stands, and the end of its stderr: for failure messages. */
const said = ({ child, stderr }: Started) =>
  `${child.exitCode !== null ? `exited with ${child.exitCode}` : child.signalCode !== null ? `killed by ${child.signalCode}` : "still running"}; ` +
  `stderr: ${JSON.stringify(stderr().slice(-1_000))}`

/**
 * Polls (bounded) until `ready()`. Fails naming what it waited for and how the process stands
 * (its stderr included) when the process ends first or 40 s pass.
 */
const waitUntil = async (started: Started, ready: () => boolean, what: string) => {
  const deadline = Date.now() + 40_000
  while (!ready()) {
    const { child } = started
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      throw new Error(`never saw ${what} (${said(started)})`)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
}

const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : [])

/** Waits (polling the side-effect file, bounded) until `line` appears, then SIGKILLs the process. */
const killWhen = async (started: Started, file: string, line: string) => {
  await waitUntil(started, () => lines(file).includes(line), JSON.stringify(line))
  started.child.kill("SIGKILL")
  await started.done
}

let n = 0
const fresh = () => {
  const dir = path.join(tmp, `case-${++n}`)
  fs.mkdirSync(dir)
  return { state: path.join(dir, "state"), effects: path.join(dir, "effects.txt") }
}

const count = (all: ReadonlyArray<string>, line: string) => all.filter((l) => l === line).length

describe("durable runs survive SIGKILL", () => {
  it("resumes a run killed at a random step: completed steps are not re-run, the in-flight one runs again", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), async (crashAt) => {
        const { effects, state } = fresh()
        const first = start("crashFlow.ts", ["run", state, "r1", effects, "8"], { CRASH_AT: String(crashAt) })
        await killWhen(first, effects, `start ${crashAt}`)
        const resumed = await run("crashFlow.ts", ["resume", state, "r1", effects])
        assert.strictEqual(resumed.code, 0, resumed.stdout)
        assert.include(resumed.stdout, "RESULT 36")
        const all = lines(effects)
        for (let i = 1; i <= 8; i++) {
          assert.strictEqual(count(all, `done ${i}`), 1, `step ${i} completed once`)
          assert.strictEqual(count(all, `start ${i}`), i === crashAt ? 2 : 1, `step ${i} started ${i === crashAt ? "twice" : "once"}`)
        }
      }),
      { numRuns: 2, seed }
    )
  })

  it("a saga killed during its compensations finishes them on resume, each exactly once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("a", "b", "c"), async (crashUndo) => {
        const { effects, state } = fresh()
        const first = start("sagaCrash.ts", ["run", state, "s1", effects], { CRASH_UNDO: crashUndo })
        await killWhen(first, effects, `undo start ${crashUndo}`)
        const resumed = await run("sagaCrash.ts", ["resume", state, "s1", effects])
        assert.strictEqual(resumed.code, 1, "the saga's failure is the run's outcome")
        assert.include(resumed.stdout, "d failed")
        const all = lines(effects)
        for (const name of ["a", "b", "c"]) {
          assert.strictEqual(count(all, `do ${name}`), 1)
          assert.strictEqual(count(all, `undo done ${name}`), 1, `compensation of ${name} completed once`)
        }
        const order = all.filter((l) => l.startsWith("undo done")).map((l) => l.slice(-1))
        assert.deepStrictEqual(order, ["c", "b", "a"], "in reverse order")
      }),
      { numRuns: 1, seed }
    )
  })

  it("refuses to resume under changed code until --force, without running anything new", async () => {
    const { effects, state } = fresh()
    const first = start("crashFlow.ts", ["run", state, "r1", effects, "5"], { CRASH_AT: "4" })
    await killWhen(first, effects, "start 4")
    const refused = await run("crashFlow.ts", ["resume", state, "r1", effects], { VARIANT: "b" })
    assert.strictEqual(refused.code, 1)
    assert.include(refused.stdout, "cannot be resumed: the flow changed since the run started")
    assert.include(refused.stdout, 'step "inserted" is new')
    assert.notInclude(lines(effects), "inserted", "the new step did not run")
    const forced = await run("crashFlow.ts", ["resume", state, "r1", effects], { VARIANT: "b", FORCE: "1" })
    assert.strictEqual(forced.code, 0, forced.stdout)
    assert.strictEqual(count(lines(effects), "inserted"), 1)
  })

  it("a finished run, an unknown run, a second process and a corrupt journal are refused with clear errors", async () => {
    const { effects, state } = fresh()
    const ok = await run("crashFlow.ts", ["run", state, "r1", effects, "2"])
    assert.strictEqual(ok.code, 0, ok.stdout)
    const again = await run("crashFlow.ts", ["resume", state, "r1", effects])
    assert.include(again.stdout, "cannot be resumed: it already succeeded")
    const unknown = await run("crashFlow.ts", ["resume", state, "nope", effects])
    assert.include(unknown.stdout, "cannot be resumed: no such run in the journal")

    const busyEffects = `${effects}.busy`
    const busy = start("crashFlow.ts", ["run", state, "r2", busyEffects, "3"], { CRASH_AT: "2" })
    await waitUntil(busy, () => lines(busyEffects).includes("start 2"), '"start 2"')
    const second = await run("crashFlow.ts", ["run", state, "r3", effects, "1"])
    assert.strictEqual(second.code, 1, second.stdout)
    assert.include(second.stdout, "in use by another process")
    busy.child.kill("SIGKILL")
    await busy.done

    const corrupt = fresh()
    fs.mkdirSync(corrupt.state)
    const garbage = "this is not a database, just text ".repeat(200)
    fs.writeFileSync(path.join(corrupt.state, "runs.db"), garbage)
    const bad = await run("crashFlow.ts", ["run", corrupt.state, "r1", corrupt.effects, "1"])
    assert.strictEqual(bad.code, 1, bad.stdout)
    assert.match(bad.stdout, /not a database/i)
    assert.strictEqual(fs.readFileSync(path.join(corrupt.state, "runs.db"), "utf8"), garbage, "left as it was")
    assert.deepStrictEqual(lines(corrupt.effects), [], "nothing ran")
  })

  it("a step's retries survive a crash without resetting their attempt count", async () => {
    const { effects, state } = fresh()
    const first = start("retryCrash.ts", ["run", state, "r1", effects], { CRASH_ATTEMPT: "3" })
    await killWhen(first, effects, "attempt 3")
    const resumed = await run("retryCrash.ts", ["resume", state, "r1", effects])
    assert.strictEqual(resumed.code, 1, "every attempt failed")
    const all = lines(effects)
    // 2 failed attempts before the crash, the in-flight 3rd re-run, then the 4th: 4 failures in all, not 2 + 4.
    assert.strictEqual(all.filter((l) => l.startsWith("fail")).length, 4, all.join(" "))
  })

  it("mcpflow signal reaches a run waiting in Flow.waitFor in another process", async () => {
    const { state } = fresh()
    const waiting = startCli(["run", fixture("approval.ts"), "--json", "--state-dir", state])
    await waitUntil(waiting, () => waiting.stdout().includes('"path":"wait:approval"'), "the run wait for its approval")
    const sent = await cliRun(["signal", runIdOf(waiting), "approval", "--payload", '{"approvedBy":"ana"}', "--state-dir", state])
    assert.strictEqual(sent.code, 0, sent.stderr)
    const timer = setTimeout(() => waiting.child.kill("SIGKILL"), 40_000)
    const { code } = await waiting.done
    clearTimeout(timer)
    assert.strictEqual(code, 0, `${waiting.stdout()}\n${said(waiting)}`)
    assert.include(waiting.stdout(), "released, approved by ana")
  })

  it("a run killed while it waits for a signal is continued by mcpflow worker once the signal is recorded", async () => {
    const { state } = fresh()
    const mcpflow = (...args: ReadonlyArray<string>) => cliRun([...args, "--state-dir", state])
    const waiting = startCli(["run", fixture("approval.ts"), "--json", "--state-dir", state])
    await waitUntil(waiting, () => waiting.stdout().includes('"path":"wait:approval"'), "the run wait for its approval")
    waiting.child.kill("SIGKILL")
    await waiting.done
    const runId = runIdOf(waiting)
    assert.strictEqual((await mcpflow("signal", runId, "approval", "--payload", '{"approvedBy":"bo"}')).code, 0)
    const worked = await mcpflow("worker", "--once")
    assert.strictEqual(worked.code, 0, worked.stderr)
    assert.include(worked.stderr, "1 run(s) continued, 0 failed")
    const shown = await mcpflow("show", runId, "--json")
    assert.include(shown.stdout, '"status": "succeeded"')
    assert.include(worked.stdout, "released, approved by bo")
  })

  it("Flow.awaitCallback survives its process: the worker completes it on the signal, or ends it at its timeout", async () => {
    const { state } = fresh()
    const mcpflow = (...args: ReadonlyArray<string>) => cliRun([...args, "--state-dir", state])
    /** Starts a run of the callback fixture, waits until it waits for the callback, SIGKILLs it; its run id. */
    const killedWhileWaiting = async (timeoutSeconds: number) => {
      const waiting = startCli(["run", fixture("callback.ts"), "--json", "--state-dir", state, "--input", JSON.stringify({ timeoutSeconds })])
      await waitUntil(waiting, () => waiting.stdout().includes('"signal":"job done"'), "the run wait for its callback")
      waiting.child.kill("SIGKILL")
      await waiting.done
      assert.include(waiting.stdout(), '"_tag":"StepWaiting"', waiting.stdout())
      return runIdOf(waiting)
    }
    const signalled = await killedWhileWaiting(600)
    const timedOut = await killedWhileWaiting(1)
    assert.strictEqual((await mcpflow("signal", signalled, "job done", "--payload", '{"accuracy":0.93}')).code, 0)
    // One worker continues both: the signalled run completes by its callback (the signal recorded
    // while nobody ran it); the other, with no callback, ends at its 1 s timeout — no hang.
    const worked = await mcpflow("worker", "--once", "--json")
    assert.strictEqual(worked.code, 1, "one of the two runs failed (its callback never came)")
    const summary = JSON.parse(worked.stdout.trim().split("\n").at(-1)!) as { continued: Array<string>; failed: Array<string> }
    assert.sameMembers(summary.continued, [signalled, timedOut])
    assert.deepStrictEqual(summary.failed, [timedOut])
    assert.include(worked.stdout, "job-7 done by callback, accuracy 0.93")
    assert.include(worked.stderr, 'CallbackTimedOut: "job": no "job done" callback within 1s')
  })
}, 180_000)
