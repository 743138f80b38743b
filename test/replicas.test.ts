import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Redacted, Schema } from "effect"
import { Flow, step } from "../dsl/flow/index.ts"
import { type FlowEvent, FlowEvents } from "../dsl/flow/FlowEvents.ts"
import * as Engines from "../src/runtime/engine/Engines.ts"
import { isTreeNote, noteText } from "../src/app/run/Text.ts"
import { Fault } from "../chaos/index.ts"
import type * as Plan from "../dsl/flow/Plan.ts"
import { groupLines, plannedGroups } from "../src/app/cli/commands/internal/plan.ts"
import { decodeMcpJson } from "../src/runtime/gateway/McpJson.ts"
import { queries, run, Search, served } from "./support/replicaGroup.ts"
import { type GatewayEvent, GatewayEvents } from "../dsl/ports/McpGateway.ts"
import * as Replicas from "../src/runtime/gateway/Replicas.ts"
import * as Health from "../src/runtime/gateway/Health.ts"
import { ServerUnavailable, toolError } from "../dsl/ToolError.ts"

describe("replica groups", () => {
  it.effect("strategies: round-robin takes turns, weighted follows the weights, priority keeps to the first", () =>
    Effect.gen(function*() {
      const rr = yield* run([], "round-robin", queries(6))
      assert.deepStrictEqual(rr.exit, Exit.succeed(["a", "b", "c", "a", "b", "c"]))
      assert.deepStrictEqual(served(rr.events), ["a", "b", "c", "a", "b", "c"], "each call's replica is an event")
      const weighted = yield* run([], "weighted", queries(5))
      assert.deepStrictEqual(weighted.exit, Exit.succeed(["a", "b", "a", "c", "a"]), "3:1:1, spread (smooth weighted round-robin)")
      const priority = yield* run([], "priority", queries(3))
      assert.deepStrictEqual(priority.exit, Exit.succeed(["a", "a", "a"]))
    }))

  it.effect("least in-flight sends concurrent calls to idle replicas", () =>
    Effect.gen(function*() {
      const slowA = Fault.latency("search-a.query", Fault.fixed(1_000))
      const r = yield* run([slowA], "least-in-flight", Effect.all([Search.query({ q: "1" }), Search.query({ q: "2" }), Search.query({ q: "3" })], { concurrency: "unbounded" }))
      assert.isTrue(Exit.isSuccess(r.exit))
      assert.deepStrictEqual([...served(r.events)].sort(), ["a", "b", "c"])
    }))

  it.effect("priority failover: a down primary moves every call to the next replica, in order", () =>
    Effect.gen(function*() {
      const r = yield* run([Fault.serverDown("search-a", 0, 3_600_000)], "priority", queries(4, 100))
      assert.deepStrictEqual(r.exit, Exit.succeed(["b", "b", "b", "b"]))
      const first = r.events.find((e) => e._tag === "ReplicaServed")
      assert.deepStrictEqual(first?._tag === "ReplicaServed" ? first.skipped : [], [{ replica: "a", why: "ServerUnavailable" }])
      // After three failures in a row its breaker opens: the primary is skipped without a try.
      const last = r.events.filter((e) => e._tag === "ReplicaServed").at(-1)
      assert.deepStrictEqual(last?._tag === "ReplicaServed" ? last.skipped : [], [{ replica: "a", why: "breaker open" }])
    }))

  it.effect("a replica's circuit: interrupted calls count for nothing; three ServerUnavailable in a row open it", () =>
    Effect.gen(function*() {
      const server = { command: "x" } as never
      const { groups } = Replicas.flatten({ servers: {}, groups: { g: { strategy: "priority", replicas: { a: server, b: server } } } })
      const router = yield* Replicas.makeRouter(groups, Health.makeRegistry([], () => Effect.void))
      const group = router.groups.get("g")!
      const tried: Array<string> = []
      const call = (on: (key: string) => Effect.Effect<string, ReturnType<typeof toolError>>) =>
        router.route(group, "t", undefined, true, Replicas.fromEffect((key) => Effect.suspend(() => (tried.push(key), on(key)))))
      for (let i = 0; i < 5; i++) {
        const fiber = yield* Effect.forkChild(call(() => Effect.never), { startImmediately: true })
        yield* Fiber.interrupt(fiber)
      }
      assert.deepStrictEqual(tried, ["g/a", "g/a", "g/a", "g/a", "g/a"])
      tried.length = 0
      const aDown = (key: string) =>
        key === "g/a" ? Effect.fail(toolError(new ServerUnavailable({ server: key, tool: "t", detail: "down" }))) : Effect.succeed(key)
      for (let i = 0; i < 4; i++) assert.strictEqual(yield* call(aDown), "g/b")
      // Had the interruptions counted, the first failure would have found the circuit open.
      assert.deepStrictEqual(tried, ["g/a", "g/b", "g/a", "g/b", "g/a", "g/b", "g/b"])
    }))

  it.effect("a call that may have reached its replica moves on only when the tool is idempotent", () =>
    Effect.gen(function*() {
      const drop = [Fault.connectionDrop("search-a.index"), Fault.connectionDrop("search-a.query")]
      const write = yield* run(drop, "priority", Search.index({ doc: "d" }))
      assert.isTrue(Exit.isFailure(write.exit))
      const error = Exit.isFailure(write.exit) ? write.exit.cause.reasons[0] : undefined
      assert.strictEqual(error?._tag === "Fail" ? error.error.reason._tag : undefined, "ConnectionLost")
      assert.deepStrictEqual(served(write.events), [], "not moved to another replica")
      const read = yield* run(drop, "priority", Search.query({ q: "x" }))
      assert.deepStrictEqual(read.exit, Exit.succeed({ by: "b", q: "x" }))
    }))

  it.effect("on an open connection (a call's usual path): a timeout moves on and counts on the replica's circuit, a tool's own error ends the call", () =>
    Effect.gen(function*() {
      const skips = (events: ReadonlyArray<GatewayEvent>) =>
        events.flatMap((e) => (e._tag === "ReplicaServed" ? [`${e.replica}:${e.skipped.map((s) => `${s.replica} ${s.why}`).join(",")}`] : []))
      const program = Effect.gen(function*() {
        const warm = yield* queries(1) // connects a
        yield* Effect.sleep(1_000)
        const failed = yield* Effect.flip(Search.query({ q: "e" })) // a tool error on a: the call's end, not a's failure
        yield* Effect.sleep(1_000)
        const timedOut = yield* queries(3) // a's open connection hangs: each call times out there, b serves
        const open = yield* queries(1) // three failures in a row opened a's circuit (the tool error did not count)
        return { warm, failed: failed.reason._tag, timedOut, open }
      })
      const r = yield* run([
        Fault.toolError("search-a.query", "no such index", { window: { fromMs: 1_000, toMs: 2_000 } }),
        Fault.hang("search-a.query", { window: { fromMs: 2_000, toMs: 3_600_000 } })
      ], "priority", program)
      assert.deepStrictEqual(r.exit, Exit.succeed({ warm: ["a"], failed: "ToolFailed", timedOut: ["b", "b", "b"], open: ["b"] }))
      assert.deepStrictEqual(skips(r.events), ["a:", "b:a Timeout", "b:a Timeout", "b:a Timeout", "b:a breaker open"])
    }))

  it.effect("on an open connection: an interrupted call counts nothing on its replica's circuit and is cancelled on the server", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        yield* queries(1) // connects a
        yield* Effect.sleep(1_000)
        for (let i = 0; i < 4; i++) {
          const fiber = yield* Effect.forkChild(Search.query({ q: `i${i}` }))
          yield* Effect.sleep(100)
          yield* Fiber.interrupt(fiber)
        }
        yield* Effect.sleep(1_000)
        return yield* queries(1)
      })
      const r = yield* run([Fault.hang("search-a.query", { window: { fromMs: 1_000, toMs: 2_000 } })], "priority", program)
      assert.deepStrictEqual(r.exit, Exit.succeed(["a"]), "had the interruptions counted, a's circuit would be open")
      assert.deepStrictEqual(served(r.events), ["a", "a"])
      const ends = r.injector.sent.map((c) => `${c.server}:${c.end}`)
      assert.deepStrictEqual(ends, ["search-a:answered", ...Array(4).fill("search-a:cancelled"), "search-a:answered"])
    }))

  it.effect("on an open connection: a sink that throws on ReplicaServed makes the call a defect (not a hang)", () =>
    Effect.gen(function*() {
      const throwing = { emit: (e: GatewayEvent) => {
        if (e._tag === "ReplicaServed") throw new Error("sink broke")
      } }
      const program = Effect.gen(function*() {
        yield* queries(1) // connects a
        return yield* Effect.exit(Search.query({ q: "x" }).pipe(Effect.provideService(GatewayEvents, throwing)))
      })
      const r = yield* run([], "priority", program)
      const exit = Exit.isSuccess(r.exit) ? r.exit.value : undefined
      const reason = exit !== undefined && Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.strictEqual(reason?._tag === "Die" ? String(reason.defect) : undefined, "Error: sink broke")
    }))

  it.effect("sticky: a run's calls stay on the replica that served its first call", () =>
    Effect.gen(function*() {
      const r = yield* run([], "round-robin", queries(4), { extra: { sticky: true } })
      assert.deepStrictEqual(r.exit, Exit.succeed(["a", "a", "a", "a"]))
    }))

  it.effect("health: failing probes mark a replica unhealthy (an event); it is skipped until it recovers", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        yield* Effect.sleep(5_000)
        const during = yield* queries(3)
        yield* Effect.sleep(20_000)
        const after = yield* queries(3)
        return { during, after }
      })
      const r = yield* run([Fault.serverDown("search-a", 0, 10_000)], "round-robin", program, { health: true })
      assert.isTrue(Exit.isSuccess(r.exit))
      const value = Exit.isSuccess(r.exit) ? r.exit.value : undefined
      assert.notInclude(value?.during ?? ["a"], "a", "skipped while unhealthy")
      assert.include(value?.after ?? [], "a", "back once its probes pass")
      const changes = r.events.flatMap((e) => (e._tag === "HealthChanged" && e.server === "search/a" ? [`${e.from}→${e.to}`] : []))
      assert.deepStrictEqual(changes, ["unknown→unhealthy", "unhealthy→healthy"])
      // No call was sent to the unhealthy replica while healthy ones remained.
      assert.isTrue(r.events.every((e) => e._tag !== "ReplicaServed" || e.skipped.length === 0))
    }))
})

