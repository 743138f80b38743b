/**
 * The durable engine recipe, proven with a real crash: a 3-step workflow runs in a child
 * process on the SQLite engine, is SIGKILLed while step 3 is in flight (so steps 1 and 2 are
 * journaled), and a second process finishes it without re-running steps 1 and 2.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { Activity, Workflow, WorkflowEngine } from "effect/workflow"
import * as SqliteEngine from "../../src/runtime/engine/SqliteEngine.ts"
import { tsNode } from "../support/tsNode.ts"

const dir = mkdtempSync(join(tmpdir(), "mcpflow-durable-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const fixture = join(import.meta.dirname, "fixtures", "threeSteps.ts")

interface Child {
  readonly process: ChildProcess
  readonly stdout: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const start = (db: string, log: string, runId: string, env: Record<string, string> = {}): Child => {
  const child = spawn(process.execPath, [...tsNode.args, fixture, db, log, runId], {
    env: { ...process.env, ...tsNode.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (out += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  return { process: child, stdout: () => out, exited }
}

const readLog = (log: string): Array<string> =>
  existsSync(log) ? readFileSync(log, "utf8").split("\n").filter((line) => line.length > 0) : []

const waitFor = async (what: string, condition: () => boolean, child: Child, deadlineMs = 15_000) => {
  const until = Date.now() + deadlineMs
  while (!condition()) {
    if (child.process.exitCode !== null) throw new Error(`child exited before ${what}:\n${child.stdout()}`)
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}:\n${child.stdout()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("SqliteEngine on SQLite", () => {
  it("resumes after SIGKILL without re-running the journaled steps", async () => {
    const db = join(dir, "crash.db")
    const log = join(dir, "crash.log")

    const first = start(db, log, "run-1", { HANG_IN_STEP3: "1" })
    await waitFor("step 3 to start", () => readLog(log).includes("step3 start"), first)

    // While the first process lives, a second engine on the journal is refused, so it cannot
    // run the in-flight step 3 a second time.
    const refused = await Effect.runPromise(
      Effect.flip(Effect.scoped(Layer.build(SqliteEngine.layer({ filename: db }))))
    )
    assert.strictEqual(refused._tag, "SqlError")
    assert.strictEqual(refused._tag === "SqlError" && refused.reason._tag, "LockTimeoutError")
    assert.include(refused.message, "in use by another process")

    first.process.kill("SIGKILL")
    assert.deepStrictEqual(await first.exited, { code: null, signal: "SIGKILL" })
    assert.deepStrictEqual(readLog(log), ["step1 start", "step1 done", "step2 start", "step2 done", "step3 start"])

    const second = start(db, log, "run-1")
    const { code } = await second.exited
    assert.strictEqual(code, 0, second.stdout())
    assert.include(second.stdout(), JSON.stringify({ result: "run-1:out1,out2,out3" }))
    // Steps 1 and 2 replayed from the journal; only the in-flight step 3 ran again.
    assert.deepStrictEqual(readLog(log), [
      "step1 start",
      "step1 done",
      "step2 start",
      "step2 done",
      "step3 start",
      "step3 start",
      "step3 done"
    ])

    // A third start of the finished run replays its result and runs nothing.
    const third = start(db, log, "run-1")
    assert.strictEqual((await third.exited).code, 0, third.stdout())
    assert.include(third.stdout(), JSON.stringify({ result: "run-1:out1,out2,out3" }))
    assert.strictEqual(readLog(log).length, 7)
  })

  it.effect("runs in-process like the memory engine and journals to the file", () => {
    const Echo = Workflow.make("Echo", {
      payload: { n: Schema.Number },
      success: Schema.Number,
      idempotencyKey: ({ n }) => String(n)
    })
    const double = (n: number) => Activity.make({ name: "double", success: Schema.Number, execute: Effect.succeed(n * 2) })
    const EchoLive = Echo.toLayer(({ n }) => double(n))
    const run = Effect.gen(function*() {
      const result = yield* Echo.execute({ n: 21 })
      const sql = yield* SqlClient.SqlClient
      const tables = yield* sql<{ name: string }>`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`
      return { result, tables: tables.map((t) => t.name) }
    })
    const durable = run.pipe(
      Effect.provide(EchoLive.pipe(Layer.provideMerge(SqliteEngine.layer({ filename: join(dir, "echo.db") }))))
    )
    const memory = Echo.execute({ n: 21 }).pipe(
      Effect.provide(EchoLive.pipe(Layer.provideMerge(WorkflowEngine.layerMemory)))
    )
    return Effect.gen(function*() {
      const { result, tables } = yield* durable
      assert.strictEqual(result, 42)
      assert.strictEqual(yield* memory, 42)
      assert.includeMembers(tables, ["cluster_messages", "cluster_replies"])
    })
  })
})
