/**
 * Wire faults in front of a real MCP server (`@modelcontextprotocol/server-everything` over
 * stdio, no network): `WireChaos` wraps the real connection with the catalogue's wire-level
 * faults, decided by the seed per call; `mcpflow run --config … --chaos <seed>` does it from the
 * command line and lists the faults that fired. Real time (`it.live`): delays and windows are
 * wall-clock time.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Fault, Injector } from "../../chaos/index.ts"
import * as WireChaos from "../../chaos/WireChaos.ts"
import type { McpflowToolError } from "../../dsl/ToolError.ts"
import { Everything, referenceServerEntry } from "../../flows/servers/reference.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import type { GatewayConfig } from "../../src/runtime/gateway/ServerConfig.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const dir = mkdtempSync(join(tmpdir(), "mcpflow-wire-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const everything: GatewayConfig = {
  servers: { everything: { type: "stdio", command: process.execPath, args: [referenceServerEntry("everything"), "stdio"], env: {} } }
}

const reasonOf = (exit: Exit.Exit<string, McpflowToolError>) =>
  Exit.isSuccess(exit) ? "Success" : (exit.cause.reasons.find((r) => r._tag === "Fail") as { error: McpflowToolError } | undefined)?.error.reason._tag

/** Echoes `messages` in order on a gateway over the wrapped config; each call's outcome. */
const echoes = (injector: Injector.Injector, messages: ReadonlyArray<string>) =>
  Effect.forEach(messages, (message) => Effect.exit(Everything.echo({ message }, { timeout: "3 seconds" }))).pipe(
    Effect.map((exits) => exits.map(reasonOf)),
    Effect.provide(GatewayLayer.layer(WireChaos.wrapConfig(everything, injector)))
  )

describe("wire faults in front of a real server", () => {
  it.live("a lost answer, a dropped request aimed by its arguments, a delayed answer and a duplicated request, each where the plan says", () =>
    Effect.gen(function*() {
      const injector = Injector.make(Fault.plan(7, [
        Fault.lostResponse("everything.echo", { times: 1 }, "close"),
        Fault.connectionDrop(Fault.on(Everything.echo, { message: "drop me" })),
        Fault.latency("everything.echo", Fault.fixed(300), { where: { message: "slow" } }, "after"),
        Fault.duplicateMessage("everything.echo", "request", { where: { message: "twice" } })
      ]))
      const started = Date.now()
      const outcomes = yield* echoes(injector, ["first", "drop me", "slow", "twice", "last"])
      assert.deepStrictEqual(outcomes, ["ConnectionLost", "ConnectionLost", "Success", "Success", "Success"])
      assert.isAtLeast(Date.now() - started, 300, "the delay is real time")
      assert.deepStrictEqual(injector.log.map((i) => `${i.tool}#${i.call} ${i.kind}`), [
        "echo#0 LostResponse",
        "echo#1 ConnectionDrop",
        "echo#2 Latency",
        "echo#3 DuplicateMessage"
      ])
      assert.deepStrictEqual(injector.stats().map((s) => [s.tool, s.sent]), [["echo", 5]])
    }), 60_000)

  it.live("a down window: calls in it are refused, calls after it reach the server again", () =>
    Effect.gen(function*() {
      const injector = Injector.make(Fault.plan(1, [Fault.serverDown("everything", 0, 1_000)]))
      const program = Effect.gen(function*() {
        const during = yield* Effect.exit(Everything.echo({ message: "now" }, { timeout: "3 seconds" }))
        yield* Effect.sleep("1200 millis")
        const after = yield* Effect.exit(Everything.echo({ message: "later" }, { timeout: "3 seconds" }))
        return [reasonOf(during), reasonOf(after)]
      })
      const outcomes = yield* program.pipe(Effect.provide(GatewayLayer.layer(WireChaos.wrapConfig(everything, injector))))
      assert.deepStrictEqual(outcomes, ["ServerUnavailable", "Success"])
      assert.isTrue(injector.log.every((i) => i.kind === "ServerDown") && injector.log.length > 0)
    }), 60_000)

  it("a handler fault is refused: it needs a fake server", () => {
    assert.throws(() => WireChaos.wrapConfig(everything, Injector.make(Fault.plan(1, [Fault.hang("everything.echo")]))), /Hang needs a fake server/)
  })

  it("mcpflow run --config … --chaos <seed>: faults in front of the real server, listed at the end", async () => {
    const config = join(dir, "mcp.json")
    writeFileSync(config, JSON.stringify({ mcpServers: { everything: { command: process.execPath, args: [referenceServerEntry("everything"), "stdio"] } } }))
    const run = (seed: number) =>
      new Promise<{ code: number | null; stderr: string; stdout: string }>((done) => {
        const child = spawn(process.execPath, [join(root, "bin/mcpflow.js"), "run", "test/e2e/fixtures/echoes.ts", "--config", config, "--chaos", String(seed), "--rate", "0.5", "--no-journal", "--json"], {
          cwd: root,
          env: { ...process.env, NO_COLOR: "1", CI: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "" },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let stderr = ""
        let stdout = ""
        child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c))
        child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c))
        const timer = setTimeout(() => child.kill("SIGKILL"), 90_000)
        child.on("exit", (code) => {
          clearTimeout(timer)
          done({ code, stderr, stdout })
        })
      })
    const { code, stderr, stdout } = await run(7)
    assert.strictEqual(code, 0, `${stdout}\n${stderr}`)
    const summary = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      _tag: string
      output?: { answered: number }
      retries: number
      chaos?: { seed: number; wire?: boolean; faults: ReadonlyArray<{ server: string; tool: string; kind: string }> }
    }
    assert.strictEqual(summary._tag, "RunSummary")
    // the faults that fired are in the RunSummary, marked as not time-deterministic (real servers)
    assert.strictEqual(summary.chaos?.seed, 7, stdout)
    assert.isTrue(summary.chaos?.wire, stdout)
    assert.isAbove(summary.chaos?.faults.length ?? 0, 0, stdout)
    assert.isTrue(
      summary.chaos!.faults.some((f) => f.server === "everything" && f.tool === "echo" && /^(ConnectionDrop|LostResponse|DuplicateMessage|CorruptMessage|Latency)$/.test(f.kind)),
      stdout
    )
    assert.isAbove(summary.retries, 0, "the faults made the steps retry")
    assert.isAbove(summary.output?.answered ?? 0, 0)
  }, 120_000)
})
