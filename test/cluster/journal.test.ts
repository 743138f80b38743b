/**
 * The cluster's run journal in Postgres, through the CLI as users run it (the bin script, real
 * processes, one embedded Postgres for the file): a runner journals each run it executes (record
 * and every event, its sensitive input sealed), `mcpflow run --database` reports the runner's
 * steps live, and `runs`, `show`, `signal`, `cancel` and `resume` take `--database` as they take
 * a state directory; `mcpflow ui --database` serves them, `mcpflow audit --database` shows the
 * runners' append-only audit log.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import type { FlowEvent } from "../../dsl/flow/FlowEvents.ts"
import { RunJournal } from "../../dsl/ports/RunJournal.ts"
import * as ClusterEngine from "../../src/runtime/cluster/ClusterEngine.ts"
import * as PgRunJournal from "../../src/runtime/sql/postgres/PgRunJournal.ts"
import * as PgAuditLog from "../../src/runtime/sql/postgres/PgAuditLog.ts"
import { AuditLog } from "../../dsl/ports/AuditLog.ts"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, startPostgres, type TestPostgres } from "../support/postgres.ts"
import { type Child, makeChildren } from "../support/processes.ts"

const root = resolve(import.meta.dirname, "../..")
const bin = join(root, "bin/mcpflow.js")
const flow = join(root, "test/cluster/fixtures/journaled.ts")
const children = makeChildren()
const secret = "planted-s3cret-token"

const query = <A extends object>(url: string, f: (sql: PgClient.PgClient) => Effect.Effect<ReadonlyArray<A>, unknown>) =>
  Effect.runPromise(
    Effect.gen(function*() {
      return yield* f(yield* PgClient.PgClient)
    }).pipe(
      // Postgres's own message (a trigger's exception), not only the client's "Query failed".
      Effect.mapError((e) => {
        const messages: Array<string> = []
        for (let c: unknown = e; c !== undefined && messages.length < 6; c = (c as { cause?: unknown }).cause) {
          messages.push(String((c as { message?: unknown }).message ?? c))
        }
        return new Error(messages.join(": "))
      }),
      Effect.provide(PgClient.layer({ url: Redacted.make(url) })),
      Effect.scoped
    )
  )
const env = { NO_COLOR: "1", MCPFLOW_DATABASE_URL: "", MCPFLOW_JOURNAL_KEY: "cluster-journal-test-key" }

const cli = (args: ReadonlyArray<string>, extra?: Record<string, string>): Child => children.start(bin, args, { ...env, ...extra })

const finish = async (child: Child, ms = 30_000) => {
  const code = await Promise.race([child.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms))])
  return { code, output: child.output() }
}

/** The last JSON value of a command's output (a JSON line, or pretty-printed over several lines). */
const lastJson = <A>(output: string): A => {
  const lines = output.trim().split("\n")
  for (let start = lines.length - 1; start >= 0; start--) {
    if (!lines[start]!.startsWith("{") && !lines[start]!.startsWith("[")) continue
    for (let end = start + 1; end <= lines.length; end++) {
      try {
        return JSON.parse(lines.slice(start, end).join("\n")) as A
      } catch {
        // not a whole value yet
      }
    }
  }
  throw new Error(`no JSON in:\n${output}`)
}

interface Shown {
  readonly runId: string
  readonly status: string
  readonly trigger?: string
  readonly output?: { readonly by: string; readonly tokenLength: number }
  readonly events: ReadonlyArray<{ readonly _tag: string; readonly path?: string; readonly engine?: string }>
}

