/**
 * The run viewer (`mcpflow ui`): started in-process on port 0 over a state directory holding a
 * finished run (one step replayed after a resume, one retried), a failed run whose saga
 * compensated, and a live run (unfinished, owned by this process) that gains a step while the
 * page is open. Its JSON is checked with plain requests (filters, prefixes, the loopback guard,
 * the audit hook); the page in a real browser: headless Chromium (Debian's `chromium`) driven
 * by `playwright-core`, with a screenshot saved under `test-artifacts/`. One spawn checks that
 * `mcpflow ui --port 0` prints the URL it serves on.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { request } from "node:http"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { chromium, type Browser, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { FlowEvent } from "../../dsl/flow/FlowEvents.ts"
import { RunJournal } from "../../dsl/ports/RunJournal.ts"
import * as Viewer from "../../src/app/viewer/Viewer.ts"
import { journalFile } from "../../src/runtime/engine/Engines.ts"
import { layer as journalLayer } from "../../src/runtime/engine/SqliteRunJournal.ts"

const chromiumPath = process.env.MCPFLOW_CHROMIUM ?? "/usr/bin/chromium"
const haveChromium = existsSync(chromiumPath)
if (!haveChromium && process.env.CI) {
  throw new Error(`the run viewer test needs Chromium at ${chromiumPath} in CI (.ci/run installs Debian's chromium package)`)
}
if (!haveChromium) {
  console.warn(`SKIPPED the run viewer browser test: no Chromium at ${chromiumPath} (apt-get install chromium, or set MCPFLOW_CHROMIUM)`)
}

const orderSaga = path.resolve("flows/order-saga.ts")
const ids = {
  finished: "aaaa1111-aaaa-4000-8000-000000000001",
  failed: "aaaa2222-bbbb-4000-8000-000000000002",
  live: "cccc3333-cccc-4000-8000-000000000003"
}

type Ev = FlowEvent extends infer E ? E extends FlowEvent ? Omit<E, "runId" | "at"> & { readonly dt: number } : never : never

/** Journals a run: its record, its events at `start + dt`, and (unless live) its end. */
const journalRun = (
  journal: RunJournal["Service"],
  run: { runId: string; flow: string; start: number; input: unknown; events: ReadonlyArray<Ev> },
  end?: { status: "succeeded" | "failed"; at: number; failedStep?: string; error?: string; output?: unknown }
) =>
  Effect.gen(function*() {
    yield* journal.start({ runId: run.runId, flow: run.flow, input: run.input, fingerprint: "f", startedAt: run.start, source: orderSaga })
    for (const { dt, ...event } of run.events) journal.appendUnsafe({ ...event, runId: run.runId, at: run.start + dt } as FlowEvent)
    if (end !== undefined) {
      yield* journal.finish({ runId: run.runId, status: end.status, finishedAt: end.at, failedStep: end.failedStep, error: end.error, output: end.output })
    }
  })

const step = (name: string, dt: number, ms: number, extra?: { replayed?: boolean; attempts?: number }): ReadonlyArray<Ev> => [
  { _tag: "StepStarted", path: `order/${name}`, kind: "step", dt },
  { _tag: "StepSucceeded", path: `order/${name}`, kind: "step", durationMs: ms, replayed: extra?.replayed ?? false, attempts: extra?.attempts, dt: dt + ms }
]

