/**
 * End-to-end tests of what becomes of stdio server processes, and of what they started, when
 * mcpflow ends. The fixture `fixtures/forkingServer.mjs` is a third-party-like server (it does
 * not watch its stdin) whose tools start a child (`sleep 1000`) and record both pids in a file.
 *
 * - `mcpflow call` / `mcpflow run` sent SIGTERM or SIGINT while the server is busy: once mcpflow
 *   has exited, neither the server nor its child is alive.
 * - `mcpflow call` / `mcpflow run` SIGKILLed (no cleanup can run) while the server is busy: the
 *   server and its child are gone within a bounded time all the same (the group's watchdog).
 * - The command runner we ship, when its stdin ends (its client died) during a long command:
 *   it exits and ends the command, with no help from mcpflow's process group or watchdog.
 * - `GroupStdioTransport` itself: `close()` ends the whole group and SIGKILLs what ignores
 *   SIGTERM; a server that exits by itself takes its child along.
 *
 * Real processes, so real time: every wait polls with a finite bound. The CLI cases spawn
 * `bin/mcpflow.js` (run `npm run build` first); they all start in `beforeAll`, two at a time.
 * POSIX only (process groups).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { GroupStdioTransport, STDIN_GRACE_MS, TERM_GRACE_MS } from "../../src/runtime/gateway/StdioTransport.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const binScript = join(root, "bin/mcpflow.js")
const serverScript = join(root, "test/e2e/fixtures/forkingServer.mjs")
const flowFile = join(root, "test/e2e/fixtures/forking.ts")
const runnerScript = join(root, "bin/mcpflow-command-runner.js")
const maxConcurrentRuns = 2

/** How long the processes may take to be gone once mcpflow has exited (or was SIGKILLed). */
const GONE_WITHIN_MS = 5_000

interface Pids {
  readonly server: number
  readonly child: number
}

// --- processes ---------------------------------------------------------------------------------

/** Alive and not a zombie (an exited orphan stays one until init reaps it, which may be late). */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1")
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state !== "Z" && state !== "X"
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ENOENT" || process.platform !== "linux"
  }
}

/** Every pid a test saw, SIGKILLed at the end whatever happened (the tests assert there are none). */
const seen = new Set<number>()

