import { assert, describe, it } from "@effect/vitest"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { Effect, Exit, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Tool } from "../dsl/index.ts"
import type { McpflowToolError } from "../dsl/ToolError.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
import { type GatewayEvent, GatewayEvents, McpGateway } from "../dsl/ports/McpGateway.ts"
import { type EchoServerState, makeEchoServer, makeEchoState } from "./support/echoServer.ts"

const Echo = Tool.server("echo", {
  echo: Tool.define({
    description: "Echo",
    input: Schema.Struct({ message: Schema.String }),
    output: Schema.Struct({ echoed: Schema.String, length: Schema.Number }),
    annotations: { readOnly: true }
  }),
  json_text: Tool.define({
    description: "JSON text",
    input: Schema.Struct({ n: Schema.Number }),
    output: Schema.Struct({ doubled: Schema.Number })
  }),
  plain_text: Tool.define({ description: "Plain", input: Schema.Struct({ name: Schema.String }), output: Schema.String }),
  drifted: Tool.define({
    description: "Drifted",
    input: Schema.Struct({}),
    output: Schema.Struct({ items: Schema.Array(Schema.Struct({ name: Schema.String })) })
  }),
  fail: Tool.define({ description: "Fail", input: Schema.Struct({ text: Schema.String }), output: Schema.String }),
  hang: Tool.define({ description: "Hang", input: Schema.Struct({}), output: Schema.String }),
  slow: Tool.define({ description: "Slow", input: Schema.Struct({}), output: Schema.Struct({ steps: Schema.Number }) }),
  missing: Tool.define({ description: "Not on the server", input: Schema.Struct({}), output: Schema.String })
})

const Positive = Tool.make({
  server: "echo",
  name: "echo",
  description: "Echo with a constrained input",
  input: Schema.Struct({ message: Schema.String.check(Schema.isMinLength(3)) }),
  output: Schema.Struct({ echoed: Schema.String })
})

interface Links {
  readonly transports: Array<Transport>
}

const setup = (options?: { readonly allow?: ReadonlyArray<string>; readonly callTimeoutMs?: number }) => {
  const state = makeEchoState()
  const links: Links = { transports: [] }
  const layer = GatewayLayer.layer({
    servers: {
      echo: {
        type: "in-process",
        make: makeEchoServer(state),
        callTimeoutMs: options?.callTimeoutMs,
        wrapTransport: (t) => {
          links.transports.push(t)
          return t
        }
      }
    },
    allow: options?.allow
  })
  return { state, links, layer }
}

const reasonOf = <A>(exit: Exit.Exit<A, McpflowToolError>) => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const fail = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  assert.isDefined(fail, `expected a typed failure, got ${Exit.isFailure(exit) ? String(exit.cause) : ""}`)
  return (fail as { readonly error: McpflowToolError }).error.reason
}

const waitFor = (state: EchoServerState, predicate: (s: EchoServerState) => boolean) =>
  Effect.promise(async () => {
    for (let i = 0; i < 1000 && !predicate(state); i++) await new Promise<void>((r) => setImmediate(r))
    if (!predicate(state)) throw new Error("condition never held")
  })

