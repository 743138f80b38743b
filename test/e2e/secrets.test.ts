/**
 * End-to-end: secrets never reach what mcpflow shows, journals or exports (issue 17, items 10
 * and 11). Each case spawns the real CLI; the planted secrets are then grepped for in every
 * stdout and stderr and in the bytes of every file of the state directory (runs.db and its WAL).
 *
 * - Item 10: servers that leak the secrets mcpflow expanded into their config (a stdio server
 *   printing its env key everywhere and dying, an HTTP server echoing the Authorization header
 *   in a 500 body), through `tools`, `call`, a durable `run`, `show` and `runs`.
 * - Item 11: a flow whose input `password` and tool output `apiKey` are `Schema.Redacted`, run
 *   durably with MCPFLOW_JOURNAL_KEY, SIGKILLed mid-run, refused resume without the key or with
 *   a wrong one (the run stays resumable), then resumed with it: the secrets come back intact.
 */
import type { ChildProcess } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { createServer, type Server as HttpServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type CliRun, root, startCli } from "../support/cli.ts"

const fixtures = join(root, "test/e2e/fixtures")

const plantedKey = "sk-env-PLANTED-4c1e88b0d2"
const plantedToken = "tok-hdr-PLANTED-93ab77e150"
const plantedPassword = "pw-input-PLANTED-0d9e3f"
/** As in fixtures/sensitive.ts. */
const plantedApiKey = "sk-vault-PLANTED-7f3a9c21d4"
const journalKey = "test-journal-key-5b0c2a9e1f7d4c3b"

type Run = CliRun

const env = (extra: Record<string, string | undefined>) => ({ NO_COLOR: "1", CI: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "", MCPFLOW_JOURNAL_KEY: undefined, ...extra })

const started = (cwd: string, args: ReadonlyArray<string>, extra: Record<string, string | undefined>) =>
  startCli(args, { cwd, env: env(extra), killAfterMs: 40_000 })

const cli = (cwd: string, args: ReadonlyArray<string>, extra: Record<string, string | undefined> = {}) =>
  started(cwd, args, extra).done

/** Every file of a directory tree, as bytes. */
const filesOf = (dir: string): ReadonlyArray<{ readonly file: string; readonly bytes: Buffer }> =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => {
        const file = join(entry.parentPath, entry.name)
        return { file, bytes: readFileSync(file) }
      })
    : []

