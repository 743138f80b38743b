import { assert, describe, it } from "@effect/vitest"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { randomUUID } from "node:crypto"
import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, Exit, Redacted, Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { McpGateway } from "../../dsl/ports/McpGateway.ts"
import { makeEchoServer, makeEchoState } from "../support/echoServer.ts"

const Echo = Tool.make({
  server: "remote",
  name: "echo",
  description: "Echo",
  input: Schema.Struct({ message: Schema.String }),
  output: Schema.Struct({ echoed: Schema.String, length: Schema.Number })
})

interface Loopback {
  readonly url: string
  readonly headers: Array<IncomingHttpHeaders>
  /** Forget every session, as a restarted server would. */
  readonly dropSessions: () => void
}

/** A Streamable HTTP MCP server on 127.0.0.1 that wants `Authorization: Bearer s3cret`. */
const loopbackServer = Effect.acquireRelease(
  Effect.promise(async () => {
    const state = makeEchoState()
    const sessions = new Map<string, StreamableHTTPServerTransport>()
    const headers: Array<IncomingHttpHeaders> = []
    const http: HttpServer = createServer(async (req, res) => {
      headers.push(req.headers)
      if (req.headers.authorization !== "Bearer s3cret") {
        res.writeHead(401).end("unauthorized")
        return
      }
      const id = req.headers["mcp-session-id"]
      let transport = typeof id === "string" ? sessions.get(id) : undefined
      if (transport === undefined) {
        if (typeof id === "string") {
          res.writeHead(404).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null }))
          return
        }
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => void sessions.set(sid, transport!)
        })
        await makeEchoServer(state)().connect(transport)
      }
      await transport.handleRequest(req, res)
    })
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
    const { port } = http.address() as AddressInfo
    const loopback: Loopback = {
      url: `http://127.0.0.1:${port}/mcp`,
      headers,
      dropSessions: () => sessions.clear()
    }
    return { http, loopback }
  }),
  ({ http }) => Effect.promise(() => new Promise<void>((resolve) => http.close(() => resolve())))
)

const reasonOf = (exit: Exit.Exit<unknown, { readonly reason: { readonly _tag: string } }>) => {
  const fail = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  return fail?._tag === "Fail" ? fail.error.reason._tag : `no typed failure: ${String(exit)}`
}

describe("gateway over Streamable HTTP on loopback", () => {
  it.live("calls a tool with Redacted headers sent in the clear only on the wire", () =>
    Effect.gen(function*() {
      const { loopback } = yield* loopbackServer
      const layer = GatewayLayer.layer({
        servers: { remote: { type: "http", url: loopback.url, headers: { Authorization: Redacted.make("Bearer s3cret") } } }
      })
      const out = yield* Echo({ message: "over http" }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(out, { echoed: "over http", length: 9 })
      assert.isTrue(loopback.headers.every((h) => h.authorization === "Bearer s3cret"))
    }))

  it.live("a 401 is AuthRequired", () =>
    Effect.gen(function*() {
      const { loopback } = yield* loopbackServer
      const layer = GatewayLayer.layer({ servers: { remote: { type: "http", url: loopback.url, headers: {} } } })
      const exit = yield* Effect.exit(Echo({ message: "x" }).pipe(Effect.provide(layer)))
      assert.strictEqual(reasonOf(exit), "AuthRequired")
    }))

  it.live("a lost HTTP session fails the call with ConnectionLost, and the next call opens a new session", () =>
    Effect.gen(function*() {
      const { loopback } = yield* loopbackServer
      const layer = GatewayLayer.layer({
        servers: { remote: { type: "http", url: loopback.url, headers: { Authorization: Redacted.make("Bearer s3cret") } } }
      })
      yield* Effect.gen(function*() {
        const gateway = yield* McpGateway
        yield* Echo({ message: "a" })
        loopback.dropSessions()
        assert.strictEqual(reasonOf(yield* Effect.exit(Echo({ message: "b" }))), "ConnectionLost")
        assert.deepStrictEqual(yield* Echo({ message: "c" }), { echoed: "c", length: 1 })
        assert.strictEqual((yield* gateway.status)[0]!.connects, 2)
      }).pipe(Effect.provide(layer))
    }))

  it.live("nothing listening is ServerUnavailable naming the key", () =>
    Effect.gen(function*() {
      const layer = GatewayLayer.layer({ servers: { remote: { type: "http", url: "http://127.0.0.1:9/mcp", headers: {} } } })
      const exit = yield* Effect.exit(Echo({ message: "x" }).pipe(Effect.provide(layer)))
      assert.strictEqual(reasonOf(exit), "ServerUnavailable")
      const fail = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      assert.include(fail?._tag === "Fail" ? fail.error.message : "", "server 'remote' is unavailable")
    }))
})
