/**
 * Per-call cost of a typed contract call through the gateway against an in-process server,
 * versus the raw SDK `client.callTool` on the same server over `InMemoryTransport` (run by
 * `bench/gateway.ts` in a process of its own, the sources as Node runs them without tsx).
 *
 * Each round interleaves the two loops in chunks (BENCH_CHUNKS, default 20), alternating which
 * goes first, with a minor GC before each chunk (so a chunk pays for the garbage it makes, not
 * for the other side's). Reported: the median over all adjacent (raw, ours) chunk pairs of the
 * wall-time ratio and of the CPU-time ratio, with interquartile ranges, the per-round spread,
 * and the ratio of the fastest chunks (min ours / min raw, the least disturbed by other
 * processes): on a shared, noisy machine two adjacent chunks see nearly the same load.
 *
 * Two baselines. `raw` is the SDK's `client.callTool(params)` as a user calls it by default: no
 * abort signal (the call cannot be cancelled), the SDK's zod `CallToolResultSchema` parse of the
 * answer. `rawSame` is the same SDK call given what the gateway gives it: a cancellation signal
 * (an `AbortController` per call, as a caller that wants cancellation must make), the SDK timer
 * switched off, and the gateway's result check (`callToolResultSchema`: the same validation as
 * zod's, with a checked shortcut for plain text/structured answers). The ratio to `raw` is the
 * issue's figure; the ratio to `rawSame` is what mcpflow adds to an equivalent SDK call.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { Tool } from "../dsl/index.ts"
import { callToolResultSchema } from "../src/runtime/gateway/CallToolResultCheck.ts"
import { SDK_NO_TIMEOUT } from "../src/runtime/gateway/Deadlines.ts"
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

/** The SDK call with the gateway's options: a cancellation signal, no SDK timer, the same result check. */
const rawSame = async (n: number) => {
  const start = performance.now()
  for (let i = 0; i < n; i++) {
    await client.callTool({ name: "echo", arguments: { message: "ping" } }, callToolResultSchema, {
      signal: new AbortController().signal,
      timeout: SDK_NO_TIMEOUT
    })
  }
  return performance.now() - start
}

/**
 * What Effect itself costs around the same SDK call: `Effect.promise` of the raw `callTool`, no
 * gateway. Every Effect call that waits suspends its fiber, and Effect 4.1 captures an
 * `AsyncResource` at each suspension (runs the resumption in it and destroys it), so this is the
 * floor for any Effect code calling the SDK.
 */
const effectProgram = (n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* Effect.promise(() => client.callTool({ name: "echo", arguments: { message: "ping" } }))
  })
