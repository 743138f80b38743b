import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Redacted } from "effect"
import fc from "fast-check"
import {
  decodeMcpJson,
  expandVariables,
  loadMcpJson,
  McpflowConfigError
} from "../src/runtime/gateway/McpJson.ts"
import { matchesAllowlist } from "../src/runtime/gateway/Allowlist.ts"
import type { HttpServerConfig, ServerConfig, StdioServerConfig } from "../src/runtime/gateway/ServerConfig.ts"

const env = { TOKEN: "s3cr3t-t0k3n", EMPTY: "", HOST: "example.com" }

const decode = (json: unknown, vars: Record<string, string | undefined> = env) =>
  decodeMcpJson(json, { env: vars, file: ".mcp.json" })

const decodeError = (json: unknown, vars?: Record<string, string | undefined>) => Effect.flip(decode(json, vars))

const server = (json: unknown, key: string) =>
  Effect.map(decode(json), (config): ServerConfig | undefined => config.servers[key])

const stdio = (config: ServerConfig | undefined): StdioServerConfig => {
  assert.strictEqual(config?.type, "stdio")
  return config as StdioServerConfig
}

const http = (config: ServerConfig | undefined): HttpServerConfig => {
  assert.oneOf(config?.type, ["http", "sse"])
  return config as HttpServerConfig
}

const reveal = (values: Readonly<Record<string, Redacted.Redacted<string>>>) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Redacted.value(v)]))

describe("decodeMcpJson: transports", () => {
  it.effect("decodes a stdio entry, with or without type", () =>
    Effect.gen(function*() {
      const json = {
        mcpServers: {
          fs: { command: "npx", args: ["-y", "server-fs", "."], env: { A: "1" }, cwd: "/srv" },
          bare: { type: "stdio", command: "mcp-bare" }
        }
      }
      const fs = stdio(yield* server(json, "fs"))
      assert.strictEqual(fs.command, "npx")
      assert.deepStrictEqual(fs.args, ["-y", "server-fs", "."])
      assert.deepStrictEqual(reveal(fs.env), { A: "1" })
      assert.strictEqual(fs.cwd, "/srv")
      const bare = stdio(yield* server(json, "bare"))
      assert.deepStrictEqual([bare.args, reveal(bare.env), "cwd" in bare], [[], {}, false])
    }))

  it.effect("decodes http (also as streamable-http, or implied by url) and sse entries", () =>
    Effect.gen(function*() {
      const json = {
        mcpServers: {
          remote: { type: "http", url: "https://a.example/mcp", headers: { "X-Key": "k" } },
          alias: { type: "streamable-http", url: "https://b.example/mcp" },
          implied: { url: "https://c.example/mcp" },
          legacy: { type: "sse", url: "https://d.example/sse" }
        }
      }
      const remote = http(yield* server(json, "remote"))
      assert.deepStrictEqual([remote.type, remote.url, reveal(remote.headers)], ["http", "https://a.example/mcp", {
        "X-Key": "k"
      }])
      assert.strictEqual(http(yield* server(json, "alias")).type, "http")
      assert.strictEqual(http(yield* server(json, "implied")).type, "http")
      assert.deepStrictEqual(http(yield* server(json, "legacy")).type, "sse")
    }))

  it.effect("ignores fields other clients add, and unknown top-level keys", () =>
    Effect.gen(function*() {
      const config = yield* decode({ mcpServers: { a: { command: "x", disabled: true, alwaysAllow: ["t"] } }, theme: 1 })
      assert.deepStrictEqual(Object.keys(config.servers), ["a"])
      assert.isUndefined(config.allow)
    }))

  it.effect("keeps a __proto__ server key as an ordinary key", () =>
    Effect.gen(function*() {
      const config = yield* decode(JSON.parse(`{"mcpServers": {"__proto__": {"command": "x"}}}`))
      assert.isTrue(Object.hasOwn(config.servers, "__proto__"))
      assert.strictEqual(Object.getPrototypeOf(config.servers), Object.prototype)
      assert.strictEqual(stdio(config.servers["__proto__"]).command, "x")
    }))
})

