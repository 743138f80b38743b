/**
 * Where a gateway tool call's memory goes: bytes allocated and CPU per call, by parts, on the
 * setup of `bench/routingCalls.ts` (`Direct.echo` to a `FakeServer` over `InMemoryTransport`).
 * Sides (each in 100-call chunks that take turns; bytes from `used_heap_size` across chunks with
 * no collection inside, median; CPU the median chunk's process CPU per call):
 *
 * - `sdkPlain`: the SDK `client.callTool` to a bare SDK `Server` whose handler returns a constant
 *   result (SDK client + server + InMemoryTransport, nothing of ours).
 * - `sdkFake`: the same SDK call to the fake server (adds the fake's handler path).
 * - `sdkFakeSame`: as `sdkFake` with the gateway's options (signal, no SDK timer, our result check).
 * - `effectFake`: `Effect.promise` of `sdkFake`'s call (what an Effect fiber suspension adds).
 * - `gateway`: `Direct.echo({ n })` through `GatewayLayer` (what the flows pay).
 *
 * `BENCH_SIDES=a,b` picks sides; `BENCH_ROUNDS`, `BENCH_CHUNKS`, `BENCH_WARM_UP` change sizes.
 * The last line is JSON: `{ side: { bytes, cpu, cpuMean } }` plus `load` (per core).
 *
 * Other modes: `BENCH_HELD=10000` starts that many calls at once, all held in the server's
 * handler, and prints the heap retained per call in flight (after a full GC; sides `sdkPlain`,
 * `sdkFake`, `effectFake`, `gateway`). `BENCH_PROFILE=side` writes a sampling heap profile of
 * `BENCH_PROFILE_CALLS` calls of that side to `BENCH_PROFILE_OUT` (every sample, or with
 * `BENCH_PROFILE_SURVIVORS=1` only those that survived a scavenge); the file has a `calls` field
 * to divide by. Findings: docs/benchmarks.md, issue 16, fifth pass.
 *
 * Run: `node --experimental-transform-types --no-warnings bench/callAlloc.ts` (Node 24; not tsx,
 * see bench/interpreter/child.ts).
 */
import { availableParallelism, loadavg } from "node:os"
import v8 from "node:v8"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { CallToolRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { FakeServer } from "../chaos/index.ts"
import { Tool } from "../dsl/index.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import { callToolResultSchema } from "../src/runtime/gateway/CallToolResultCheck.ts"
import { SDK_NO_TIMEOUT } from "../src/runtime/gateway/Deadlines.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"

const CHUNK = 100
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20)
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 10)
const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 10_000)

const Direct = Tool.server("direct", {
  echo: Tool.define({
    description: "Echo",
    input: Schema.Struct({ n: Schema.Number }),
    output: Schema.Struct({ n: Schema.Number }),
    annotations: { readOnly: true }
  }),
  hold: Tool.define({
    description: "Echo once released",
    input: Schema.Struct({ n: Schema.Number }),
    output: Schema.Struct({ n: Schema.Number }),
    annotations: { readOnly: true }
  })
})

/** Held mode: handlers entered, and the gate they wait at. */
let entered = 0
const makeGate = () => {
  let open = () => {}
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, resolve: open }
}
let gate = makeGate()

const config = await Effect.runPromise(FakeServer.make("direct", [
  FakeServer.handle(Direct.echo, ({ n }) => Effect.succeed({ n })),
  FakeServer.handle(Direct.hold, ({ n }) => Effect.suspend(() => (entered++, Effect.as(Effect.promise(() => gate.promise), { n }))))
]))

const connect = async (server: Server) => {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await server.connect(serverSide)
  const client = new Client({ name: "bench", version: "0" })
  await client.connect(clientSide)
  return client
}
const plainServer = new Server({ name: "plain", version: "0" }, { capabilities: { tools: {} } })
plainServer.setRequestHandler(CallToolRequestSchema, async (request) => {
  const n = (request.params.arguments as { n: number }).n
  if (request.params.name === "hold") (entered++, await gate.promise)
  return { content: [{ type: "text", text: `{"n":${n}}` }], structuredContent: { n } }
})
const plain = await connect(plainServer)
const fake = await connect(config.make() as Server)

const runtime = ManagedRuntime.make(GatewayLayer.layer({ servers: { direct: config } }) as Layer.Layer<McpGateway>)

const sides: Record<string, (n: number) => Promise<void>> = {
  sdkPlain: async (n) => {
    for (let i = 0; i < n; i++) await plain.callTool({ name: "echo", arguments: { n: i } })
  },
  sdkFake: async (n) => {
    for (let i = 0; i < n; i++) await fake.callTool({ name: "echo", arguments: { n: i } })
  },
  sdkFakeSame: async (n) => {
    for (let i = 0; i < n; i++) {
      await fake.callTool({ name: "echo", arguments: { n: i } }, callToolResultSchema, {
        signal: new AbortController().signal,
        timeout: SDK_NO_TIMEOUT
      })
    }
  },
  effectFake: (n) =>
    Effect.runPromise(Effect.gen(function*() {
      for (let i = 0; i < n; i++) yield* Effect.promise(() => fake.callTool({ name: "echo", arguments: { n: i } }))
    })),
  gateway: (n) =>
    runtime.runPromise(Effect.gen(function*() {
      for (let i = 0; i < n; i++) yield* Direct.echo({ n: i })
    }))
}
const chosen = (process.env.BENCH_SIDES ?? Object.keys(sides).join(",")).split(",")

