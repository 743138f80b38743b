/**
 * End-to-end tests of the gateway over stdio, against the real MCP reference servers from npm
 * (`server-memory`, `server-filesystem`, `server-everything`), run by this process's Node
 * binary. No network. These talk to real processes, so they run on real time (`it.live`); waits
 * are event-driven (gateway events) and bounded. Every server process a test saw must be gone
 * once its gateway layer's scope has closed.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Clock, Duration, Effect, Exit, Fiber, Schedule, Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import type { McpflowToolError } from "../../dsl/ToolError.ts"
import {
  Everything,
  Filesystem,
  Memory,
  referenceContracts,
  referenceServers,
  TextContent
} from "../../flows/servers/reference.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { type GatewayEvent, GatewayEvents, McpGateway, type ServerStatus } from "../../dsl/ports/McpGateway.ts"
import type { GatewayConfig } from "../../src/runtime/gateway/ServerConfig.ts"

// --- temp dirs ---------------------------------------------------------------------------------

let base = ""

beforeAll(async () => {
  // The filesystem server resolves symlinks (macOS: /tmp -> /private/tmp); use the real path.
  base = await fs.promises.realpath(await fs.promises.mkdtemp(path.join(os.tmpdir(), "mcpflow-e2e-")))
})

/** Every server pid any test saw, to kill as a last resort (the tests assert there are none). */
const everyPid = new Set<number>()

afterAll(async () => {
  for (const pid of everyPid) if (isAlive(pid)) process.kill(pid, "SIGKILL")
  if (base) await fs.promises.rm(base, { recursive: true, force: true })
})

const tempDir = (prefix: string) => Effect.sync(() => fs.mkdtempSync(path.join(base, prefix)))

const servers = (dir: string, limits?: { readonly connectTimeoutMs?: number }) =>
  referenceServers({ memoryFile: path.join(dir, "memory.jsonl"), allowedDir: dir, limits })

// --- processes ---------------------------------------------------------------------------------

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH"
  }
}

/**
 * Waits (bounded) until none of the pids is alive. The gateway's finalizer awaits each close,
 * which ends stdin, then ends the server's process group (SIGTERM after 1 s, SIGKILL 2 s
 * later); a short poll covers a SIGKILLed process not yet gone.
 */
const assertExited = (pids: ReadonlySet<number>) =>
  Effect.suspend(() => {
    const alive = [...pids].filter(isAlive)
    return alive.length === 0 ? Effect.void : Effect.fail(alive)
  }).pipe(
    Effect.retry({ schedule: Schedule.spaced("25 millis"), times: 80 }),
    Effect.catch((alive) => Effect.sync(() => assert.fail(`server processes still running: ${alive.join(", ")}`)))
  )

// --- events ------------------------------------------------------------------------------------

interface Harness {
  readonly events: Array<GatewayEvent>
  /** Pids seen in `ServerConnected` events and in `gateway.status`. */
  readonly pids: Set<number>
  readonly sink: { readonly emit: (event: GatewayEvent) => void }
  /** The first event (past or future) that satisfies `predicate`; dies after `within`. */
  readonly waitFor: <E extends GatewayEvent>(
    predicate: (event: GatewayEvent) => event is E,
    within?: Duration.Input
  ) => Effect.Effect<E>
  /** Reads `gateway.status`, remembering its pids. */
  readonly status: (server: string) => Effect.Effect<ServerStatus, never, McpGateway>
}