describe("decodeMcpJson: errors", () => {
  it.effect("names the field of a wrong type", () =>
    Effect.gen(function*() {
      const url = yield* decodeError({ mcpServers: { github: { url: 42 } } })
      assert.instanceOf(url, McpflowConfigError)
      assert.strictEqual(url.message, ".mcp.json: mcpServers.github.url: Expected a string, got 42")
      const arg = yield* decodeError({ mcpServers: { a: { command: "x", args: ["ok", 1] } } })
      assert.deepStrictEqual([arg.file, arg.path, arg.detail], [".mcp.json", "mcpServers.a.args.1", "Expected a string, got 1"])
      const args = yield* decodeError({ mcpServers: { a: { command: "x", args: "--flag" } } })
      assert.deepStrictEqual([args.path, args.detail], ["mcpServers.a.args", `Expected an array, got "--flag"`])
      const type = yield* decodeError({ mcpServers: { a: { type: "websocket", url: "ws://x" } } })
      assert.strictEqual(type.path, "mcpServers.a.type")
      assert.include(type.detail, `"websocket"`)
      const missingUrl = yield* decodeError({ mcpServers: { a: { type: "http" } } })
      assert.deepStrictEqual([missingUrl.path, missingUrl.detail], ["mcpServers.a.url", "Missing required field"])
    }))

  it.effect("rejects a missing or non-object mcpServers, and non-object files", () =>
    Effect.gen(function*() {
      const missing = yield* decodeError({ servers: {} })
      assert.deepStrictEqual([missing.path, missing.detail], ["mcpServers", "Missing required field"])
      const array = yield* decodeError({ mcpServers: [] })
      assert.deepStrictEqual([array.path, array.detail], ["mcpServers", "Expected an object, got an array"])
      const nil = yield* decodeError(null)
      assert.deepStrictEqual([nil.path, nil.message], ["", ".mcp.json: Expected an object, got null"])
      const entry = yield* decodeError({ mcpServers: { a: "npx server" } })
      assert.strictEqual(entry.path, "mcpServers.a")
    }))

  it.effect("rejects a bad server key, naming it", () =>
    Effect.gen(function*() {
      const error = yield* decodeError({ mcpServers: { "my server": { command: "x" } } })
      assert.strictEqual(error.path, `mcpServers["my server"]`)
      assert.include(error.detail, "server key")
    }))

  it.effect("rejects an entry with neither command nor url, or with both", () =>
    Effect.gen(function*() {
      const neither = yield* decodeError({ mcpServers: { empty: { args: ["x"] } } })
      assert.strictEqual(neither.path, "mcpServers.empty")
      assert.match(neither.detail, /"command".*"url"/)
      const both = yield* decodeError({ mcpServers: { both: { command: "x", url: "http://y" } } })
      assert.strictEqual(both.path, "mcpServers.both")
      assert.include(both.detail, `"type"`)
    }))

  it.effect("does not show a mistyped env or header value", () =>
    Effect.gen(function*() {
      const error = yield* decodeError({ mcpServers: { a: { url: "u", headers: { Authorization: 123456789 } } } })
      assert.strictEqual(error.path, "mcpServers.a.headers.Authorization")
      assert.notInclude(error.message, "123456789")
    }))
})

