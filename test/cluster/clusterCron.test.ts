/**
 * Schedules on a cluster (real time, as the issue asks for this e2e): two `mcpflow worker
 * --database` runners serve a flow file whose schedule fires every second; each tick starts
 * exactly one run across both runners (Effect's `ClusterCron`), never one per runner.
 */
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { clusterSuite } from "../support/clusterSuite.ts"
import { freePort } from "../support/postgres.ts"

const root = resolve(import.meta.dirname, "../..")
const cli = join(root, "bin/mcpflow.js")
const flow = join(import.meta.dirname, "fixtures", "clusterTicking.ts")

const suite = clusterSuite("mcpflow-cron-")
const { children } = suite

describe("schedules on a cluster", () => {
  it("a per-second schedule served by two runners: each tick starts exactly one run", async () => {
    const log = join(suite.dir, "ticks.log")
    const runner = async () =>
      children.start(cli, ["worker", "--database", suite.server.url, "--listen", `127.0.0.1:${await freePort()}`, flow], {
        NO_COLOR: "1",
        MCPFLOW_DATABASE_URL: "",
        TICK_LOG: log
      })
    const runners = await Promise.all([runner(), runner()])
    await Promise.all(runners.map((r) => r.waitFor(/serving cluster-ticking/, 30_000)))
    await new Promise((resolve) => setTimeout(resolve, 4_000))
    for (const r of runners) r.process.kill("SIGKILL")
    await Promise.all(runners.map((r) => r.exited))

    const ran = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter((l) => l !== "").map((l) => l.split(" ")[0]!) : []
    const fired = runners.flatMap((r) => [...r.output().matchAll(/tick (\S+) started run (\S+)/g)].map((m) => ({ at: m[1]!, runId: m[2]! })))
    // Ticks fired: each by one runner only, one run each, named by its tick.
    expect(fired.length, runners.map((r) => r.output()).join("\n")).toBeGreaterThanOrEqual(2)
    expect(new Set(fired.map((f) => f.at)).size).toBe(fired.length)
    for (const f of fired) expect(f.runId).toBe(`cluster-ticking@${f.at}`)
    // Each tick's run ran once (the last ones may not have run before the kill), and nothing else ran.
    expect(new Set(ran).size).toBe(ran.length)
    expect(ran.length).toBeGreaterThanOrEqual(fired.length - 2)
    for (const runId of ran) expect(fired.map((f) => f.runId)).toContain(runId)
    console.log(`two runners, 4 s: ${fired.length} ticks fired, ${ran.length} runs ran, by ${new Set(runners.filter((r) => /started run/.test(r.output())).map((r) => r.process.pid)).size} runner(s)`)
  }, 120_000)
})
