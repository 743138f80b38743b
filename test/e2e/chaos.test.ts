/**
 * End-to-end tests of `mcpflow chaos` through the real CLI (a child process, tsx + Node): a
 * broken flow file is caught (exit 1, summary, shrunk plan, step tree, replay command, JUnit
 * XML), its printed token replays with the full event trace, the fixed flow holds (`--json`,
 * `--faults`, `--rate`), and a bad flag is a usage error; `--workers 2` reports what `--workers 1` does. Six spawns; five start together.
 */
import { existsSync, readFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { runCli } from "../support/cli.ts"

const fixture = "test/chaos/fixtures/order.ts"
const seed = process.env.FC_SEED ?? String(Date.now() % 2 ** 31)
console.log(`[chaos e2e] seed ${seed} (replay with FC_SEED=${seed})`)

/** `mcpflow chaos ...args`, killed after 60 s (a loaded machine is slow; a hang still fails). */
const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runCli(["chaos", ...args], { env: { NO_COLOR: "1", ...env } })

const dir = await mkdtemp(join(tmpdir(), "mcpflow-chaos-"))
const junitFile = join(dir, "chaos.xml")
const broken = cli([fixture, "--runs", "200", "--seed", seed, "--junit", junitFile])
const fixed = cli([fixture, "--runs", "100", "--seed", seed, "--faults", "tool-error,drop", "--rate", "0.5", "--json"], { CHAOS_FIXED: "1" })
const badFlag = cli([fixture, "--faults", "latency,gremlins,lost-respnse"])
const onWorkers = (n: number) => cli([fixture, "--runs", "200", "--seed", seed, "--json", "--workers", String(n)])
const [inProcess, onTwo] = [onWorkers(1), onWorkers(2)]

afterAll(() => rm(dir, { recursive: true, force: true }))

describe("mcpflow chaos", () => {
  it("catches the broken saga: exit 1, summary, shrunk plan, step tree, replay command, JUnit; the token replays", async () => {
    const run = await broken
    assert.strictEqual(run.code, 1, run.stderr + run.stdout)
    assert.include(run.stdout, "chaos order-no-refund: AN INVARIANT WAS VIOLATED")
    for (const row of ["faults injected", "outcomes", "invariants", "virtual duration", "retries", "breaker trips"]) assert.include(run.stdout, row)
    assert.include(run.stdout, "✗ atomic: order")
    assert.include(run.stdout, "step tree:")
    assert.match(run.stdout, /✓ charge \d+(?:\.\d)?m?s\n/)
    const replayLine = /replay: npx mcpflow chaos test\/chaos\/fixtures\/order\.ts --input '\{"orderId":"o1","amount":25\}' --replay '([A-Za-z0-9_-]+)'/.exec(run.stdout)
    assert.isNotNull(replayLine, run.stdout)
    const plan = /plan: seed \d+, (\d+) fault\(s\)/.exec(run.stdout)
    assert.isAtMost(Number(plan![1]), 3)
    assert.isTrue(existsSync(junitFile))
    const xml = readFileSync(junitFile, "utf8")
    assert.match(xml, /<testsuite name="mcpflow chaos order-no-refund" tests="\d+" failures="1"/)
    assert.include(xml, `<testcase classname="mcpflow chaos order-no-refund" name="atomic: order"`)

    const again = await cli([fixture, "--replay", replayLine![1]!])
    assert.strictEqual(again.code, 1, again.stderr + again.stdout)
    assert.include(again.stdout, "atomic: order: outcome Failure, net charge 25")
    assert.include(again.stdout, "events:")
    assert.match(again.stdout, /t=\d+ms StepSucceeded order\/charge/)
    assert.match(again.stdout, /t=\d+ms FlowFinished failure/)
  }, 90_000)

  it("the fixed saga holds: exit 0 and a JSON summary", async () => {
    const run = await fixed
    assert.strictEqual(run.code, 0, run.stderr + run.stdout)
    const summary = JSON.parse(run.stdout) as {
      ok: boolean
      runs: number
      seed: number
      faultsInjected: Record<string, number>
      invariants: Record<string, string>
      virtualDurationMs: { p50: number; p99: number }
    }
    assert.isTrue(summary.ok)
    assert.strictEqual(summary.runs, 100)
    assert.strictEqual(summary.seed, Number(seed))
    assert.includeMembers(["ToolError", "ConnectionDrop"], Object.keys(summary.faultsInjected))
    assert.isAbove(Object.values(summary.faultsInjected).reduce((a, b) => a + b, 0), 0)
    assert.deepStrictEqual(new Set(Object.values(summary.invariants)), new Set(["held"]))
    assert.include(Object.keys(summary.invariants), "atomic: order")
    assert.isAtLeast(summary.virtualDurationMs.p99, summary.virtualDurationMs.p50)
  }, 90_000)

  it("--workers 2 gives the report of --workers 1, byte for byte (the broken saga, found and shrunk)", async () => {
    const [one, two] = await Promise.all([inProcess, onTwo])
    assert.strictEqual(one.code, 1, one.stderr + one.stdout)
    assert.strictEqual(two.code, 1, two.stderr + two.stdout)
    assert.strictEqual(two.stdout, one.stdout)
  }, 90_000)

  it("an unknown fault kind is a usage error (exit 2)", async () => {
    const run = await badFlag
    assert.strictEqual(run.code, 2, run.stderr + run.stdout)
    assert.include(run.stderr, "unknown fault kind(s) gremlins, lost-respnse (did you mean lost-response?)")
  }, 90_000)
})
