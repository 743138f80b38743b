/**
 * Chaos runs are deterministic: a run's `Random` (retry jitter, hedging, …) is seeded from its
 * fault plan, time is virtual, so one seed gives byte-identical reports and event streams — in a
 * search, through the CLI's runner, and in a replay from a token.
 */
import { assert, describe, it } from "@effect/vitest"
import { resolve } from "node:path"
import { Effect, Random } from "effect"
import { Chaos, Fault } from "../../chaos/index.ts"
import * as ChaosRunner from "../../chaos/Runner.ts"
import * as WorkerPool from "../../chaos/internal/WorkerPool.ts"
import * as RunSeed from "../../chaos/RunSeed.ts"
import cicd from "../../flows/cicd.ts"
import { chaos } from "../../flows/cicd.chaos.ts"
import { brokenOrder, brokenPayment } from "./workerSpecs.ts"

const suite = { ...chaos, servers: chaos.servers! }
const cli = { input: chaos.input ?? {}, runs: 40, seed: 7 }

const searchOnce = Effect.gen(function*() {
  const { report, summary, names } = yield* ChaosRunner.run(cicd, suite, cli)
  return { json: JSON.stringify(ChaosRunner.toJson(report, summary, names, "flows/cicd.ts")), summary }
})

/** The same search with its runs on `workers` threads, which load the flow file as `mcpflow chaos --workers` does. */
const searchOn = (workers: number) =>
  Effect.gen(function*() {
    const workerSpec = {
      module: new URL("../../src/app/cli/commands/internal/chaosWorkerSpec.ts", import.meta.url).href,
      args: { file: resolve("flows/cicd.ts"), input: cli.input, seed: cli.seed }
    }
    const { report, summary, names } = yield* ChaosRunner.run(cicd, suite, { ...cli, workers, workerSpec })
    return JSON.stringify(ChaosRunner.toJson(report, summary, names, "flows/cicd.ts"))
  })

describe("deterministic chaos runs", () => {
  it("the same seed twice, with full jitter on every retry: byte-identical JSON reports", async () => {
    const first = await Effect.runPromise(searchOnce)
    const second = await Effect.runPromise(searchOnce)
    assert.isAbove(first.summary.retries, 0, "the runs retried (so jitter was drawn)")
    assert.strictEqual(second.json, first.json)
  })

  it("runs on worker threads give the report of runs in one thread, byte for byte: a passing search and one that finds and shrinks a bug", async () => {
    assert.strictEqual(await Effect.runPromise(searchOn(2)), await Effect.runPromise(searchOnce.pipe(Effect.map((r) => r.json))))
    const workerSpec = { module: new URL("./workerSpecs.ts", import.meta.url).href, export: "brokenOrder" }
    const found = (workers: number, spec = workerSpec) =>
      Effect.runPromise(Effect.gen(function*() {
        const { observe, summary } = ChaosRunner.collector()
        let fromWorkers = 0
        const seen = (run: Parameters<typeof observe>[0]) => {
          // A run made on a worker thread comes without the servers' snapshots.
          if (Object.keys(run.snapshots).length === 0) fromWorkers++
          observe(run)
        }
        const report = yield* Chaos.checkFlow(brokenOrder.flow, { ...brokenOrder, runs: 60, seed: 3, faults: { rate: 0.3 }, observe: seen, workers, workerSpec: spec })
        return { report, summary, fromWorkers, json: JSON.stringify({ ...report, counterexample: report.counterexample === undefined ? undefined : Chaos.formatFlowRun(report.counterexample) }) + JSON.stringify(summary) }
      }))
    const one = await found(1)
    assert.isFalse(one.report.ok, "the bug is found")
    assert.isAbove(one.report.shrinks, 0, "and shrunk")
    // The main thread only hands out chunks here, so that every run is a worker's.
    WorkerPool.settings.mainRuns = false
    const two = await found(2).finally(() => (WorkerPool.settings.mainRuns = true))
    assert.strictEqual(one.fromWorkers, 0)
    assert.strictEqual(two.fromWorkers, two.summary.runs, "every run of the search was made on a worker thread")
    assert.strictEqual(two.json, one.json)
    // By default the main thread runs chunks next to the worker: whoever ran what, the same report.
    const mixed = await found(2)
    assert.strictEqual(mixed.json, one.json)
    // Workers that cannot load the spec cost only speed: every run is made here, same report.
    const broken = await found(2, { ...workerSpec, export: "noSuchExport" })
    assert.strictEqual(broken.fromWorkers, 0)
    assert.strictEqual(broken.json, one.json)
  }, 120_000)

  it("Chaos.check of a plain program on worker threads: the report of one thread, byte for byte", async () => {
    const workerSpec = { module: new URL("./workerSpecs.ts", import.meta.url).href, export: "brokenPayment" }
    const report = (workers: number) =>
      Effect.runPromise(Effect.map(Chaos.check({ ...brokenPayment, runs: 60, seed: 5, workers, workerSpec }), (r) =>
        JSON.stringify({ ...r, counterexample: r.counterexample === undefined ? undefined : Chaos.format(r) })))
    const one = await report(1)
    assert.include(one, `"ok":false`)
    assert.strictEqual(await report(2), one)
  }, 120_000)

  it("the same plan twice (and from its replay token): byte-identical event streams, jittered delays included", async () => {
    const plan = Fault.plan(11, [Fault.toolError("docker.build", "injected tool failure", { rate: 0.5 }), Fault.connectionDrop("kubernetes.kubectl_apply", { rate: 0.5 })])
    const spec = { ...ChaosRunner.options<typeof cicd.input, typeof cicd.output, unknown, never>(suite, { input: cli.input, seed: 0 }), flow: cicd }
    const a = await Effect.runPromise(Chaos.runFlowOnce(spec, plan))
    const b = await Effect.runPromise(Chaos.runFlowOnce(spec, plan))
    const c = await Effect.runPromise(Chaos.replayFlow(spec, Chaos.tokenOf(plan)))
    const delays = a.events.flatMap((e) => (e._tag === "StepRetried" ? [e.delayMs] : []))
    assert.isAbove(delays.length, 0, "the plan made the flow retry")
    assert.isTrue(delays.some((d) => !Number.isInteger(d) || d % 1000 !== 0), `jittered delays, not the bare backoff: ${delays.join(", ")}`)
    assert.strictEqual(JSON.stringify(b.events), JSON.stringify(a.events))
    assert.strictEqual(JSON.stringify(c.events), JSON.stringify(a.events))
  })

  it("a run's Random is a function of its plan's seed: the same plan draws the same, another seed differently, other faults the same", async () => {
    const draw = (plan: Fault.FaultPlan) => Effect.runPromise(Effect.all([Random.next, Random.next]).pipe(RunSeed.withPlanRandom(plan)))
    const p = Fault.plan(3, [Fault.hang("a.b")])
    assert.deepStrictEqual(await draw(p), await draw(p))
    assert.notDeepEqual(await draw(p), await draw(Fault.plan(4, [Fault.hang("a.b")])))
    // Shrinking drops faults: the rest of the run (its jitter included) must not change with them.
    assert.deepStrictEqual(await draw(p), await draw(Fault.plan(3, [Fault.hang("a.c")])))
    assert.deepStrictEqual(await draw(p), await draw(Fault.plan(3, [])))
  })
})