describe("replica groups in .mcp.json", () => {
  const file = {
    mcpServers: {
      fs: { command: "node", args: ["fs.js"], health: { interval: "5s", probe: "ping" } },
      search: {
        strategy: "weighted",
        sticky: true,
        breaker: { failures: 2, open: "10s" },
        replicas: {
          a: { url: "http://10.0.0.1/mcp", weight: 3, headers: { Authorization: "Bearer ${TOKEN}" } },
          b: { command: "search-server", priority: 1, health: { probe: { tool: "status" }, unhealthyAfter: 3 } }
        }
      }
    },
    mcpflow: { policies: { search: { timeout: "5s" } } }
  }

  it.effect("decodes a group: each replica a normal server entry, plus strategy, stickiness, breaker, health", () =>
    Effect.gen(function*() {
      const config = yield* decodeMcpJson(file, { env: { TOKEN: "t0k" } })
      assert.deepStrictEqual(Object.keys(config.servers), ["fs"])
      assert.deepStrictEqual(config.servers.fs?.health, { probe: "ping", intervalMs: 5_000 })
      const search = config.groups?.search
      assert.strictEqual(search?.strategy, "weighted")
      assert.strictEqual(search?.sticky, true)
      assert.deepStrictEqual(search?.breaker, { failures: 2, openMs: 10_000 })
      const a = search?.replicas.a
      assert.deepStrictEqual([a?.type, a?.weight, a?.type === "http" ? Redacted.value(a.headers.Authorization!) : undefined], ["http", 3, "Bearer t0k"])
      assert.deepStrictEqual(search?.replicas.b?.health, { probe: { tool: "status" }, unhealthyAfter: 3 })
      assert.strictEqual(search?.replicas.b?.priority, 1)
    }))

  it.effect("a bad group or replica is one error naming where", () =>
    Effect.gen(function*() {
      const bad = (mcpServers: unknown) => Effect.flip(decodeMcpJson({ mcpServers }, { env: {} }))
      assert.strictEqual((yield* bad({ s: { replicas: {} } })).message, "mcpServers.s.replicas: Expected at least one replica")
      assert.strictEqual((yield* bad({ s: { replicas: { a: { command: "x" } }, strategy: "random" } })).path, "mcpServers.s.strategy")
      const typo = yield* bad({ s: { replicas: { a: { cmd: "x" } } } })
      assert.deepStrictEqual([typo.path, typo.detail], ["mcpServers.s.replicas.a.cmd", `Unknown field; did you mean "command"?`])
      assert.strictEqual((yield* bad({ s: { replicas: { a: { args: ["x"] } } } })).path, "mcpServers.s.replicas.a")
      assert.strictEqual((yield* bad({ s: { command: "x", weight: 2 } })).path, "mcpServers.s.weight")
      assert.strictEqual((yield* bad({ s: { command: "x", health: { interval: "soon" } } })).path, "mcpServers.s.health.interval")
    }))
})