const viaEffect = async (n: number) => {
  const start = performance.now()
  await Effect.runPromise(effectProgram(n))
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

// Warm-up until the JIT has settled on both sides (a few thousand calls are not enough).
const warmUntil = performance.now() + Number(process.env.BENCH_WARM_MS ?? 1500)
while (performance.now() < warmUntil) {
  await raw(500)
  await ours(500)
  await viaEffect(500)
  await rawSame(500)
  state.calls.length = 0
}
setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as (options?: { readonly type: "minor" | "major"; readonly execution: "sync" }) => void

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
const pairCpuRatios: Array<number> = []
const effectCpuRatios: Array<number> = []
const sameCpuRatios: Array<number> = []
let minSame = Infinity
let minRaw = Infinity
let minEffect = Infinity
let minOurs = Infinity
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
    let pairRawCpu = 0
    let pairOursCpu = 0
    for (const side of rawFirst ? ["raw", "ours"] : ["ours", "raw"]) {
      state.calls.length = 0
      gc({ type: "minor", execution: "sync" })
      const t = await cpuOf(() => (side === "raw" ? raw(chunk) : ours(chunk)))
      if (side === "raw") (r += t.ms), (rCpu += t.cpuMs), (pairRaw = t.ms), (pairRawCpu = t.cpuMs), (minRaw = Math.min(minRaw, t.ms))
      else (o += t.ms), (oCpu += t.cpuMs), (pairOurs = t.ms), (pairOursCpu = t.cpuMs), (minOurs = Math.min(minOurs, t.ms))
    }
    pairRatios.push(pairOurs / pairRaw)
    pairCpuRatios.push(pairOursCpu / pairRawCpu)
    // The Effect floor, next to the pair: the same call through Effect.promise.
    state.calls.length = 0
    gc({ type: "minor", execution: "sync" })
    const e = await cpuOf(() => viaEffect(chunk))
    minEffect = Math.min(minEffect, e.ms)
    effectCpuRatios.push(e.cpuMs / pairRawCpu)
    // The same SDK call with the gateway's options, next to the pair.
    state.calls.length = 0
    gc({ type: "minor", execution: "sync" })
    const same = await cpuOf(() => rawSame(chunk))
    minSame = Math.min(minSame, same.ms)
    sameCpuRatios.push(pairOursCpu / same.cpuMs)
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
const quartile = (q: number, xs = pairs) => xs[Math.floor((xs.length - 1) * q)]!
const cpuPairs = [...pairCpuRatios].sort((a, b) => a - b)
console.log(
  `ratio (median of ${pairs.length} adjacent chunk pairs) ${median(pairRatios).toFixed(3)}, interquartile ` +
    `${quartile(0.25).toFixed(3)}–${quartile(0.75).toFixed(3)} (target <= 1.10); per round ${sorted[0]!.toFixed(3)}–` +
    `${sorted.at(-1)!.toFixed(3)}, CPU-time ratio median ${median(cpuRatios).toFixed(3)}`
)
console.log(
  `CPU-time ratio of adjacent chunk pairs: median ${median(pairCpuRatios).toFixed(3)}, interquartile ` +
    `${quartile(0.25, cpuPairs).toFixed(3)}–${quartile(0.75, cpuPairs).toFixed(3)}; fastest chunks: raw ` +
    `${((minRaw * 1000) / chunk).toFixed(2)} us/call, mcpflow ${((minOurs * 1000) / chunk).toFixed(2)} us/call, ratio ${(minOurs / minRaw).toFixed(3)}`
)
console.log(
  `the Effect floor (Effect.promise of the raw callTool): CPU-time ratio to raw ${median(effectCpuRatios).toFixed(3)} (median), ` +
    `fastest chunk ${((minEffect * 1000) / chunk).toFixed(2)} us/call (ratio ${(minEffect / minRaw).toFixed(3)}); ` +
    `mcpflow / Effect floor ${(median(pairCpuRatios) / median(effectCpuRatios)).toFixed(3)} (CPU), ${(minOurs / minEffect).toFixed(3)} (fastest chunks)`
)
console.log(
  `the SDK call with the gateway's options (signal, no SDK timer, the same result check): fastest chunk ` +
    `${((minSame * 1000) / chunk).toFixed(2)} us/call (ratio to raw ${(minSame / minRaw).toFixed(3)}); mcpflow / it ` +
    `${median(sameCpuRatios).toFixed(3)} (CPU, median of chunks), ${(minOurs / minSame).toFixed(3)} (fastest chunks)`
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
  cpuRatio: Number(median(cpuRatios).toFixed(3)),
  cpuPairRatio: Number(median(pairCpuRatios).toFixed(3)),
  cpuInterquartile: [Number(quartile(0.25, cpuPairs).toFixed(3)), Number(quartile(0.75, cpuPairs).toFixed(3))],
  fastestChunkRatio: Number((minOurs / minRaw).toFixed(3)),
  effectFloorCpuRatio: Number(median(effectCpuRatios).toFixed(3)),
  effectFloorFastestChunkRatio: Number((minEffect / minRaw).toFixed(3)),
  sameOptionsCpuRatio: Number(median(sameCpuRatios).toFixed(3)),
  sameOptionsFastestChunkRatio: Number((minOurs / minSame).toFixed(3))
}))
