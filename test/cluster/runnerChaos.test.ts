/**
 * Runners die mid-step (real processes, real time, one Postgres for the file).
 *
 * A step in flight on a runner that dies:
 * - idempotent, or having read `Flow.idempotencyKey`: re-run once on another runner and reported
 *   so (`StepStarted` with `rerunAfterCrash`); the steps replayed from the journal are not flagged;
 * - not idempotent: never re-sent — the step fails with `AmbiguousStep`, the saga compensates the
 *   completed step once;
 * - a compensation in flight at the kill: finished exactly once, by another runner.
 * All three at once on three runners: the runners holding them are SIGKILLed, two fresh ones join.
 *
 * Runs compensating when a runner joins: the runs whose shards move stop their unwind on the old
 * runner and finish it on the new one, each undo once.
 *
 * The issue's chaos test: 200 runs (CHAOS_RUNS) of a 10-step saga (steps 3, 6, 9 not idempotent,
 * every step compensated) on three runners while a chaos loop SIGKILLs a random runner and starts
 * a new one, 5 times (CHAOS_KILLS; seeded: `CHAOS_SEED=<seed>` replays the choice of victims and delays).
 * Afterwards: every run finished (its result, or `AmbiguousStep` on a non-idempotent step in
 * flight at a kill); per run and step, a step's side effect happened once, or again only when it
 * was in flight on a killed runner (each earlier time), is idempotent, and was reported as re-run
 * (a runner killed right after taking the run over may have flagged it before the next owner
 * did); no compensation ran twice (unless it was itself in flight at a kill); no runner process
 * is left.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { clusterSuite, readSideEffects } from "../support/clusterSuite.ts"
import { freePort } from "../support/postgres.ts"

const fixture = join(import.meta.dirname, "fixtures", "faultFlow.ts")
const env = { STEP_MS: "30", SHARDS: "30" }

const suite = clusterSuite("mcpflow-stepfaults-")
const { children } = suite

const parse = readSideEffects
const until = async (condition: () => boolean, ms: number, what: string) => {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("a step in flight on a runner that died", () => {
  it("idempotent or keyed: re-run once and reported; neither: AmbiguousStep, compensated once; a compensation: finished once", async () => {
    const log = join(suite.dir, "held.log")
    const runner = async () => children.start(fixture, ["runner", suite.server.url, String(await freePort()), log], env)
    const runners = await Promise.all([runner(), runner(), runner()])
    await Promise.all(runners.map((r) => r.waitFor(/READY/, 30_000)))

    const idempotent = children.start(fixture, ["held", suite.server.url, "idem", "idempotent"], env)
    const keyed = children.start(fixture, ["held", suite.server.url, "keyed", "keyed"], env)
    const plain = children.start(fixture, ["held", suite.server.url, "plain", "plain"], env)
    const undoing = children.start(fixture, ["undoing", suite.server.url, "undo"], env)
    const holder = (runId: string, kind: string, step: number) => parse(log).find((l) => l.runId === runId && l.kind === kind && l.step === step)
    await until(() => ["idem", "keyed", "plain"].every((id) => holder(id, "start", 2) !== undefined) && holder("undo", "undo-start", 1) !== undefined, 30_000, "the three steps in flight")
    const victims = new Set([...["idem", "keyed", "plain"].map((id) => holder(id, "start", 2)!.pid), holder("undo", "undo-start", 1)!.pid])
    const killedAt = Date.now()
    for (const r of runners) if (victims.has(r.process.pid!)) r.process.kill("SIGKILL")
    // Killed mid-step: nothing finished the held steps yet.
    expect(parse(log).filter((l) => (l.kind === "done" && l.step === 2) || l.kind === "undo")).toEqual([])
    const joined = await Promise.all([runner(), runner()])
    // The held bodies may finish now: those re-run on the runners that took the runs over.
    writeFileSync(`${log}.release`, "")

    const finish = async (child: typeof idempotent) => {
      const code = await Promise.race([child.exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 60_000))])
      const said = () => [...runners, ...joined].map((r) => `runner ${r.process.pid}${victims.has(r.process.pid!) ? " (killed)" : ""}:\n${r.output().split("\n").slice(-12).join("\n")}`).join("\n")
      expect(code, `${child.output()}\nlog:\n${parse(log).map((l) => `${l.runId} ${l.kind} ${l.step} ${l.pid} ${l.at - killedAt}`).join("\n")}\n${said()}`).toBe(0)
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

describe("compensations under way when a run's shard moves", () => {
  it("a runner joins while runs compensate: the moved runs finish their compensations on the new owner, each undo once", async () => {
    const log = join(suite.dir, "unwind.log")
    // Debug: the runners log each change of their shards ("New shard assignments") and each run they give up.
    const a = children.start(fixture, ["runner", suite.server.url, String(await freePort()), log], { ...env, CLUSTER_LOG: "Debug" })
    await a.waitFor(/READY/, 30_000)
    // Twelve runs, all on A: each fails at s3 and holds its first undo (s2's) until released.
    const ids = Array.from({ length: 12 }, (_, i) => `w${i}`)
    const client = children.start(fixture, ["unwinding", suite.server.url, ...ids], env)
    const of = (id: string, kind: string, step: number) => parse(log).filter((l) => l.runId === id && l.kind === kind && l.step === step)
    await until(() => ids.every((id) => of(id, "undo-start", 2).length > 0), 30_000, "every run to start undoing s2")
    const handovers = () => a.output().split("New shard assignments").length
    // Give-ups before B joins happen too: A's shards can move while the earlier tests' runners
    // drop out of the healthy set, and come back to A.
    const giveUps = () => a.output().split(/gave run w\d+ up while it compensated/).length
    const before = handovers()
    const gaveUpBefore = giveUps()
    const b = children.start(fixture, ["runner", suite.server.url, String(await freePort()), log], { ...env, CLUSTER_LOG: "Debug" })
    await b.waitFor(/READY/, 30_000)
    // A counts B in and hands it part of its shards (with some of the runs) while they compensate:
    // it gives those runs up (logged at Debug) — only then are their held undos released, or A
    // would finish the whole unwind before letting the runs go.
    await until(() => handovers() > before, 30_000, "runner A to hand shards to runner B")
    await until(() => giveUps() > gaveUpBefore, 30_000, "runner A to give a compensating run up after B joined")
    writeFileSync(`${log}.release`, "")

    const code = await Promise.race([client.exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 60_000))])
    // What each runner said about shards and runs (A logs at Debug), so a failure shows why a run went where it did.
    const runnerSaid = (name: string, output: string) =>
      output.split("\n").filter((l) => /New shard assignments|gave run|Error/i.test(l)).slice(-40).map((l) => `${name}: ${l}`).join("\n")
    const story = () =>
      `${client.output()}\n${parse(log).map((l) => `${l.runId} ${l.kind} ${l.step} ${l.pid === a.process.pid ? "A" : "B"}`).join("\n")}\n` +
      `${runnerSaid("A", a.output())}\n${runnerSaid("B", b.output())}`
    expect(code, story()).toBe(0)
    let moved = 0
    let reundone = 0
    for (const id of ids) {
      expect(client.output(), id).toMatch(new RegExp(`^FAILED ${id} `, "m"))
      // s2's undo finished once. It started on A; if A gave the run up before it finished, A's
      // undo was interrupted with the run and the shard's next owner ran it again (not journaled
      // as done): like a compensation in flight at a kill, started twice, finished once, by the
      // runner that started it last.
      const starts = of(id, "undo-start", 2).map((l) => l.pid)
      const finished = of(id, "undo", 2).map((l) => l.pid)
      expect(finished, `${id} s2 undone once\n${story()}`).toHaveLength(1)
      expect(starts[0], `${id} s2 undo first started on A\n${story()}`).toBe(a.process.pid)
      expect(finished, `${id} s2 undone where it last started\n${story()}`).toEqual([starts.at(-1)])
      if (starts.length > 1) {
        // Every start after the first follows a give-up of the run by the runner that had it
        // (its shard moved away): on the shard's next owner, B, or A again when the shard came
        // back (seen: A's shards moved while the earlier tests' runners dropped out, before B
        // joined). A run started again without a give-up would be run twice at once.
        const gaveUp = (a.output() + b.output()).split(`gave run ${id} up`).length - 1
        expect(gaveUp, `${id} s2 undo started ${starts.length} times, given up ${gaveUp}\n${story()}`).toBeGreaterThanOrEqual(starts.length - 1)
        reundone++
      }
      expect(of(id, "undo", 1), `${id} s1 undone`).toHaveLength(1)
      if (of(id, "undo", 1)[0]!.pid === b.process.pid) moved++
    }
    // The case this is about: some runs moved mid-unwind (12 runs over 30 shards: all staying on A
    // would take B getting none of their shards).
    expect(moved, story()).toBeGreaterThan(0)
    console.log(`${moved} of ${ids.length} runs moved to the runner that joined while compensating (${reundone} with s2's undo started again by the shard's next owner)`)
    children.killAll()
    await Promise.all([a.exited, b.exited])
  }, 120_000)
})

/** A small seeded PRNG (mulberry32): the chaos loop's choices replay from the printed seed. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

// 200 runs and 5 kills take ≈ 25–40 s (≈ 70 s of CPU with the runners and Postgres); CHAOS_RUNS /
// CHAOS_KILLS resize it, MCPFLOW_CLUSTER_CHAOS=0 skips it. It was opt-in while it hung in about
// one pass in three under load, twice for a reason now fixed: when a runner joined, Effect Cluster
// interrupted the moved runs on their old (live) runner with a plain interrupt, which the body
// took for a cancel (`givingUp` in dsl/flow/FlowRun.ts); and a run whose shard moved while it
// compensated held that shard forever (`giveUp` in dsl/flow/RunScope.ts; the test below this
// file's second one). 12 passes of 200 runs and 5 kills at load 7–8 on 2 cores after that fix.
describe.skipIf(process.env.MCPFLOW_CLUSTER_CHAOS === "0")("chaos: runners SIGKILLed and replaced while runs run", () => {
  const runs = Number(process.env.CHAOS_RUNS ?? 200)
  const kills = Number(process.env.CHAOS_KILLS ?? 5)
  it(`${runs} runs of a 10-step saga on 3 runners, ${kills} random runners killed and replaced`, async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000)
    console.log(`chaos seed ${seed} (CHAOS_SEED=${seed} replays it)`)
    const random = prng(seed)
    const log = join(suite.dir, "chaos.log")
    const chaosEnv = { ...env, STEP_MS: "40", CONCURRENCY: "20", ...(process.env.CLUSTER_LOG ? { CLUSTER_LOG: process.env.CLUSTER_LOG } : {}) }
    const runner = async () => children.start(fixture, ["runner", suite.server.url, String(await freePort()), log], chaosEnv)
    const live = await Promise.all([runner(), runner(), runner()])
    await Promise.all(live.map((r) => r.waitFor(/READY/, 30_000)))
    const all = [...live]

    const ids = Array.from({ length: runs }, (_, i) => `c${i}`)
    const client = children.start(fixture, ["chaos", suite.server.url, ...ids], chaosEnv)
    const killed = new Set<number>()
    const timeline: Array<string> = []
    const started = Date.now()
    // The chaos starts once the runs are under way (a few steps done).
    await until(() => parse(log).filter((l) => l.kind === "done").length >= 20, 60_000, "the runs to start")
    for (let k = 0; k < kills; k++) {
      await new Promise((resolve) => setTimeout(resolve, 600 + Math.floor(random() * 900)))
      // A random runner among those running steps now (a runner that just joined may own no shard yet).
      const recent = new Set(parse(log).filter((l) => l.kind === "start" && l.at > Date.now() - 500).map((l) => l.pid))
      const busy = live.filter((r) => recent.has(r.process.pid!))
      const pool = busy.length > 0 ? busy : live
      const victim = pool[Math.floor(random() * pool.length)]!
      live.splice(live.indexOf(victim), 1)
      victim.process.kill("SIGKILL")
      killed.add(victim.process.pid!)
      timeline.push(`+${Date.now() - started} ms: killed ${victim.process.pid}`)
      const fresh = await runner()
      timeline.push(`+${Date.now() - started} ms: started ${fresh.process.pid}`)
      live.push(fresh)
      all.push(fresh)
    }
    const code = await Promise.race([client.exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 90_000))])
    const runnersSaid = () => all.map((r) => `runner ${r.process.pid}${killed.has(r.process.pid!) ? " (killed)" : ""}:\n${r.output().split("\n").slice(-15).join("\n")}`).join("\n")
    // A run that never finished: its side effects (ms since the chaos started), the kills, the runners' last words.
    const unfinished = () => {
      const out = client.output()
      const open = ids.filter((id) => !new RegExp(`^(RESULT|FAILED) ${id} `, "m").test(out))
      const lines = parse(log)
      return `unfinished: ${open.join(" ")}\n${timeline.join("\n")}\n` +
        open.map((id) => lines.filter((l) => l.runId === id).map((l) => `${id} ${l.kind} ${l.step} ${l.pid}${killed.has(l.pid) ? "(killed)" : ""} +${l.at - started}`).join("\n")).join("\n")
    }
    // CHAOS_KEEP=<dir>: a pass that hangs leaves there the side-effect log and each runner's whole output.
    if (code !== 0 && process.env.CHAOS_KEEP) {
      mkdirSync(process.env.CHAOS_KEEP, { recursive: true })
      copyFileSync(log, join(process.env.CHAOS_KEEP, `chaos-${seed}.log`))
      for (const r of all) writeFileSync(join(process.env.CHAOS_KEEP, `runner-${r.process.pid}${killed.has(r.process.pid!) ? "-killed" : ""}.txt`), r.output())
      writeFileSync(join(process.env.CHAOS_KEEP, `client-${seed}.txt`), `${client.output()}\n${timeline.join("\n")}\nstarted at ${started}`)
    }
    // The client's own last words (a run that died, not failed, makes it exit 1), without its result lines.
    const clientSaid = () => client.output().split("\n").filter((l) => !/^(RESULT|FAILED) /.test(l)).slice(-15).join("\n")
    expect(code, `${unfinished()}\n${runnersSaid()}\nclient (exit ${code}):\n${clientSaid()}`).toBe(0)
    const elapsed = Date.now() - started

    const lines = parse(log)
    const output = client.output()
    let succeeded = 0
    let ambiguous = 0
    let reruns = 0
    for (const id of ids) {
      const of = (kind: string, step: number) => lines.filter((l) => l.runId === id && l.kind === kind && l.step === step)
      const result = new RegExp(`^(RESULT|FAILED) ${id} (\\S+)`, "m").exec(output)
      // Every run finished: its result, or AmbiguousStep (a non-idempotent step in flight at a kill).
      expect(result, `${id} finished`).not.toBe(null)
      const failedAt: Array<number> = []
      // The run's side effects (ms since the chaos started) and the kills, for a failure's message.
      const story = () =>
        `${new RegExp(`^(RESULT|FAILED) ${id} .*$`, "m").exec(output)?.[0]}\n${timeline.join("\n")}\n` +
        lines.filter((l) => l.runId === id).map((l) => `${l.kind} ${l.step} ${l.pid}${killed.has(l.pid) ? "(killed)" : ""} +${l.at - started}`).join("\n")
      for (let step = 1; step <= 10; step++) {
        const starts = of("start", step)
        // The runner that takes a run over flags the step that was in flight as a re-run; killed in
        // turn before the run moved on, the next owner flags it again. The last flag is the one
        // that stands: every earlier one came from a runner that was killed.
        const flags = of("rerun", step)
        const flagged = flags.slice(-1)
        for (const earlier of flags.slice(0, -1)) {
          expect(killed.has(earlier.pid), `${id} s${step} flagged again after a flag on a live runner\n${story()}`).toBe(true)
        }
        // Run again only where its runner died: every start but the last on a killed runner.
        for (const earlier of starts.slice(0, -1)) {
          expect(killed.has(earlier.pid), `${id} s${step} started again after a start on a live runner\n${story()}`).toBe(true)
        }
        if (starts.length > 1) {
          // Only an idempotent step in flight on a killed runner, reported as a re-run.
          expect(step % 3, `${id} s${step} is idempotent`).not.toBe(0)
          expect(flagged, `${id} s${step} reported as re-run`).toHaveLength(1)
        }
        if (flagged.length === 1 && step % 3 !== 0) reruns++
        if (flagged.length === 1 && step % 3 === 0) failedAt.push(step)
        // Flagged only where the step's body started again after a kill: an idempotent step's flag
        // comes from the runner of its last start (every earlier start was on a killed runner); a
        // step replayed from the journal (its start on a live runner, the flag elsewhere) never is.
        // (A kill between the step's recorded start and its side effect leaves one start: the re-run.)
        if (flagged.length === 1 && step % 3 !== 0) {
          expect(starts.at(-1)?.pid, `${id} s${step} flagged where it ran again`).toBe(flagged[0]!.pid)
        }
        if (flagged.length === 0) expect(starts.length, `${id} s${step} ran twice unflagged\n${story()}`).toBeLessThanOrEqual(1)
        // No compensation twice, unless it was itself in flight on a killed runner.
        const undone = of("undo", step)
        expect(undone.length, `${id} s${step} compensations\n${story()}`).toBeLessThanOrEqual(2)
        if (undone.length === 2) expect(killed.has(undone[0]!.pid)).toBe(true)
      }
      if (result![1] === "RESULT") {
        succeeded++
        expect(result![2]).toBe("55")
        expect(lines.filter((l) => l.runId === id && l.kind === "undo")).toEqual([])
      } else {
        ambiguous++
        expect(result![2], `${id} failed with`).toBe("AmbiguousStep")
        // The non-idempotent step in flight at the kill: run once, never re-sent; later steps never ran;
        // each completed step before it compensated.
        expect(failedAt, `${id} ambiguous step\n${story()}`).toHaveLength(1)
        const at = failedAt[0]!
        expect(of("start", at).length).toBeLessThanOrEqual(1)
        for (const first of of("start", at)) expect(killed.has(first.pid)).toBe(true)
        for (let step = at + 1; step <= 10; step++) expect(of("start", step), `${id} s${step} after the ambiguous one`).toHaveLength(0)
        for (let step = 1; step < at; step++) expect(of("undo", step).length, `${id} s${step} undone`).toBeGreaterThanOrEqual(1)
      }
    }
    // The kills hit steps in flight: some were re-run elsewhere, or failed as ambiguous.
    expect(reruns + ambiguous, "steps in flight at a kill").toBeGreaterThan(0)
    console.log(
      `chaos: ${runs} runs, ${kills} runners killed and replaced: ${succeeded} succeeded, ${ambiguous} AmbiguousStep, ` +
        `${reruns} idempotent step(s) re-run after their runner died; ${elapsed} ms`
    )
    children.killAll()
    await Promise.all(all.map((r) => r.exited))
    expect(children.alive()).toBe(0)
    // No orphan: every runner process is gone.
    for (const r of all) expect(() => process.kill(r.process.pid!, 0)).toThrow()
  }, 150_000)
})