describe("replica groups in mcpflow plan --config", () => {
  it("lists the groups the flow's tools call, in failover order", () => {
    const tool = (server: string) => ({ name: `${server}.t`, server, tool: "t", description: "", input: {}, output: {}, annotations: {}, declared: true, reached: true, policies: [] })
    const planned = { tools: [tool("search"), tool("fs"), tool("search")] } as unknown as Plan.FlowPlan
    const cfg = { type: "stdio", command: "x", args: [], env: {} } as const
    const groups = plannedGroups(planned, {
      search: { strategy: "priority", replicas: { backup: { ...cfg, priority: 2 }, primary: { ...cfg, priority: 1 } } },
      unused: { replicas: { a: cfg } }
    })
    assert.deepStrictEqual(groupLines(groups), ["", "replica groups:", "  search: priority over primary → backup"])
  })
})

describe("which replica served a step's call is in its run's events (journal and report)", () => {
  it.effect("a ReplicaServed gateway event under the step's path, and a report note when a replica was skipped", () =>
    Effect.gen(function*() {
      const flow = Flow.make({
        name: "lookup",
        input: Schema.Struct({ q: Schema.String }),
        output: Schema.Struct({ by: Schema.String, q: Schema.String }),
        uses: [Search.query],
        run: ({ q }) => step("find", Search.query({ q }))
      })
      const seen: Array<FlowEvent> = []
      const r = yield* run(
        [Fault.serverDown("search-a", 0, 3_600_000)],
        "priority",
        Flow.run(flow, { q: "x" }).pipe(Effect.provide(Engines.memory), Effect.provideService(FlowEvents, { emit: (e) => seen.push(e) }))
      )
      assert.deepStrictEqual(r.exit, Exit.succeed({ by: "b", q: "x" }))
      const notes = seen.flatMap((e) => (e._tag === "Gateway" && e.event._tag === "ReplicaServed" ? [[e.path, noteText(e), isTreeNote(e)]] : []))
      assert.deepStrictEqual(notes, [["find", "search.query served by replica b (skipped a: ServerUnavailable)", true]])
    }))
})
