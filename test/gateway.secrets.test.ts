/**
 * Secrets in what servers say (issue 17, item 10): the gateway masks the values it holds as
 * Redacted — env values of stdio servers, header values of HTTP servers, what `${VAR}` expanded
 * into them — in tool results, tool errors, connection errors, stderr lines, progress messages
 * and published tool descriptions. Servers here leak on purpose: a loopback HTTP server that
 * echoes the `Authorization` header in a 500 body, and a stdio server that prints its key.
 */
import { createServer, type Server as HttpServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted, Schema } from "effect"
import { Tool } from "../dsl/index.ts"
import { FallbackFailed, McpflowToolError, ServerUnavailable, ToolFailed } from "../dsl/ToolError.ts"
import { type GatewayEvent, GatewayEvents, McpGateway } from "../dsl/ports/McpGateway.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
import { decodeMcpJson } from "../src/runtime/gateway/McpJson.ts"
import * as SecretMask from "../src/runtime/gateway/SecretMask.ts"

const leakyServer = join(import.meta.dirname, "e2e/fixtures/leakyServer.mjs")
const KEY = "sk-planted-0123456789abcdef"
const TOKEN = "tok-planted-fedcba9876543210"

describe("SecretMask", () => {
  it("masks a value, the credential of a `Scheme value`, and their base64, URL and JSON forms", () => {
    const mask = SecretMask.make([`Bearer ${TOKEN}`, "p@ss/w\"rd+1", "Basic dXNlcjpodW50ZXIyMg=="])
    assert.strictEqual(mask.text(`got Authorization: Bearer ${TOKEN}!`), "got Authorization: <redacted>!")
    assert.strictEqual(mask.text(`token=${TOKEN}`), "token=<redacted>")
    assert.strictEqual(mask.text(Buffer.from(TOKEN).toString("base64")), "<redacted>")
    assert.strictEqual(mask.text(`q=${encodeURIComponent("p@ss/w\"rd+1")}`), "q=<redacted>")
    assert.strictEqual(mask.text(JSON.stringify({ pw: "p@ss/w\"rd+1" })), `{"pw":"<redacted>"}`)
    // Basic: the base64 credential, `user:password`, and the password alone
    assert.strictEqual(mask.text("dXNlcjpodW50ZXIyMg== user:hunter22 hunter22"), "<redacted> <redacted> <redacted>")
  })

  it("leaves short values alone and is inactive without secrets", () => {
    assert.isFalse(SecretMask.make(["1", "abc", ""]).active)
    assert.strictEqual(SecretMask.make(["abc", "abcd"]).text("abc abcd"), "abc <redacted>")
    const none = SecretMask.fromConfig({ servers: { a: { type: "stdio", command: "x", args: [], env: { N: Redacted.make("1") } } } })
    assert.isFalse(none.active)
  })

  it("masks strings deep in values, keeping Redacted values, numbers and keys", () => {
    const mask = SecretMask.make([KEY])
    const secret = Redacted.make(KEY)
    const masked = mask.value({ note: `key ${KEY}`, list: [KEY, 42], nested: { secret }, [KEY]: 1 })
    assert.deepStrictEqual(masked, { note: "key <redacted>", list: ["<redacted>", 42], nested: { secret }, [KEY]: 1 })
    assert.strictEqual(masked.nested.secret, secret)
    const same = { a: "nothing to hide" }
    assert.strictEqual(mask.value(same), same, "unchanged values are not copied")
  })

  it("masks every text of a tool error, fallbacks included, keeping its class", () => {
    const mask = SecretMask.make([KEY])
    const error = new McpflowToolError({
      reason: new FallbackFailed({
        server: "a",
        tool: "b",
        policy: "p",
        primary: new ServerUnavailable({ server: "a", tool: "b", detail: `stderr: ${KEY}` }),
        fallback: new ToolFailed({ server: "c", tool: "d", text: `no ${KEY}` })
      })
    })
    const masked = mask.error(error)
    assert.instanceOf(masked, McpflowToolError)
    assert.instanceOf(masked.reason, FallbackFailed)
    assert.notInclude(masked.message, KEY)
    assert.include(masked.message, "stderr: <redacted>")
    assert.isFalse(masked.transient === undefined)
  })

  it("decodeMcpJson lists what ${VAR} expanded into env and headers as secrets", () => {
    const config = Effect.runSync(decodeMcpJson({
      mcpServers: {
        s: { command: "x", env: { DB: "postgres://u:${PW}@h/db" } },
        h: { url: "http://h/mcp", headers: { Authorization: "Bearer ${TOKEN}" } }
      }
    }, { env: { PW: "pw-planted-42", TOKEN } }))
    assert.deepStrictEqual((config.secrets ?? []).map(Redacted.value), ["pw-planted-42", TOKEN])
    const mask = SecretMask.fromConfig(config)
    assert.strictEqual(mask.text("auth failed for pw-planted-42"), "auth failed for <redacted>")
  })
})