describe("variable expansion", () => {
  it.effect("expands ${VAR} and ${VAR:-default} with shell semantics", () =>
    Effect.gen(function*() {
      const vars = { SET: "value", EMPTY: "" }
      const expand = (text: string) => expandVariables(text, vars, "p")
      assert.strictEqual(yield* expand("a-${SET}-b"), "a-value-b")
      assert.strictEqual(yield* expand("${SET:-fallback}"), "value")
      assert.strictEqual(yield* expand("${UNSET:-fallback}"), "fallback")
      assert.strictEqual(yield* expand("${EMPTY:-fallback}"), "fallback")
      assert.strictEqual(yield* expand("[${EMPTY}]"), "[]")
      assert.strictEqual(yield* expand("${UNSET:-}"), "")
      assert.strictEqual(yield* expand("$SET and $ and ${SET}${SET}"), "$SET and $ and valuevalue")
      assert.strictEqual(yield* expand("${constructor:-safe}"), "safe")
    }))

  it.effect("fails on an unset variable or a malformed reference, naming the path", () =>
    Effect.gen(function*() {
      const unset = yield* Effect.flip(expandVariables("${NOPE}", {}, "mcpServers.github.env.TOKEN"))
      assert.strictEqual(unset.path, "mcpServers.github.env.TOKEN")
      assert.include(unset.detail, "NOPE")
      const open = yield* Effect.flip(expandVariables("x${NOPE", {}, "p"))
      assert.include(open.detail, `"}"`)
      const bad = yield* Effect.flip(expandVariables("${1X}", {}, "p"))
      assert.include(bad.detail, "${1X}")
    }))

  it.effect("applies to command, args, env, cwd, url and headers", () =>
    Effect.gen(function*() {
      const json = {
        mcpServers: {
          local: {
            command: "${HOST}-bin",
            args: ["--host=${HOST}", "${MISSING:-dflt}"],
            env: { TOKEN: "${TOKEN}", MODE: "${EMPTY:-prod}" },
            cwd: "/srv/${HOST}"
          },
          remote: { url: "https://${HOST}/mcp", headers: { Authorization: "Bearer ${TOKEN}" } }
        }
      }
      const local = stdio(yield* server(json, "local"))
      assert.deepStrictEqual([local.command, local.args, local.cwd], ["example.com-bin", [
        "--host=example.com",
        "dflt"
      ], "/srv/example.com"])
      assert.deepStrictEqual(reveal(local.env), { TOKEN: env.TOKEN, MODE: "prod" })
      const remote = http(yield* server(json, "remote"))
      assert.strictEqual(remote.url, "https://example.com/mcp")
      assert.deepStrictEqual(reveal(remote.headers), { Authorization: `Bearer ${env.TOKEN}` })
    }))

  it.effect("a missing variable names the file, the field and the variable", () =>
    Effect.gen(function*() {
      const error = yield* decodeError({ mcpServers: { github: { command: "gh-mcp", env: { TOKEN: "${GITHUB_TOKEN}" } } } })
      assert.deepStrictEqual([error.file, error.path], [".mcp.json", "mcpServers.github.env.TOKEN"])
      assert.include(error.message, "GITHUB_TOKEN")
      const args = yield* decodeError({ mcpServers: { a: { command: "x", args: ["ok", "${NOPE}"] } } })
      assert.strictEqual(args.path, "mcpServers.a.args.1")
    }))

  it.effect("env and header values are Redacted", () =>
    Effect.gen(function*() {
      const config = yield* decode({
        mcpServers: {
          local: { command: "x", env: { TOKEN: "${TOKEN}" } },
          remote: { url: "https://h", headers: { Authorization: "Bearer ${TOKEN}" } }
        }
      })
      const token = stdio(config.servers.local).env.TOKEN
      assert.isDefined(token)
      assert.isTrue(Redacted.isRedacted(token))
      assert.notInclude(String(token), env.TOKEN)
      assert.strictEqual(Redacted.value(token!), env.TOKEN)
      assert.notInclude(JSON.stringify(config), env.TOKEN)
      assert.notInclude(String(http(config.servers.remote).headers.Authorization), env.TOKEN)
    }))
})

