/**
 * A rebalance while steps are in flight (real processes, real time, one Postgres for the file).
 *
 * Two shards: B takes one of A's two, so about half the runs move (all 8 staying on A: 1 in 256).
 * Runner A runs RUNS runs whose keyed step s2 is held (until the test releases it, after the
 * rebalance: longer than Effect Cluster's entity termination timeout, 2 s); runner B joins
 * meanwhile and takes about half of A's shards.
 * Effect Cluster interrupts the moved runs on A (alive), and their new owner B replays them: a
 * step in flight on a runner that gave its run up (no kill) is never started a second time —
 * B waits for A's body to end and takes its recorded outcome. Every run succeeds.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { clusterSuite, readSideEffects } from "../support/clusterSuite.ts"
import { freePort } from "../support/postgres.ts"

const fixture = join(import.meta.dirname, "fixtures", "faultFlow.ts")
const env = { STEP_MS: "30", SHARDS: "2" }
const runs = 8

const suite = clusterSuite("mcpflow-rebalance-")
const { children } = suite

const until = async (condition: () => boolean, ms: number, what: string) => {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("a rebalance while a keyed step is in flight", () => {
  it("the moved runs' held steps start once and finish once; every run succeeds", async () => {
    const log = join(suite.dir, "rebalance.log")
    const joinFile = join(suite.dir, "join")
    const runner = async (extra: Record<string, string> = {}) =>
      children.start(fixture, ["runner", suite.server.url, String(await freePort()), log], { ...env, ...extra })
    // Debug: A logs each change of its shards ("New shard assignments").
    const a = await runner({ CLUSTER_LOG: "Debug" })
    // B loads meanwhile and joins on cue, so that its start-up (seconds under load) is not in the way.
    const b = await runner({ JOIN_WHEN: joinFile })
    await Promise.all([a.waitFor(/READY/, 30_000), b.waitFor(/LOADED/, 30_000)])
    const ids = Array.from({ length: runs }, (_, i) => `r${i}`)
    const client = children.start(fixture, ["heldAll", suite.server.url, "keyed", ...ids], env)
    const of = (runId: string, kind: string, step: number) =>
      readSideEffects(log).filter((l) => l.runId === runId && l.kind === kind && l.step === step)
    await until(() => ids.every((id) => of(id, "start", 2).length === 1), 30_000, "every run's s2 in flight on A")
    const handovers = () => a.output().split("New shard assignments").length
    const before = handovers()
    writeFileSync(joinFile, "")
    await b.waitFor(/READY/, 30_000)
    const bReady = Date.now()
    // A hands B one of its two shards, then the held steps may end (on A, where they run).
    await until(() => handovers() > before, 30_000, "runner A to hand a shard to runner B")
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    writeFileSync(`${log}.release`, "")

    const code = await Promise.race([client.exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 60_000))])
    expect(code, client.output()).toBe(0)
    const output = client.output()
    const bPid = b.process.pid!
    // The rebalance moved runs: some ran s3 on B.
    const moved = ids.filter((id) => of(id, "start", 3)[0]?.pid === bPid)
    const said = () =>
      `A ${a.process.pid}, B ${bPid}:\n${readSideEffects(log).map((l) => `${l.runId} ${l.kind} ${l.step} ${l.pid} ${l.at}`).join("\n")}` +
      `\nB said: ${b.output().slice(-2000)}\nA said: ${a.output().slice(-2000)}`
    expect(moved.length, `runs moved to B; ${said()}`).toBeGreaterThan(0)
    for (const id of ids) {
      expect(output).toContain(`RESULT ${id} 6`)
      // No kill: s2 started once (on A), finished once, never reported as re-run.
      expect(of(id, "start", 2), `${id} s2 starts; ${said()}`).toHaveLength(1)
      expect(of(id, "start", 2)[0]!.pid).toBe(a.process.pid)
      expect(of(id, "done", 2), `${id} s2 done`).toHaveLength(1)
      expect(of(id, "rerun", 2), `${id} s2 reported re-run`).toHaveLength(0)
      expect(of(id, "start", 1)).toHaveLength(1)
      expect(of(id, "start", 3)).toHaveLength(1)
    }
    const t0 = of(ids[0]!, "start", 2)[0]!.at
    const timeline = moved.map((id) => `${id}: s2 done +${of(id, "done", 2)[0]!.at - t0} ms, s3 on B +${of(id, "start", 3)[0]!.at - t0} ms`)
    console.log(`rebalance: ${moved.length} of ${runs} runs moved to the joining runner mid-step (B ready +${bReady - t0} ms)\n${timeline.join("\n")}`)
    children.killAll()
    await Promise.all([a.exited, b.exited])
    expect(children.alive()).toBe(0)
  }, 120_000)
})