const makeHarness = (): Harness => {
  const events: Array<GatewayEvent> = []
  const pids = new Set<number>()
  const listeners = new Set<(event: GatewayEvent) => void>()
  const addPid = (pid: number | undefined) => {
    if (pid === undefined) return
    pids.add(pid)
    everyPid.add(pid)
  }
  const sink = {
    emit: (event: GatewayEvent) => {
      events.push(event)
      if (event._tag === "ServerConnected") addPid(event.pid)
      for (const listener of listeners) listener(event)
    }
  }
  const waitFor = <E extends GatewayEvent>(predicate: (event: GatewayEvent) => event is E, within: Duration.Input = "5 seconds") =>
    Effect.callback<E>((resume) => {
      const seen = events.find(predicate)
      if (seen !== undefined) return resume(Effect.succeed(seen))
      const listener = (event: GatewayEvent) => {
        if (!predicate(event)) return
        listeners.delete(listener)
        resume(Effect.succeed(event))
      }
      listeners.add(listener)
      return Effect.sync(() => {
        listeners.delete(listener)
      })
    }).pipe(
      Effect.timeoutOrElse({
        duration: within,
        orElse: () => Effect.die(new Error(`no matching gateway event within ${Duration.format(Duration.fromInputUnsafe(within))}`))
      })
    )
  const status = (server: string) =>
    McpGateway.use((gateway) => gateway.status).pipe(
      Effect.map((all) => {
        for (const s of all) addPid(s.pid)
        const found = all.find((s) => s.server === server)
        assert.isDefined(found, `no status for ${server}`)
        return found!
      })
    )
  return { events, pids, sink, waitFor, status }
}

const isTag = <T extends GatewayEvent["_tag"]>(tag: T) => (event: GatewayEvent): event is Extract<GatewayEvent, { _tag: T }> =>
  event._tag === tag

/**
 * Runs `body` with a gateway over `config` and events going to a fresh harness; once the
 * layer's scope has closed, asserts that every server process seen is gone.
 */
const withGateway = <A, E>(
  config: GatewayConfig["servers"],
  body: (harness: Harness) => Effect.Effect<A, E, McpGateway>
) =>
  Effect.gen(function*() {
    const harness = makeHarness()
    const result = yield* Effect.gen(function*() {
      const a = yield* body(harness)
      for (const key of Object.keys(config)) yield* harness.status(key)
      return a
    }).pipe(Effect.provide(GatewayLayer.layer({ servers: config })), Effect.provideService(GatewayEvents, harness.sink))
    yield* assertExited(harness.pids)
    return result
  })

// --- results -----------------------------------------------------------------------------------

const reasonOf = <A>(exit: Exit.Exit<A, McpflowToolError>) => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const fail = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  assert.isDefined(fail, `expected a typed failure, got ${Exit.isFailure(exit) ? String(exit.cause) : ""}`)
  return (fail as { readonly error: McpflowToolError }).error.reason
}

