/**
 * Soak: 100 000 typed contract calls through one gateway against an in-process SDK server, in
 * one run, with faults on 5 % of the calls, spread evenly over four kinds: a tool error
 * (`isError`), a JSON-RPC error, a call that never answers (the gateway's 10 ms timeout cancels
 * it on the server) and a dropped connection (the server closes it mid-call, failing every call in
 * flight on it; the next call reconnects). Eight workers make one call at a time each.
 *
 * Memory (heap used, RSS, after a full GC) and open handles (`process.getActiveResourcesInfo()`)
 * are taken after 10 000 warm-up calls (connected, compiled, the young generation sized) and at
 * the end; the run must stay flat within 20 MB with no leaked handle (else exit 1). A full GC
 * also runs after every tenth of the calls: the SDK's per-call objects outlive a scavenge and are
 * promoted (≈ 2.5 KB per call, the raw SDK client alone does the same), so between V8's own
 * major GCs the heap climbs by 100 MB and more and RSS keeps that high-water mark; retained
 * memory survives a GC, so this hides no leak. `BENCH_SOAK_GC_EACH=0` leaves GC to V8.
 *
 * `BENCH_SOAK_CALLS`, `BENCH_SOAK_WARMUP`, `BENCH_SOAK_FAULT_RATE`, `BENCH_SOAK_FAULTS` (kinds,
 * comma-separated) and `BENCH_SOAK_SEED` change the run.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import {
  type CallToolResult,
  CallToolRequestSchema,
  ListToolsRequestSchema,
  McpError
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, Exit, Layer, ManagedRuntime, Option, Schema } from "effect"
import { Tool } from "../dsl/index.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"

const CALLS = Number(process.env.BENCH_SOAK_CALLS ?? 100_000)
const WARMUP = Number(process.env.BENCH_SOAK_WARMUP ?? 10_000)
const CONCURRENCY = 8
const FAULT_RATE = Number(process.env.BENCH_SOAK_FAULT_RATE ?? 0.05)
const SEED = Number(process.env.BENCH_SOAK_SEED ?? 17)
const LIMIT_MB = 20
/** A full GC after every tenth of the calls (see the module doc); `BENCH_SOAK_GC_EACH=0` leaves GC to V8. */
const GC_EACH_CHUNK = process.env.BENCH_SOAK_GC_EACH !== "0"

// A full GC on demand without restarting Node with --expose-gc.
setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

const Fault = Schema.Literals(["none", "tool-error", "rpc-error", "hang", "drop"])
type Fault = typeof Fault.Type

const Work = Tool.make({
  server: "soak",
  name: "work",
  description: "Does a little work, or fails as asked",
  input: Schema.Struct({ i: Schema.Number, fault: Fault }),
  output: Schema.Struct({ i: Schema.Number, echoed: Schema.String })
})

/** How many server instances were made (one per connection) and hung calls still waiting. */
const server = { instances: 0, hanging: 0 }

const workTool = {
  name: "work",
  description: "Does a little work, or fails as asked",
  inputSchema: {
    type: "object" as const,
    properties: { i: { type: "number" }, fault: { type: "string", enum: ["none", "tool-error", "rpc-error", "hang", "drop"] } },
    required: ["i", "fault"]
  },
  outputSchema: {
    type: "object" as const,
    properties: { i: { type: "number" }, echoed: { type: "string" } },
    required: ["i", "echoed"]
  }
}

/** The low-level SDK `Server` (an `McpServer` turns a thrown `McpError` into an `isError` result). */
const makeServer = () => {
  server.instances++
  const mcp = new Server({ name: "soak", version: "1.0.0" }, { capabilities: { tools: {} } })
  mcp.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [workTool] }))
  mcp.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { fault, i } = request.params.arguments as { readonly i: number; readonly fault: Fault }
    switch (fault) {
      case "tool-error":
        return { isError: true, content: [{ type: "text", text: `call ${i} failed (injected)` }] }
      case "rpc-error":
        throw new McpError(-32603, `call ${i}: injected internal error`)
      case "hang":
        // Answers only once the client cancels it (the gateway's timeout sends notifications/cancelled)
        // or the connection closes (the SDK aborts the handlers in flight; the signal may be aborted already).
        server.hanging++
        return await new Promise((resolve) => {
          const done = () => {
            server.hanging--
            resolve({ content: [{ type: "text", text: "cancelled" }] })
          }
          if (extra.signal.aborted) done()
          else extra.signal.addEventListener("abort", done, { once: true })
        })
      case "drop":
        await mcp.close()
        return { content: [{ type: "text", text: "dropped" }] }
      default:
        return { content: [{ type: "text", text: `${i}` }], structuredContent: { i, echoed: `call ${i}` } }
    }
  })
  return mcp
}

/** A small seeded PRNG (mulberry32), so the same seed faults the same calls. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
const faultKinds = (process.env.BENCH_SOAK_FAULTS ?? "tool-error,rpc-error,hang,drop").split(",") as ReadonlyArray<Fault>
const random = prng(SEED)
const faultOf = (): Fault => {
  const r = random()
  return r < FAULT_RATE ? faultKinds[Math.floor((r / FAULT_RATE) * faultKinds.length)]! : "none"
}

const runtime = ManagedRuntime.make(
  GatewayLayer.layer({ servers: { soak: { type: "in-process", make: makeServer } } }) as Layer.Layer<McpGateway>
)

/** Outcomes by kind: `ok` or the error reason's tag. */
const outcomes = new Map<string, number>()
const faultsSent = new Map<Fault, number>()

