/**
 * What the observability tests share: an in-process MCP server whose tools record the `_meta`
 * they were sent, a flow over it (a cached call, a call retried once, a call behind a breaker),
 * and a parser of the Prometheus text exposition format.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { Effect, Schema } from "effect"
import { z } from "zod"
import { Tool } from "../../dsl/index.ts"
import { Flow, step } from "../../dsl/flow/index.ts"

export interface ServerLog {
  readonly calls: Array<{ readonly tool: string; readonly meta: Record<string, unknown> | undefined }>
}

/** Tools `ok` (echoes n), `flaky` (rate-limited on its first call), `down` (always fails). */
export const makeServer = (log: ServerLog) => () => {
  const server = new McpServer({ name: "obs", version: "1.0.0" })
  let flakyCalls = 0
  const record = (tool: string, extra: { _meta?: Record<string, unknown> | undefined }) =>
    log.calls.push({ tool, meta: extra._meta === undefined ? undefined : { ...extra._meta } })
  server.registerTool("ok", { inputSchema: { n: z.number() }, outputSchema: { n: z.number() } }, async ({ n }, extra) => {
    record("ok", extra)
    return { content: [{ type: "text", text: String(n) }], structuredContent: { n } }
  })
  server.registerTool("flaky", { inputSchema: { env: z.string(), token: z.string() } }, async (_args, extra) => {
    record("flaky", extra)
    flakyCalls += 1
    return flakyCalls === 1
      ? { isError: true, content: [{ type: "text", text: "rate limit exceeded" }] }
      : { content: [{ type: "text", text: "done" }] }
  })
  server.registerTool("down", { inputSchema: {} }, async (_args, extra) => {
    record("down", extra)
    return { isError: true, content: [{ type: "text", text: "boom" }] }
  })
  return server
}

export const Obs = Tool.server("obs", {
  ok: Tool.define({
    description: "Echo n",
    input: Schema.Struct({ n: Schema.Number }),
    output: Schema.Struct({ n: Schema.Number }),
    annotations: { readOnly: true },
    policy: { cache: { ttl: "1 minute", capacity: 10 }, bulkhead: { maxConcurrent: 2, maxQueue: 1 } }
  }),
  flaky: Tool.define({
    description: "Rate-limited once",
    input: Schema.Struct({ env: Tool.traceSafe(Schema.String), token: Schema.String }),
    output: Schema.String,
    annotations: { idempotent: true },
    policy: { retry: { maxAttempts: 3, backoff: { kind: "constant", initial: "1 millis" } } }
  }),
  down: Tool.define({
    description: "Always fails",
    input: Schema.Struct({}),
    output: Schema.String,
    policy: { breaker: { trip: { kind: "consecutive", failures: 1 }, openDuration: "1 minute" } }
  })
})

/** A token the flow passes as an argument: it must never reach a span. */
export const TOKEN = "s3cret-token-4242"

export const flow = Flow.make({
  name: "observed",
  input: Schema.Struct({}),
  output: Schema.String,
  run: () =>
    Effect.gen(function*() {
      yield* step("fetch", Effect.zip(Obs.ok({ n: 1 }), Obs.ok({ n: 1 })))
      const out = yield* step("flaky", Obs.flaky({ env: "prod", token: TOKEN }))
      // The first call fails and opens the circuit; the second is rejected without a request.
      yield* step("down", Effect.zip(Effect.result(Obs.down({})), Effect.result(Obs.down({}))))
      return out
    })
})

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/**
 * Parses the Prometheus text exposition format (0.0.4): `# TYPE` lines and samples. Throws on a
 * line that is neither, on a sample of a family with no `# TYPE` before it, and on a bad value.
 */
export const parseExposition = (text: string): { readonly types: Map<string, string>; readonly samples: Array<Sample> } => {
  const types = new Map<string, string>()
  const samples: Array<Sample> = []
  for (const line of text.split("\n")) {
    if (line === "") continue
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (type !== null) {
      types.set(type[1]!, type[2]!)
      continue
    }
    if (line.startsWith("# HELP ")) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not an exposition line: ${line}`)
    const name = m[1]!
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "")
    if (!types.has(family)) throw new Error(`sample before its # TYPE: ${line}`)
    const labels: Record<string, string> = {}
    const body = m[2] ?? ""
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy
    let consumed = 0
    for (let l = re.exec(body); l !== null; l = re.exec(body)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\"/g, "\"").replace(/\\\\/g, "\\")
      consumed = re.lastIndex
    }
    if (consumed !== body.length) throw new Error(`bad labels: ${line}`)
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3])
    if (Number.isNaN(value) && m[3] !== "NaN") throw new Error(`bad value: ${line}`)
    samples.push({ name, labels, value })
  }
  return { types, samples }
}

/** The value of the one sample named `name` whose labels include `labels`. */
export const valueOf = (samples: ReadonlyArray<Sample>, name: string, labels: Readonly<Record<string, string>>): number | undefined => {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return found[0]?.value
}