const HELD = Number(process.env.BENCH_HELD ?? 0)
if (HELD > 0) {
  // Retained per call in flight: HELD calls started at once, all waiting in the server's handler.
  const { setFlagsFromString } = await import("node:v8")
  const { runInNewContext } = await import("node:vm")
  setFlagsFromString("--expose-gc")
  const gc = runInNewContext("gc") as () => void
  const start: Record<string, (n: number) => Promise<unknown>> = {
    sdkPlain: (n) => Promise.all(Array.from({ length: n }, (_, i) => plain.callTool({ name: "hold", arguments: { n: i } }))),
    sdkFake: (n) => Promise.all(Array.from({ length: n }, (_, i) => fake.callTool({ name: "hold", arguments: { n: i } }))),
    effectFake: (n) =>
      Effect.runPromise(Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
        Effect.promise(() => fake.callTool({ name: "hold", arguments: { n: i } })), { concurrency: "unbounded" })),
    gateway: (n) => runtime.runPromise(Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => Direct.hold({ n: i }), { concurrency: "unbounded" }))
  }
  const waitEntered = async (n: number) => {
    while (entered < n) await new Promise((resolve) => setImmediate(resolve))
  }
  const out: Record<string, number> = {}
  for (let round = 0; round < 3; round++) {
    for (const s of chosen) {
      if (start[s] === undefined) continue
      entered = 0
      gate = makeGate()
      gc(); gc()
      const before = v8.getHeapStatistics().used_heap_size
      const done = start[s](HELD)
      await waitEntered(HELD)
      gc(); gc()
      const held = (v8.getHeapStatistics().used_heap_size - before) / HELD
      if (process.env.BENCH_SNAPSHOT !== undefined && round === 0) v8.writeHeapSnapshot(`${process.env.BENCH_SNAPSHOT}-${s}.heapsnapshot`)
      gate.resolve()
      await done
      console.log(`${s.padEnd(12)} ${(held / 1024).toFixed(2)} KB retained per call in flight (${HELD} held)`)
      out[s] = Math.round(held)
    }
  }
  console.log(JSON.stringify(out))
  process.exit(0)
}

for (let done = 0; done < WARM_UP; done += CHUNK) for (const s of chosen) await sides[s]!(CHUNK)

const profiled = process.env.BENCH_PROFILE
if (profiled !== undefined) {
  // A sampling heap profile of one side's calls, every object counted (also those collected since).
  const { Session } = await import("node:inspector/promises")
  const { writeFileSync } = await import("node:fs")
  const session = new Session()
  session.connect()
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: Number(process.env.BENCH_PROFILE_INTERVAL ?? 256),
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: process.env.BENCH_PROFILE_SURVIVORS === undefined
  })
  const calls = Number(process.env.BENCH_PROFILE_CALLS ?? 20_000)
  for (let done = 0; done < calls; done += CHUNK) await sides[profiled]!(CHUNK)
  const { profile } = await session.post("HeapProfiler.stopSampling")
  const file = process.env.BENCH_PROFILE_OUT ?? `${profiled}.heapprofile`
  writeFileSync(file, JSON.stringify({ ...profile, calls }))
  console.log(`wrote ${file} (${calls} calls)`)
  process.exit(0)
}

const bytes: Record<string, Array<number>> = {}
const cpu: Record<string, Array<number>> = {}
for (const s of chosen) (bytes[s] = []), (cpu[s] = [])
for (let r = 0; r < ROUNDS; r++) {
  for (let c = 0; c < CHUNKS; c++) {
    const order = (r + c) % 2 === 0 ? chosen : [...chosen].reverse()
    for (const s of order) {
      const heap = v8.getHeapStatistics().used_heap_size
      const before = process.cpuUsage()
      await sides[s]!(CHUNK)
      const used = process.cpuUsage(before)
      const grown = v8.getHeapStatistics().used_heap_size - heap
      cpu[s]!.push((used.user + used.system) / CHUNK)
      if (grown > 0) bytes[s]!.push(grown / CHUNK)
    }
  }
}
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const load = loadavg()[0]! / availableParallelism()
const out: Record<string, unknown> = {}
for (const s of chosen) {
  const b = median(bytes[s]!)
  const c = median(cpu[s]!)
  const total = cpu[s]!.reduce((a, x) => a + x, 0) / cpu[s]!.length
  console.log(`${s.padEnd(12)} ${(b / 1024).toFixed(2).padStart(6)} KB/call  cpu median chunk ${c.toFixed(1).padStart(5)} us/call, mean ${total.toFixed(1).padStart(5)} us/call  (${bytes[s]!.length} GC-free chunks)`)
  out[s] = { bytes: Math.round(b), cpu: Number(c.toFixed(1)), cpuMean: Number(total.toFixed(1)) }
}
console.log(JSON.stringify({ ...out, load: Number(load.toFixed(2)) }))
await runtime.dispose()
process.exit(0)
