/**
 * A step in flight on a runner that dies (real processes, real time, one Postgres for the file):
 * - idempotent, or having read `Flow.idempotencyKey`: re-run once on another runner and reported
 *   so (`StepStarted` with `rerunAfterCrash`); the steps replayed from the journal are not flagged;
 * - not idempotent: never re-sent — the step fails with `AmbiguousStep`, the saga compensates the
 *   completed step once;
 * - a compensation in flight at the kill: finished exactly once, by another runner.
 * All three at once on three runners: the runners holding them are SIGKILLed, two fresh ones join.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, startPostgres, type TestPostgres } from "../support/postgres.ts"
import { makeChildren } from "../support/processes.ts"

const fixture = join(import.meta.dirname, "fixtures", "faultFlow.ts")
const env = { STEP_MS: "30", HOLD_MS: "1500", SHARDS: "30" }
const children = makeChildren()
let server: TestPostgres
let dir: string

beforeAll(async () => {
  server = await startPostgres()
  dir = mkdtempSync(join(tmpdir(), "mcpflow-stepfaults-"))
})
afterAll(async () => {
  children.killAll()
  await server?.stop()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

interface Line {
  readonly runId: string
  readonly kind: string
  readonly step: number
  readonly pid: number
}
const parse = (file: string): Array<Line> =>
  existsSync(file)
    ? readFileSync(file, "utf8").trim().split("\n").filter((l) => l !== "").map((l) => {
      const [runId, kind, step, pid] = l.split(" ")
      return { runId: runId!, kind: kind!, step: Number(step), pid: Number(pid) }
    })
    : []
const until = async (condition: () => boolean, ms: number, what: string) => {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("a step in flight on a runner that died", () => {
  it("idempotent or keyed: re-run once and reported; neither: AmbiguousStep, compensated once; a compensation: finished once", async () => {
    const log = join(dir, "held.log")
    const runner = async () => children.start(fixture, ["runner", server.url, String(await freePort()), log], env)
    const runners = await Promise.all([runner(), runner(), runner()])
    await Promise.all(runners.map((r) => r.waitFor(/READY/, 30_000)))

    const idempotent = children.start(fixture, ["held", server.url, "idem", "idempotent"], env)
    const keyed = children.start(fixture, ["held", server.url, "keyed", "keyed"], env)
    const plain = children.start(fixture, ["held", server.url, "plain", "plain"], env)
    const undoing = children.start(fixture, ["undoing", server.url, "undo"], env)
    const holder = (runId: string, kind: string, step: number) => parse(log).find((l) => l.runId === runId && l.kind === kind && l.step === step)
    await until(() => ["idem", "keyed", "plain"].every((id) => holder(id, "start", 2) !== undefined) && holder("undo", "undo-start", 1) !== undefined, 30_000, "the three steps in flight")
    const victims = new Set([...["idem", "keyed", "plain"].map((id) => holder(id, "start", 2)!.pid), holder("undo", "undo-start", 1)!.pid])
    const killedAt = Date.now()
    for (const r of runners) if (victims.has(r.process.pid!)) r.process.kill("SIGKILL")
    // Killed mid-step: nothing finished the held steps yet.
    expect(parse(log).filter((l) => (l.kind === "done" && l.step === 2) || l.kind === "undo")).toEqual([])
    const joined = await Promise.all([runner(), runner()])

    const finish = async (child: typeof idempotent) => {
      const code = await Promise.race([child.exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 60_000))])
      expect(code, child.output()).toBe(0)
      return child.output()
    }
    const [idemOut, keyedOut, plainOut, undoOut] = await Promise.all([finish(idempotent), finish(keyed), finish(plain), finish(undoing)])
    const lines = parse(log)
    const of = (runId: string, kind: string, step: number) => lines.filter((l) => l.runId === runId && l.kind === kind && l.step === step)

    // Idempotent: s2 ran again elsewhere, once, reported as a re-run; s1 (replayed) and s3 were not flagged.
    expect(idemOut).toContain("RESULT idem 6")
    expect(of("idem", "start", 1)).toHaveLength(1)
    expect(of("idem", "start", 2)).toHaveLength(2)
    expect(of("idem", "start", 2)[1]!.pid).not.toBe(of("idem", "start", 2)[0]!.pid)
    expect(of("idem", "done", 2)).toHaveLength(1)
    expect(lines.filter((l) => l.runId === "idem" && l.kind === "rerun").map((l) => l.step)).toEqual([2])
    // Keyed (read Flow.idempotencyKey before the kill, not marked idempotent): re-run the same way.
    expect(keyedOut).toContain("RESULT keyed 6")
    expect(of("keyed", "start", 2)).toHaveLength(2)
    expect(of("keyed", "done", 2)).toHaveLength(1)
    expect(lines.filter((l) => l.runId === "keyed" && l.kind === "rerun").map((l) => l.step)).toEqual([2])

    // Not idempotent: not re-sent; the run failed with AmbiguousStep after undoing s1 once.
    expect(plainOut).toMatch(/FAILED plain AmbiguousStep .*runner died mid-step/)
    expect(of("plain", "start", 2)).toHaveLength(1)
    expect(of("plain", "start", 3)).toHaveLength(0)
    expect(of("plain", "undo", 1)).toHaveLength(1)
    expect(lines.filter((l) => l.runId === "plain" && l.kind === "rerun").map((l) => l.step)).toEqual([2])

    // The compensation in flight at the kill finished exactly once, on another runner.
    expect(undoOut).toContain("FAILED undo")
    expect(of("undo", "undo-start", 1)).toHaveLength(2)
    expect(of("undo", "undo", 1)).toHaveLength(1)
    expect(victims.has(of("undo", "undo", 1)[0]!.pid)).toBe(false)
    console.log(`killed ${victims.size} runner(s); the held runs finished ${Date.now() - killedAt} ms later`)

    children.killAll()
    await Promise.all([...runners, ...joined].map((r) => r.exited))
    expect(children.alive()).toBe(0)
  }, 120_000)
})