let dir = ""
let scope: Scope.Closeable
let url = ""
let journal: RunJournal["Service"]
let launching: Promise<Browser> | undefined
let cli: ChildProcess | undefined
let cliUrl: Promise<string> | undefined
const t0 = Date.now() - 60_000

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "mcpflow-ui-"))
  scope = Effect.runSync(Scope.make())
  // Chromium starts while the journal is written.
  launching = haveChromium ? chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] }) : undefined
  // So does the one CLI spawn: `mcpflow ui --port 0` on the same state directory (it opens the journal per request).
  const child = spawn(process.execPath, [path.resolve("bin/mcpflow.js"), "ui", "--state-dir", dir, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] })
  cli = child
  cliUrl = new Promise<string>((resolve, reject) => {
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
      const match = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)
      if (match !== null) resolve(match[0])
    })
    child.on("exit", (code) => reject(new Error(`mcpflow ui exited with ${code}: ${out}`)))
  })
  cliUrl.catch(() => {})
  const context = await Effect.runPromise(Layer.buildWithScope(journalLayer(journalFile(dir), { heartbeat: "1 second" }), scope))
  journal = Context.get(context, RunJournal)
  await Effect.runPromise(Effect.gen(function*() {
    yield* journalRun(journal, {
      runId: ids.finished,
      flow: "order-saga",
      start: t0,
      input: { orderId: "o-1", card: "mcpflow:sealed:v1:-" },
      events: [
        { _tag: "FlowStarted", flow: "order-saga", engine: "sqlite", resumed: true, dt: 0 },
        { _tag: "StepStarted", path: "order", kind: "saga", dt: 1 },
        ...step("check order", 2, 5, { replayed: true }),
        { _tag: "StepStarted", path: "order/reserve inventory", kind: "step", dt: 10 },
        // a live chaos run (`--chaos`): the fault that made the first attempt time out
        { _tag: "FaultFired", path: "order/reserve inventory", kind: "LostResponse", server: "inventory", tool: "reserve", call: 1, detail: "then silence", dt: 11 },
        { _tag: "StepRetried", path: "order/reserve inventory", attempt: 2, delayMs: 100, reason: "Timeout", dt: 60 },
        { _tag: "StepSucceeded", path: "order/reserve inventory", kind: "step", durationMs: 220, replayed: false, attempts: 2, dt: 230 },
        ...step("charge payment", 231, 40),
        ...step("schedule delivery", 272, 30),
        ...step("record purchase", 303, 20),
        { _tag: "StepSucceeded", path: "order", kind: "saga", durationMs: 323, replayed: false, dt: 324 },
        { _tag: "FlowFinished", flow: "order-saga", outcome: "success", durationMs: 325, dt: 325 }
      ]
    }, { status: "succeeded", at: t0 + 325, output: { orderId: "o-1", receipt: "rcpt-9", card: "mcpflow:sealed:v1:-" } })
    yield* journalRun(journal, {
      runId: ids.failed,
      flow: "order-saga",
      start: t0 + 1000,
      input: { orderId: "o-2" },
      events: [
        { _tag: "FlowStarted", flow: "order-saga", engine: "sqlite", dt: 0 },
        { _tag: "StepStarted", path: "order", kind: "saga", dt: 1 },
        ...step("check order", 2, 8),
        ...step("reserve inventory", 11, 30),
        { _tag: "StepStarted", path: "order/charge payment", kind: "step", dt: 42 },
        { _tag: "StepRetried", path: "order/charge payment", attempt: 2, delayMs: 50, reason: "ToolError: card declined", dt: 60 },
        { _tag: "StepFailed", path: "order/charge payment", kind: "step", durationMs: 100, error: "card declined", errorTag: "McpflowToolError", interrupted: false, attempts: 2, dt: 142 },
        { _tag: "CompensationStarted", path: "order/reserve inventory/compensate", dt: 143 },
        { _tag: "Compensated", path: "order/reserve inventory/compensate", durationMs: 12, dt: 155 },
        { _tag: "StepFailed", path: "order", kind: "saga", durationMs: 155, error: "card declined", interrupted: false, dt: 156 },
        { _tag: "FlowFinished", flow: "order-saga", outcome: "failure", durationMs: 157, failedStep: "order/charge payment", error: "card declined", dt: 157 }
      ]
    }, { status: "failed", at: t0 + 1157, failedStep: "order/charge payment", error: "card declined" })
    // Live: started by this process, which beats like any owner (the journal's heartbeat), one step done, one running.
    yield* journalRun(journal, {
      runId: ids.live,
      flow: "order-saga",
      start: Date.now() - 500,
      input: { orderId: "o-3" },
      events: [
        { _tag: "FlowStarted", flow: "order-saga", engine: "sqlite", dt: 0 },
        { _tag: "StepStarted", path: "order", kind: "saga", dt: 1 },
        ...step("check order", 2, 6),
        { _tag: "StepStarted", path: "order/reserve inventory", kind: "step", dt: 10 }
      ]
    })
  }))
  const started = await Effect.runPromise(Scope.provide(Viewer.start({ stateDir: dir, port: 0 }), scope))
  url = started.url
})

afterAll(async () => {
  cli?.kill("SIGTERM")
  await (await launching)?.close()
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  if (dir !== "") rmSync(dir, { recursive: true, force: true })
})

/** GET `path` from the viewer with the given `Host` header: status and parsed body. */
const get = (pathname: string, host?: string) =>
  new Promise<{ status: number; body: any }>((resolve, reject) => {
    const target = new URL(pathname, url)
    const req = request(target, { headers: host === undefined ? {} : { host } }, (res) => {
      let text = ""
      res.on("data", (chunk) => (text += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text }))
    })
    req.on("error", reject)
    req.end()
  })

