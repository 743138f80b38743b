/**
 * Batch throughput: 10 000 concurrent single calls collected by `Flow.batch` into batch calls of
 * 100 (`score_batch`), versus the same 10 000 calls made one by one (`score`, 100 at a time),
 * through the gateway against an in-process MCP server. The last line's `value` is the batched
 * calls per second and its `ratio` the batched throughput over the single calls' (single time /
 * batched time: above 1, batching is faster), each the median over rounds. `npm run bench --
 * routing` runs it too, before the replica group's figures.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { Effect, Layer, ManagedRuntime, Result, Schema } from "effect"
import { z } from "zod"
import { Flow } from "../dsl/flow/index.ts"
import { Tool } from "../dsl/index.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"

const CALLS = Number(process.env.BENCH_CALLS ?? 10_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

const Scores = Tool.server("scores", {
  score: Tool.define({ description: "Score one id", input: Schema.Struct({ id: Schema.Number }), output: Schema.Struct({ score: Schema.Number }) }),
  score_batch: Tool.define({
    description: "Score many ids",
    input: Schema.Struct({ ids: Schema.Array(Schema.Number) }),
    output: Schema.Struct({ scores: Schema.Array(Schema.Number) })
  })
})

const makeServer = () => {
  const server = new McpServer({ name: "scores", version: "1.0.0" })
  server.registerTool("score", { inputSchema: { id: z.number() }, outputSchema: { score: z.number() } }, async ({ id }) => ({
    content: [{ type: "text", text: "" }],
    structuredContent: { score: id * 2 }
  }))
  server.registerTool("score_batch", { inputSchema: { ids: z.array(z.number()) }, outputSchema: { scores: z.array(z.number()) } }, async ({ ids }) => ({
    content: [{ type: "text", text: "" }],
    structuredContent: { scores: ids.map((id) => id * 2) }
  }))
  return server
}

const runtime = ManagedRuntime.make(
  GatewayLayer.layer({ servers: { scores: { type: "in-process", make: makeServer } } }) as Layer.Layer<McpGateway>
)
const ids = Array.from({ length: CALLS }, (_, i) => i)

const single = Effect.forEach(ids, (id) => Scores.score({ id }), { concurrency: 100, discard: true })
const batched = Effect.gen(function*() {
  const score = yield* Flow.batch("scores", {
    tool: Scores.score_batch,
    args: (batch: ReadonlyArray<number>) => ({ ids: batch }),
    result: (out, _id, index) => Result.succeed(out.scores[index]!),
    flush: { size: 100 }
  })
  yield* Effect.forEach(ids, (id) => score(id), { concurrency: "unbounded", discard: true })
})

const time = async (program: Effect.Effect<void, unknown, McpGateway>) => {
  const start = performance.now()
  await runtime.runPromise(program)
  return performance.now() - start
}

await time(Effect.forEach(ids.slice(0, 500), (id) => Scores.score({ id }), { discard: true }))
await time(batched)

const ratios: Array<number> = []
const batchedRates: Array<number> = []
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which goes first, so neither always inherits the other's garbage.
  let singleMs: number
  let batchMs: number
  if (round % 2 === 0) {
    singleMs = await time(single)
    batchMs = await time(batched)
  } else {
    batchMs = await time(batched)
    singleMs = await time(single)
  }
  ratios.push(singleMs / batchMs)
  batchedRates.push(CALLS / (batchMs / 1000))
  console.log(
    `round ${round + 1}: single ${(CALLS / (singleMs / 1000)).toFixed(0)} calls/s, batched ${(CALLS / (batchMs / 1000)).toFixed(0)} calls/s, ×${(singleMs / batchMs).toFixed(1)}`
  )
}
await runtime.dispose()
const medianOf = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const median = medianOf(ratios)
console.log(`batched ${medianOf(batchedRates).toFixed(0)} calls/s (median), ${median.toFixed(2)}× the throughput of single calls (median of ${ROUNDS} rounds' ratios)`)
// ratio = ours / baseline in throughput: batched calls per second over single calls per second.
console.log(JSON.stringify({ bench: "batch", value: Math.round(medianOf(batchedRates)), unit: "calls/s", baseline: "single calls", ratio: Number(median.toFixed(2)) }))
