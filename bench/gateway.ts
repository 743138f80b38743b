/**
 * Per-call cost of a typed contract call through the gateway against an in-process server,
 * versus the raw SDK `client.callTool` on the same server over `InMemoryTransport`.
 *
 * Each round runs both loops back to back, alternating which goes first (so neither always
 * inherits the other's garbage), and the reported ratio is the median of the per-round ratios:
 * on a shared, noisy machine the two sides of one round see the same load.
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

const ratios: Array<number> = []
const rawRates: Array<number> = []
const ourRates: Array<number> = []
for (let round = 0; round < ROUNDS; round++) {
  let r: number
  let o: number
  if (round % 2 === 0) {
    r = await raw(CALLS)
    state.calls.length = 0
    o = await ours(CALLS)
  } else {
    o = await ours(CALLS)
    state.calls.length = 0
    r = await raw(CALLS)
  }
  state.calls.length = 0
  rawRates.push(CALLS / (r / 1000))
  ourRates.push(CALLS / (o / 1000))
  ratios.push(o / r)
  console.log(`round ${round + 1}: raw ${(CALLS / (r / 1000)).toFixed(0)} calls/s, mcpflow ${(CALLS / (o / 1000)).toFixed(0)} calls/s, ratio ${(o / r).toFixed(3)}`)
}
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`raw SDK client.callTool: ${median(rawRates).toFixed(0)} calls/s (median of ${ROUNDS} rounds of ${CALLS})`)
console.log(`mcpflow contract call:   ${median(ourRates).toFixed(0)} calls/s`)
await runtime.dispose()
await client.close()
console.log(JSON.stringify({
  bench: "gateway",
  value: Number((1e6 / median(ourRates)).toFixed(2)),
  unit: "us/call",
  baseline: "sdk-callTool",
  ratio: Number(median(ratios).toFixed(3))
}))