describe("mcpflow ui: its JSON", () => {
  it("lists runs with the history filters; a bad filter is a 400 naming it", async () => {
    const all = await get("/api/runs")
    expect(all.status).toBe(200)
    expect(all.body.runs.map((r: { runId: string; status: string }) => [r.runId, r.status])).toEqual([
      [ids.live, "running"],
      [ids.failed, "failed"],
      [ids.finished, "succeeded"]
    ])
    expect((await get("/api/runs?status=failed")).body.runs.map((r: { runId: string }) => r.runId)).toEqual([ids.failed])
    expect((await get("/api/runs?limit=1")).body.runs).toHaveLength(1)
    expect((await get("/api/runs?flow=other")).body.runs).toEqual([])
    expect((await get("/api/runs?since=30s")).body.runs.map((r: { runId: string }) => r.runId)).toEqual([ids.live])
    const bad = await get("/api/runs?status=bogus")
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toContain("status")
    expect((await get("/api/runs?limit=0")).status).toBe(400)
  })

  it("resolves unique id prefixes: 409 with the candidates when ambiguous, 404 when none", async () => {
    const one = await get(`/api/runs/aaaa2`)
    expect(one.body.run.runId).toBe(ids.failed)
    expect(one.body.live).toBe(false)
    const ambiguous = await get("/api/runs/aaaa")
    expect(ambiguous.status).toBe(409)
    expect(ambiguous.body.error.candidates.sort()).toEqual([ids.finished, ids.failed])
    expect((await get("/api/runs/ffff")).status).toBe(404)
  })

  it("keeps sealed input redacted, answers only loopback hosts, and has an empty audit feed", async () => {
    const finished = await get(`/api/runs/${ids.finished}`)
    expect(finished.body.run.input).toEqual({ orderId: "o-1", card: "<redacted>" })
    expect(finished.body.run.output).toEqual({ orderId: "o-1", receipt: "rcpt-9", card: "<redacted>" })
    expect(finished.body.counters.faultsFired).toBe(1)
    expect(finished.body.steps.find((s: { path: string }) => s.path === "order/reserve inventory").faults).toEqual([
      "fault LostResponse on inventory.reserve (call 1): then silence"
    ])
    expect(JSON.stringify(finished.body)).not.toContain("mcpflow:sealed")
    expect((await get("/api/runs", "evil.example:80")).status).toBe(403)
    expect((await get("/api/runs", "localhost:80")).status).toBe(200)
    expect((await get(`/api/audit?run=${ids.finished}`)).body).toEqual([])
    const page = await get("/")
    expect(page.status).toBe(200)
    expect(page.body).toContain("<title>mcpflow runs</title>")
  })

  it("`mcpflow ui --port 0` prints the URL it serves on", async () => {
    const printed = await cliUrl!
    const res = await fetch(`${printed}api/runs`)
    expect(((await res.json()) as { runs: ReadonlyArray<unknown> }).runs).toHaveLength(3)
  })
})

