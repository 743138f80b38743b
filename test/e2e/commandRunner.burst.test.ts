/**
 * The command runner under a burst: a concurrency limit with a bounded queue (calls past it
 * are refused at once, the others run), and output floods that keep only the cap. Through the
 * real `run_command` handler of an in-process server (SDK client, in-memory transport) running
 * real processes; no sleeps: the blocking commands wait for a file the test creates.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { Bulkhead } from "../../src/runtime/servers/commandRunner/Bulkhead.ts"
import { parseOptions, resolveConfig } from "../../src/runtime/servers/commandRunner/Config.ts"
import { CappedOutput } from "../../src/runtime/servers/commandRunner/Output.ts"
import { makeCommandRunnerServer } from "../../src/runtime/servers/commandRunner/Server.ts"

const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "mcpflow-burst-")))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

/** Waits (polling the file system, no timers of the test's own) until `release` exists. */
fs.writeFileSync(
  path.join(root, "wait.cjs"),
  "const fs = require('fs'); const t = setInterval(() => { if (fs.existsSync('release')) { clearInterval(t); console.log('done') } }, 10)"
)
fs.writeFileSync(
  path.join(root, "flood.cjs"),
  "const chunk = 'x'.repeat(1 << 20); let n = 0; const go = () => { while (n < 32) { n++; if (!process.stdout.write(chunk)) return process.stdout.once('drain', go) } }; go()"
)

interface Text {
  readonly isError?: boolean
  readonly content: ReadonlyArray<{ readonly text?: string }>
}

const connect = async (argv: ReadonlyArray<string>) => {
  const runner = makeCommandRunnerServer(resolveConfig(parseOptions(["--root", root, "--allow", `node=${process.execPath}`, ...argv], {})))
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await runner.server.connect(serverSide)
  const client = new Client({ name: "burst", version: "0" })
  await client.connect(clientSide)
  const call = async (script: string) =>
    (await client.callTool({ name: "run_command", arguments: { command: "node", args: [script], timeoutMs: 20_000 } })) as Text
  const close = async () => {
    await client.close()
    runner.killAll()
    runner.dispose()
  }
  return { runner, call, close }
}

const textOf = (r: Text) => r.content.map((c) => c.text ?? "").join("")

describe("command runner under a burst", () => {
  it("past the queue, calls are refused at once with a clear error; the others run, at most max-concurrent at a time", async () => {
    const { call, close, runner } = await connect(["--max-concurrent", "2", "--max-queue", "3"])
    try {
      const settled: Array<{ readonly index: number; readonly result: Text }> = []
      const calls = Array.from({ length: 10 }, (_, index) => call("wait.cjs").then((result) => settled.push({ index, result })))
      // The 5 calls past 2 running + 3 queued answer while the others are still blocked.
      for (let i = 0; i < 500 && (settled.length < 5 || runner.running() < 2); i++) await new Promise((r) => setTimeout(r, 10))
      assert.strictEqual(settled.length, 5, "only the calls past the queue have answered")
      assert.strictEqual(runner.running(), 2, "two commands run, three wait")
      for (const { result } of settled) {
        assert.isTrue(result.isError)
        assert.strictEqual(
          textOf(result),
          "refused by the concurrency rule: 2 commands are running and 3 waiting (--max-concurrent 2, --max-queue 3); try again later"
        )
      }
      assert.deepStrictEqual(settled.map((s) => s.index), [5, 6, 7, 8, 9], "the last five, first come first served")
      fs.writeFileSync(path.join(root, "release"), "")
      await Promise.all(calls)
      const ran = settled.filter((s) => s.index < 5)
      assert.strictEqual(ran.length, 5)
      for (const { result } of ran) {
        assert.isNotTrue(result.isError, textOf(result))
        assert.strictEqual((JSON.parse(textOf(result)) as { stdout: string }).stdout, "done\n")
      }
    } finally {
      fs.rmSync(path.join(root, "release"), { force: true })
      await close()
    }
  })

  it("a 32 MiB flood keeps only the cap: head and tail, the rest dropped as it arrives", async () => {
    const { call, close } = await connect(["--max-output-bytes", "65536"])
    try {
      const r = JSON.parse(textOf(await call("flood.cjs"))) as { stdout: string; stdoutTruncated: boolean; exitCode: number }
      assert.strictEqual(r.exitCode, 0)
      assert.isTrue(r.stdoutTruncated)
      const note = `\n[… ${32 * 2 ** 20 - 65_536} bytes omitted: output cap of 65536 bytes per stream …]\n`
      assert.strictEqual(r.stdout, "x".repeat(32_768) + note + "x".repeat(32_768))
    } finally {
      await close()
    }
  })

  it("CappedOutput holds at most its cap however much arrives", () => {
    const out = new CappedOutput(1_000)
    const chunk = Buffer.alloc(65_536, 0x61)
    for (let i = 0; i < 1_024; i++) {
      out.push(chunk)
      assert.isAtMost(out.keptBytes, 1_000)
    }
    assert.strictEqual(out.totalBytes, 64 * 2 ** 20)
    assert.strictEqual(out.keptBytes, 1_000)
  })
})

describe("Bulkhead", () => {
  it("hands slots first come, first served; a full queue answers 'full' at once; a cancelled waiter leaves the queue", async () => {
    const b = new Bulkhead(1, 2)
    const first = await b.acquire()
    assert.isFunction(first)
    const order: Array<string> = []
    const cancel = new AbortController()
    const second = b.acquire().then((s) => (order.push("second"), s))
    const third = b.acquire(cancel.signal).then((s) => (order.push(`third:${String(s)}`), s))
    assert.strictEqual(await b.acquire(), "full")
    assert.strictEqual(b.queued, 2)
    cancel.abort()
    assert.strictEqual(await third, "cancelled")
    assert.strictEqual(b.queued, 1)
    ;(first as () => void)()
    ;(first as () => void)() // a second release is a no-op
    const slot = await second
    assert.isFunction(slot)
    assert.strictEqual(b.running, 1)
    assert.deepStrictEqual(order, ["third:cancelled", "second"])
    ;(slot as () => void)()
    assert.strictEqual(b.running, 0)
  })
})
