/**
 * Per-call cost of a typed contract call through the gateway against an in-process server,
 * versus the raw SDK `client.callTool` on the same server over `InMemoryTransport`.
 *
 * Each round interleaves the two loops in chunks (BENCH_CHUNKS, default 20), alternating which
 * goes first. The reported ratio is the median over all adjacent (raw, ours) chunk pairs, with
 * its interquartile range, the spread of the per-round ratios and the ratio of CPU time: on a
 * shared, noisy machine two adjacent chunks see nearly the same load.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { Tool } from "../dsl/index.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import { makeEchoServer, makeEchoState } from "../test/support/echoServer.ts"

const CALLS = Number(process.env.BENCH_CALLS ?? 10_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)

const Echo = Tool.make({
  server: "echo",
  name: "echo",
  description: "Echo",
  input: Schema.Struct({ message: Schema.String }),
  output: Schema.Struct({ echoed: Schema.String, length: Schema.Number })
})

const state = makeEchoState()
const makeServer = makeEchoServer(state)

// Raw SDK client over its own in-memory link.
const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
await makeServer().connect(serverSide)
const client = new Client({ name: "bench", version: "0" })
await client.connect(clientSide)

const runtime = ManagedRuntime.make(
  GatewayLayer.layer({ servers: { echo: { type: "in-process", make: makeServer } } }) as Layer.Layer<McpGateway>
)

const raw = async (n: number) => {
  const start = performance.now()
  for (let i = 0; i < n; i++) await client.callTool({ name: "echo", arguments: { message: "ping" } })
  return performance.now() - start
}

const oursProgram = (n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* Echo({ message: "ping" })
  })
const ours = async (n: number) => {
  const start = performance.now()
  await runtime.runPromise(oursProgram(n))
  return performance.now() - start
}

await raw(1000)
await ours(1000)
state.calls.length = 0

// Each round interleaves the two sides in chunks (raw, ours, ours, raw, …), so a burst of load
// from other processes, a major GC or a JIT tier-up lands on both sides instead of on one.
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 20)
const chunk = Math.max(1, Math.floor(CALLS / CHUNKS))
const cpuOf = async (run: () => Promise<number>) => {
  const before = process.cpuUsage()
  const ms = await run()
  const used = process.cpuUsage(before)
  return { ms, cpuMs: (used.user + used.system) / 1000 }
}
const ratios: Array<number> = []
const pairRatios: Array<number> = []
const cpuRatios: Array<number> = []
const rawRates: Array<number> = []
const ourRates: Array<number> = []
for (let round = 0; round < ROUNDS; round++) {
  let r = 0
  let o = 0
  let rCpu = 0
  let oCpu = 0
  for (let c = 0; c < CHUNKS; c++) {
    const rawFirst = (c + round) % 2 === 0
    let pairRaw = 0
    let pairOurs = 0
    for (const side of rawFirst ? ["raw", "ours"] : ["ours", "raw"]) {
      const t = await cpuOf(() => (side === "raw" ? raw(chunk) : ours(chunk)))
      if (side === "raw") (r += t.ms), (rCpu += t.cpuMs), (pairRaw = t.ms)
      else (o += t.ms), (oCpu += t.cpuMs), (pairOurs = t.ms)
      state.calls.length = 0
    }
    pairRatios.push(pairOurs / pairRaw)
  }
  const calls = chunk * CHUNKS
  rawRates.push(calls / (r / 1000))
  ourRates.push(calls / (o / 1000))
  ratios.push(o / r)
  cpuRatios.push(oCpu / rCpu)
  console.log(
    `round ${round + 1}: raw ${(calls / (r / 1000)).toFixed(0)} calls/s, mcpflow ${(calls / (o / 1000)).toFixed(0)} calls/s, ` +
      `ratio ${(o / r).toFixed(3)} (CPU time ${(oCpu / rCpu).toFixed(3)})`
  )
}
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`raw SDK client.callTool: ${median(rawRates).toFixed(0)} calls/s (median of ${ROUNDS} rounds of ${CALLS})`)
console.log(`mcpflow contract call:   ${median(ourRates).toFixed(0)} calls/s`)
const sorted = [...ratios].sort((a, b) => a - b)
const pairs = [...pairRatios].sort((a, b) => a - b)
const quartile = (q: number) => pairs[Math.floor((pairs.length - 1) * q)]!
console.log(
  `ratio (median of ${pairs.length} adjacent chunk pairs) ${median(pairRatios).toFixed(3)}, interquartile ` +
    `${quartile(0.25).toFixed(3)}–${quartile(0.75).toFixed(3)} (target <= 1.10); per round ${sorted[0]!.toFixed(3)}–` +
    `${sorted.at(-1)!.toFixed(3)}, CPU-time ratio median ${median(cpuRatios).toFixed(3)}`
)
await runtime.dispose()
await client.close()
console.log(JSON.stringify({
  bench: "gateway",
  value: Number((1e6 / median(ourRates)).toFixed(2)),
  unit: "us/call",
  baseline: "sdk-callTool",
  ratio: Number(median(pairRatios).toFixed(3)),
  interquartile: [Number(quartile(0.25).toFixed(3)), Number(quartile(0.75).toFixed(3))],
  rounds: [Number(sorted[0]!.toFixed(3)), Number(sorted.at(-1)!.toFixed(3))],
  cpuRatio: Number(median(cpuRatios).toFixed(3))
}))
