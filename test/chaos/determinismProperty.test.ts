/**
 * Determinism, as a property over every seed flow's chaos suite (`flows/*.chaos.ts`) and a
 * planted-bug flow, for a few seeds, with the flows' retries jittered: the same seed searched
 * twice — once in order, once after every other suite ran in between — gives byte-identical
 * JSON reports and byte-identical event streams, injection logs and calls for every run; every
 * run replays from its token byte for byte, and so does every counterexample (its trace as the
 * CLI prints it). `FC_SEED=<n>` replays one seed; small run counts keep it to seconds.
 */
import { readdirSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Chaos } from "../../chaos/index.ts"
import type { FlowRunResult } from "../../chaos/FlowCheck.ts"
import * as ChaosRunner from "../../chaos/Runner.ts"
import { chaosSeed } from "../../chaos/vitest.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const RUNS = 4
const seeds = [chaosSeed("determinism property"), chaosSeed("determinism property", 1)]

interface Case {
  readonly file: string
  readonly runs: number
  readonly flow: any
  readonly suite: ChaosRunner.ChaosSuite & { readonly servers: NonNullable<ChaosRunner.ChaosSuite["servers"]> }
}

const load = async (file: string, runs = RUNS): Promise<Case> => {
  const m = (await import(join(root, file))) as { readonly default: unknown; readonly chaos: ChaosRunner.ChaosSuite }
  return { file, runs, flow: m.default, suite: { ...m.chaos, servers: m.chaos.servers! } }
}

/** One run as bytes: its plan (as its token), outcome kind, events, injection log, calls, duration and violations. */
const bytesOf = (run: FlowRunResult<unknown, unknown>): string =>
  JSON.stringify([Chaos.tokenOf(run.plan), Chaos.outcomeKind(run.outcome), run.events, run.log, run.sent, run.durationMs, run.violations])

/** A run's trace as `mcpflow chaos --replay` prints it. */
const traceOf = (run: FlowRunResult<unknown, unknown>): string =>
  [Chaos.formatFlowRun(run), ChaosRunner.eventTrace(run.events)].join("\n")

const search = (c: Case, seed: number) =>
  Effect.gen(function*() {
    const { observe, summary } = ChaosRunner.collector()
    const runs: Array<FlowRunResult<unknown, unknown>> = []
    const options = ChaosRunner.options(c.suite, {
      input: c.suite.input ?? {},
      runs: c.runs,
      seed,
      observe: (run) => {
        observe(run)
        runs.push(run)
      }
    })
    const report = yield* Chaos.checkFlow(c.flow, options)
    const json = JSON.stringify(ChaosRunner.toJson(report as never, summary, ChaosRunner.invariantNames(c.suite), c.file))
    return { report, json, runs: runs.map(bytesOf), plans: runs.map((r) => r.plan), retries: summary.retries, spec: { ...options, flow: c.flow } }
  })

describe("determinism over every seed flow's chaos suite", () => {
  it("same seed → byte-identical reports and event streams; every run and counterexample replays from its token", async () => {
    const files = readdirSync(join(root, "flows")).filter((f) => f.endsWith(".chaos.ts")).sort().map((f) => `flows/${f}`)
    assert.isAtLeast(files.length, 5)
    // The planted bug (a saga step without its compensation) needs more runs to be found; its runs are cheap.
    const cases = await Promise.all([...files.map((f) => load(f)), load("test/chaos/fixtures/order.ts", 100)])
    const pairs = cases.flatMap((c) => seeds.map((seed) => ({ c, seed })))
    const first = []
    for (const { c, seed } of pairs) first.push(await Effect.runPromise(search(c, seed)))
    // Again, in reverse order: nothing a run leaves behind (in a module, a cache, a registry) may change another.
    const second = []
    for (const { c, seed } of [...pairs].reverse()) second.push(await Effect.runPromise(search(c, seed)))
    second.reverse()
    let retries = 0
    let counterexamples = 0
    for (let i = 0; i < pairs.length; i++) {
      const { c, seed } = pairs[i]!
      const a = first[i]!
      const b = second[i]!
      const label = `${c.file} seed ${seed} (replay with FC_SEED=${seed})`
      retries += a.retries
      assert.strictEqual(b.json, a.json, `${label}: JSON report`)
      assert.strictEqual(b.runs.length, a.runs.length, label)
      for (let r = 0; r < a.runs.length; r++) assert.strictEqual(b.runs[r], a.runs[r], `${label}: run ${r}`)
      // Every run of the search, replayed from its token.
      for (let r = 0; r < a.plans.length; r++) {
        const replayed = await Effect.runPromise(Chaos.replayFlow(a.spec, Chaos.tokenOf(a.plans[r]!)))
        assert.strictEqual(bytesOf(replayed as FlowRunResult<unknown, unknown>), a.runs[r], `${label}: run ${r} from its token`)
      }
      const cx = a.report.counterexample as FlowRunResult<unknown, unknown> | undefined
      if (cx !== undefined) {
        counterexamples++
        const replayed = await Effect.runPromise(Chaos.replayFlow(a.spec, a.report.token!)) as FlowRunResult<unknown, unknown>
        assert.strictEqual(traceOf(replayed), traceOf(cx), `${label}: the counterexample's trace from its token`)
        assert.isNotEmpty(replayed.violations, label)
      }
    }
    assert.isAbove(retries, 0, "the flows retried, so jitter was drawn")
    assert.isAbove(counterexamples, 0, "the planted bug was found, so a counterexample was replayed")
  }, 120_000)
})
