/**
 * What a process group and its watchdog cost a stdio server: connecting (spawn + MCP handshake)
 * and closing (stdin end → exit) through `GroupStdioTransport`, versus the SDK's
 * `StdioClientTransport`, on the same small server (`test/e2e/fixtures/forkingServer.mjs`, no
 * tool called, so it exits when its stdin ends). Also the watchdog alone: the synchronous time
 * `ProcessGroup.guard` takes (the first one spawns `/bin/sh`, later ones write a line to it)
 * and the watchdog's resident memory.
 *
 * Each round connects and closes once with each transport, alternating which goes first; the
 * reported ratio is the median of the per-round ratios of connect + close.
 */
import { spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { ProcessGroup } from "../src/runtime/gateway/ProcessGroup.ts"
import { GroupStdioTransport } from "../src/runtime/gateway/StdioTransport.ts"

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const server = { command: process.execPath, args: [join(root, "test/e2e/fixtures/forkingServer.mjs")], env: {} }

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const once = async (transport: Transport) => {
  const client = new Client({ name: "bench", version: "0" })
  const start = performance.now()
  await client.connect(transport)
  const connected = performance.now()
  await client.close()
  return { connect: connected - start, close: performance.now() - connected }
}
const sdk = () => once(new StdioClientTransport({ ...server, stderr: "pipe" }))
const group = () => once(new GroupStdioTransport(server))

await sdk()
await group()

const results = { sdk: { connect: [] as Array<number>, close: [] as Array<number> }, group: { connect: [] as Array<number>, close: [] as Array<number> } }
const ratios: Array<number> = []
for (let round = 0; round < ROUNDS; round++) {
  let s: Awaited<ReturnType<typeof once>>
  let g: Awaited<ReturnType<typeof once>>
  if (round % 2 === 0) {
    s = await sdk()
    g = await group()
  } else {
    g = await group()
    s = await sdk()
  }
  results.sdk.connect.push(s.connect)
  results.sdk.close.push(s.close)
  results.group.connect.push(g.connect)
  results.group.close.push(g.close)
  ratios.push((g.connect + g.close) / (s.connect + s.close))
  console.log(
    `round ${round + 1}: SDK connect ${s.connect.toFixed(1)} ms close ${s.close.toFixed(1)} ms · group connect ${g.connect.toFixed(1)} ms close ${g.close.toFixed(1)} ms`
  )
}

// The watchdog alone: guarding throwaway groups. The first guard of a process starts the
// watchdog (one spawn of /bin/sh); later ones write one line to it. The spawn of a group's
// leader is the yardstick.
const spawnTimes: Array<number> = []
const guardTimes: Array<number> = []
let firstGuardMs = 0
let watchdogRssKb = 0
const watchdogRss = (): number => {
  for (const entry of readdirSync("/proc")) {
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")
      if (argv.includes("mcpflow-watchdog")) return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1] ?? 0)
    } catch {
      // not a process, or exited
    }
  }
  return 0
}
for (let i = 0; i < 21; i++) {
  const spawnStart = performance.now()
  const leader = spawn("sleep", ["30"], { detached: true, stdio: "ignore" })
  spawnTimes.push(performance.now() - spawnStart)
  await new Promise((done) => leader.once("spawn", done))
  const start = performance.now()
  const guarded = ProcessGroup.guard(leader.pid!)
  if (i === 0) firstGuardMs = performance.now() - start
  else guardTimes.push(performance.now() - start)
  if (i === 0 && process.platform === "linux") {
    await new Promise((done) => setTimeout(done, 100))
    watchdogRssKb = watchdogRss()
  }
  await guarded.end(1_000)
}

const m = {
  sdkConnect: median(results.sdk.connect),
  sdkClose: median(results.sdk.close),
  groupConnect: median(results.group.connect),
  groupClose: median(results.group.close)
}
console.log(`SDK StdioClientTransport: connect ${m.sdkConnect.toFixed(1)} ms, close ${m.sdkClose.toFixed(1)} ms (medians of ${ROUNDS})`)
console.log(`GroupStdioTransport:      connect ${m.groupConnect.toFixed(1)} ms, close ${m.groupClose.toFixed(1)} ms`)
console.log(`a server's spawn (yardstick): ${median(spawnTimes).toFixed(2)} ms synchronous (median of ${spawnTimes.length})`)
console.log(`watchdog: first ProcessGroup.guard (starts it) ${firstGuardMs.toFixed(2)} ms, later ones ${median(guardTimes).toFixed(3)} ms (median of ${guardTimes.length}); one per process, resident ${watchdogRssKb} kB`)
console.log(JSON.stringify({
  bench: "stdioStart",
  value: Number((m.groupConnect + m.groupClose).toFixed(1)),
  unit: "ms/connect+close",
  baseline: "sdk-StdioClientTransport",
  ratio: Number(median(ratios).toFixed(3))
}))