describe.skipIf(!haveChromium)("mcpflow ui in Chromium", () => {
  let page: Page
  beforeAll(async () => {
    page = await (await launching!).newPage({ viewport: { width: 1400, height: 1000 } })
  })

  it("lists the runs with their statuses, and filters them", async () => {
    await page.goto(url)
    const rows = page.locator("#runs tbody tr[data-run-id]")
    await expect.poll(() => rows.count()).toBe(3)
    const statusOf = (id: string) => page.locator(`#runs tr[data-run-id="${id}"]`).getAttribute("data-status")
    expect(await statusOf(ids.finished)).toBe("succeeded")
    expect(await statusOf(ids.failed)).toBe("failed")
    expect(await statusOf(ids.live)).toBe("running")
    await page.selectOption("#filters select[name=status]", "failed")
    await page.click("#filters button")
    await expect.poll(() => rows.count()).toBe(1)
    expect(await rows.first().getAttribute("data-run-id")).toBe(ids.failed)
    // a bad filter is said, not swallowed
    await page.fill("#filters input[name=since]", "soon")
    await page.click("#filters button")
    await expect.poll(() => page.textContent("#list-error")).toContain("since")
    await page.fill("#filters input[name=since]", "")
    await page.selectOption("#filters select[name=status]", "")
    await page.click("#filters button")
    await expect.poll(() => rows.count()).toBe(3)
  })

  it("shows a finished run: steps, retries, the replayed step, the timeline, the plan, the redacted input", async () => {
    await page.goto(`${url}#run=aaaa1`)
    await expect.poll(() => page.getAttribute("#run-title", "data-status")).toBe("succeeded")
    const stepStatus = (p: string) => page.locator(`#steps li[data-path="${p}"]`).first().getAttribute("data-status")
    expect(await stepStatus("order")).toBe("succeeded")
    expect(await stepStatus("order/record purchase")).toBe("succeeded")
    expect(await page.locator(`#steps li[data-path="order/check order"] .replayed`).count()).toBe(1)
    expect(await page.textContent(`#steps li[data-path="order/reserve inventory"]`)).toContain("retry 2 after 100ms: Timeout")
    const kinds = await page.locator("#timeline li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-kind")))
    expect(kinds).toEqual(expect.arrayContaining(["flow", "replayed", "retry", "succeeded", "fault"]))
    expect(await page.locator("#gantt .bar-row").count()).toBe(5)
    // the fault a live chaos run injected: under its step, on the timeline, counted in the header
    expect(await page.textContent(`#steps li[data-path="order/reserve inventory"] .fault`)).toBe("ϟ fault LostResponse on inventory.reserve (call 1): then silence")
    expect(await page.textContent(`#timeline li[data-kind="fault"]`)).toContain("LostResponse on inventory.reserve")
    expect(await page.getAttribute(`#timeline li[data-kind="fault"]`, "data-path")).toBe("order/reserve inventory")
    expect(await page.textContent("#run-meta")).toContain("1 fault injected")
    expect(await page.locator("#gantt .bar.faulted").count()).toBe(1)
    expect(await page.getAttribute(`#gantt .bar-row[data-path="order/reserve inventory"] .bar`, "title")).toContain("ϟ fault LostResponse")
    // its output, journaled, with the sealed field redacted
    const output = await page.textContent("#output")
    expect(output).toContain("rcpt-9")
    expect(output).toContain("<redacted>")
    expect(output).not.toContain("mcpflow:sealed")
    mkdirSync("test-artifacts", { recursive: true })
    await page.screenshot({ path: path.resolve("test-artifacts/run-viewer-faults.png"), fullPage: true })
    // the plan, drawn from the Mermaid source of flows/order-saga.ts, coloured by step status
    await expect.poll(() => page.locator("#plan-svg g[data-id]").count(), { timeout: 5000 }).toBeGreaterThan(5)
    expect(await page.textContent("#plan-source")).toContain("flowchart TD")
    expect(await page.getAttribute(`#plan-svg g[data-id="n_order_charge__20payment"]`, "class")).toBe("succeeded")
    // a sealed (Redacted) input field stays redacted
    const input = await page.textContent("#input")
    expect(input).toContain("<redacted>")
    expect(input).not.toContain("mcpflow:sealed")
    // AUDIT PANEL: no audit store, no entries
    expect(await page.isVisible("#audit-empty")).toBe(true)
  })

  it("shows a failed run with its compensation", async () => {
    await page.goto(`${url}#run=${ids.failed}`)
    await expect.poll(() => page.getAttribute("#run-title", "data-status")).toBe("failed")
    expect(await page.textContent("#run-error")).toContain("order/charge payment: card declined")
    const charge = page.locator(`#steps li[data-path="order/charge payment"]`)
    expect(await charge.getAttribute("data-status")).toBe("failed")
    expect(await charge.textContent()).toContain("2 attempts")
    const compensation = page.locator(`#steps li[data-path="order/reserve inventory"] [data-compensation]`)
    expect(await compensation.getAttribute("data-compensation")).toBe("compensated")
    expect(await compensation.textContent()).toContain("compensated in 12ms")
    const kinds = await page.locator("#timeline li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-kind")))
    expect(kinds).toEqual(expect.arrayContaining(["failed", "retry", "compensating", "compensated"]))
    await expect.poll(() => page.getAttribute(`#plan-svg g[data-id="u_order_reserve__20inventory"]`, "class"), { timeout: 5000 }).toBe("compensated")
    expect(await page.getAttribute(`#plan-svg g[data-id="n_order_charge__20payment"]`, "class")).toBe("failed")
  })

  it("follows a live run as its process journals new events", async () => {
    await page.goto(`${url}#run=${ids.live}`)
    await expect.poll(() => page.getAttribute("#run-title", "data-status")).toBe("running")
    const reserve = page.locator(`#steps li[data-path="order/reserve inventory"]`)
    expect(await reserve.getAttribute("data-status")).toBe("running")
    expect(await page.textContent("#poll-state")).toContain("live")
    const now = Date.now()
    journal.appendUnsafe({ _tag: "StepSucceeded", runId: ids.live, at: now, path: "order/reserve inventory", kind: "step", durationMs: 400, replayed: false })
    journal.appendUnsafe({ _tag: "StepStarted", runId: ids.live, at: now + 1, path: "order/charge payment", kind: "step" })
    await expect.poll(() => reserve.getAttribute("data-status"), { timeout: 4000 }).toBe("succeeded")
    expect(await page.locator(`#steps li[data-path="order/charge payment"]`).getAttribute("data-status")).toBe("running")
    mkdirSync("test-artifacts", { recursive: true })
    const shot = path.resolve("test-artifacts/run-viewer.png")
    await page.goto(`${url}#run=${ids.failed}`)
    await expect.poll(() => page.locator(`#plan-svg g[data-id="u_order_reserve__20inventory"]`).getAttribute("class"), { timeout: 5000 }).toBe("compensated")
    await page.screenshot({ path: shot, fullPage: true })
    console.log(`run viewer screenshot: ${shot}`)
    expect(existsSync(shot)).toBe(true)
  })
})