/** Asserts no planted secret is in any output or any byte of the state directory. */
const assertClean = (secrets: ReadonlyArray<string>, outputs: Readonly<Record<string, Run>>, stateDirs: ReadonlyArray<string>) => {
  for (const [name, run] of Object.entries(outputs)) {
    for (const secret of secrets) {
      assert.notInclude(run.stdout, secret, `${name}: stdout`)
      assert.notInclude(run.stderr, secret, `${name}: stderr`)
    }
  }
  for (const dir of stateDirs) {
    const files = filesOf(dir)
    assert.isTrue(files.some((f) => f.file.endsWith("runs.db")), `a journal in ${dir}`)
    for (const { bytes, file } of files) {
      for (const secret of secrets) {
        for (const form of [secret, Buffer.from(secret).toString("base64")]) {
          assert.isFalse(bytes.includes(Buffer.from(form, "utf8")), `${form} in ${file}`)
          assert.isFalse(bytes.includes(Buffer.from(form, "utf16le")), `${form} (UTF-16) in ${file}`)
        }
      }
    }
  }
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex")

const lastJson = (stdout: string): Record<string, unknown> => {
  const lines = stdout.trim().split("\n").filter((line) => line.startsWith("{"))
  return JSON.parse(lines.at(-1) ?? "{}") as Record<string, unknown>
}

const tmp: Array<string> = []
const fresh = async (name: string) => {
  const dir = await mkdtemp(join(tmpdir(), `mcpflow-secrets-${name}-`))
  tmp.push(dir)
  return dir
}
afterAll(async () => {
  await Promise.all(tmp.map((dir) => rm(dir, { recursive: true, force: true })))
})

describe("item 10: what servers say is masked wherever it is shown, journaled or exported", () => {
  let http: HttpServer
  let dir: string
  const runs: Record<string, Run> = {}

  beforeAll(async () => {
    http = createServer((req, res) => {
      res.writeHead(500, { "content-type": "text/plain" }).end(`boom; request had Authorization: ${req.headers.authorization}`)
    })
    await new Promise<void>((ok) => http.listen(0, "127.0.0.1", ok))
    dir = await fresh("masking")
    await writeFile(
      join(dir, ".mcp.json"),
      JSON.stringify({
        mcpServers: {
          leaky: { command: process.execPath, args: [join(fixtures, "leakyServer.mjs")], env: { API_KEY: "${PLANTED_KEY}" } },
          web: {
            url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
            headers: { Authorization: "Bearer ${PLANTED_TOKEN}" }
          }
        }
      })
    )
    const env = { PLANTED_KEY: plantedKey, PLANTED_TOKEN: plantedToken }
    const state = join(dir, "state")
    const flow = join(fixtures, "leakyFlow.ts")
    const jobs: Record<string, () => Promise<Run>> = {
      toolsJson: () => cli(dir, ["tools", "--json"], env),
      leak: () => cli(dir, ["call", "leaky.leak", "--json", "--verbose"], env),
      refuse: () => cli(dir, ["call", "leaky.refuse"], env),
      die: () => cli(dir, ["call", "leaky.die", "--verbose"], env),
      web: () => cli(dir, ["call", "web.search", "--args", '{"q":"x"}'], env),
      run: () => cli(dir, ["run", flow, "--config", ".mcp.json", "--state-dir", state, "--verbose"], env)
    }
    const names = Object.keys(jobs)
    // Two at a time: each spawn is a Node process plus a server.
    for (let i = 0; i < names.length; i += 2) {
      const batch = names.slice(i, i + 2)
      const done = await Promise.all(batch.map((name) => jobs[name]!()))
      batch.forEach((name, j) => (runs[name] = done[j]!))
    }
    runs.runJson = await cli(dir, ["run", flow, "--config", ".mcp.json", "--state-dir", state, "--json"], env)
    const runId = String(lastJson(runs.runJson.stdout).runId ?? "")
    const [show, showJson, audit] = await Promise.all([
      cli(dir, ["show", runId, "--state-dir", state]),
      cli(dir, ["show", runId, "--state-dir", state, "--json"]),
      cli(dir, ["audit", "--run", runId.slice(0, 8), "--state-dir", state, "--json"], { MCPFLOW_ACTOR: "release-bot" })
    ])
    runs.show = show
    runs.showJson = showJson
    runs.audit = audit
  }, 180_000)

  afterAll(() => new Promise<void>((ok) => http.close(() => ok())))

  it("each leak path was exercised, and the server's text is still shown around the mask", () => {
    assert.include(runs.leak!.stdout, "the key is <redacted>")
    assert.include(runs.leak!.stderr, "starting with API_KEY=<redacted>", "stderr relayed with --verbose")
    assert.strictEqual(runs.refuse!.code, 1)
    assert.include(runs.refuse!.stderr, "denied: key <redacted> is not allowed here")
    assert.strictEqual(runs.die!.code, 1)
    assert.include(runs.die!.stderr + runs.die!.stdout, "fatal: cannot use <redacted>")
    assert.include(runs.web!.stderr, "request had Authorization: <redacted>")
    assert.include(runs.toolsJson!.stdout, "Answers with the key (<redacted>)")
    assert.include(runs.toolsJson!.stdout, "request had Authorization: <redacted>")
    assert.strictEqual(runs.run!.code, 1, "the flow fails at its web step")
    assert.include(runs.run!.stderr, "starting with API_KEY=<redacted>", "server logs relayed in the run report")
    assert.include(runs.runJson!.stdout, "request had Authorization: <redacted>")
    assert.include(runs.showJson!.stdout, "fatal: cannot use <redacted>", "the journal keeps the server's text, masked")
    assert.include(runs.show!.stdout, "request had Authorization: <redacted>")
    // The audit log of the run: every call, the server's text masked, the run's decisions.
    assert.strictEqual(runs.audit!.code, 0, runs.audit!.stderr)
    const entries = JSON.parse(runs.audit!.stdout) as Array<{ action: string; target?: string; outcome: string; detail?: string; result?: unknown }>
    assert.deepStrictEqual(entries.map((e) => `${e.action} ${e.target}`), [
      "run.started leaky",
      "tool.call leaky.leak",
      "tool.call leaky.refuse",
      "tool.call leaky.progress",
      "tool.call leaky.die",
      "tool.call web.search",
      "run.finished leaky"
    ])
    assert.include(JSON.stringify(entries[1]?.result), "the key is <redacted>")
    assert.include(entries[5]?.detail ?? "", "request had Authorization: <redacted>")
  })

  it("no planted secret in any byte of the journal", () => {
    assertClean([plantedKey, plantedToken], {}, [join(dir, "state")])
  })

  it("no planted secret in any output", () => {
    assertClean([plantedKey, plantedToken], runs, [])
  })
})

describe("item 11: Schema.Redacted inputs and tool outputs are journaled encrypted, shown redacted, and resume", () => {
  const input = JSON.stringify({ user: "ana", password: plantedPassword })
  const flow = join(fixtures, "sensitive.ts")

  /** Runs the flow with the step `wait` hanging, SIGKILLs it there, and returns its run id. */
  const crashedRun = async (state: string, marker: string, env: Record<string, string>) => {
    const { child, done } = started(root, ["run", flow, "--input", input, "--state-dir", state, "--json"], {
      ...env,
      SENSITIVE_HANG: "1",
      SENSITIVE_MARKER: marker
    })
    await killWhen(child, marker, "reached wait")
    const killed = await done
    const runId = String((JSON.parse(killed.stdout.split("\n")[0] ?? "{}") as { runId?: string }).runId)
    return { runId, killed }
  }

  it("with MCPFLOW_JOURNAL_KEY: nothing in clear anywhere; resume refused without the key or with another, then resumes", async () => {
    const dir = await fresh("sealed")
    const state = join(dir, "state")
    const marker = join(dir, "marker.txt")
    const { killed, runId } = await crashedRun(state, marker, { MCPFLOW_JOURNAL_KEY: journalKey })
    const [listed, showJson] = await Promise.all([
      cli(root, ["runs", "--state-dir", state, "--json"]),
      cli(root, ["show", runId, "--state-dir", state, "--json"])
    ])
    const [record] = JSON.parse(listed.stdout) as Array<{ runId: string; status: string; input: unknown }>
    assert.deepStrictEqual([record?.runId, record?.status], [runId, "crashed"], "the killed run is unfinished, its process gone")
    assert.deepStrictEqual(record?.input, { user: "ana", password: "<redacted>" }, "listed redacted")
    const shown = JSON.parse(showJson.stdout) as { input: unknown }
    assert.deepStrictEqual(shown.input, { user: "ana", password: "<redacted>" }, "shown redacted")

    // One after the other: each resume takes the state directory's journal lock.
    const noKey = await cli(root, ["resume", runId, "--state-dir", state], { SENSITIVE_MARKER: marker })
    const wrongKey = await cli(root, ["resume", runId, "--state-dir", state], {
      SENSITIVE_MARKER: marker,
      MCPFLOW_JOURNAL_KEY: "another-key-entirely-0000"
    })
    assert.strictEqual(noKey.code, 2, noKey.stdout + noKey.stderr)
    assert.include(noKey.stdout + noKey.stderr, "set MCPFLOW_JOURNAL_KEY to the key it was started with")
    assert.strictEqual(wrongKey.code, 2, wrongKey.stdout + wrongKey.stderr)
    assert.include(wrongKey.stdout + wrongKey.stderr, "MCPFLOW_JOURNAL_KEY is not the key it was started with")

    const resumed = await cli(root, ["resume", runId, "--state-dir", state, "--json"], {
      SENSITIVE_MARKER: marker,
      MCPFLOW_JOURNAL_KEY: journalKey
    })
    assert.strictEqual(resumed.code, 0, resumed.stdout + resumed.stderr)
    const output = lastJson(resumed.stdout).output as Record<string, string>
    assert.deepStrictEqual(output, {
      id: "key-ana",
      passwordSha: sha(plantedPassword),
      apiKeySha: sha(plantedApiKey),
      tokenSha: sha(`tok-${plantedPassword}`)
    }, "the resumed run got the secrets back from the journal")
    const lines = readFileSync(marker, "utf8").trim().split("\n")
    assert.deepStrictEqual(lines, ["issued", "reached wait", "reached wait"], "the vault was called once: its step replayed")

    const after = {
      killed,
      listed,
      showJson,
      noKey,
      wrongKey,
      resumed,
      showJsonAfter: await cli(root, ["show", runId, "--state-dir", state, "--json"]),
      audit: await cli(root, ["audit", "--run", runId, "--state-dir", state, "--json"])
    }
    const audited = JSON.parse(after.audit.stdout) as Array<{ action: string; target?: string; result?: unknown }>
    const issue = audited.filter((e) => e.action === "tool.call" && e.target === "vault.issue")
    assert.deepStrictEqual(issue.map((e) => e.result), [{ id: "key-ana", apiKey: "<redacted>" }], "called once, its Redacted output redacted")
    assert.deepStrictEqual(audited.map((e) => e.action).filter((a) => a.startsWith("run.")), ["run.started", "run.resumed", "run.finished"])
    assertClean([plantedPassword, plantedApiKey], after, [state])
  }, 180_000)

  it("without a key: nothing in clear either, and resume is refused with a clear error", async () => {
    const dir = await fresh("unkeyed")
    const state = join(dir, "state")
    const marker = join(dir, "marker.txt")
    const { killed, runId } = await crashedRun(state, marker, {})
    assert.include(killed.stdout, '"sealedWith":"-"', "the report says the step's sensitive values were dropped")
    const refused = await cli(root, ["resume", runId, "--state-dir", state], {
      SENSITIVE_MARKER: marker,
      MCPFLOW_JOURNAL_KEY: journalKey
    })
    assert.strictEqual(refused.code, 2, refused.stdout + refused.stderr)
    assert.include(refused.stdout + refused.stderr, "MCPFLOW_JOURNAL_KEY was not set when it ran")
    assertClean([plantedPassword, plantedApiKey], { killed, refused }, [state])
  }, 120_000)
})

/** Waits (polling the marker file, bounded) until `line` appears, then SIGKILLs `child`. */
const killWhen = async (child: ChildProcess, file: string, line: string) => {
  const deadline = Date.now() + 40_000
  const seen = () => existsSync(file) && readFileSync(file, "utf8").split("\n").includes(line)
  while (!seen()) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`never saw ${JSON.stringify(line)}`)
    await new Promise((r) => setTimeout(r, 25))
  }
  child.kill("SIGKILL")
  await new Promise((r) => child.once("exit", r))
}
