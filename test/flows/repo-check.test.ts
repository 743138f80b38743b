/**
 * The repo-check flow through REAL MCP server processes (the command runner and
 * `@modelcontextprotocol/server-filesystem`, over stdio, no network) on a tiny package in a
 * temporary directory: `node --version` and `npm pack --dry-run`, then the markdown report
 * written through the filesystem server and read back from disk here. A second run shows a
 * failing command, a command outside the allowlist, and the typed failure after the report.
 */
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { Flow, FlowEngine, FlowEvents } from "../../dsl/flow/index.ts"
import repoCheck, { ChecksFailed, localAllow, localMcpJson, localServers } from "../../flows/repo-check.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"

let root = ""

beforeAll(() => {
  root = realpathSync(mkdtempSync(path.join(tmpdir(), "mcpflow-repo-check-")))
  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "tiny-pkg", version: "1.2.3", main: "index.js", files: ["index.js"] }, null, 2))
  writeFileSync(path.join(root, "index.js"), "module.exports = 42\n")
  // `node -e` is denied by the command runner's argument rules: the failing command is a script file.
  writeFileSync(path.join(root, "fail.cjs"), "console.log('about to fail'); process.exit(3)\n")
})

afterAll(() => {
  if (root !== "") rmSync(root, { recursive: true, force: true })
})

const run = (input: typeof repoCheck.input.Encoded) =>
  Effect.gen(function*() {
    const sink = FlowEvents.collect()
    const exit = yield* Flow.run(repoCheck, input).pipe(
      Effect.provideService(FlowEvents.FlowEvents, sink),
      Effect.provide(FlowEngine.layerMemory),
      Effect.provide(GatewayLayer.layer({ servers: localServers({ root, allow: ["node", "npm"] }), allow: localAllow })),
      Effect.exit
    )
    return { exit, events: sink.events }
  })

const reports = (dir: string) => readdirSync(path.join(root, dir)).filter((f) => /^repo-check-.*\.md$/.test(f))

describe("flows/repo-check.ts with real servers", () => {
  it.live("runs the commands through the command runner and writes the report through the filesystem server", () =>
    Effect.gen(function*() {
      const { events, exit } = yield* run({
        commands: [
          { name: "node version", command: "node", args: ["--version"] },
          { name: "pack", command: "npm", args: ["pack", "--dry-run"], timeoutMs: 60_000 }
        ],
        reportDir: "reports"
      })
      assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")
      if (Exit.isFailure(exit)) return
      const out = exit.value
      assert.isTrue(out.passed)
      assert.strictEqual(out.root, root)
      assert.deepStrictEqual(out.commands.map((c) => [c.name, c.status, c.exitCode]), [["node version", "passed", 0], ["pack", "passed", 0]])
      assert.match(out.commands[0]!.tail, /^v\d+\.\d+\.\d+$/)
      assert.match(out.commands[1]!.tail, /tiny-pkg/)
      assert.strictEqual(path.dirname(out.report), path.join(root, "reports"))
      assert.deepStrictEqual(reports("reports"), [path.basename(out.report)])
      const report = readFileSync(out.report, "utf8")
      assert.match(report, /^# Repository check: passed\n/)
      assert.include(report, `- root: \`${root}\``)
      assert.include(report, "## Summary")
      assert.include(report, "| command | status | exit code | duration |")
      assert.match(report, /\| node version \| passed \| 0 \| \d+ ms \|/)
      assert.match(report, /\| pack \| passed \| 0 \| [\d.]+ (ms|s) \|/)
      assert.include(report, "## node version\n\n- command: `node --version`\n- status: passed\n- exit code: 0")
      assert.include(report, "## pack\n\n- command: `npm pack --dry-run`")
      assert.match(report, /Output \(tail\):\n\n```text\nv\d+/)
      assert.match(report, /tiny-pkg/)
      assert.isTrue(events.some((e) => e._tag === "FlowStarted" && e.sandbox !== true), "a run on real servers, not the sandbox")
      assert.isTrue(events.some((e) => e._tag === "StepSucceeded" && e.path === "verify report"))
    }), 30_000)

  it.live("a failing command and a command outside the allowlist: the report says so, then the run fails with ChecksFailed", () =>
    Effect.gen(function*() {
      const { events, exit } = yield* run({
        commands: [
          { name: "exit 3", command: "node", args: ["fail.cjs"] },
          { name: "shell", command: "bash", args: ["-c", "echo pwned"] },
          { name: "escape", command: "node", args: ["--version"], cwd: "../.." },
          { name: "later", command: "node", args: ["--version"] }
        ],
        reportDir: "failing",
        stopOnFailure: false
      })
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isSuccess(exit)) return
      const error = Cause.squash(exit.cause)
      assert.instanceOf(error, ChecksFailed)
      assert.deepStrictEqual((error as ChecksFailed).failed, ["exit 3", "shell", "escape"])
      const [file] = reports("failing")
      assert.isDefined(file)
      const report = readFileSync(path.join(root, "failing", file!), "utf8")
      assert.match(report, /^# Repository check: failed\n/)
      assert.match(report, /\| exit 3 \| failed \| 3 \|/)
      assert.match(report, /about to fail/)
      assert.match(report, /\| shell \| refused \| — \|/)
      assert.match(report, /not sent: the command runner allows only .*\(not bash\)/)
      assert.match(report, /\| escape \| refused \| — \|/)
      assert.match(report, /refused by the root rule/)
      assert.match(report, /\| later \| passed \| 0 \|/)
      assert.isTrue(events.some((e) => e._tag === "StepFailed" && e.path === "shell"), "the refused command is a failed step")
    }), 30_000)

  it("writes an .mcp.json the gateway config loader accepts: the same real servers, least privilege", () => {
    const json = localMcpJson({ root })
    assert.deepStrictEqual(Object.keys(json.mcpServers), ["commands", "filesystem"])
    assert.deepStrictEqual(json.allow, [...localAllow])
    assert.include(json.mcpServers.commands.args, "--root")
    assert.include(json.mcpServers.commands.args, root)
    assert.include(json.mcpServers.commands.args.join(" "), "--allow npm,npx,node")
    assert.match(json.mcpServers.filesystem.args[0]!, /@modelcontextprotocol\/server-filesystem/)
    assert.strictEqual(json.mcpServers.filesystem.args[1], root)
  })
})