describe("timeouts", () => {
  const timeouts = (entry: Record<string, unknown>) => server({ mcpServers: { a: { command: "x", ...entry } } }, "a")

  it.effect("accepts milliseconds and duration strings", () =>
    Effect.gen(function*() {
      const a = yield* timeouts({ timeout: "30s", connectTimeout: 500, maxTotalTimeout: "2m" })
      assert.deepStrictEqual([a?.callTimeoutMs, a?.connectTimeoutMs, a?.maxTotalTimeoutMs], [30_000, 500, 120_000])
      const b = yield* timeouts({ timeout: "1.5s", connectTimeout: "30 seconds", maxTotalTimeout: "500ms" })
      assert.deepStrictEqual([b?.callTimeoutMs, b?.connectTimeoutMs, b?.maxTotalTimeoutMs], [1_500, 30_000, 500])
      const none = yield* timeouts({})
      assert.isFalse(none !== undefined && "callTimeoutMs" in none)
    }))

  it.effect("rejects negative, zero, unknown units and wrong types, naming the field", () =>
    Effect.gen(function*() {
      for (const [field, value] of [["timeout", "-1s"], ["connectTimeout", 0], ["maxTotalTimeout", "30x"], ["timeout", -5], [
        "timeout",
        "1e3s"
      ], ["timeout", "99999999h"], ["timeout", true]] as const) {
        const error = yield* decodeError({ mcpServers: { a: { command: "x", [field]: value } } })
        assert.strictEqual(error.path, `mcpServers.a.${field}`, `${field}: ${String(value)}`)
      }
      const bad = yield* decodeError({ mcpServers: { a: { url: "u", timeout: "-1s" } } })
      assert.include(bad.message, `mcpServers.a.timeout: Expected a positive duration`)
      assert.include(bad.message, `got "-1s"`)
    }))
})

describe("allowlist", () => {
  it.effect("decodes the top-level allow list and checks its patterns", () =>
    Effect.gen(function*() {
      const config = yield* decode({ mcpServers: {}, allow: ["docker.*", "k8s.kubectl_get", "fs", "*.read_*"] })
      assert.deepStrictEqual(config.allow, ["docker.*", "k8s.kubectl_get", "fs", "*.read_*"])
      const error = yield* decodeError({ mcpServers: {}, allow: ["docker.*", "not a pattern"] })
      assert.strictEqual(error.path, "allow.1")
      const notArray = yield* decodeError({ mcpServers: {}, allow: "docker.*" })
      assert.strictEqual(notArray.path, "allow")
    }))

  it("matches server.tool globs", () => {
    const allow = ["docker.*", "k8s.kubectl_get", "fs", "*.read_*", "git.log*x"]
    assert.isTrue(matchesAllowlist(allow, "docker", "build"))
    assert.isTrue(matchesAllowlist(allow, "k8s", "kubectl_get"))
    assert.isFalse(matchesAllowlist(allow, "k8s", "kubectl_delete"))
    assert.isFalse(matchesAllowlist(allow, "k8s-prod", "kubectl_get"))
    assert.isTrue(matchesAllowlist(allow, "fs", "write_file"))
    assert.isFalse(matchesAllowlist(allow, "fsx", "write_file"))
    assert.isTrue(matchesAllowlist(allow, "anything", "read_file"))
    assert.isTrue(matchesAllowlist(allow, "anything", "read_"))
    assert.isFalse(matchesAllowlist(allow, "anything", "unread_file"))
    assert.isTrue(matchesAllowlist(allow, "git", "logx"))
    assert.isTrue(matchesAllowlist(allow, "git", "log-a-x"))
    assert.isFalse(matchesAllowlist(allow, "git", "log-a-xy"))
    assert.isFalse(matchesAllowlist([], "docker", "build"))
    assert.isTrue(matchesAllowlist(["*"], "docker", "build"))
    assert.isTrue(matchesAllowlist(["mail.send.*"], "mail", "send.draft"))
    assert.isFalse(matchesAllowlist(["docker.*"], "docker.x", "y"))
  })
})