const Leak = Tool.make({
  server: "leaky",
  name: "leak",
  description: "leak",
  input: Schema.Struct({}),
  output: Schema.Struct({ note: Schema.String, length: Schema.Number })
})

/** A loopback HTTP server answering every request with a 500 whose body echoes the Authorization header. */
const echoingServer = Effect.acquireRelease(
  Effect.promise(async () => {
    const http: HttpServer = createServer((req, res) => {
      res.writeHead(500, { "content-type": "text/plain" }).end(`internal error; request had Authorization: ${req.headers.authorization}`)
    })
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
    return { http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp` }
  }),
  ({ http }) => Effect.promise(() => new Promise<void>((resolve) => http.close(() => resolve())))
)

const failureOf = (exit: Exit.Exit<unknown, McpflowToolError>): McpflowToolError => {
  const fail = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  if (fail?._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit)}`)
  return fail.error
}

const leaky = (env: Record<string, string> = {}) =>
  GatewayLayer.layer({
    servers: {
      leaky: {
        type: "stdio",
        command: process.execPath,
        args: [leakyServer],
        env: Object.fromEntries(Object.entries({ API_KEY: KEY, PATH: process.env.PATH ?? "", ...env }).map(([k, v]) => [k, Redacted.make(v)]))
      }
    }
  })

describe("the gateway masks its config's secrets in what servers say", () => {
  it.live("an HTTP server echoing the Authorization header in a 500 body: listTools and call errors", () =>
    Effect.gen(function*() {
      const { url } = yield* echoingServer
      const layer = GatewayLayer.layer({ servers: { web: { type: "http", url, headers: { Authorization: Redacted.make(`Bearer ${TOKEN}`) } } } })
      yield* Effect.gen(function*() {
        const gateway = yield* McpGateway
        const listed = failureOf(yield* Effect.exit(gateway.listTools("web")))
        const called = failureOf(yield* Effect.exit(gateway.callRaw("web", "x", {})))
        for (const error of [listed, called]) {
          assert.include(error.message, "internal error; request had Authorization: <redacted>", "the server's answer is still reported")
          assert.notInclude(JSON.stringify(error), TOKEN)
          assert.notInclude(error.message, TOKEN)
        }
        // A health probe's failure (shown by `mcpflow health` and in a run's report) is masked too.
        const [probed] = gateway.health === undefined ? [] : yield* gateway.health({ probe: true })
        assert.include(probed?.detail ?? "", "<redacted>", JSON.stringify(probed))
        assert.notInclude(JSON.stringify(probed), TOKEN)
      }).pipe(Effect.provide(layer))
    }))

  it.live("a stdio server leaking its env key in results, errors, progress, stderr and its dying words", () =>
    Effect.gen(function*() {
      const events: Array<GatewayEvent> = []
      const seen = yield* Effect.gen(function*() {
        const gateway = yield* McpGateway
        const tools = yield* gateway.listTools("leaky")
        const result = yield* gateway.callRaw("leaky", "leak", {})
        const decoded = yield* Leak({})
        const refused = failureOf(yield* Effect.exit(gateway.callRaw("leaky", "refuse", {})))
        yield* gateway.callRaw("leaky", "progress", {}, { resetTimeoutOnProgress: true })
        const died = failureOf(yield* Effect.exit(gateway.callRaw("leaky", "die", {})))
        return { tools, result, decoded, refused: refused.message, died: died.message }
      }).pipe(Effect.provide(leaky()), Effect.provideService(GatewayEvents, { emit: (e) => void events.push(e) }))
      assert.include(JSON.stringify(seen.result), "the key is <redacted>")
      assert.deepStrictEqual(seen.decoded, { note: "the key is <redacted>", length: KEY.length }, "a contract's value is masked, numbers kept")
      assert.include(seen.refused, "denied: key <redacted>")
      assert.include(seen.tools.find((t) => t.name === "leak")?.description ?? "", "<redacted>")
      assert.isTrue(events.some((e) => e._tag === "ToolProgress" && e.message === "using <redacted>"), "progress")
      assert.isTrue(events.some((e) => e._tag === "ServerLog" && String(e.data).includes("starting with API_KEY=<redacted>")), "stderr")
      const everything = JSON.stringify({ seen, events })
      assert.notInclude(everything, KEY)
    }))

  it.live("a stdio server printing its key to stderr and dying before the handshake", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(McpGateway.use((g) => g.listTools("leaky")).pipe(Effect.provide(leaky({ LEAK_AT_START: "1" }))))
      const error = failureOf(exit)
      assert.include(error.message, "fatal: API_KEY <redacted> rejected", "the stderr tail is still there")
      assert.notInclude(error.message, KEY)
    }))
})
