/**
 * Runners die, runs go on (real time, real processes, one Postgres): three runner processes serve
 * a 10-step flow whose steps append their side effects (start/done, with the runner's pid) to a
 * shared file; a client submits the runs and awaits them. Mid-run, one runner is SIGKILLed and a
 * new one joins. Afterwards: every run finished with the right result; a step completed by a
 * live runner ran exactly once; only a step in flight on the killed runner ran twice, at most
 * once per run; no runner process is left. Prints how long the dead runner's runs took to move.
 * And a run submitted while no runner is up waits in Postgres until one joins; a Postgres
 * restarted mid-run (sessions dropped, advisory locks lost) is reconnected to and the runs finish.
 */
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { clusterSuite, readSideEffects, type SideEffect } from "../support/clusterSuite.ts"
import { freePort } from "../support/postgres.ts"

const fixture = join(import.meta.dirname, "fixtures", "clusterFlow.ts")
const runs = 24
const steps = 10
const env = { STEP_MS: "60", SHARDS: "30" }


const suite = clusterSuite("mcpflow-cluster-")
const { children } = suite


const parse = readSideEffects

describe("cluster runners on Postgres", () => {
  it("a runner SIGKILLed mid-run: every run finishes, completed steps never re-run, the step in flight at most once more", async () => {
    const sideEffects = join(suite.dir, "side-effects.log")
    const runner = async () => children.start(fixture, ["runner", suite.server.url, String(await freePort()), sideEffects], env)
    const runners = await Promise.all([runner(), runner(), runner()])
    await Promise.all(runners.map((r) => r.waitFor(/READY/, 20_000)))

    const ids = Array.from({ length: runs }, (_, i) => `run-${i}`)
    const client = children.start(fixture, ["client", suite.server.url, String(steps), ...ids], env)

    // Once the runs are well started, kill the runner with the most steps in flight (started, not
    // done): the busiest by lines so far may have none at that moment on a loaded machine.
    const inFlight = (lines: ReadonlyArray<SideEffect>, pid: number) => {
      const own = lines.filter((l) => l.pid === pid)
      return own.filter((l) => l.kind === "start" && !own.some((d) => d.kind === "done" && d.runId === l.runId && d.step === l.step)).length
    }
    const started = Date.now()
    let busiest = 0
    while (Date.now() - started < 20_000) {
      const lines = parse(sideEffects)
      if (lines.filter((l) => l.kind === "done").length >= runs * 3) {
        const counts = runners.map((r) => ({ pid: r.process.pid!, n: inFlight(lines, r.process.pid!) }))
        const top = counts.sort((a, b) => b.n - a.n)[0]!
        if (top.n > 0) {
          busiest = top.pid
          break
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(busiest, "a runner with a step in flight").not.toBe(0)
    const victim = runners.find((r) => r.process.pid === busiest)!
    victim.process.kill("SIGKILL")
    const killedAt = Date.now()
    await victim.exited
    const joined = await runner()

    const code = await Promise.race([
      client.exited,
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 45_000))
    ])
    expect(code, client.output()).toBe(0)
    for (const id of ids) expect(client.output()).toContain(`RESULT ${id} ${(steps * (steps + 1)) / 2}`)

    const lines = parse(sideEffects)
    const moved = new Set<string>()
    let firstMovedAt = Infinity
    let lastMovedAt = 0
    for (const id of ids) {
      const ofRun = lines.filter((l) => l.runId === id)
      const twice: Array<number> = []
      for (let step = 1; step <= steps; step++) {
        const starts = ofRun.filter((l) => l.step === step && l.kind === "start")
        const dones = ofRun.filter((l) => l.step === step && l.kind === "done")
        expect(starts.length, `${id} s${step} starts`).toBeGreaterThanOrEqual(1)
        expect(starts.length, `${id} s${step} starts`).toBeLessThanOrEqual(2)
        expect(dones.length, `${id} s${step} done`).toBeGreaterThanOrEqual(1)
        if (starts.length === 2) {
          // Only a step in flight on the killed runner runs again, elsewhere.
          expect(starts[0]!.pid, `${id} s${step} first attempt`).toBe(busiest)
          expect(starts[1]!.pid).not.toBe(busiest)
          twice.push(step)
        }
        // A step completed before the kill by a live runner, or after it anywhere: once.
        if (dones.some((d) => d.pid !== busiest)) expect(starts.filter((s) => s.pid !== busiest).length).toBe(1)
      }
      expect(twice.length, `${id}: steps run twice ${twice}`).toBeLessThanOrEqual(1)
      const onVictim = ofRun.filter((l) => l.pid === busiest)
      const after = ofRun.filter((l) => l.pid !== busiest && l.at >= killedAt)
      if (onVictim.length > 0 && after.length > 0 && onVictim.some((l) => l.kind === "start" && !ofRun.some((d) => d.kind === "done" && d.step === l.step && d.pid === busiest))) {
        moved.add(id)
        const resumed = Math.min(...after.map((l) => l.at))
        firstMovedAt = Math.min(firstMovedAt, resumed)
        lastMovedAt = Math.max(lastMovedAt, resumed)
      }
    }
    expect(moved.size, "runs in flight on the killed runner").toBeGreaterThan(0)
    console.log(
      `killed runner ${busiest} with ${moved.size} run(s) in flight; they resumed elsewhere after ` +
        `${firstMovedAt - killedAt}–${lastMovedAt - killedAt} ms; client done ${Date.now() - killedAt} ms after the kill`
    )
    children.killAll()
    await Promise.all([...runners, joined].map((r) => r.exited))
    expect(children.alive()).toBe(0)
  }, 90_000)

  it("a run submitted while no runner is up starts when one joins", async () => {
    const sideEffects = join(suite.dir, "late-runner.log")
    const client = children.start(fixture, ["client", suite.server.url, "3", "late-0", "late-1"], env)
    // Submitted and waiting: nothing ran, the client has not finished.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(parse(sideEffects)).toEqual([])
    expect(client.process.exitCode).toBe(null)
    const late = children.start(fixture, ["runner", suite.server.url, String(await freePort()), sideEffects], env)
    await late.waitFor(/READY/, 20_000)
    const code = await Promise.race([client.exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 30_000))])
    expect(code, client.output()).toBe(0)
    expect(client.output()).toContain("RESULT late-0 6")
    expect(client.output()).toContain("RESULT late-1 6")
    expect(parse(sideEffects).filter((l) => l.kind === "done")).toHaveLength(6)
    late.process.kill("SIGKILL")
    await late.exited
  }, 120_000)

  it("Postgres restarted mid-run: runners reconnect and the runs finish", async () => {
    const sideEffects = join(suite.dir, "restart.log")
    const slow = { ...env, STEP_MS: "100" }
    const runners = await Promise.all([0, 1].map(async () => children.start(fixture, ["runner", suite.server.url, String(await freePort()), sideEffects], slow)))
    await Promise.all(runners.map((r) => r.waitFor(/READY/, 20_000)))
    const ids = Array.from({ length: 6 }, (_, i) => `pg-${i}`)
    const client = children.start(fixture, ["client", suite.server.url, String(steps), ...ids], slow)
    const started = Date.now()
    while (parse(sideEffects).filter((l) => l.kind === "done").length < 12 && Date.now() - started < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const restartedAt = Date.now()
    await suite.server.restart()
    const code = await Promise.race([client.exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 45_000))])
    expect(code, client.output()).toBe(0)
    for (const id of ids) expect(client.output()).toContain(`RESULT ${id} ${(steps * (steps + 1)) / 2}`)
    const lines = parse(sideEffects)
    for (const id of ids) {
      for (let step = 1; step <= steps; step++) {
        const starts = lines.filter((l) => l.runId === id && l.step === step && l.kind === "start")
        expect(starts.length, `${id} s${step}`).toBeGreaterThanOrEqual(1)
        expect(starts.length, `${id} s${step}`).toBeLessThanOrEqual(2)
      }
    }
    console.log(`Postgres restarted mid-run: the runs finished ${Date.now() - restartedAt} ms after the restart began`)
    children.killAll()
    await Promise.all(runners.map((r) => r.exited))
  }, 90_000)

  it("a signal sent from any process reaches the run on whichever runner holds it; a failed saga compensates once", async () => {
    const sideEffects = join(suite.dir, "signal.log")
    const runners = await Promise.all([0, 1].map(async () => children.start(fixture, ["runner", suite.server.url, String(await freePort()), sideEffects], env)))
    await Promise.all(runners.map((r) => r.waitFor(/READY/, 20_000)))
    const client = children.start(fixture, ["gated", suite.server.url, "sig-1"], env)
    const started = Date.now()
    while (!parse(sideEffects).some((l) => l.runId === "sig-1" && l.kind === "done") && Date.now() - started < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const sender = children.start(fixture, ["signal", suite.server.url, "sig-1", "ana"], env)
    expect(await sender.exited, sender.output()).toBe(0)
    const code = await Promise.race([client.exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 30_000))])
    expect(code, client.output()).toBe(0)
    expect(client.output()).toContain("RESULT sig-1 ana")
    expect(parse(sideEffects).filter((l) => l.runId === "sig-1" && l.kind === "start")).toHaveLength(1)

    // A saga that fails on the cluster: its runner undoes the completed steps, once each, newest first.
    const failing = children.start(fixture, ["saga", suite.server.url, "saga-1"], env)
    expect(await failing.exited, failing.output()).toBe(1)
    expect(failing.output()).toContain("FAILED saga-1")
    const undone = parse(sideEffects).filter((l) => l.runId === "saga-1" && l.kind === "undo").map((l) => l.step)
    expect(undone).toEqual([2, 1])
    children.killAll()
    await Promise.all(runners.map((r) => r.exited))
  }, 120_000)
})
