/**
 * A cron schedule for real (the issue asks for one e2e on real time): `mcpflow serve` with a flow
 * whose schedule fires every second starts a run at the next tick; the run finishes, is journaled
 * with its trigger, and is announced to a webhook configured from the environment
 * (`MCPFLOW_WEBHOOK_URL`), signed. Run `npm run build` first.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Redacted } from "effect"
import { afterAll, assert, describe, it } from "vitest"
import { verify } from "../../src/app/serve/Webhook.ts"

const root = resolve(import.meta.dirname, "../..")
const cli = join(root, "bin/mcpflow.js")
const tmp = mkdtempSync(join(tmpdir(), "mcpflow-schedule-e2e-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe("mcpflow serve schedules", () => {
  it("fires a one-second schedule once for real: the run finishes, records its trigger and is announced", async () => {
    const hooks: Array<{ readonly body: string; readonly signature: string | undefined }> = []
    let hooked: () => void = () => {}
    const gotHook = new Promise<void>((r) => (hooked = r))
    const receiver = createServer((req, res) => {
      let body = ""
      req.on("data", (d) => (body += String(d)))
      req.on("end", () => {
        hooks.push({ body, signature: req.headers["x-mcpflow-signature"] as string | undefined })
        res.writeHead(204).end()
        hooked()
      })
    })
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r))
    const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`
    const env = {
      ...process.env,
      NO_COLOR: "1",
      MCPFLOW_SERVE_TOKEN: "sched-token",
      MCPFLOW_WEBHOOK_URL: hookUrl,
      MCPFLOW_WEBHOOK_SECRET: "sched-secret",
      OTEL_EXPORTER_OTLP_ENDPOINT: ""
    }
    const child = spawn(process.execPath, [cli, "serve", "test/e2e/fixtures/ticking.ts", "--port", "0", "--state-dir", join(tmp, "state")], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000)
    try {
      let out = ""
      let err = ""
      child.stdout.on("data", (d) => (out += String(d)))
      const firstRun = new Promise<string>((res, rej) => {
        child.stderr.on("data", (d) => {
          err += String(d)
          const m = /ticking \(schedule \* \* \* \* \* \*\): run (\S+) finished/.exec(err)
          if (m) res(m[1]!)
        })
        child.on("exit", (code) => rej(new Error(`serve exited ${code}: ${err}`)))
      })
      const runId = await firstRun
      await gotHook
      const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1]
      assert.isDefined(base, out)
      assert.include(out, "schedules: ticking (* * * * * *)")
      const response = await fetch(`${base}/runs/${runId}`, { headers: { authorization: "Bearer sched-token" } })
      const status = await response.json() as Record<string, unknown>
      assert.strictEqual(status.status, "succeeded")
      assert.strictEqual(status.trigger, "schedule * * * * * *")
      // Every run the schedule started is announced, signed; the first one is ours.
      const first = hooks.find((h) => (JSON.parse(h.body) as { runId: string }).runId === runId)
      assert.isDefined(first)
      assert.isTrue(verify(Redacted.make("sched-secret"), first!.body, first!.signature))
      const event = JSON.parse(first!.body) as Record<string, unknown>
      assert.deepInclude(event, { event: "run.finished", flow: "ticking", status: "succeeded", trigger: "schedule * * * * * *" })
      assert.notInclude(out + err, "sched-secret", "the secret is never printed")
    } finally {
      clearTimeout(killer)
      child.kill("SIGTERM")
      receiver.close()
    }
  }, 30_000)
})