describe("loadMcpJson", () => {
  let dir = ""
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mcpflow-config-"))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it.effect("reads and decodes a file, with variables from options.env", () =>
    Effect.gen(function*() {
      const file = join(dir, "ok.json")
      yield* Effect.promise(() =>
        writeFile(file, `\uFEFF{"mcpServers": {"gh": {"url": "https://\${HOST}/mcp", "timeout": "30s"}}}`)
      )
      const config = yield* loadMcpJson(file, { env: { HOST: "h.example" } })
      const gh = http(config.servers.gh)
      assert.deepStrictEqual([gh.url, gh.callTimeoutMs], ["https://h.example/mcp", 30_000])
      const error = yield* Effect.flip(loadMcpJson(file, { env: {} }))
      assert.deepStrictEqual([error.file, error.path], [file, "mcpServers.gh.url"])
    }))

  it.effect("a missing file fails with 'file not found'", () =>
    Effect.gen(function*() {
      const file = join(dir, "absent.json")
      const error = yield* Effect.flip(loadMcpJson(file))
      assert.deepStrictEqual([error.file, error.path, error.detail], [file, "", "file not found"])
      assert.strictEqual(error.message, `${file}: file not found`)
    }))

  it.effect("invalid JSON fails with the parser's message, line and column, and no quote of the file", () =>
    Effect.gen(function*() {
      const file = join(dir, "bad.json")
      yield* Effect.promise(() => writeFile(file, `{\n  "mcpServers": {\n    "a": {"command": "x",}\n  }\n}\n`))
      const error = yield* Effect.flip(loadMcpJson(file))
      assert.strictEqual(error.file, file)
      assert.match(error.detail, /^invalid JSON at line 3, column 26: /)
      const secret = join(dir, "secret.json")
      yield* Effect.promise(() => writeFile(secret, `{"env": {"T": "hunter2"}, "x": undefined}`))
      const quoted = yield* Effect.flip(loadMcpJson(secret))
      assert.match(quoted.detail, /^invalid JSON/)
      assert.notInclude(quoted.message, "hunter2")
    }))
})

describe("decodeMcpJson never throws or dies", () => {
  const seed = Number(process.env.FC_SEED ?? Date.now())
  console.log(`config.test.ts fast-check seed: ${seed} (replay with FC_SEED=${seed})`)

  const settles = (json: unknown): boolean => {
    const exit = Effect.runSyncExit(decodeMcpJson(json, { env: { A: "a", B: "" } }))
    if (Exit.isSuccess(exit)) return true
    const error = Option.getOrUndefined(Exit.findErrorOption(exit))
    return !Cause.hasDies(exit.cause) && error instanceof McpflowConfigError && typeof error.message === "string"
  }

  const text = fc.oneof(fc.string(), fc.constantFrom("${A}", "${B:-x}", "${C}", "x${", "${}", "$A", "30s", "-1s"))
  const key = fc.oneof(fc.string(), fc.constantFrom("__proto__", "constructor", "toString", "a", "b-c"))
  const anything = fc.oneof(fc.jsonValue(), text)
  const entry = fc.record(
    {
      type: fc.oneof(fc.constantFrom("stdio", "http", "streamable-http", "sse"), anything),
      command: fc.oneof(text, anything),
      url: fc.oneof(text, anything),
      args: fc.oneof(fc.array(text), anything),
      env: fc.oneof(fc.dictionary(key, text), anything),
      headers: fc.oneof(fc.dictionary(key, text), anything),
      cwd: text,
      timeout: fc.oneof(fc.double(), text, anything)
    },
    { requiredKeys: [] }
  )

  it("for arbitrary JSON", () => {
    fc.assert(fc.property(fc.jsonValue(), settles), { numRuns: 300, seed })
  })

  it("for objects shaped like { mcpServers: { … } }", () => {
    fc.assert(fc.property(fc.record({ mcpServers: fc.dictionary(fc.string(), fc.jsonValue()) }), settles), {
      numRuns: 300,
      seed
    })
  })

  it("for entries shaped like servers", () => {
    fc.assert(
      fc.property(
        fc.record({ mcpServers: fc.dictionary(key, fc.oneof(entry, anything)), allow: fc.oneof(fc.array(text), anything) }, {
          requiredKeys: ["mcpServers"]
        }),
        settles
      ),
      { numRuns: 300, seed }
    )
  })
})