const within = (duration: Duration.Input, what: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(self, { duration, orElse: () => Effect.die(new Error(`${what} did not finish in time`)) })

/** The top level of a JSON Schema, as far as the output comparison needs it. */
interface ObjectSchema {
  readonly type?: unknown
  readonly properties?: Readonly<Record<string, unknown>>
  readonly required?: ReadonlyArray<string>
}

const progressOf = (events: ReadonlyArray<GatewayEvent>, label: string) =>
  events.flatMap((e) => (e._tag === "ToolProgress" && e.label === label ? [e] : []))

// --- tests -------------------------------------------------------------------------------------

describe("gateway over stdio with the MCP reference servers", () => {
  it.live("memory: create_entities, create_relations and read_graph decode against the contracts", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("memory-")
      const ada = { name: "ada", entityType: "person", observations: ["wrote the first program"] }
      const babbage = { name: "babbage", entityType: "person", observations: ["designed the analytical engine"] }
      const worked = { from: "ada", to: "babbage", relationType: "worked_with" }
      yield* withGateway({ memory: servers(dir).memory! }, () =>
        Effect.gen(function*() {
          assert.deepStrictEqual(yield* Memory.create_entities({ entities: [ada, babbage] }), { entities: [ada, babbage] })
          // Already there: the server creates (and returns) nothing.
          assert.deepStrictEqual(yield* Memory.create_entities({ entities: [ada] }), { entities: [] })
          assert.deepStrictEqual(yield* Memory.create_relations({ relations: [worked] }), { relations: [worked] })
          assert.deepStrictEqual(yield* Memory.read_graph({}), { entities: [ada, babbage], relations: [worked] })
          const found = yield* Memory.search_nodes({ query: "analytical" })
          // A search returns the relations touching what it found.
          assert.deepStrictEqual(found, { entities: [babbage], relations: [worked] })
        }))
      // MEMORY_FILE_PATH reached the server (a Redacted env value).
      assert.include(fs.readFileSync(path.join(dir, "memory.jsonl"), "utf8"), "wrote the first program")
    }))

  it.live("filesystem: writes and reads back a file; a path outside the allowed dir is ToolFailed", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("allowed-")
      const outside = yield* tempDir("outside-")
      const secret = path.join(outside, "secret.txt")
      fs.writeFileSync(secret, "not for you")
      const file = path.join(dir, "note.txt")
      yield* withGateway({ filesystem: servers(dir).filesystem! }, () =>
        Effect.gen(function*() {
          const written = yield* Filesystem.write_file({ path: file, content: "one\ntwo\nthree" })
          assert.include(written.content, "note.txt")
          assert.deepStrictEqual(yield* Filesystem.read_text_file({ path: file }), { content: "one\ntwo\nthree" })
          assert.deepStrictEqual(yield* Filesystem.read_text_file({ path: file, head: 1 }), { content: "one" })
          const listing = yield* Filesystem.list_directory({ path: dir })
          assert.include(listing.content.split("\n"), "[FILE] note.txt")

          const reason = reasonOf(yield* Effect.exit(Filesystem.read_text_file({ path: secret })))
          assert.strictEqual(reason._tag, "ToolFailed")
          if (reason._tag !== "ToolFailed") return
          assert.strictEqual(reason.server, "filesystem")
          assert.strictEqual(reason.tool, "read_text_file")
          assert.match(reason.text, /outside allowed directories/)
          assert.notInclude(reason.text, "not for you")
        }))
      assert.strictEqual(fs.readFileSync(file, "utf8"), "one\ntwo\nthree")
    }))

  it.live("everything: echo, get-sum and get-structured-content", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("everything-")
      yield* withGateway({ everything: servers(dir).everything! }, () =>
        Effect.gen(function*() {
          assert.strictEqual(yield* Everything.echo({ message: "hello" }), "Echo: hello")
          assert.strictEqual(yield* Everything.sum({ a: 1, b: 2.5 }), "The sum of 1 and 2.5 is 3.5.")
          const weather = yield* Everything.structuredContent({ location: "Chicago" })
          assert.deepStrictEqual(Object.keys(weather).sort(), ["conditions", "humidity", "temperature"])
          assert.isNumber(weather.temperature)
          assert.isString(weather.conditions)
        }))
    }))

  it.live("everything: a long-running operation reports progress; a shorter timeout is Timeout; progress can extend it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("everything-")
      yield* withGateway({ everything: servers(dir).everything! }, (harness) =>
        Effect.gen(function*() {
          // Connect first, so the timings below are the call's own.
          assert.strictEqual(yield* Everything.echo({ message: "warm-up" }), "Echo: warm-up")
          // 6 steps of 200 ms: progress at ~200, 400, 600 ms, then the 700 ms timeout.
          const startedAt = yield* Clock.currentTimeMillis
          const exit = yield* Effect.exit(
            Everything.longRunning({ duration: 1.2, steps: 6 }, { timeout: "700 millis", label: "short" })
          )
          const elapsed = (yield* Clock.currentTimeMillis) - startedAt
          const reason = reasonOf(exit)
          assert.strictEqual(reason._tag, "Timeout")
          if (reason._tag !== "Timeout") return
          assert.strictEqual(reason.phase, "call")
          assert.strictEqual(reason.afterMs, 700)
          assert.strictEqual(reason.tool, "trigger-long-running-operation")
          assert.isAtLeast(elapsed, 690)
          assert.isBelow(elapsed, 1200, "the call should fail before the operation ends")
          const short = progressOf(harness.events, "short")
          assert.isAtLeast(short.length, 1, "progress arrived before the timeout")
          assert.deepStrictEqual(short.map((e) => [e.server, e.tool, e.total]), short.map(() => ["everything", "trigger-long-running-operation", 6]))
          assert.deepStrictEqual(short.map((e) => e.progress), short.map((_, i) => i + 1))

          // 4 steps of 250 ms: 1 s in all, longer than the 800 ms timeout, which progress restarts.
          const done = yield* Everything.longRunning(
            { duration: 1, steps: 4 },
            { timeout: "800 millis", resetTimeoutOnProgress: true, maxTotalTimeout: "5 seconds", label: "extended" }
          )
          assert.strictEqual(done, "Long running operation completed. Duration: 1 seconds, Steps: 4.")
          // The last step's notification races the result and may be dropped by the SDK.
          assert.deepStrictEqual(progressOf(harness.events, "extended").map((e) => [e.progress, e.total]).slice(0, 3), [[1, 4], [2, 4], [3, 4]])
        }))
    }))

  it.live("a killed server fails the in-flight call with ConnectionLost; the next call reconnects", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("everything-")
      yield* withGateway({ everything: servers(dir).everything! }, (harness) =>
        Effect.gen(function*() {
          assert.strictEqual(yield* Everything.echo({ message: "before" }), "Echo: before")
          const first = yield* harness.status("everything")
          assert.strictEqual(first.state, "connected")
          assert.strictEqual(first.connects, 1)
          const pid = first.pid
          assert.isNumber(pid)
          assert.strictEqual((yield* harness.waitFor(isTag("ServerConnected"))).pid, pid)

          const call = yield* Effect.forkChild(
            Effect.exit(Everything.longRunning({ duration: 10, steps: 40 }, { label: "doomed" }))
          )
          // The server is working on it once it reports progress.
          yield* harness.waitFor((e): e is GatewayEvent => e._tag === "ToolProgress" && e.label === "doomed")
          process.kill(pid!, "SIGKILL")

          const reason = reasonOf(yield* Fiber.join(call).pipe(within("5 seconds", "the in-flight call")))
          assert.strictEqual(reason._tag, "ConnectionLost")
          assert.strictEqual(reason.server, "everything")
          assert.strictEqual(reason.tool, "trigger-long-running-operation")
          yield* harness.waitFor(isTag("ServerDisconnected"))
          const lost = yield* harness.status("everything")
          assert.strictEqual(lost.state, "disconnected")
          assert.strictEqual(lost.connects, 1)

          assert.strictEqual(yield* Everything.echo({ message: "after" }), "Echo: after")
          const again = yield* harness.status("everything")
          assert.strictEqual(again.state, "connected")
          assert.strictEqual(again.connects, 2)
          assert.isNumber(again.pid)
          assert.notStrictEqual(again.pid, pid)
          assert.isFalse(isAlive(pid!), "the killed server is gone")
        }))
    }))

  it.live("a server whose command does not exist is ServerUnavailable, well within the connect timeout", () =>
    Effect.gen(function*() {
      const missing = path.join(base, "no-such-mcp-server")
      const Ghost = Tool.make({
        server: "ghost",
        name: "ping",
        description: "Nothing answers",
        input: Schema.Struct({}),
        output: Schema.String
      })
      yield* withGateway(
        { ghost: { type: "stdio", command: missing, args: [], env: {}, connectTimeoutMs: 5_000 } },
        (harness) =>
          Effect.gen(function*() {
            const startedAt = yield* Clock.currentTimeMillis
            const reason = reasonOf(yield* Effect.exit(Ghost({})))
            const elapsed = (yield* Clock.currentTimeMillis) - startedAt
            assert.strictEqual(reason._tag, "ServerUnavailable")
            if (reason._tag !== "ServerUnavailable") return
            assert.strictEqual(reason.server, "ghost")
            assert.include(reason.message, "server 'ghost' is unavailable")
            assert.include(reason.detail, "ENOENT")
            assert.isBelow(elapsed, 2_000, "failed fast instead of waiting for the 5 s connect timeout")
            assert.deepStrictEqual(
              harness.events.map((e) => e._tag),
              ["ServerConnecting"],
              "one attempt: nothing connected before, so no reconnect backoff"
            )
            const status = yield* harness.status("ghost")
            assert.strictEqual(status.connects, 0)
            assert.isUndefined(status.pid)
          })
      )
    }))

  it.live("a server that never answers the handshake is ServerUnavailable and is gone once the layer closes", () =>
    Effect.gen(function*() {
      // Starts, prints its pid, ignores stdin (and its end) and never speaks MCP.
      const script = "process.stderr.write(process.pid + '\\n'); setInterval(() => {}, 60_000)"
      const pid = yield* withGateway(
        { mute: { type: "stdio", command: process.execPath, args: ["-e", script], env: {}, connectTimeoutMs: 500 } },
        (harness) =>
          Effect.gen(function*() {
            const gateway = yield* McpGateway
            const reason = reasonOf(yield* Effect.exit(gateway.callRaw("mute", "anything", {})))
            assert.strictEqual(reason._tag, "ServerUnavailable")
            assert.include(reason.message, "server 'mute' is unavailable: no answer to the MCP handshake within 500 ms")
            const log = yield* harness.waitFor(isTag("ServerLog"))
            const pid = Number(log.data)
            assert.isTrue(Number.isInteger(pid) && pid > 0, `a pid on stderr, got ${String(log.data)}`)
            everyPid.add(pid)
            assert.strictEqual((yield* harness.status("mute")).connects, 0)
            return pid
          })
      )
      // Not polled: closing the layer must wait for the abandoned attempt's process to be gone
      // (the SDK ends stdin, then SIGTERMs it after 2 s).
      assert.isFalse(isAlive(pid), "the server of the abandoned handshake outlived the gateway")
    }))

  it.live("checkContracts: the reference contracts match the real servers; a drifted contract does not", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("contracts-")
      const Drifted = Tool.server("filesystem", {
        read_text_file: Tool.define({
          description: "Renamed its input",
          input: Schema.Struct({ file: Schema.String }),
          output: TextContent
        }),
        delete_file: Tool.define({ description: "Not published", input: Schema.Struct({ path: Schema.String }), output: TextContent })
      })
      const WrongSum = Tool.make({
        server: "everything",
        name: "get-sum",
        description: "Optional where the server requires",
        input: Schema.Struct({ a: Schema.Number, b: Schema.optionalKey(Schema.Number) }),
        output: Schema.String
      })
      yield* withGateway(servers(dir), (harness) =>
        Effect.gen(function*() {
          const gateway = yield* McpGateway
          assert.deepStrictEqual(yield* gateway.checkContracts(referenceContracts), [])
          // checkContracts compares inputs; outputs are compared here, one level deep: a tool
          // with an outputSchema has the contract's fields, a tool without one answers text.
          for (const contract of referenceContracts) {
            const published = (yield* gateway.listTools(contract.server)).find((t) => t.name === contract.tool)
            assert.isDefined(published, contract.name)
            const ours = contract.outputJsonSchema() as ObjectSchema
            if (published!.outputSchema === undefined) {
              assert.strictEqual(ours.type, "string", `${contract.name} answers text`)
              continue
            }
            const theirs = published!.outputSchema as ObjectSchema
            assert.deepStrictEqual(Object.keys(ours.properties ?? {}).sort(), Object.keys(theirs.properties ?? {}).sort(), contract.name)
            assert.deepStrictEqual([...(ours.required ?? [])].sort(), [...(theirs.required ?? [])].sort(), contract.name)
          }
          const mismatches = yield* gateway.checkContracts([...Tool.contractsOf(Drifted), WrongSum])
          assert.deepStrictEqual(
            mismatches.map((m) => [m.kind, m.server, m.tool, m.field]),
            [
              ["MissingRequiredInput", "filesystem", "read_text_file", "path"],
              ["UnknownInputField", "filesystem", "read_text_file", "file"],
              ["MissingTool", "filesystem", "delete_file", undefined],
              ["MissingRequiredInput", "everything", "get-sum", "b"]
            ]
          )
          for (const key of ["memory", "filesystem", "everything"]) {
            assert.strictEqual((yield* harness.status(key)).state, "connected")
          }
          assert.strictEqual(harness.pids.size, 3)
        }))
    }))
})
