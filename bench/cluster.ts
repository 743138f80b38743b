/**
 * Flows on a cluster: durable steps per second with 1, 2 and 3 runner processes on one
 * (embedded) Postgres, against the SQLite engine in one process on the same flow, and how long a
 * SIGKILLed runner's runs take to resume on another runner.
 *
 * Each phase uses a fresh database: R runs of S trivial steps (`test/cluster/fixtures/clusterFlow.ts`,
 * no pause in the steps) submitted at once by a client process, timed from submission to the
 * last result (the client already connected). The SQLite baseline runs the same R × S steps
 * with `Engines.durable` in this process. On a 2-core machine the curve's shape and the cost per
 * step matter, not the absolute figures: runners, client and Postgres share the cores.
 *
 * `BENCH_RUNS` (default 20) and `BENCH_STEPS` (default 20) change the load. Last line:
 * `{bench: "cluster", value: steps/s with 3 runners, unit: "steps/s", baseline: "sqlite", ratio}`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted, Schema } from "effect"
import { Flow, step } from "../dsl/flow/index.ts"
import * as Engines from "../src/runtime/engine/Engines.ts"
import { freePort, startPostgres } from "../test/support/postgres.ts"
import { makeChildren } from "../test/support/processes.ts"

const RUNS = Number(process.env.BENCH_RUNS ?? 20)
const STEPS = Number(process.env.BENCH_STEPS ?? 20)
const fixture = join(import.meta.dirname, "../test/cluster/fixtures/clusterFlow.ts")
const env = { STEP_MS: "0", SHARDS: "30" }

const sqliteBaseline = async () => {
  const flow = Flow.make({
    name: "counted",
    input: Schema.Struct({ runId: Schema.String, steps: Schema.Number }),
    output: Schema.Number,
    run: ({ steps }) =>
      Effect.gen(function*() {
        let sum = 0
        for (let i = 1; i <= steps; i++) sum += yield* step(`s${i}`, Effect.succeed(i))
        return sum
      })
  })
  const dir = mkdtempSync(join(tmpdir(), "mcpflow-bench-cluster-sqlite-"))
  try {
    const program = Effect.gen(function*() {
      yield* Flow.run(flow, { runId: "warmup", steps: 2 }, { runId: "warmup" })
      const started = performance.now()
      yield* Effect.forEach(
        Array.from({ length: RUNS }, (_, i) => `run-${i}`),
        (runId) => Flow.run(flow, { runId, steps: STEPS }, { runId }),
        { concurrency: "unbounded" }
      )
      return performance.now() - started
    }).pipe(Effect.provide(Engines.durable(dir)))
    return await Effect.runPromise(program as Effect.Effect<number, unknown>)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const children = makeChildren()
const server = await startPostgres()
const createDatabase = (name: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    yield* sql.unsafe(`create database ${name}`)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(server.url) })), Effect.scoped))
const urlOf = (name: string) => server.url.replace(/\/[^/]+$/, `/${name}`)

const startRunners = async (url: string, count: number, sideEffects: string) => {
  const runners = await Promise.all(
    Array.from({ length: count }, async () => children.start(fixture, ["runner", url, String(await freePort()), sideEffects], env))
  )
  await Promise.all(runners.map((r) => r.waitFor(/READY/, 60_000)))
  return runners
}

const runClient = async (url: string, ids: ReadonlyArray<string>, steps: number) => {
  const client = children.start(fixture, ["client", url, String(steps), ...ids], env)
  await client.waitFor(/ELAPSED \d+/, 120_000)
  return Number(/ELAPSED (\d+)/.exec(client.output())![1])
}

try {
  const dir = mkdtempSync(join(tmpdir(), "mcpflow-bench-cluster-"))
  const sqliteMs = await sqliteBaseline()
  const sqlite = (RUNS * STEPS) / (sqliteMs / 1000)
  const curve: Array<{ runners: number; perSecond: number; ms: number }> = []
  for (const count of [1, 2, 3]) {
    const name = `bench_${count}`
    await createDatabase(name)
    const runners = await startRunners(urlOf(name), count, join(dir, `${name}.log`))
    await runClient(urlOf(name), ["warmup"], 2)
    const ms = await runClient(urlOf(name), Array.from({ length: RUNS }, (_, i) => `run-${i}`), STEPS)
    curve.push({ runners: count, ms, perSecond: (RUNS * STEPS) / (ms / 1000) })
    for (const r of runners) r.process.kill("SIGKILL")
    await Promise.all(runners.map((r) => r.exited))
  }

  // Failover: two runners, slow steps; kill the busier one mid-run.
  await createDatabase("bench_failover")
  const sideEffects = join(dir, "failover.log")
  const failoverEnv = { ...env, STEP_MS: "100" }
  const runners = await Promise.all(
    [0, 1].map(async () => children.start(fixture, ["runner", urlOf("bench_failover"), String(await freePort()), sideEffects], failoverEnv))
  )
  await Promise.all(runners.map((r) => r.waitFor(/READY/, 60_000)))
  const lines = () =>
    existsSync(sideEffects)
      ? readFileSync(sideEffects, "utf8").trim().split("\n").map((l) => l.split(" ")).map(([runId, kind, stepNo, pid, at]) => ({
        runId: runId!, kind: kind!, step: Number(stepNo), pid: Number(pid), at: Number(at)
      }))
      : []
  const client = children.start(fixture, ["client", urlOf("bench_failover"), "10", ...Array.from({ length: 10 }, (_, i) => `f-${i}`)], failoverEnv)
  const waitStart = Date.now()
  while (lines().filter((l) => l.kind === "done").length < 20 && Date.now() - waitStart < 60_000) await new Promise((r) => setTimeout(r, 20))
  const before = lines()
  const victim = runners.map((r) => r.process.pid!).sort((a, b) => before.filter((l) => l.pid === b).length - before.filter((l) => l.pid === a).length)[0]!
  const inFlight = new Set(before.filter((l) => l.pid === victim).map((l) => l.runId))
  runners.find((r) => r.process.pid === victim)!.process.kill("SIGKILL")
  const killedAt = Date.now()
  await client.waitFor(/ELAPSED/, 120_000)
  const resumed = lines().filter((l) => inFlight.has(l.runId) && l.pid !== victim && l.at >= killedAt)
  const firstAt = new Map<string, number>()
  for (const l of resumed) if (!firstAt.has(l.runId)) firstAt.set(l.runId, l.at)
  const moves = [...firstAt.values()].map((at) => at - killedAt).sort((a, b) => a - b)

  console.log(`cluster: ${RUNS} runs × ${STEPS} trivial steps, submitted at once; one embedded Postgres (fsync off)`)
  console.log(`  SQLite engine (1 process):  ${sqliteMs.toFixed(0)} ms, ${sqlite.toFixed(0)} steps/s, ${(sqliteMs / (RUNS * STEPS)).toFixed(2)} ms/step`)
  for (const c of curve) {
    console.log(`  ${c.runners} runner(s) on Postgres:    ${c.ms.toFixed(0)} ms, ${c.perSecond.toFixed(0)} steps/s, ${(c.ms / (RUNS * STEPS)).toFixed(2)} ms/step`)
  }
  console.log(
    `  killed runner's runs (${moves.length}) resumed elsewhere after ${moves[0] ?? NaN}–${moves.at(-1) ?? NaN} ms` +
      " (shard locks are Postgres advisory locks, released when its session dies; assignments refresh every 1 s)"
  )
  const top = curve.at(-1)!
  console.log(JSON.stringify({
    bench: "cluster",
    value: Math.round(top.perSecond),
    unit: "steps/s",
    baseline: "sqlite",
    ratio: Number((top.perSecond / sqlite).toFixed(4))
  }))
  rmSync(dir, { recursive: true, force: true })
} finally {
  children.killAll()
  await server.stop()
}
