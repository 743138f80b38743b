/**
 * `mcpflow serve --metrics`: one spawned server with its HTTP port and its metrics port both 0
 * (loopback, the bound ports read from its output); a run started over HTTP and signalled to
 * its end is counted in the Prometheus exposition, scraped and parsed. A bad `MCPFLOW_METRICS`
 * is a usage error (exit 2). Run `npm run build` first.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import { parseExposition, valueOf } from "../observe/support.ts"

const root = resolve(import.meta.dirname, "../..")
const cli = join(root, "bin/mcpflow.js")
const tmp = mkdtempSync(join(tmpdir(), "mcpflow-serve-metrics-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const env = { ...process.env, NO_COLOR: "1", MCPFLOW_SERVE_TOKEN: "metrics-token", OTEL_EXPORTER_OTLP_ENDPOINT: "", MCPFLOW_METRICS: "" }

// Two independent spawns (their own state directories): side by side.
describe.concurrent("mcpflow serve --metrics", () => {
  it("serves the Prometheus exposition of the runs it starts", async () => {
    const stateDir = join(tmp, "state")
    const child = spawn(
      process.execPath,
      [cli, "serve", "test/e2e/fixtures/served.ts", "--port", "0", "--metrics", "127.0.0.1:0", "--state-dir", stateDir],
      { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] }
    )
    const killer = setTimeout(() => child.kill("SIGKILL"), 50_000)
    try {
      let out = ""
      let err = ""
      const exited = new Promise<never>((_, rej) => child.on("exit", (code) => rej(new Error(`serve exited ${code}: ${err}`))))
      const base = Promise.race([
        new Promise<string>((res) =>
          child.stdout.on("data", (d) => {
            out += String(d)
            const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
            if (m) res(m[1]!)
          })
        ),
        exited
      ])
      const metricsUrl = Promise.race([
        new Promise<string>((res) =>
          child.stderr.on("data", (d) => {
            err += String(d)
            const m = /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(err)
            if (m) res(m[1]!)
          })
        ),
        exited
      ])
      const [api, url] = await Promise.all([base, metricsUrl])
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(api + path, { method, headers: { authorization: "Bearer metrics-token" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
        return { status: response.status, body: await response.json() as Record<string, unknown> }
      }
      const scrape = async () => {
        const response = await fetch(url)
        assert.strictEqual(response.status, 200)
        assert.include(response.headers.get("content-type") ?? "", "text/plain; version=0.0.4")
        return parseExposition(await response.text())
      }

      const started = await call("POST", "/flows/served/runs", { ticket: 3 })
      assert.strictEqual(started.status, 202)
      const runId = started.body["runId"] as string
      let status = await call("GET", `/runs/${runId}`)
      for (let i = 0; i < 100 && status.body["status"] !== "waiting"; i++) {
        await new Promise((r) => setTimeout(r, 100))
        status = await call("GET", `/runs/${runId}`)
      }
      assert.strictEqual(status.body["status"], "waiting")
      const parked = await scrape()
      assert.strictEqual(valueOf(parked.samples, "mcpflow_step_duration_seconds_count", { flow: "served", step: "prepare", outcome: "succeeded" }), 1)
      assert.strictEqual(valueOf(parked.samples, "mcpflow_runs_total", { flow: "served", status: "succeeded" }), undefined, "no run finished yet")

      assert.strictEqual((await call("POST", `/runs/${runId}/signals/approval`, { approvedBy: "ana" })).status, 202)
      let exposition = await scrape()
      for (let i = 0; i < 100 && valueOf(exposition.samples, "mcpflow_runs_total", { flow: "served", status: "succeeded" }) === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100))
        exposition = await scrape()
      }
      const { samples, types } = exposition
      assert.strictEqual(types.get("mcpflow_runs_total"), "counter")
      assert.strictEqual(types.get("mcpflow_run_duration_seconds"), "histogram")
      assert.strictEqual(types.get("mcpflow_step_duration_seconds"), "histogram")
      assert.strictEqual(valueOf(samples, "mcpflow_runs_total", { flow: "served", status: "succeeded" }), 1)
      assert.strictEqual(valueOf(samples, "mcpflow_run_duration_seconds_count", { flow: "served", status: "succeeded" }), 1)
      assert.strictEqual(valueOf(samples, "mcpflow_step_duration_seconds_count", { flow: "served", step: "release", outcome: "succeeded" }), 1)
      assert.notInclude(out + err, "metrics-token", "the token is never printed")
    } finally {
      clearTimeout(killer)
      child.kill("SIGTERM")
    }
  }, 60_000)

  it("a bad MCPFLOW_METRICS is a usage error (exit 2)", async () => {
    const result = await new Promise<{ code: number | null; err: string }>((res) => {
      const c = spawn(process.execPath, [cli, "serve", "test/e2e/fixtures/served.ts", "--port", "0", "--state-dir", join(tmp, "bad")], {
        cwd: root,
        env: { ...env, MCPFLOW_METRICS: "metrics" },
        stdio: ["ignore", "ignore", "pipe"]
      })
      let err = ""
      c.stderr.on("data", (d) => (err += String(d)))
      c.on("exit", (code) => res({ code, err }))
    })
    assert.strictEqual(result.code, 2)
    assert.include(result.err, "MCPFLOW_METRICS: expected [host]:port")
  }, 30_000)
})
