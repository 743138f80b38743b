/**
 * `mcpflow contracts generate` and `mcpflow check` through the built CLI (`bin/mcpflow.js`,
 * run `npm run build` first), against the real `@modelcontextprotocol/server-everything`.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const binScript = join(root, "bin/mcpflow.js")

const everythingEntry = (() => {
  const require = createRequire(join(root, "package.json"))
  const manifestPath = require.resolve("@modelcontextprotocol/server-everything/package.json")
  const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as { readonly bin: Readonly<Record<string, string>> }
  return join(dirname(manifestPath), Object.values(manifest.bin)[0]!)
})()

const cli = (cwd: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((done, reject) => {
    const child = spawn(process.execPath, [binScript, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c))
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c))
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      done({ code, stdout, stderr })
    })
  })

let dir = ""
beforeAll(() => {
  dir = fs.mkdtempSync(join(os.tmpdir(), "mcpflow-contracts-"))
  const everything = { command: process.execPath, args: [everythingEntry, "stdio"] }
  fs.writeFileSync(join(dir, ".mcp.json"), JSON.stringify({ mcpServers: { everything } }))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("mcpflow check", () => {
  it("exits 1 with a diff naming the tool and the field when a contract drifted", { timeout: 40_000 }, async () => {
    const run = await cli(dir, ["check", join(root, "test/e2e/fixtures/contractsDrifted.ts")])
    assert.strictEqual(run.code, 1, run.stderr)
    assert.include(run.stdout, "- everything.echo [message] (MissingRequiredInput): the server requires 'message' but the contract does not declare it")
    assert.include(run.stdout, "- everything.echo [text] (UnknownInputField)")
    assert.include(run.stdout, "- everything.get-sum [a] (InputTypeChanged): 'a' is a number on the server but a string in the contract")
  })

  it("exits 0 when the flow's contracts match the servers", { timeout: 40_000 }, async () => {
    const run = await cli(dir, ["check", join(root, "test/e2e/fixtures/contractsMatching.ts")])
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, "match the servers")
  })

  it("exits 2 for a flow file that does not exist", { timeout: 40_000 }, async () => {
    const run = await cli(dir, ["check", join(dir, "nope.ts")])
    assert.strictEqual(run.code, 2, run.stderr)
  })
})

describe("mcpflow contracts generate", () => {
  it("writes the contracts of a server, the same bytes each time", { timeout: 60_000 }, async () => {
    const first = await cli(dir, ["contracts", "generate", "--server", "everything", "--out", "a.ts"])
    assert.strictEqual(first.code, 0, first.stderr)
    assert.match(first.stdout, /wrote \d+ contracts to a\.ts/)
    const second = await cli(dir, ["contracts", "generate", "--out", "b.ts"])
    assert.strictEqual(second.code, 0, second.stderr)
    const a = fs.readFileSync(join(dir, "a.ts"), "utf8")
    assert.include(a, `export const Everything = Tool.server("everything", {`)
    assert.strictEqual(fs.readFileSync(join(dir, "b.ts"), "utf8"), a)
  })

  it("exits 2 for a server the config does not have", { timeout: 40_000 }, async () => {
    const run = await cli(dir, ["contracts", "generate", "--server", "nope", "--out", "c.ts"])
    assert.strictEqual(run.code, 2, run.stderr)
    assert.include(run.stderr, "unknown server 'nope'")
  })
})