/** Polls `probe` every 25 ms until it returns a value, for at most `ms`. */
const waitFor = async <A>(probe: () => A | undefined, ms: number, what: string): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}`)
    await new Promise((wake) => setTimeout(wake, 25))
  }
}

const readPids = (file: string): Pids | undefined => {
  try {
    const pids = JSON.parse(readFileSync(file, "utf8")) as Pids
    seen.add(pids.server)
    seen.add(pids.child)
    return pids
  } catch {
    return undefined
  }
}

/** The pids still alive after polling for at most `ms` (empty: all gone). */
const aliveAfter = async (pids: Pids, ms: number): Promise<ReadonlyArray<string>> => {
  const left = () => Object.entries(pids).filter(([, pid]) => isAlive(pid)).map(([name, pid]) => `${name} ${pid}`)
  return waitFor(() => (left().length === 0 ? [] : undefined), ms, "the processes to end").catch(() => left())
}

/** The watchdogs this process started and that still run (Linux; elsewhere none are found). */
const ownWatchdogs = (): ReadonlyArray<number> => {
  const found: Array<number> = []
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue
      try {
        const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")
        const stat = readFileSync(`/proc/${entry}/stat`, "latin1")
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
        if (argv.includes("mcpflow-watchdog") && ppid === process.pid && isAlive(Number(entry))) found.push(Number(entry))
      } catch {
        // exited meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return found
}

const exitOf = (child: ChildProcess): Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }> =>
  new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done({ code: child.exitCode, signal: child.signalCode })
    else child.once("exit", (code, signal) => done({ code, signal }))
  })

// --- the CLI cases -----------------------------------------------------------------------------

interface Case {
  readonly command: "call" | "run"
  readonly signal: NodeJS.Signals
}

interface Outcome {
  readonly pids: Pids
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
  /** What was still alive `GONE_WITHIN_MS` after mcpflow exited. */
  readonly alive: ReadonlyArray<string>
}

let dir = ""

/** Starts mcpflow on the forking server, sends `signal` once the server is busy, and reports. */
const runCase = async (name: string, { command, signal }: Case): Promise<Outcome> => {
  const caseDir = join(dir, name)
  const pidsFile = join(caseDir, "pids.json")
  const config = join(caseDir, "mcp.json")
  await mkdir(caseDir)
  await writeFile(
    config,
    JSON.stringify({ mcpServers: { fork: { command: process.execPath, args: [serverScript], env: { PIDS_FILE: pidsFile } } } })
  )
  const args = command === "call"
    ? ["call", "fork.long", "--config", config]
    : ["run", flowFile, "--config", config, "--input", "{}"]
  const child = spawn(process.execPath, [binScript, ...args], {
    cwd: caseDir,
    env: { ...process.env, NO_COLOR: "1", CI: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "", MCPFLOW_STATE_DIR: join(caseDir, "state") },
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const exited = exitOf(child)
  try {
    const pids = await waitFor(() => readPids(pidsFile), 25_000, `the server's child (mcpflow's stderr: ${stderr})`)
    child.kill(signal)
    const exit = await Promise.race([
      exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`mcpflow did not exit within 15 s of ${signal}`)), 15_000))
    ])
    return { pids, ...exit, stderr, alive: await aliveAfter(pids, GONE_WITHIN_MS) }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
}

const cases: Record<string, Case> = {
  callSigterm: { command: "call", signal: "SIGTERM" },
  runSigint: { command: "run", signal: "SIGINT" },
  callSigkill: { command: "call", signal: "SIGKILL" },
  runSigkill: { command: "run", signal: "SIGKILL" }
}

let outcomes: Record<string, Promise<Outcome>> = {}
const outcome = (name: string): Promise<Outcome> => outcomes[name] ?? Promise.reject(new Error(`no case ${name}`))

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcpflow-groups-"))
  let active = 0
  const waiting: Array<() => void> = []
  const limited = async (name: string, spec: Case): Promise<Outcome> => {
    if (active >= maxConcurrentRuns) await new Promise<void>((wake) => waiting.push(wake))
    active++
    try {
      return await runCase(name, spec)
    } finally {
      active--
      waiting.shift()?.()
    }
  }
  outcomes = Object.fromEntries(Object.entries(cases).map(([name, spec]) => [name, limited(name, spec)]))
  for (const o of Object.values(outcomes)) o.catch(() => {})
})

afterAll(async () => {
  await Promise.allSettled(Object.values(outcomes))
  for (const pid of seen) {
    if (!isAlive(pid)) continue
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // gone, as it should be
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true })
})

// Each case may queue behind another (two at a time) and bounds its own waits (start 25 s, exit 15 s, gone 5 s).
describe.skipIf(process.platform === "win32")("stdio servers and their children end with mcpflow", { timeout: 100_000 }, () => {
  it("mcpflow call, SIGTERM while the server is busy: mcpflow exits by itself, the server and its child are gone", async () => {
    const o = await outcome("callSigterm")
    assert.strictEqual(o.signal, null, o.stderr)
    assert.deepStrictEqual(o.alive, [], `still running after mcpflow exited: ${o.alive.join(", ")}`)
  })

  it("mcpflow run, SIGINT while the server is busy: exit 130, the server and its child are gone", async () => {
    const o = await outcome("runSigint")
    assert.strictEqual(o.code, 130, o.stderr)
    assert.deepStrictEqual(o.alive, [], `still running after mcpflow exited: ${o.alive.join(", ")}`)
  })

  it("mcpflow call SIGKILLed while the server is busy: the server and its child are gone all the same", async () => {
    const o = await outcome("callSigkill")
    assert.strictEqual(o.signal, "SIGKILL")
    assert.deepStrictEqual(o.alive, [], `still running ${GONE_WITHIN_MS} ms after mcpflow died: ${o.alive.join(", ")}`)
  })

  it("mcpflow run SIGKILLed while the server is busy: the server and its child are gone all the same", async () => {
    const o = await outcome("runSigkill")
    assert.strictEqual(o.signal, "SIGKILL")
    assert.deepStrictEqual(o.alive, [], `still running ${GONE_WITHIN_MS} ms after mcpflow died: ${o.alive.join(", ")}`)
  })
})

// --- the transport -----------------------------------------------------------------------------

/** A connected client on the forking server, and a call to `tool` under way (pids recorded). */
const busyServer = async (tool: "long" | "exit", env: Record<string, string> = {}) => {
  const pidsFile = join(await mkdtemp(join(dir, "transport-")), "pids.json")
  const transport = new GroupStdioTransport({ command: process.execPath, args: [serverScript], env: { ...env, PIDS_FILE: pidsFile } })
  const client = new Client({ name: "test", version: "1.0.0" })
  await client.connect(transport)
  const call = client.callTool({ name: tool, arguments: {} }).catch((error: unknown) => error)
  const pids = await waitFor(() => readPids(pidsFile), 20_000, "the server's child")
  return { transport, client, call, pids }
}

describe.skipIf(process.platform === "win32")("GroupStdioTransport", () => {
  it("close() ends a busy server and its child before it resolves; one watchdog serves every server", async () => {
    const first = await busyServer("long")
    const second = await busyServer("long")
    assert.strictEqual(first.transport.pid, first.pids.server)
    if (process.platform === "linux") assert.lengthOf(ownWatchdogs(), 1, "one watchdog for this process")
    await Promise.all([first.client.close(), second.client.close()])
    for (const { pids } of [first, second]) {
      assert.isFalse(isAlive(pids.server), "the server")
      assert.isFalse(isAlive(pids.child), "the server's child")
    }
  })

  it("a server that exits by itself takes its child along; the connection reports closed", async () => {
    const { call, client, pids } = await busyServer("exit")
    let closed = false
    client.onclose = () => (closed = true)
    await call
    assert.deepStrictEqual(await aliveAfter(pids, GONE_WITHIN_MS), [])
    await waitFor(() => (closed ? true : undefined), GONE_WITHIN_MS, "onclose")
    await client.close()
  })

  it("a server and a child that ignore SIGTERM are SIGKILLed after the grace period", async () => {
    const { client, pids } = await busyServer("long", { IGNORE_TERM: "1" })
    const started = Date.now()
    await client.close()
    const took = Date.now() - started
    assert.isFalse(isAlive(pids.server), "the server")
    assert.isFalse(isAlive(pids.child), "the server's child")
    assert.isAtLeast(took, STDIN_GRACE_MS + TERM_GRACE_MS - 50, "SIGKILL waited for the grace period")
  })
})

// --- the command runner we ship ----------------------------------------------------------------

/** The pids of the running children of `parent` named `name` (Linux /proc). */
const childrenOf = (parent: number, name: string): ReadonlyArray<number> =>
  readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).flatMap((entry) => {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1")
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      return ppid === parent && comm === name && isAlive(Number(entry)) ? [Number(entry)] : []
    } catch {
      return []
    }
  })

describe.skipIf(process.platform !== "linux")("the command runner when its client dies", () => {
  it("stdin ends during a long command: the runner exits and the command is gone", async () => {
    const runnerRoot = await mkdtemp(join(dir, "runner-"))
    // Started the plain way (no process group of its own, no watchdog): only its own stdin handling can end it.
    const runner = spawn(process.execPath, [runnerScript, "--root", runnerRoot, "--allow", "sleep"], { stdio: ["pipe", "pipe", "pipe"] })
    seen.add(runner.pid!)
    const exited = exitOf(runner)
    let stderr = ""
    runner.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const send = (message: object) => runner.stdin.write(`${JSON.stringify(message)}\n`)
    try {
      send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "test", version: "1" } } })
      send({ jsonrpc: "2.0", method: "notifications/initialized" })
      send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "run_command", arguments: { command: "sleep", args: ["1000"] } } })
      const [sleeper] = await waitFor(
        () => (childrenOf(runner.pid!, "sleep").length > 0 ? childrenOf(runner.pid!, "sleep") : undefined),
        20_000,
        `the runner's sleep command (stderr: ${stderr})`
      )
      seen.add(sleeper!)
      runner.stdin.end()
      assert.deepStrictEqual(await aliveAfter({ server: runner.pid!, child: sleeper! }, GONE_WITHIN_MS), [])
      await exited
    } finally {
      runner.kill("SIGKILL")
    }
  })
})