describe("cluster run journal on Postgres", () => {
  let server: TestPostgres
  let worker: Child
  beforeAll(async () => {
    server = await startPostgres()
    worker = cli(["worker", "--database", server.url, "--listen", `127.0.0.1:${await freePort()}`, flow])
    await worker.waitFor(/serving journaled/, 30_000)
  }, 120_000)
  afterAll(async () => {
    children.killAll()
    await server?.stop()
  })

  const show = async (id: string) => {
    const shown = await finish(cli(["show", id, "--json"], { MCPFLOW_DATABASE_URL: server.url }))
    expect(shown.code, shown.output).toBe(0)
    return lastJson<Shown>(shown.output)
  }

  /** Polls the journal tables (not the CLI: a process start per poll is slow) until the run is parked or ended. */
  const until = async (id: string, status: "waiting" | "succeeded") => {
    for (let i = 0; i < 200; i++) {
      const [row] = await query<{ status: string; waiting: boolean }>(server.url, (sql) =>
        sql`select status, exists (select 1 from mcpflow_run_events e where e.run_id = r.run_id and e.tag = 'StepWaiting') as waiting
            from mcpflow_runs r where run_id = ${id}`)
      if (row !== undefined && (status === "waiting" ? row.status === "running" && row.waiting : row.status === status)) return
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`run ${id} never became ${status}`)
  }

  it("PgRunJournal: events in order across two writers, signals only for running runs, prefixes, cancel requests, prune", async () => {
    const layer = PgRunJournal.layer({ file: "postgres test" }).pipe(
      Layer.provide(ClusterEngine.postgres({ database: Redacted.make(server.url) }))
    )
    const use = <A>(f: (journal: RunJournal["Service"]) => Effect.Effect<A, unknown>) =>
      Effect.runPromise(RunJournal.use(f).pipe(Effect.provide(layer)) as Effect.Effect<A, unknown>)
    const event = (runId: string, n: number): FlowEvent => ({ _tag: "StepStarted", runId, at: n, path: `s${n}`, kind: "step" } as FlowEvent)
    const start = (runId: string) => ({ runId, flow: "unit", input: { n: 1 }, fingerprint: "f", startedAt: 1_000 })
    // Two writers take turns on one run (a run moving to another runner): one ordered history.
    await use((j) => Effect.gen(function*() {
      yield* j.start(start("unit-a"))
      for (let n = 1; n <= 3; n++) j.appendUnsafe(event("unit-a", n))
    }))
    const record = await use((j) => Effect.gen(function*() {
      yield* j.start({ ...start("unit-a"), startedAt: 9_999 })
      for (let n = 4; n <= 6; n++) j.appendUnsafe(event("unit-a", n))
      yield* j.finish({ runId: "unit-a", status: "succeeded", finishedAt: 2_000, output: { ok: true } })
      return [yield* j.get("unit-a"), yield* j.events("unit-a")] as const
    }))
    expect(record[0]).toMatchObject({ status: "succeeded", startedAt: 1_000, finishedAt: 2_000, output: { ok: true }, input: { n: 1 } })
    expect(record[0].owner?.pid).toBe(process.pid)
    expect(record[1].map((e) => (e as { path: string }).path)).toEqual(["s1", "s2", "s3", "s4", "s5", "s6"])
    const outcome = await use((j) => Effect.gen(function*() {
      yield* j.start(start("unit-b"))
      const finished = yield* j.signal("unit-a", "go", { x: 1 })
      const running = yield* j.signal("unit-b", "go", { x: 2 })
      const pending = yield* j.pendingSignals("unit-b")
      yield* j.markDelivered("unit-b", "go")
      const before = yield* j.cancelRequested("unit-b")
      yield* j.requestCancel("unit-b")
      const missing = yield* Effect.flip(j.get("unit-zzz"))
      return {
        finished: finished.status,
        running: running.status,
        pending,
        after: yield* j.pendingSignals("unit-b"),
        none: yield* j.pendingSignals("unit-a"),
        cancel: [before, yield* j.cancelRequested("unit-b")],
        prefix: (yield* j.find("unit-")).map((r) => r.runId).sort(),
        missing: missing.reason,
        pruned: yield* j.prune(3_000),
        left: (yield* j.find("unit-")).map((r) => r.runId),
        eventsLeft: (yield* j.events("unit-a")).length
      }
    }))
    expect(outcome).toEqual({
      finished: "succeeded",
      running: "running",
      pending: [{ name: "go", payload: { x: 2 } }],
      after: [],
      none: [],
      cancel: [false, true],
      prefix: ["unit-a", "unit-b"],
      missing: "NotFound",
      pruned: ["unit-a"],
      left: ["unit-b"],
      eventsLeft: 0
    })
  }, 30_000)

  it("PgAuditLog: entries in order with filters, retention deletes only older entries and says so", async () => {
    const layer = PgAuditLog.layer({ location: "postgres test" }).pipe(
      Layer.provide(ClusterEngine.postgres({ database: Redacted.make(server.url) }))
    )
    const result = await Effect.runPromise(AuditLog.use((log) =>
      Effect.gen(function*() {
        log.appendUnsafe({ at: 10, runId: "audit-1", action: "run.started", target: "f", actor: "ana", outcome: "ok", args: { a: 1 } })
        log.appendUnsafe({ at: 20, runId: "audit-1", step: "s", action: "tool.call", target: "srv.tool", actor: "ana", outcome: "ok", durationMs: 3 })
        yield* log.append({ at: 30, runId: "audit-2", action: "run.started", target: "f", actor: "bob", outcome: "ok" })
        const all = yield* log.entries({ runId: "audit-1" })
        const newest = yield* log.entries({ since: 15, limit: 1 })
        const ids = yield* log.runIds("audit-")
        const pruned = yield* log.prune(25, "ops")
        return { all, newest, ids, pruned, left: yield* log.entries({ since: 0 }) }
      })
    ).pipe(Effect.provide(layer)))
    expect(result.all.map((e) => [e.at, e.action, e.step, e.args, e.durationMs])).toEqual([
      [10, "run.started", undefined, { a: 1 }, undefined],
      [20, "tool.call", "s", undefined, 3]
    ])
    expect(result.newest.map((e) => e.runId)).toEqual(["audit-2"])
    expect([...result.ids].sort()).toEqual(["audit-1", "audit-2"])
    // Other tests' entries are newer than 25 ms after the epoch too: only the two planted ones go.
    expect(result.pruned).toBe(2)
    expect(result.left.filter((e) => e.runId?.startsWith("audit-") === true).map((e) => e.at)).toEqual([30])
    expect(result.left.at(-1)).toMatchObject({ action: "audit.pruned", actor: "ops", outcome: "ok" })
  }, 30_000)

  // The two tests below run at the same time (each waits on its runs most of the time, and
  // neither kills a runner), each with its own `expect`: the unit tests above first, so their
  // journal and audit rows are checked with no run of these under way.
  it.concurrent("run --database reports the runner's steps live; runs and show read the run back from Postgres, its secret sealed", async ({ expect }) => {
    const input = JSON.stringify({ token: secret, wait: false })
    const followed = await finish(cli(["run", flow, "--database", server.url, "--input", input, "--json"]))
    expect(followed.code, followed.output).toBe(0)
    const lines = followed.output.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { _tag: string; path?: string; runId?: string })
    // The steps ran on the runner; their events reached this process's report through the journal.
    expect(lines.filter((e) => e._tag === "StepSucceeded").map((e) => e.path)).toEqual(["prepare", "check", "release"])
    const runId = lines.find((e) => e._tag === "FlowStarted")!.runId!
    expect(lastJson<{ _tag: string; outcome: string }>(followed.output)).toMatchObject({ _tag: "RunSummary", outcome: "success" })

    // An id prefix works as on SQLite.
    const viewer = cli(["ui", "--database", server.url, "--port", "0"])
    const [listed, shown, text] = await Promise.all([
      finish(cli(["runs", "--database", server.url, "--json"])),
      show(runId.slice(0, 8)),
      finish(cli(["show", runId.slice(0, 8), "--database", server.url])),
      viewer.waitFor(/mcpflow ui: http/, 30_000)
    ])
    // The run viewer reads the same journal.
    const base = /mcpflow ui: (http:\/\/\S+?)\/? /.exec(viewer.output())![1]!
    expect(viewer.output()).toContain(`runs in postgres 127.0.0.1:${server.port}/`)
    const page = (await (await fetch(`${base}/api/runs`)).json()) as { runs: ReadonlyArray<{ runId: string; status: string }> }
    expect(page.runs.find((r) => r.runId === runId)?.status).toBe("succeeded")
    const detail = await fetch(`${base}/api/runs/${runId.slice(0, 8)}`)
    expect(detail.status).toBe(200)
    expect(JSON.stringify(await detail.json())).toContain("release")
    // Its audit panel reads the runners' audit log in the same Postgres.
    const audit = (await (await fetch(`${base}/api/audit?run=${runId}`)).json()) as ReadonlyArray<{ action: string }>
    expect(audit.map((e) => e.action)).toContain("run.started")
    viewer.process.kill("SIGTERM")
    expect(listed.code, listed.output).toBe(0)
    const runs = lastJson<ReadonlyArray<{ runId: string; status: string; trigger?: string }>>(listed.output)
    expect(runs.find((r) => r.runId === runId)).toMatchObject({ status: "succeeded", trigger: "cluster" })

    expect(shown.runId).toBe(runId)
    expect(shown.output).toEqual({ by: "nobody", tokenLength: secret.length })
    expect(shown.events.map((e) => e._tag)).toEqual([
      "FlowStarted", "StepStarted", "StepSucceeded", "StepStarted", "StepSucceeded", "StepStarted", "StepSucceeded", "FlowFinished"
    ])
    expect(shown.events[0]!.engine).toBe("postgres")
    expect(text.output).toContain(`run ${runId} · flow journaled · succeeded · started by cluster`)

    // The planted secret is nowhere in mcpflow's journal tables.
    const rows = [
      ...await query(server.url, (sql) => sql`select * from mcpflow_runs`),
      ...await query(server.url, (sql) => sql`select * from mcpflow_run_events`)
    ]
    const dump = JSON.stringify(rows, (_, v) => (typeof v === "bigint" ? String(v) : v))
    expect(dump).toContain(runId)
    expect(dump).not.toContain(secret)
    // The runner's audit log is next to the journal, and append-only there too.
    const audited = await finish(cli(["audit", "--database", server.url, "--run", runId.slice(0, 8), "--json"]))
    expect(audited.code, audited.output).toBe(0)
    const entries = lastJson<ReadonlyArray<{ action: string; runId: string; target?: string; outcome: string }>>(audited.output)
    expect(entries.map((e) => [e.action, e.outcome])).toEqual([["run.started", "ok"], ["run.finished", "success"]])
    expect(entries.every((e) => e.runId === runId && e.target === "journaled")).toBe(true)
    await expect(query(server.url, (sql) => sql`update mcpflow_audit set actor = 'mallory'`)).rejects.toThrow(/append-only/)
    await expect(query(server.url, (sql) => sql`delete from mcpflow_audit`)).rejects.toThrow(/append-only/)
    expect(followed.output + listed.output + text.output + viewer.output() + audited.output).not.toContain(secret)
  }, 120_000)

  it.concurrent("signal and cancel reach a parked run through the journal; resume says the cluster resumes; prune; unknown ids exit 2", async ({ expect }) => {
    const submit = async () => {
      const detached = await finish(cli(["run", flow, "--database", server.url, "--detach", "--json", "--input", JSON.stringify({ token: secret, wait: true })]))
      expect(detached.code, detached.output).toBe(0)
      return lastJson<{ runId: string }>(detached.output).runId
    }
    const [signalled, cancelled] = await Promise.all([submit(), submit()])
    await Promise.all([until(signalled, "waiting"), until(cancelled, "waiting")])
    const [parked, sent] = await Promise.all([
      show(cancelled),
      finish(cli(["signal", signalled.slice(0, 8), "approval", "--payload", '{"approvedBy":"ana"}', "--json"], { MCPFLOW_DATABASE_URL: server.url }))
    ])
    expect(parked.status).toBe("waiting")
    expect(sent.code, sent.output).toBe(0)
    expect(lastJson(sent.output)).toEqual({ runId: signalled, signal: "approval", recorded: true })
    await until(signalled, "succeeded")
    const done = await show(signalled)
    expect(done.status).toBe("succeeded")
    expect(done.output).toEqual({ by: "ana", tokenLength: secret.length })

    const [stop, resumed, unknown] = await Promise.all([
      finish(cli(["cancel", cancelled, "--database", server.url, "--json"])),
      finish(cli(["resume", signalled.slice(0, 8), "--database", server.url])),
      finish(cli(["show", "ffffffff", "--database", server.url]))
    ])
    expect(stop.code, stop.output).toBe(0)
    expect(lastJson(stop.output)).toMatchObject({ runId: cancelled, status: "cancelled" })
    expect((await show(cancelled)).events.at(-1)).toMatchObject({ _tag: "FlowFinished", outcome: "failure" })
    expect(resumed.code).toBe(2)
    expect(resumed.output).toContain("already succeeded")

    // prune --database: finished runs go, with their events.
    // A day: the file's other runs finished minutes ago at most, however slow the machine is.
    const pruned = await finish(cli(["prune", "--older-than", "1d", "--database", server.url, "--json"]))
    expect(pruned.code, pruned.output).toBe(0)
    expect(lastJson<{ pruned: ReadonlyArray<string> }>(pruned.output).pruned).toEqual([])
    await query(server.url, (sql) => sql`update mcpflow_runs set finished_at = finished_at - 2 * 86400000 where run_id = ${signalled}`)
    const prunedOld = await finish(cli(["prune", "--older-than", "1d", "--database", server.url, "--json"]))
    expect(lastJson<{ pruned: ReadonlyArray<string> }>(prunedOld.output).pruned).toEqual([signalled])
    const left = await query<{ n: number }>(server.url, (sql) => sql`select count(*)::int as n from mcpflow_run_events where run_id = ${signalled}`)
    expect(left[0]?.n).toBe(0)
    expect(unknown.code).toBe(2)
    expect(unknown.output).toContain(`no run with id or id prefix "ffffffff" in postgres 127.0.0.1:${server.port}/`)
  }, 120_000)

  // Last: it kills a runner.
  it("a run whose runner is killed mid-step continues the same record on another runner", async () => {
    const other = cli(["worker", "--database", server.url, "--listen", `127.0.0.1:${await freePort()}`, flow])
    await other.waitFor(/serving journaled/, 30_000)
    const input = JSON.stringify({ token: secret, wait: false, slowMs: 800 })
    const detached = await finish(cli(["run", flow, "--database", server.url, "--detach", "--json", "--input", input]))
    const { runId } = lastJson<{ runId: string }>(detached.output)
    let owner: number | undefined
    for (let i = 0; i < 200 && owner === undefined; i++) {
      const [row] = await query<{ pid: number; slow: boolean }>(server.url, (sql) =>
        sql`select owner_pid as pid, exists (select 1 from mcpflow_run_events e where e.run_id = r.run_id and e.tag = 'StepStarted'
              and e.body like '%"path":"slow"%') as slow from mcpflow_runs r where run_id = ${runId}`)
      if (row?.slow === true) owner = row.pid
      else await new Promise((r) => setTimeout(r, 50))
    }
    const [victim, survivor] = owner === worker.process.pid ? [worker, other] : [other, worker]
    expect(victim.process.pid).toBe(owner)
    victim.process.kill("SIGKILL")
    const killedAt = performance.now()
    await until(runId, "succeeded")
    console.log(`run moved and finished ${Math.round(performance.now() - killedAt)} ms after its runner was killed`)
    const shown = await show(runId)
    const started = shown.events.filter((e) => e._tag === "FlowStarted") as ReadonlyArray<{ resumed?: boolean; inFlight?: ReadonlyArray<string> }>
    expect(started).toHaveLength(2)
    expect(started[1]).toMatchObject({ resumed: true, inFlight: ["slow"] })
    // The in-flight step ran again on the new runner, and says so.
    const slowStarts = shown.events.filter((e) => e._tag === "StepStarted" && (e as { path?: string }).path === "slow") as ReadonlyArray<{ rerunAfterCrash?: boolean }>
    expect(slowStarts.map((e) => e.rerunAfterCrash === true)).toEqual([false, true])
    expect(shown.events.filter((e) => e._tag === "FlowFinished")).toHaveLength(1)
    expect(shown.output).toEqual({ by: "nobody", tokenLength: secret.length })
    const [row] = await query<{ pid: number }>(server.url, (sql) => sql`select owner_pid as pid from mcpflow_runs where run_id = ${runId}`)
    expect(row?.pid).toBe(survivor.process.pid)
  }, 120_000)

  // After the kill above: it stops every runner.
  it("cancel of a run whose runner just died goes through the cluster: the runner that takes it over compensates, once", async () => {
    children.killAll()
    const start = async () => {
      const w = cli(["worker", "--database", server.url, "--listen", `127.0.0.1:${await freePort()}`, flow])
      await w.waitFor(/serving journaled/, 30_000)
      return w
    }
    const first = await start()
    const input = JSON.stringify({ token: secret, wait: false, slowMs: 30_000 })
    const detached = await finish(cli(["run", flow, "--database", server.url, "--detach", "--json", "--input", input]))
    const { runId } = lastJson<{ runId: string }>(detached.output)
    for (let i = 0; i < 200; i++) {
      const [row] = await query<{ slow: boolean }>(server.url, (sql) =>
        sql`select exists (select 1 from mcpflow_run_events e where e.run_id = ${runId} and e.tag = 'StepStarted'
              and e.body like '%"path":"slow"%') as slow`)
      if (row?.slow === true) break
      await new Promise((r) => setTimeout(r, 50))
    }
    // Its runner dies mid-step; the cancel is requested while no runner has the run.
    first.process.kill("SIGKILL")
    await first.exited
    const cancelling = cli(["cancel", runId.slice(0, 8), "--database", server.url, "--json", "--wait", "60s"])
    for (let i = 0; i < 300; i++) {
      const [row] = await query<{ at: string | null }>(server.url, (sql) => sql`select cancel_requested_at as at from mcpflow_runs where run_id = ${runId}`)
      if (row?.at != null) break
      await new Promise((r) => setTimeout(r, 50))
    }
    // Not marked cancelled behind the cluster's back: the run is still running, its runner gone.
    expect((await query<{ status: string }>(server.url, (sql) => sql`select status from mcpflow_runs where run_id = ${runId}`))[0]?.status).toBe("running")
    const second = await start()
    const stop = await finish(cancelling, 60_000)
    expect(stop.code, stop.output).toBe(0)
    expect(lastJson(stop.output)).toMatchObject({ runId, status: "cancelled", compensated: true })
    const shown = await show(runId)
    expect(shown.status).toBe("cancelled")
    const of = (tag: string, path: string) => shown.events.filter((e) => e._tag === tag && e.path === path)
    // The completed step's compensation ran once, on the runner that took the run over.
    expect(of("Compensated", "prepare")).toHaveLength(1)
    expect(of("CompensationStarted", "prepare")).toHaveLength(1)
    // The step in flight at the kill was not started again (its failure is announced as a plain
    // start, never a re-run), nor any later step.
    expect(of("StepStarted", "slow").filter((e) => (e as { rerunAfterCrash?: boolean }).rerunAfterCrash === true)).toHaveLength(0)
    expect(of("StepFailed", "slow")).toHaveLength(1)
    expect(of("StepStarted", "check")).toHaveLength(0)
    expect(shown.events.filter((e) => e._tag === "FlowFinished")).toHaveLength(1)
    expect(shown.events.at(-1)).toMatchObject({ _tag: "FlowFinished", outcome: "failure" })
    const [row] = await query<{ pid: number }>(server.url, (sql) => sql`select owner_pid as pid from mcpflow_runs where run_id = ${runId}`)
    expect(row?.pid).toBe(second.process.pid)
  }, 120_000)

  it("a runner SIGKILLed the instant a step's body starts: the history keeps that step's start", async () => {
    const killFile = join(mkdtempSync(join(tmpdir(), "mcpflow-killed-")), "killed-at-slow")
    // The earlier tests' workers go: the run must land on one of the pair.
    children.killAll()
    // Two fresh workers that die at the first start of `slow` (the file says who).
    const pair = await Promise.all([0, 1].map(async () => {
      const w = cli(["worker", "--database", server.url, "--listen", `127.0.0.1:${await freePort()}`, flow], { KILL_AT_SLOW: killFile })
      await w.waitFor(/serving journaled/, 30_000)
      return w
    }))
    const input = JSON.stringify({ token: secret, wait: false, slowMs: 200 })
    const detached = await finish(cli(["run", flow, "--database", server.url, "--detach", "--json", "--input", input]))
    const { runId } = lastJson<{ runId: string }>(detached.output)
    await until(runId, "succeeded")
    const victim = Number(readFileSync(killFile, "utf8"))
    expect(pair.map((w) => w.process.pid)).toContain(victim)
    const shown = await show(runId)
    const slowStarts = shown.events.filter((e) => e._tag === "StepStarted" && (e as { path?: string }).path === "slow") as ReadonlyArray<{ rerunAfterCrash?: boolean }>
    // The start on the killed runner was stored before its body ran, then the re-run on the other.
    expect(slowStarts.map((e) => e.rerunAfterCrash === true)).toEqual([false, true])
  }, 90_000)
})
