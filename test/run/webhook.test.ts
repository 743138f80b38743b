/**
 * Webhooks for every run, not only `mcpflow serve`'s: a run started from the command line
 * (`runFlow`, what `mcpflow run` and the worker call) with a webhook announces its end to a
 * loopback receiver, signed; a receiver that keeps failing is retried with the policy, reported,
 * and leaves the run's outcome alone. The run's trigger is journaled. Settings come from the
 * flag or `MCPFLOW_WEBHOOK_URL`, with the secret from `MCPFLOW_WEBHOOK_SECRET`, else from the
 * `--config` file's `mcpflow.webhook`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "vitest"
import { Effect, Exit, Option, Redacted, Result, Schedule, Schema } from "effect"
import { Flow, step } from "../../dsl/flow/index.ts"
import { RunJournal } from "../../dsl/ports/RunJournal.ts"
import * as History from "../../src/app/cli/commands/internal/history.ts"
import { webhookOf } from "../../src/app/cli/commands/internal/webhook.ts"
import { defaultRunSettings } from "../../src/app/cli/Flags.ts"
import { runFlow } from "../../src/app/run/RunFlow.ts"
import { settingsFrom, verify } from "../../src/app/serve/Webhook.ts"
import { layer as journalLayer } from "../../src/runtime/engine/SqliteRunJournal.ts"

const greet = Flow.make({
  name: "greet",
  input: Schema.Struct({ name: Schema.String }),
  output: Schema.String,
  run: ({ name }) => step("greet", name === "fail" ? Effect.fail("no greeting today") : Effect.succeed(`hi ${name}`))
})

/** A loopback receiver answering `status` to every POST; the bodies and signatures it got. */
const receiver = async (status: number) => {
  const got: Array<{ readonly body: string; readonly signature: string | undefined }> = []
  const server = createServer((req, res) => {
    let body = ""
    req.on("data", (d) => (body += String(d)))
    req.on("end", () => {
      got.push({ body, signature: req.headers["x-mcpflow-signature"] as string | undefined })
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  return { got, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, close: () => server.close() }
}

const secret = Redacted.make("hook-secret")
const settings = (stateDir: string, name: string) => ({ ...defaultRunSettings, input: { name }, quiet: true, stateDir, rate: 0 })

describe("webhooks for every run", () => {
  it("announces a command-line run's end, signed, with its trigger; the journal records the trigger", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpflow-hook-"))
    const hook = await receiver(204)
    try {
      const ok = await Effect.runPromiseExit(runFlow(greet, settings(dir, "ana"), { trigger: "cli", webhook: { url: hook.url, secret }, runId: "hook-run-1" }))
      assert.isTrue(Exit.isSuccess(ok))
      const failed = await Effect.runPromiseExit(runFlow(greet, settings(dir, "fail"), { trigger: "cli", webhook: { url: hook.url, secret }, runId: "hook-run-2" }))
      assert.isTrue(Exit.isFailure(failed), "the flow failed: exit 1, webhook or not")
      assert.strictEqual(hook.got.length, 2)
      for (const h of hook.got) assert.isTrue(verify(secret, h.body, h.signature), "signed with the secret")
      assert.isFalse(verify(Redacted.make("other"), hook.got[0]!.body, hook.got[0]!.signature))
      const [first, second] = hook.got.map((h) => JSON.parse(h.body) as Record<string, unknown>)
      assert.deepInclude(first, { event: "run.finished", runId: "hook-run-1", flow: "greet", status: "succeeded", trigger: "cli" })
      assert.deepInclude(second, { runId: "hook-run-2", status: "failed", failedStep: "greet" })
      const record = await Effect.runPromise(
        Effect.scoped(RunJournal.use((j) => j.get("hook-run-1")).pipe(Effect.provide(journalLayer(join(dir, "runs.db")))))
      )
      assert.strictEqual(record.trigger, "cli")
      // `mcpflow runs` and `mcpflow show` show it.
      const printed: Array<string> = []
      const log = console.log
      console.log = (...args: Array<unknown>) => void printed.push(args.join(" "))
      try {
        await Effect.runPromise(History.runs({ json: false, stateDir: dir }))
        await Effect.runPromise(History.show({ runId: "hook-run-1", json: false, stateDir: dir }))
      } finally {
        console.log = log
      }
      const [table, shown] = printed
      const rows = (table ?? "").split("\n")
      assert.match(rows[0] ?? "", /^RUN .* TRIGGER$/)
      assert.match(rows.find((r) => r.includes("succeeded")) ?? "", /^hook-run .* cli$/)
      assert.include(shown, "run hook-run-1 · flow greet · succeeded · started by cli")
    } finally {
      hook.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a webhook that keeps failing is retried with the policy, reported, and never fails the run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpflow-hook-"))
    const hook = await receiver(500)
    const written: Array<string> = []
    const write = process.stderr.write
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    }) as typeof process.stderr.write
    try {
      const exit = await Effect.runPromiseExit(runFlow(greet, settings(dir, "bo"), {
        runId: "hook-run-3",
        webhook: { url: hook.url, secret, retries: 2, schedule: Schedule.spaced("5 millis") }
      }))
      assert.isTrue(Exit.isSuccess(exit), "the run succeeded although its webhook did not")
      assert.strictEqual(hook.got.length, 3, "one attempt and two retries")
      const report = written.join("")
      assert.include(report, "run hook-run-3: webhook")
      assert.include(report, "HTTP 500 (after 3 attempt(s)); the run's outcome stands")
      assert.notInclude(report, "hook-secret")
    } finally {
      process.stderr.write = write
      hook.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("takes its settings from the flag or MCPFLOW_WEBHOOK_URL, and wants a secret and an http(s) URL", () => {
    const env = { MCPFLOW_WEBHOOK_URL: "http://127.0.0.1:9/env", MCPFLOW_WEBHOOK_SECRET: "s3" }
    const fromEnv = settingsFrom(Option.none(), env)
    assert.strictEqual(Result.isSuccess(fromEnv) ? fromEnv.success?.url : undefined, "http://127.0.0.1:9/env")
    const secretRead = Result.isSuccess(fromEnv) ? fromEnv.success?.secret : undefined
    assert.strictEqual(secretRead === undefined ? undefined : Redacted.value(secretRead), "s3")
    assert.notInclude(String(secretRead), "s3", "Redacted from the moment it is read")
    const fromFlag = settingsFrom(Option.some("https://ci.example/hook"), env)
    assert.strictEqual(Result.isSuccess(fromFlag) ? fromFlag.success?.url : undefined, "https://ci.example/hook")
    assert.deepStrictEqual(settingsFrom(Option.none(), {}), Result.succeed(undefined))
    assert.deepStrictEqual(
      settingsFrom(Option.none(), { MCPFLOW_WEBHOOK_URL: "http://x/h" }),
      Result.fail("MCPFLOW_WEBHOOK_URL needs MCPFLOW_WEBHOOK_SECRET (the HMAC-SHA256 key its bodies are signed with)")
    )
    assert.deepStrictEqual(settingsFrom(Option.some("ftp://x/h"), env), Result.fail("--webhook: not an http(s) URL: ftp://x/h"))
  })

  it("precedence: --webhook, then MCPFLOW_WEBHOOK_URL, then the --config file's mcpflow.webhook (its secret expanded, Redacted)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpflow-webhook-precedence-"))
    const saved = { url: process.env.MCPFLOW_WEBHOOK_URL, secret: process.env.MCPFLOW_WEBHOOK_SECRET, file: process.env.HOOK_PRECEDENCE_SECRET }
    const restore = (name: string, value: string | undefined) => value === undefined ? delete process.env[name] : (process.env[name] = value)
    try {
      const config = join(dir, "mcp.json")
      writeFileSync(config, JSON.stringify({
        mcpServers: { echo: { command: "echo" } },
        mcpflow: { webhook: { url: "http://127.0.0.1:9/file", secret: "${HOOK_PRECEDENCE_SECRET}" } }
      }))
      process.env.HOOK_PRECEDENCE_SECRET = "file-secret"
      delete process.env.MCPFLOW_WEBHOOK_URL
      delete process.env.MCPFLOW_WEBHOOK_SECRET
      const of = (flag: Option.Option<string>, file: Option.Option<string>) => Effect.runPromise(webhookOf(flag, file))

      const fromFile = await of(Option.none(), Option.some(config))
      assert.strictEqual(fromFile?.url, "http://127.0.0.1:9/file")
      assert.strictEqual(fromFile === undefined ? undefined : Redacted.value(fromFile.secret), "file-secret")
      assert.notInclude(String(fromFile?.secret), "file-secret")
      assert.isUndefined(await of(Option.none(), Option.none()), "no flag, no environment, no file: no webhook")

      process.env.MCPFLOW_WEBHOOK_URL = "http://127.0.0.1:9/env"
      process.env.MCPFLOW_WEBHOOK_SECRET = "env-secret"
      const fromEnv = await of(Option.none(), Option.some(config))
      assert.strictEqual(fromEnv?.url, "http://127.0.0.1:9/env", "the environment wins over the file")
      assert.strictEqual(fromEnv === undefined ? undefined : Redacted.value(fromEnv.secret), "env-secret")

      const fromFlag = await of(Option.some("http://127.0.0.1:9/flag"), Option.some(config))
      assert.strictEqual(fromFlag?.url, "http://127.0.0.1:9/flag", "the flag wins over both")
      assert.strictEqual(fromFlag === undefined ? undefined : Redacted.value(fromFlag.secret), "env-secret")
    } finally {
      restore("MCPFLOW_WEBHOOK_URL", saved.url)
      restore("MCPFLOW_WEBHOOK_SECRET", saved.secret)
      restore("HOOK_PRECEDENCE_SECRET", saved.file)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