describe("gateway with an in-process server", () => {
  it.effect("decodes structured content into the contract's output", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      const out = yield* Echo.echo({ message: "hello" })
      assert.deepStrictEqual(out, { echoed: "hello", length: 5 })
    }).pipe(Effect.provide(layer))
  })

  it.effect("decodes one JSON text block, and plain text for a string output", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Echo.json_text({ n: 21 }), { doubled: 42 })
      assert.strictEqual(yield* Echo.plain_text({ name: "ada" }), "hello ada")
    }).pipe(Effect.provide(layer))
  })

  it.effect("schema drift is InvalidOutput naming server, tool and the issue path", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      const reason = reasonOf(yield* Effect.exit(Echo.drifted({})))
      assert.strictEqual(reason._tag, "InvalidOutput")
      if (reason._tag !== "InvalidOutput") return
      assert.strictEqual(reason.path, "items.1.name")
      assert.include(reason.message, "echo.drifted")
      assert.include(reason.message, "items.1.name")
    }).pipe(Effect.provide(layer))
  })

  it.effect("bad input is InvalidInput and nothing is sent", () => {
    const { layer, state } = setup()
    return Effect.gen(function*() {
      const reason = reasonOf(yield* Effect.exit(Positive({ message: "no" })))
      assert.strictEqual(reason._tag, "InvalidInput")
      if (reason._tag === "InvalidInput") assert.strictEqual(reason.path, "message")
      assert.strictEqual(state.calls.length, 0)
    }).pipe(Effect.provide(layer))
  })

  it.effect("isError is ToolFailed with the server's text; rate-limit text is RateLimited", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      const failed = reasonOf(yield* Effect.exit(Echo.fail({ text: "disk full" })))
      assert.strictEqual(failed._tag, "ToolFailed")
      if (failed._tag === "ToolFailed") assert.strictEqual(failed.text, "disk full")
      const limited = reasonOf(yield* Effect.exit(Echo.fail({ text: "Too many requests: retry after 3s" })))
      assert.strictEqual(limited._tag, "RateLimited")
      if (limited._tag === "RateLimited") assert.strictEqual(limited.retryAfterMs, 3000)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a call outside the allowlist is NotAllowed and nothing is sent", () => {
    const { layer, state } = setup({ allow: ["echo.json_*"] })
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Echo.json_text({ n: 1 }), { doubled: 2 })
      const reason = reasonOf(yield* Effect.exit(Echo.echo({ message: "x" })))
      assert.strictEqual(reason._tag, "NotAllowed")
      assert.deepStrictEqual(state.calls.map((c) => c.tool), ["json_text"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("an allowlist given to the layer narrows the config's", () => {
    const state = makeEchoState()
    const layer = GatewayLayer.layer(
      { servers: { echo: { type: "in-process", make: makeEchoServer(state) } }, allow: ["echo.*"] },
      { allow: ["echo.plain_text"] }
    )
    return Effect.gen(function*() {
      assert.strictEqual(yield* Echo.plain_text({ name: "x" }), "hello x")
      assert.strictEqual(reasonOf(yield* Effect.exit(Echo.echo({ message: "x" })))._tag, "NotAllowed")
    }).pipe(Effect.provide(layer))
  })

  it.effect("unknown tools and unknown servers are UnknownTool", () => {
    const { layer } = setup()
    const Elsewhere = Tool.make({ server: "nowhere", name: "x", description: "", input: Schema.Struct({}), output: Schema.String })
    return Effect.gen(function*() {
      assert.strictEqual(reasonOf(yield* Effect.exit(Echo.missing({})))._tag, "UnknownTool")
      const reason = reasonOf(yield* Effect.exit(Elsewhere({})))
      assert.strictEqual(reason._tag, "UnknownTool")
      assert.include(reason.message, "no server 'nowhere' is configured (configured: echo)")
    }).pipe(Effect.provide(layer))
  })

  it.effect("a call that never answers times out on virtual time and is cancelled on the server", () => {
    const { layer, state } = setup({ callTimeoutMs: 5_000 })
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Effect.exit(Echo.hang({})))
      yield* waitFor(state, (s) => s.hangSignals.length === 1)
      yield* TestClock.adjust("4999 millis")
      assert.isFalse(state.hangSignals[0]!.aborted)
      yield* TestClock.adjust("1 millis")
      const reason = reasonOf(yield* Fiber.join(fiber))
      assert.strictEqual(reason._tag, "Timeout")
      if (reason._tag === "Timeout") {
        assert.strictEqual(reason.afterMs, 5000)
        assert.strictEqual(reason.phase, "call")
      }
      yield* waitFor(state, (s) => s.hangSignals[0]!.aborted)
    }).pipe(Effect.provide(layer))
  })

  it.effect("interrupting a call cancels it on the server", () => {
    const { layer, state } = setup()
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Echo.hang({}))
      yield* waitFor(state, (s) => s.hangSignals.length === 1)
      yield* Fiber.interrupt(fiber)
      yield* waitFor(state, (s) => s.hangSignals[0]!.aborted)
    }).pipe(Effect.provide(layer))
  })

  it.effect("progress reaches the caller as events and, when asked, extends the timeout up to a total", () => {
    const { layer, state } = setup()
    const events: Array<GatewayEvent> = []
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(
        Effect.exit(Echo.slow({}, { timeout: "1 second", resetTimeoutOnProgress: true, maxTotalTimeout: "2500 millis", label: "s1" }))
      )
      yield* waitFor(state, (s) => s.slow.length === 1)
      for (let i = 0; i < 2; i++) {
        yield* TestClock.adjust("900 millis")
        yield* Effect.promise(() => state.slow[0]!.progress())
        yield* Effect.promise(() => new Promise<void>((r) => setImmediate(r)))
      }
      assert.deepStrictEqual(
        events.filter((e) => e._tag === "ToolProgress").map((e) => e._tag === "ToolProgress" ? [e.progress, e.label] : []),
        [[1, "s1"], [2, "s1"]]
      )
      // 1800 ms in: progress kept it alive past the 1 s timeout; the 2.5 s total still applies.
      yield* TestClock.adjust("700 millis")
      const reason = reasonOf(yield* Fiber.join(fiber))
      assert.strictEqual(reason._tag, "Timeout")
      if (reason._tag === "Timeout") assert.strictEqual(reason.phase, "total")
    }).pipe(Effect.provide(layer), Effect.provideService(GatewayEvents, { emit: (e) => events.push(e) }))
  })

  it.effect("a dropped connection fails the in-flight call with ConnectionLost; the next call reconnects", () => {
    const { layer, state, links } = setup()
    return Effect.gen(function*() {
      const gateway = yield* McpGateway
      assert.deepStrictEqual(yield* Echo.echo({ message: "a" }), { echoed: "a", length: 1 })
      const fiber = yield* Effect.forkChild(Effect.exit(Echo.hang({})))
      yield* waitFor(state, (s) => s.hangSignals.length === 1)
      yield* Effect.promise(() => links.transports[0]!.close())
      const reason = reasonOf(yield* Fiber.join(fiber))
      assert.strictEqual(reason._tag, "ConnectionLost")
      assert.isTrue(reason._tag === "ConnectionLost" && reason.server === "echo")
      assert.strictEqual((yield* gateway.status)[0]!.state, "disconnected")
      assert.deepStrictEqual(yield* Echo.echo({ message: "b" }), { echoed: "b", length: 1 })
      assert.strictEqual(state.instances, 2)
      const status = (yield* gateway.status)[0]!
      assert.strictEqual(status.state, "connected")
      assert.strictEqual(status.connects, 2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a reconnection retries with a bounded backoff: 3 attempts, 100 ms then 200 ms apart", () => {
    const state = makeEchoState()
    const links: Links = { transports: [] }
    const events: Array<GatewayEvent> = []
    let makes = 0
    const echoServer = makeEchoServer(state)
    const layer = GatewayLayer.layer({
      servers: {
        echo: {
          type: "in-process",
          make: () => {
            if (++makes > 1) throw new Error("server will not start")
            return echoServer()
          },
          wrapTransport: (t) => {
            links.transports.push(t)
            return t
          }
        }
      }
    })
    const attempts = () => events.flatMap((e) => e._tag === "ServerConnecting" ? [e.attempt] : [])
    const settle = Effect.promise(() => new Promise<void>((r) => setImmediate(r)))
    return Effect.gen(function*() {
      yield* Echo.echo({ message: "a" })
      assert.deepStrictEqual(attempts(), [1])
      yield* Effect.promise(() => links.transports[0]!.close())
      const fiber = yield* Effect.forkChild(Effect.exit(Echo.echo({ message: "b" })))
      yield* settle
      assert.deepStrictEqual(attempts(), [1, 1])
      yield* TestClock.adjust("99 millis")
      yield* settle
      assert.deepStrictEqual(attempts(), [1, 1])
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.deepStrictEqual(attempts(), [1, 1, 2])
      yield* TestClock.adjust("199 millis")
      yield* settle
      assert.deepStrictEqual(attempts(), [1, 1, 2])
      yield* TestClock.adjust("1 millis")
      const reason = reasonOf(yield* Fiber.join(fiber))
      assert.deepStrictEqual(attempts(), [1, 1, 2, 3])
      assert.strictEqual(reason._tag, "ServerUnavailable")
      assert.strictEqual(makes, 4)
    }).pipe(Effect.provide(layer), Effect.provideService(GatewayEvents, { emit: (e) => events.push(e) }))
  })

  it.effect("servers connect lazily and are closed with the layer's scope", () => {
    const { layer, state, links } = setup()
    return Effect.gen(function*() {
      let closed = false
      yield* Effect.scoped(
        Effect.gen(function*() {
          const context = yield* Layer.build(layer)
          const gateway = Layer.succeedContext(context)
          assert.strictEqual(state.instances, 0)
          yield* Echo.echo({ message: "x" }).pipe(Effect.provide(gateway))
          assert.strictEqual(state.instances, 1)
          const transport = links.transports[0]!
          const previous = transport.onclose
          transport.onclose = () => {
            closed = true
            previous?.()
          }
        })
      )
      assert.isTrue(closed)
    })
  })

  it.effect("checkContracts reports missing tools and input disagreements", () => {
    const { layer } = setup()
    const WrongInput = Tool.make({
      server: "echo",
      name: "echo",
      description: "",
      input: Schema.Struct({ text: Schema.String }),
      output: Schema.String
    })
    return Effect.gen(function*() {
      const gateway = yield* McpGateway
      const mismatches = yield* gateway.checkContracts([Echo.echo, Echo.missing, WrongInput])
      assert.deepStrictEqual(
        mismatches.map((m) => [m.kind, m.tool, m.field]),
        [
          ["MissingTool", "missing", undefined],
          ["MissingRequiredInput", "echo", "message"],
          ["UnknownInputField", "echo", "text"]
        ]
      )
    }).pipe(Effect.provide(layer))
  })
})