const callOnce = (i: number) => {
  const fault = faultOf()
  faultsSent.set(fault, (faultsSent.get(fault) ?? 0) + 1)
  return Effect.exit(Work({ i, fault }, fault === "hang" ? { timeout: "10 millis" } : undefined)).pipe(
    Effect.map((exit) => {
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
      const key = Exit.isSuccess(exit) ? "ok" : error === undefined ? "defect" : error.reason._tag
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
    })
  )
}

/** `count` calls from `from`, by {@link CONCURRENCY} workers each making one call at a time. */
const calls = (from: number, count: number) =>
  Effect.all(
    Array.from({ length: CONCURRENCY }, (_, worker) =>
      Effect.gen(function*() {
        for (let k = worker; k < count; k += CONCURRENCY) yield* callOnce(from + k)
      })),
    { concurrency: "unbounded", discard: true }
  )

interface Snapshot {
  readonly heapMB: number
  readonly heapTotalMB: number
  readonly externalMB: number
  readonly rssMB: number
  readonly handles: ReadonlyMap<string, number>
}

const mb = (bytes: number) => bytes / 1024 / 1024

/** Lets pending timers and closes settle, runs a full GC a few times, then measures. */
const snapshot = async (): Promise<Snapshot> => {
  await new Promise((resolve) => setTimeout(resolve, 200))
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const memory = process.memoryUsage()
  const handles = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) handles.set(kind, (handles.get(kind) ?? 0) + 1)
  return {
    heapMB: mb(memory.heapUsed),
    heapTotalMB: mb(memory.heapTotal),
    externalMB: mb(memory.external),
    rssMB: mb(memory.rss),
    handles
  }
}

const formatMemory = (s: Snapshot) =>
  `heap ${s.heapMB.toFixed(1)} MB (of ${s.heapTotalMB.toFixed(1)} MB reserved), external ${s.externalMB.toFixed(1)} MB, rss ${s.rssMB.toFixed(1)} MB`

const formatHandles = (handles: ReadonlyMap<string, number>) =>
  [...handles].sort(([a], [b]) => (a < b ? -1 : 1)).map(([kind, n]) => `${kind} ${n}`).join(", ") || "none"

await runtime.runPromise(calls(0, WARMUP))
const start = await snapshot()
console.log(`start (after ${WARMUP} warm-up calls): ${formatMemory(start)}; handles: ${formatHandles(start.handles)}`)

const began = performance.now()
const chunk = Math.max(1, Math.floor(CALLS / 10))
for (let done = 0; done < CALLS; done += chunk) {
  await runtime.runPromise(calls(WARMUP + done, Math.min(chunk, CALLS - done)))
  const before = process.memoryUsage()
  if (GC_EACH_CHUNK) gc()
  const { heapUsed, rss } = process.memoryUsage()
  const after = GC_EACH_CHUNK ? `, ${mb(heapUsed).toFixed(1)} after` : ""
  console.log(`  ${String(Math.min(done + chunk, CALLS)).padStart(7)} calls: heap ${mb(before.heapUsed).toFixed(1)} MB before GC${after}; rss ${mb(rss).toFixed(1)} MB`)
}
const seconds = (performance.now() - began) / 1000

const end = await snapshot()
console.log(`end (after ${CALLS} calls in ${seconds.toFixed(1)} s, ${Math.round(CALLS / seconds)} calls/s): ${formatMemory(end)}; handles: ${formatHandles(end.handles)}`)
console.log(`faults sent: ${[...faultsSent].filter(([k]) => k !== "none").map(([k, n]) => `${k} ${n}`).join(", ")} (of ${WARMUP + CALLS} calls)`)
console.log(`outcomes: ${[...outcomes].map(([k, n]) => `${k} ${n}`).join(", ")}`)
console.log(`server instances (connections): ${server.instances}, hung calls never cancelled: ${server.hanging}`)

const heapGrowth = end.heapMB - start.heapMB
const rssGrowth = end.rssMB - start.rssMB
const leaked = [...end.handles].reduce((sum, [kind, n]) => sum + Math.max(0, n - (start.handles.get(kind) ?? 0)), 0)
const flat = heapGrowth <= LIMIT_MB && rssGrowth <= LIMIT_MB && leaked === 0
console.log(
  `heap ${heapGrowth >= 0 ? "+" : ""}${heapGrowth.toFixed(1)} MB, rss ${rssGrowth >= 0 ? "+" : ""}${rssGrowth.toFixed(1)} MB, leaked handles ${leaked}: ${
    flat ? "flat" : `NOT flat (limit ${LIMIT_MB} MB, 0 handles)`
  }`
)
await runtime.dispose()
if (!flat) process.exitCode = 1
console.log(JSON.stringify({
  bench: "soak",
  value: Number(heapGrowth.toFixed(2)),
  unit: "MB",
  baseline: "heap at start",
  ratio: Number((end.heapMB / start.heapMB).toFixed(3))
}))
