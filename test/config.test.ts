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

describe("decodeMcpJson: a field that looks like a typo of one mcpflow reads", () => {
  it.effect("is an error naming it and the field it most likely meant; other clients' fields are still ignored", () =>
    Effect.gen(function*() {
      const cases = [
        [{ mcpServers: { fs: { command: "x", timout: "30s" } } }, "mcpServers.fs.timout", "timeout"],
        [{ mcpServer: { fs: { command: "x" } } }, "mcpServer", "mcpServers"],
        [{ mcpServers: { fs: { command: "x" } }, alow: ["fs.*"] }, "alow", "allow"],
        [{ mcpServers: { fs: { command: "x", evn: { A: "1" } } } }, "mcpServers.fs.evn", "env"],
        [{ mcpServers: { fs: { comand: "npx" } } }, "mcpServers.fs.comand", "command"],
        [{ mcpServers: { fs: { cmd: "npx" } } }, "mcpServers.fs.cmd", "command"],
        [{ mcpServers: { gh: { url: "http://x", Headers: {} } } }, "mcpServers.gh.Headers", "headers"],
        [{ mcpServers: { gh: { uri: "http://x" } } }, "mcpServers.gh.uri", "url"],
        [{ mcpServers: { fs: { command: "x", health: { probe: "ping", intreval: "5s" } } } }, "mcpServers.fs.health.intreval", "interval"],
        [{ mcpServers: { g: { replicas: { a: { command: "x" } }, stratgy: "weighted" } } }, "mcpServers.g.stratgy", "strategy"],
        [{ mcpServers: { g: { replicas: { a: { command: "x", wieght: 2 } } } } }, "mcpServers.g.replicas.a.wieght", "weight"],
        [{ mcpServers: { g: { replicas: { a: { command: "x" } }, breaker: { failure: 3 } } } }, "mcpServers.g.breaker.failure", "failures"]
      ] as const
      for (const [json, path, meant] of cases) {
        const error = yield* decodeError(json)
        assert.deepStrictEqual([error.path, error.detail], [path, `Unknown field; did you mean "${meant}"?`])
      }
      const config = yield* decode({
        mcpServers: { a: { command: "x", disabled: true, autoApprove: [], alwaysAllow: ["t"], description: "d", envFile: ".env", transportType: "stdio" } }
      })
      assert.deepStrictEqual(Object.keys(config.servers), ["a"])
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

  it.effect("a default may hold references, nested up to 8 levels; deeper is an error naming the path", () =>
    Effect.gen(function*() {
      const vars = { SET: "value", OTHER: "other", EMPTY: "" }
      const expand = (text: string) => expandVariables(text, vars, "p")
      assert.strictEqual(yield* expand("${UNSET:-${OTHER}}"), "other")
      assert.strictEqual(yield* expand("${SET:-${OTHER}}"), "value")
      assert.strictEqual(yield* expand("${UNSET:-${EMPTY:-${OTHER}-x}}!"), "other-x!")
      assert.strictEqual(yield* expand("${UNSET:-a${OTHER}b${SET}c}"), "aotherbvaluec")
      assert.strictEqual(yield* expand("${UNSET:-x}y}"), "xy}")
      // A default that is not used is not evaluated: its unset variable is no error.
      assert.strictEqual(yield* expand("${SET:-${NOT_SET}}"), "value")
      const unsetInDefault = yield* Effect.flip(expand("${UNSET:-${NOT_SET}}"))
      assert.include(unsetInDefault.detail, "NOT_SET is not set")
      const chain = (depth: number) => `${"${U:-".repeat(depth - 1)}\${OTHER}${"}".repeat(depth - 1)}`
      assert.strictEqual(yield* expand(chain(8)), "other")
      const tooDeep = yield* Effect.flip(expandVariables(chain(9), vars, "mcpServers.a.args.0"))
      assert.instanceOf(tooDeep, McpflowConfigError)
      assert.strictEqual(tooDeep.path, "mcpServers.a.args.0")
      assert.match(tooDeep.detail, /^References nested more than 8 deep at offset 40/)
      // A syntax error in a default fails even when the default is not used.
      const badInDefault = yield* Effect.flip(expand("${SET:-${1X}}"))
      assert.include(badInDefault.detail, "${1X}")
      const unclosed = yield* Effect.flip(expand("${UNSET:-${OTHER}"))
      assert.include(unclosed.detail, `Unclosed "\${" at offset 0`)
    }))

  it.effect("$${ is a literal ${, anywhere, and expanded values are not expanded again", () =>
    Effect.gen(function*() {
      const vars = { A: "a", TEMPLATE: "${A}", DOLLARS: "$${A}" }
      const expand = (text: string) => expandVariables(text, vars, "p")
      assert.strictEqual(yield* expand("$${A}"), "${A}")
      assert.strictEqual(yield* expand("x$${A}y${A}"), "x${A}ya")
      assert.strictEqual(yield* expand("$${NOT_SET}"), "${NOT_SET}")
      assert.strictEqual(yield* expand("$$${A}"), "$${A}")
      assert.strictEqual(yield* expand("$$ and $A and $"), "$$ and $A and $")
      assert.strictEqual(yield* expand("${NOT_SET:-$${A}}"), "${A}")
      assert.strictEqual(yield* expand("${TEMPLATE}/${DOLLARS}"), "${A}/$${A}")
    }))

  it.effect("an expansion error in an env or header value quotes nothing of the value", () =>
    Effect.gen(function*() {
      const secret = "sk-live-0123456789abcdef"
      for (const value of [`\${${secret}}`, `\${${secret}`, `\${A:-${secret}`, `\${A-${secret}}`, `${secret}\${1${secret}}`]) {
        const env = yield* decodeError({ mcpServers: { a: { command: "x", env: { KEY: value } } } })
        const header = yield* decodeError({ mcpServers: { a: { url: "https://h", headers: { Authorization: value } } } })
        for (const error of [env, header]) {
          assert.notInclude(error.message, "sk-live", value)
          assert.notInclude(error.message, "0123", value)
        }
      }
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

describe("the webhook in the mcpflow section", () => {
  const servers = { echo: { command: "echo" } }
  it.effect("decodes url and secret, expanding variables; the secret is Redacted and masked like env values", () =>
    Effect.gen(function*() {
      const config = yield* decode({
        mcpServers: servers,
        mcpflow: { webhook: { url: "https://${HOST}/hooks/mcpflow", secret: "${TOKEN}" } }
      })
      assert.strictEqual(config.webhook?.url, "https://example.com/hooks/mcpflow")
      assert.isTrue(Redacted.isRedacted(config.webhook?.secret))
      assert.strictEqual(Redacted.value(config.webhook!.secret), env.TOKEN)
      assert.notInclude(String(config.webhook?.secret), env.TOKEN)
      assert.isTrue((config.secrets ?? []).some((secret) => Redacted.value(secret) === env.TOKEN))
      assert.isUndefined((yield* decode({ mcpServers: servers })).webhook)
    }))

  it.effect("a bad URL, an empty or missing secret, a mistyped or unknown field: a typed error naming the path, no secret quoted", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ url: "ftp://example.com/x", secret: "s" }, "mcpflow.webhook.url"],
        [{ url: "not a url", secret: "s" }, "mcpflow.webhook.url"],
        [{ url: "https://example.com/x", secret: "${EMPTY}" }, "mcpflow.webhook.secret"],
        [{ url: "https://example.com/x", secret: "" }, "mcpflow.webhook.secret"],
        [{ url: "https://example.com/x" }, "mcpflow.webhook.secret"],
        [{ url: 42, secret: "s" }, "mcpflow.webhook.url"],
        [{ url: "https://example.com/x", secret: "${NOT_SET}" }, "mcpflow.webhook.secret"],
        ["https://example.com/x", "mcpflow.webhook"]
      ]
      for (const [webhook, path] of cases) {
        const error = yield* decodeError({ mcpServers: servers, mcpflow: { webhook } })
        assert.instanceOf(error, McpflowConfigError)
        assert.strictEqual(error.path, path, `${JSON.stringify(webhook)}: ${error.message}`)
        assert.notInclude(error.message, env.TOKEN)
      }
      const unknown = yield* decodeError({ mcpServers: servers, mcpflow: { webhok: { url: "https://example.com/x", secret: "s" } } })
      assert.include(unknown.message, "webhok")
      const extra = yield* decodeError({ mcpServers: servers, mcpflow: { webhook: { url: "https://example.com/x", secret: "s", retries: 3 } } })
      assert.include(extra.message, "retries")
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

describe("variable expansion against a reference model (property)", () => {
  const seed = Number(process.env.FC_SEED ?? Date.now())
  console.log(`config.test.ts expansion model seed: ${seed} (replay with FC_SEED=${seed})`)

  /** A template as data: literal text, an escaped `${`, or a reference with an optional default. */
  type Node =
    | { readonly _tag: "Text"; readonly text: string }
    | { readonly _tag: "Escape" }
    | { readonly _tag: "Ref"; readonly name: string; readonly fallback: ReadonlyArray<Node> | undefined }

  /** Values that look like secrets and like templates: none may be expanded again or quoted in an error. */
  const vars: Record<string, string> = {
    SET: "secret-value-one",
    EMPTY: "",
    TEMPLATE: "${SET}-secret",
    DOLLARS: "$${SET}-secret"
  }
  const secrets = ["secret-value-one", "${SET}-secret", "$${SET}-secret"]

  const render = (nodes: ReadonlyArray<Node>): string =>
    nodes.map((n) =>
      n._tag === "Text" ? n.text : n._tag === "Escape" ? "$${" : `\${${n.name}${n.fallback === undefined ? "" : `:-${render(n.fallback)}`}}`
    ).join("")

  const depthOf = (nodes: ReadonlyArray<Node>): number =>
    Math.max(0, ...nodes.map((n) => (n._tag === "Ref" ? 1 + (n.fallback === undefined ? 0 : depthOf(n.fallback)) : 0)))

  /** The model: the value, or the unset variable met first (left to right, defaults only when used). */
  const model = (nodes: ReadonlyArray<Node>): { readonly ok: string } | { readonly unset: string } => {
    let out = ""
    for (const n of nodes) {
      if (n._tag === "Text") out += n.text
      else if (n._tag === "Escape") out += "${"
      else {
        const value = Object.hasOwn(vars, n.name) ? vars[n.name] : undefined
        if (n.fallback !== undefined && (value === undefined || value === "")) {
          const inner = model(n.fallback)
          if (!("ok" in inner)) return inner
          out += inner.ok
        } else if (value !== undefined) out += value
        else return { unset: n.name }
      }
    }
    return { ok: out }
  }

  // Literal text never forms `${`, `$${` or a trailing `$` (each `$` is followed by `a`), and has
  // no `}` inside a default (there it closes the reference).
  const text = (inDefault: boolean) =>
    fc.array(fc.constantFrom("a", "b", " ", ":", "-", "{", "}", "$a", "$ "), { maxLength: 5 }).map((units): Node => ({
      _tag: "Text",
      text: units.filter((u) => !inDefault || u !== "}").join("")
    }))
  const name = fc.constantFrom("SET", "EMPTY", "UNSET", "TEMPLATE", "DOLLARS", "constructor", "_x1")
  const nodes = (depth: number): fc.Arbitrary<ReadonlyArray<Node>> => {
    const leaf = fc.oneof(
      text(depth > 0),
      fc.constant<Node>({ _tag: "Escape" }),
      name.map((n): Node => ({ _tag: "Ref", name: n, fallback: undefined }))
    )
    const node = depth >= 10
      ? leaf
      : fc.oneof(
        { arbitrary: leaf, weight: 3 },
        { arbitrary: fc.tuple(name, nodes(depth + 1)).map(([n, fallback]): Node => ({ _tag: "Ref", name: n, fallback })), weight: 2 }
      )
    return fc.array(node, { maxLength: depth === 0 ? 5 : 2 })
  }
  /** A chain `${X:-${Y:-…}}` of 1–12 references, to reach past the nesting limit often. */
  const chain = fc.array(name, { minLength: 1, maxLength: 12 }).map((names): ReadonlyArray<Node> =>
    names.reduceRight<ReadonlyArray<Node> | undefined>((inner, n) => [{ _tag: "Ref", name: n, fallback: inner }], undefined) ?? []
  )

  it("expands generated nested and escaped templates like the model; errors quote no value", () => {
    fc.assert(
      fc.property(fc.oneof(nodes(0), chain), fc.boolean(), (template, secret) => {
        const source = render(template)
        const exit = Effect.runSyncExit(expandVariables(source, vars, "p", { secret }))
        if (depthOf(template) > 8) {
          assert.isTrue(Exit.isFailure(exit), source)
          const error = Option.getOrThrow(Exit.findErrorOption(exit))
          assert.match(error.detail, /^References nested more than 8 deep/, source)
          return
        }
        const expected = model(template)
        if ("ok" in expected) {
          assert.deepStrictEqual(exit, Exit.succeed(expected.ok), source)
        } else {
          const error = Option.getOrThrow(Exit.findErrorOption(exit))
          assert.strictEqual(error.detail, `Environment variable ${expected.unset} is not set (write \${${expected.unset}:-default} to give a fallback)`)
          for (const value of secrets) assert.notInclude(error.message, value)
        }
      }),
      { numRuns: 500, seed }
    )
  })

  it("a malformed template in a secret field fails without quoting any of it", () => {
    // Not a variable name (names are quoted, they are no secret): a value or its text is.
    const marker = "sk-MARK"
    const piece = fc.constantFrom("${", "$${", "}", ":-", "-", "1", "A", marker, "${A", "${1", "${A:-", "$")
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const source = pieces.join("")
        const exit = Effect.runSyncExit(expandVariables(source, { A: "secret-value-one" }, "mcpServers.a.env.KEY", { secret: true }))
        if (Exit.isSuccess(exit)) return
        const error = Option.getOrThrow(Exit.findErrorOption(exit))
        assert.instanceOf(error, McpflowConfigError)
        assert.notInclude(error.message, marker, source)
        assert.notInclude(error.message, "secret-value-one", source)
      }),
      { numRuns: 500, seed }
    )
  })
})
