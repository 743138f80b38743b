/**
 * Wire faults on the replicas of a replica group (`WireChaos` wraps each replica's connection,
 * keyed `group#replica`): three Streamable HTTP replicas on loopback, `a` down the whole run,
 * `b` flapping, `c` healthy. Every call is served by a replica that is up, none is lost or run
 * twice, and a call skips only the replicas ahead of the one that served it, in priority order.
 * The faults' clock is set by the test before each call (no sleeps, the same run every time).
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { randomUUID } from "node:crypto"
import { createServer, type Server as HttpServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, Exit, Schema } from "effect"
import { Fault, Injector } from "../../chaos/index.ts"
import * as WireChaos from "../../chaos/WireChaos.ts"
import { Tool } from "../../dsl/index.ts"
import { type GatewayEvent, GatewayEvents } from "../../dsl/ports/McpGateway.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import type { ReplicaConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { type EchoServerState, makeEchoServer, makeEchoState } from "../support/echoServer.ts"

const Echo = Tool.make({
  server: "search",
  name: "echo",
  description: "Echo",
  input: Schema.Struct({ message: Schema.String }),
  output: Schema.Struct({ echoed: Schema.String, length: Schema.Number }),
  annotations: { readOnly: true, idempotent: true }
})

const servers: Array<HttpServer> = []
afterAll(() => Promise.all(servers.map((http) => new Promise<void>((resolve) => http.close(() => resolve())))))

/** A Streamable HTTP echo server on 127.0.0.1 (a free port); what reached its handlers is in `state`. */
const loopback = async (): Promise<{ readonly url: string; readonly state: EchoServerState }> => {
  const state = makeEchoState()
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  const http = createServer(async (req, res) => {
    const id = req.headers["mcp-session-id"]
    let transport = typeof id === "string" ? sessions.get(id) : undefined
    if (transport === undefined) {
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => void sessions.set(sid, transport!)
      })
      await makeEchoServer(state)().connect(transport)
    }
    await transport.handleRequest(req, res)
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  servers.push(http)
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, state }
}

describe("wire faults on a replica group's replicas", () => {
  it("a group's target hits each replica, a replica's target only that one", () => {
    assert.isTrue(Fault.matches("search", "search#a", undefined))
    assert.isTrue(Fault.matches("search.echo", "search#b", "echo"))
    assert.isTrue(Fault.matches("search#b.echo", "search#b", "echo"))
    assert.isFalse(Fault.matches("search#a", "search#b", undefined))
    assert.isFalse(Fault.matches("search#a.echo", "search", "echo"))
  })

  it.live("ServerDown on a, Flapping on b through the wire: every call served by a replica that is up, nothing lost, failover order holds", () =>
    Effect.gen(function*() {
      const names = ["a", "b", "c"] as const
      const up = yield* Effect.promise(() => Promise.all(names.map(() => loopback())))
      const replicas: Record<string, ReplicaConfig> = {}
      names.forEach((name, i) => void (replicas[name] = { type: "http", url: up[i]!.url, headers: {}, priority: i }))
      // `b` is down for 500 ms of every 1.5 s (down first), from the start.
      const injector = Injector.make(Fault.plan(1, [Fault.serverDown("search#a", 0, 3_600_000), Fault.flapping("search#b", 1_000, 500)]))
      let t = 0
      const env = { now: () => t, sleep: () => Promise.resolve() }
      const config = WireChaos.wrapConfig(
        { servers: {}, groups: { search: { strategy: "priority", breaker: { failures: 1_000 }, replicas } } },
        injector,
        env
      )
      const events: Array<GatewayEvent> = []
      const calls = 12
      const program = Effect.forEach(Array.from({ length: calls }, (_, i) => i), (i) =>
        Effect.suspend(() => {
          t = i * 250
          return Echo({ message: `m${i}` }, { timeout: "5 seconds" })
        }))
      const exit = yield* Effect.exit(program.pipe(
        Effect.provide(GatewayLayer.layer(config)),
        Effect.provideService(GatewayEvents, { emit: (e) => events.push(e) })
      ))
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const served = events.flatMap((e) => (e._tag === "ReplicaServed" ? [e.replica] : []))
      // b is down at t = 0, 250, 1500, 1750 ms: c serves those, b the others.
      assert.deepStrictEqual(served, ["c", "c", "b", "b", "b", "b", "c", "c", "b", "b", "b", "b"])
      for (const e of events) {
        if (e._tag !== "ReplicaServed") continue
        assert.deepStrictEqual(e.skipped.map((s) => s.replica), names.slice(0, names.indexOf(e.replica as "a")), "skipped in priority order")
      }
      // Nothing lost, nothing twice: each message reached exactly one replica, once.
      const reached = up.flatMap((u) => u.state.calls.filter((c) => c.tool === "echo").map((c) => (c.args as { message: string }).message))
      assert.deepStrictEqual(reached.sort(), Array.from({ length: calls }, (_, i) => `m${i}`).sort())
      assert.strictEqual(up[0]!.state.calls.length, 0, "the down replica got nothing")
      // The faults hit the replicas they were aimed at, and only those.
      assert.deepStrictEqual([...new Set(injector.log.map((i) => `${i.server} ${i.kind}`))].sort(), ["search#a ServerDown", "search#b Flapping"])
    }), 60_000)
})
