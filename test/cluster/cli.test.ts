/**
 * `mcpflow worker --database` and `mcpflow run --database` as users run them (the bin script,
 * real processes, one embedded Postgres): a worker serves a flow file, a run submitted from
 * another process is followed to its result or detached; bad databases are one line and exit 2,
 * with the password never printed.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { join, resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, startPostgres, type TestPostgres } from "../support/postgres.ts"
import { type Child, makeChildren } from "../support/processes.ts"

const root = resolve(import.meta.dirname, "../..")
const bin = join(root, "bin/mcpflow.js")
const flow = join(root, "flows/order-saga.ts")
const children = makeChildren()

const cli = (args: ReadonlyArray<string>, env?: Record<string, string>): Child =>
  children.start(bin, args, { NO_COLOR: "1", MCPFLOW_DATABASE_URL: "", ...env })

const finish = async (child: Child, ms = 30_000) => {
  const code = await Promise.race([child.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms))])
  return { code, output: child.output() }
}

describe("cluster CLI: bad databases", () => {
  it("not a postgres:// URL, Postgres down, --detach or flow files without a database: one line, exit 2, no password", async () => {
    const port = await freePort()
    const [scheme, down, detached, served] = await Promise.all([
      finish(cli(["run", flow, "--database", "mysql://admin:hunter2@db/app"])),
      finish(cli(["worker", flow], { MCPFLOW_DATABASE_URL: `postgres://admin:hunter2@127.0.0.1:${port}/app` })),
      finish(cli(["run", flow, "--detach"])),
      finish(cli(["worker", flow]))
    ])
    expect(scheme.code).toBe(2)
    expect(scheme.output.trim()).toBe("database db:5432/app: not a postgres:// URL (scheme mysql: is not postgres:)")
    expect(down.code).toBe(2)
    expect(down.output).toContain(`database 127.0.0.1:${port}/app: unreachable`)
    expect(down.output).not.toContain("hunter2")
    expect(down.output.trim().split("\n")).toHaveLength(1)
    expect(detached.code).toBe(2)
    expect(detached.output).toContain("--detach submits the run to a cluster")
    expect(served.code).toBe(2)
    expect(served.output).toContain("add --database")
  })
})

describe("cluster CLI on Postgres", () => {
  let server: TestPostgres
  beforeAll(async () => {
    server = await startPostgres()
  })
  afterAll(async () => {
    children.killAll()
    await server?.stop()
  })

  it("a worker serves a flow file; run follows it to its result, --detach returns its id; a newer schema is refused", async () => {
    const worker = cli(["worker", "--database", server.url, "--listen", `127.0.0.1:${await freePort()}`, flow])
    await worker.waitFor(/serving order-saga/, 30_000)
    expect(worker.output()).not.toContain("mcpflow-test") // the password

    const followed = await finish(cli(["run", flow, "--database", server.url, "--json"]))
    expect(followed.code, followed.output).toBe(0)
    const summary = JSON.parse(followed.output.trim().split("\n").at(-1)!) as { _tag: string; outcome: string; output?: { status: string } }
    expect(summary._tag).toBe("RunSummary")
    expect(summary.outcome).toBe("success")
    expect(summary.output?.status).toBe("completed")

    const detached = await finish(cli(["run", flow, "--database", server.url, "--detach", "--json"]))
    expect(detached.code, detached.output).toBe(0)
    const { runId } = JSON.parse(detached.output.trim().split("\n").at(-1)!) as { runId: string }
    expect(runId).toMatch(/^[0-9a-f-]{36}$/)

    worker.process.kill("SIGKILL")
    await worker.exited

    await Effect.runPromise(Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      yield* sql`update mcpflow_meta set format = 99`
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(server.url) })), Effect.scoped))
    const refused = await finish(cli(["run", flow, "--database", server.url]))
    expect(refused.code).toBe(2)
    expect(refused.output).toContain("schema from a newer mcpflow")
  }, 90_000)
})
