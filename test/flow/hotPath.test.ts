/**
 * What the step's short path and the run's set-up must keep: the engines' execution ids, the
 * memory journal's replays (values, `null` for `undefined`, failures) and the results after a
 * replay, and events that reach whoever listens — while a run nobody listens to asks its tool
 * calls for no progress notifications.
 */
import { createHash } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { Context, Effect, Fiber, Layer, Schema } from "effect"
import * as WebCrypto from "effect/crypto/WebCrypto"
import { TestClock } from "effect/testing"
import { z } from "zod"
import { Tool } from "../../dsl/index.ts"
import { Flow, FlowEngine, FlowEvents, step } from "../../dsl/flow/index.ts"
import { executionIdOf } from "../../dsl/flow/internal/ExecutionId.ts"
import * as Engines from "../../src/runtime/engine/Engines.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"

describe("the run's hot path", () => {
  it.effect("execution ids are effect/workflow's own (durable engines persist them)", () =>
    Effect.gen(function*() {
      for (const [name, runId] of [["deploy", "run-1"], ["a.b-c_d", crypto.randomUUID()], ["x", "é ü ✓ 🚀"]] as const) {
        const flow = Flow.make({ name, input: Schema.Struct({}), output: Schema.Number, run: () => Effect.succeed(1) })
        const expected = yield* flow.workflow.executionId({ runId, input: null })
        assert.strictEqual(executionIdOf(flow.workflow._tag, runId), expected, `${name} / ${runId}`)
      }
    }))

  it.effect("on every engine the workflow's digests (execution ids on a resume, idempotency keys) resolve in the calling turn, not on the thread pool", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "mcpflow-digest-"))
      try {
        for (const [name, engine] of [["memory", Engines.memory], ["durable", Engines.durable(dir)]] as const) {
          const crypto = yield* Effect.scoped(Effect.map(Layer.build(engine), (context) => Context.get(context, WebCrypto.WebCrypto)))
          const data = new TextEncoder().encode("4:flow:run-1")
          // Settled before the next event-loop turn: a digest on libuv's thread pool would settle later, in
          // real time a virtual-time driver cannot see (it once let a resumed run race the runner's start-up).
          const first = yield* Effect.promise(() =>
            Promise.race([crypto.subtle.digest("SHA-256", data).then(() => "digest"), new Promise((resolve) => setImmediate(() => resolve("next turn")))])
          )
          assert.strictEqual(first, "digest", name)
          const bytes = new Uint8Array((yield* Effect.promise(() => crypto.subtle.digest("SHA-256", data))) as ArrayBuffer)
          assert.strictEqual(Buffer.from(bytes).toString("hex"), createHash("sha256").update(data).digest("hex"), name)
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))

  it.effect("after a durable wait the memory engine replays steps: values, null for undefined, failures; results are rebuilt", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const seen: Array<unknown> = []
      const flow = Flow.make({
        name: "replays",
        input: Schema.Struct({}),
        output: Schema.Unknown,
        run: () =>
          Effect.gen(function*() {
            const a = yield* step("a", Effect.sync(() => (ran.push("a"), { n: 1 })))
            const b = yield* step("b", Effect.sync(() => void ran.push("b")))
            const c = yield* step("c", Effect.suspend(() => (ran.push("c"), Effect.fail("nope" as const)))).pipe(Effect.flip)
            seen.push([a, b, c])
            yield* Flow.sleep("soak", "1 day")
            const results = yield* Flow.results
            return results.entries.map(([path, r]) => `${path}:${r.status}`)
          })
      })
      // Nobody listens to this run: the short path, no events.
      const fiber = yield* Flow.run(flow, {}).pipe(Effect.forkChild)
      for (let i = 0; i < 30 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("1 hour")
      const paths = yield* Fiber.join(fiber)
      assert.deepStrictEqual(ran, ["a", "b", "c"], "each body ran once")
      assert.deepStrictEqual(seen, [[{ n: 1 }, null, "nope"], [{ n: 1 }, null, "nope"]], "the replay saw the same values")
      assert.deepStrictEqual(paths, ["a:succeeded", "b:succeeded", "c:failed"])
    }).pipe(Effect.provide(FlowEngine.layerMemory)))

  it.effect("a run nobody listens to asks for no progress notifications; a listened-to run still gets them reported", () =>
    Effect.gen(function*() {
      const tokens: Array<unknown> = []
      const Probe = Tool.make({ server: "probe", name: "probe", description: "Probe", input: Schema.Struct({}), output: Schema.String })
      const gateway = GatewayLayer.layer({
        servers: {
          probe: {
            type: "in-process",
            make: () => {
              const server = new McpServer({ name: "probe", version: "1.0.0" })
              server.registerTool("probe", { description: "Probe", inputSchema: { ignored: z.string().optional() } }, async (_args, extra) => {
                const token = extra._meta?.progressToken
                tokens.push(token)
                if (token !== undefined) {
                  await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: 1, total: 2 } })
                }
                return { content: [{ type: "text", text: "ok" }] }
              })
              return server.server
            }
          }
        }
      })
      const flow = Flow.make({ name: "probe", input: Schema.Struct({}), output: Schema.String, uses: [Probe], run: () => step("call", Probe({})) })
      const layer = Layer.merge(FlowEngine.layerMemory, gateway)
      assert.strictEqual(yield* Flow.run(flow, {}).pipe(Effect.provide(layer)), "ok")
      assert.deepStrictEqual(tokens, [undefined], "no progress token when nobody listens")
      const sink = FlowEvents.collect()
      assert.strictEqual(yield* Flow.run(flow, {}).pipe(Effect.provide(layer), Effect.provideService(FlowEvents.FlowEvents, sink)), "ok")
      assert.isDefined(tokens[1], "a progress token when the run is listened to")
      assert.deepStrictEqual(
        sink.events.filter((e) => e._tag !== "Gateway" || e.event._tag === "ToolProgress").map((e) => e._tag),
        ["FlowStarted", "StepStarted", "Gateway", "StepSucceeded", "FlowFinished"]
      )
    }))

  it.effect("the memory engine forgets a run once it ended: the same run id runs again, a late signal finds nobody", () =>
    Effect.gen(function*() {
      let runs = 0
      const Go = Flow.signal("go", Schema.Struct({}))
      const flow = Flow.make({
        name: "forgets",
        input: Schema.Struct({}),
        output: Schema.Number,
        run: () => step("count", Effect.sync(() => ++runs))
      })
      assert.strictEqual(yield* Flow.run(flow, {}, { runId: "same" }), 1)
      assert.strictEqual(yield* Flow.run(flow, {}, { runId: "same" }), 2, "ran again, not the first run's stored result")
      yield* Flow.sendSignal(flow, "same", Go, {})
      assert.strictEqual(runs, 2)
    }).pipe(Effect.provide(FlowEngine.layerMemory)))
})

