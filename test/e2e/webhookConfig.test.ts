/**
 * The webhook from the config file: `mcpflow run --config .mcp.json`, with `"mcpflow":
 * {"webhook": {"url", "secret": "${HOOK_SECRET}"}}` and neither `--webhook` nor
 * `MCPFLOW_WEBHOOK_URL`, announces the finished run to a loopback receiver, signed with the
 * expanded secret, which the run's output never shows; `--webhook` takes precedence over the
 * file; a bad webhook entry is a config error (exit 2) and the run does not start. Run
 * `npm run build` first.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redacted } from "effect"
import { afterAll, assert, describe, it } from "vitest"
import { verify } from "../../src/app/serve/Webhook.ts"
import { plainEnv, runCli } from "../support/cli.ts"

const flow = join(import.meta.dirname, "fixtures", "datedOutput.ts")
const tmp = mkdtempSync(join(tmpdir(), "mcpflow-webhook-config-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const secret = "config-hook-secret-91"

const receiver = async () => {
  const got: Array<{ readonly path: string; readonly body: string; readonly signature: string | undefined }> = []
  const server = createServer((req, res) => {
    let body = ""
    req.on("data", (d) => (body += String(d)))
    req.on("end", () => {
      got.push({ path: req.url ?? "", body, signature: req.headers["x-mcpflow-signature"] as string | undefined })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  return { got, base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() }
}

const mcpflow = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  runCli(args, { env: { ...plainEnv, MCPFLOW_WEBHOOK_SECRET: undefined, ...env }, killAfterMs: 40_000 })

describe("the webhook of .mcp.json", () => {
  it("announces a run started with --config, signed with the file's secret; --webhook wins; a bad entry exits 2", async () => {
    const hook = await receiver()
    try {
      const config = join(tmp, "mcp.json")
      writeFileSync(config, JSON.stringify({ mcpServers: {}, mcpflow: { webhook: { url: `${hook.base}/from-config`, secret: "${HOOK_SECRET}" } } }))
      const run = (extra: ReadonlyArray<string>, state: string) =>
        mcpflow(["run", flow, "--config", config, "--input", '{"n":2}', "--state-dir", join(tmp, state), ...extra], { HOOK_SECRET: secret })

      const fromFile = await run([], "a")
      assert.strictEqual(fromFile.code, 0, fromFile.stderr)
      assert.strictEqual(hook.got.length, 1)
      const [got] = hook.got
      assert.strictEqual(got!.path, "/from-config")
      assert.isTrue(verify(Redacted.make(secret), got!.body, got!.signature), "signed with the expanded secret")
      assert.deepInclude(JSON.parse(got!.body), { event: "run.finished", flow: "dated", status: "succeeded", trigger: "cli" })
      assert.notInclude(fromFile.stdout + fromFile.stderr, secret)

      // The flag names another URL: it wins (and is signed with MCPFLOW_WEBHOOK_SECRET).
      const fromFlag = await mcpflow(
        ["run", flow, "--config", config, "--input", '{"n":2}', "--state-dir", join(tmp, "b"), "--webhook", `${hook.base}/from-flag`],
        { HOOK_SECRET: secret, MCPFLOW_WEBHOOK_SECRET: "flag-secret" }
      )
      assert.strictEqual(fromFlag.code, 0, fromFlag.stderr)
      assert.deepStrictEqual(hook.got.map((h) => h.path), ["/from-config", "/from-flag"])
      assert.isTrue(verify(Redacted.make("flag-secret"), hook.got[1]!.body, hook.got[1]!.signature))

      // A webhook URL that is not http(s): a config error naming the field; nothing announced.
      const bad = join(tmp, "bad.json")
      writeFileSync(bad, JSON.stringify({ mcpServers: {}, mcpflow: { webhook: { url: "ftp://127.0.0.1/x", secret: "${HOOK_SECRET}" } } }))
      const refused = await mcpflow(["run", flow, "--config", bad, "--input", '{"n":2}', "--state-dir", join(tmp, "c")], { HOOK_SECRET: secret })
      assert.strictEqual(refused.code, 2, refused.stderr)
      assert.include(refused.stderr, "mcpflow.webhook.url")
      assert.notInclude(refused.stderr, secret)
      assert.strictEqual(hook.got.length, 2)
    } finally {
      hook.close()
    }
  }, 90_000)
})
