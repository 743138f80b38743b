/**
 * `mcpflow serve` end to end, in ONE spawned server: started on port 0 (the bound port read from
 * its first line), a run started over HTTP waits for its approval; a bad signal payload gets a
 * 400 and the run keeps waiting; `mcpflow signal` with a bad payload (one more spawn, the CLI
 * check at the door) exits 2 with the JSON error and records nothing; a good signal finishes the
 * run, whose webhook a test receiver gets with a valid signature. Run `npm run build` first.
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
const tmp = mkdtempSync(join(tmpdir(), "mcpflow-serve-e2e-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe("mcpflow serve", () => {
  it("starts a run over HTTP, refuses a bad signal (HTTP 400, CLI exit 2), and announces the finished run to a signed webhook", async () => {
    const hooks: Array<{ body: string; signature: string | undefined }> = []
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
    const hookPort = (receiver.address() as { port: number }).port
    const stateDir = join(tmp, "state")
    const env = { ...process.env, NO_COLOR: "1", MCPFLOW_SERVE_TOKEN: "e2e-token", MCPFLOW_WEBHOOK_SECRET: "e2e-secret", OTEL_EXPORTER_OTLP_ENDPOINT: "" }
    const child = spawn(process.execPath, [cli, "serve", "test/e2e/fixtures/served.ts", "--port", "0", "--state-dir", stateDir, "--webhook", `http://127.0.0.1:${hookPort}/hook`], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
    const killer = setTimeout(() => child.kill("SIGKILL"), 50_000)
    try {
      let out = ""
      let err = ""
      child.stderr.on("data", (d) => (err += String(d)))
      const base = await new Promise<string>((res, rej) => {
        child.stdout.on("data", (d) => {
          out += String(d)
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
          if (m) res(m[1]!)
        })
        child.on("exit", (code) => rej(new Error(`serve exited ${code}: ${err}`)))
      })
      assert.notInclude(out + err, "e2e-token", "the token is never printed")
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(base + path, { method, headers: { authorization: "Bearer e2e-token" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
        return { status: response.status, body: await response.json() as Record<string, unknown> & { error?: { path?: string } } }
      }
      const started = await call("POST", "/flows/served/runs", { ticket: 7 })
      assert.strictEqual(started.status, 202)
      const runId = started.body.runId as string
      let status = await call("GET", `/runs/${runId}`)
      for (let i = 0; i < 100 && status.body.status !== "waiting"; i++) {
        await new Promise((r) => setTimeout(r, 100))
        status = await call("GET", `/runs/${runId}`)
      }
      assert.strictEqual(status.body.status, "waiting")

      const bad = await call("POST", `/runs/${runId}/signals/approval`, { approvedBy: 42 })
      assert.strictEqual(bad.status, 400)
      assert.strictEqual(bad.body.error?.path, "approvedBy")
      // The command line checks at the door too: exit 2, the JSON error, nothing recorded.
      const signalled = await new Promise<{ code: number | null; stdout: string }>((res) => {
        const c = spawn(process.execPath, [cli, "signal", runId, "approval", "--payload", '{"approvedBy":42}', "--state-dir", stateDir, "--json"], { cwd: root, env, stdio: ["ignore", "pipe", "ignore"] })
        let stdout = ""
        c.stdout.on("data", (d) => (stdout += String(d)))
        c.on("exit", (code) => res({ code, stdout }))
      })
      assert.strictEqual(signalled.code, 2)
      const error = JSON.parse(signalled.stdout.trim()) as { error: { tag: string; message: string; exitCode: number } }
      assert.strictEqual(error.error.tag, "UsageError")
      assert.include(error.error.message, "approvedBy: Expected string, got 42")
      await new Promise((r) => setTimeout(r, 300))
      assert.strictEqual((await call("GET", `/runs/${runId}`)).body.status, "waiting", "the run keeps waiting")

      assert.strictEqual((await call("POST", `/runs/${runId}/signals/approval`, { approvedBy: "ana" })).status, 202)
      await gotHook
      const hook = hooks[0]!
      assert.isTrue(verify(Redacted.make("e2e-secret"), hook.body, hook.signature), "the webhook body carries a valid signature")
      assert.deepInclude(JSON.parse(hook.body), { event: "run.finished", runId, flow: "served", status: "succeeded" })
    } finally {
      clearTimeout(killer)
      child.kill("SIGTERM")
      receiver.close()
    }
  }, 60_000)
})
