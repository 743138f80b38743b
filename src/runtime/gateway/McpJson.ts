/**
 * Reads `.mcp.json` files, the format every MCP client uses, into a {@link GatewayConfig}:
 * `{"mcpServers": {"key": {"command", "args", "env", "cwd"} | {"type": "http", "url", "headers"}}}`,
 * plus mcpflow's optional extensions (`timeout`, `connectTimeout`, `maxTotalTimeout` per server,
 * a top-level `allow` list, and resilience policies per `server` or `server.tool` under
 * `"mcpflow": { "policies": { … }, "pools": { … } }`, see `PolicySettings`), a `health` probe per
 * server (`HealthSettings`), and replica groups: an entry with `"replicas": { "name": <entry> }`,
 * `"strategy"`, `"sticky"` and `"breaker"` (see `ReplicaGroupConfig`). `${VAR}` and `${VAR:-default}` are expanded from the environment
 * (defaults may nest, `$${` is a literal `${`: see `Variables.ts`).
 * Every problem is one {@link McpflowConfigError} naming the file, the field and what is wrong.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { loadMcpJson } from "./McpJson.ts"
 *
 * const config = await Effect.runPromise(loadMcpJson(".mcp.json"))
 * Object.keys(config.servers) // => ["github", "fs"]
 * ```
 * @module
 */
import { readFile } from "node:fs/promises"
import { Effect, Predicate, Redacted, Schema, SchemaIssue, SchemaTransformation } from "effect"
import type { SchemaAST } from "effect"
import * as Policy from "../../../dsl/policy/Policy.ts"
import { type PolicySettings, PoolSettings as PoolSettingsSchema } from "../../../dsl/policy/PolicySettings.ts"
import type { PoolSettings } from "../../../dsl/policy/Bulkhead.ts"
import {
  type GatewayConfig,
  type HealthSettings,
  type ReplicaConfig,
  type ReplicaGroupConfig,
  type ServerConfig,
  ServerKeyPattern,
  type ServerLimits
} from "./ServerConfig.ts"
import * as Variables from "./Variables.ts"
import { nearMiss } from "../../../dsl/internal/Typos.ts"
import { unknownFieldMessage } from "../../../dsl/SchemaIssues.ts"

/**
 * A configuration file could not be used: `path` is the dotted path of the offending field
 * (`mcpServers.github.url`, empty for the file as a whole), `detail` says what is wrong.
 *
 * @example
 * ```ts
 * new McpflowConfigError({ file: ".mcp.json", path: "mcpServers.github.url", detail: "Expected a string, got 42" }).message
 * // => ".mcp.json: mcpServers.github.url: Expected a string, got 42"
 * ```
 */
export class McpflowConfigError extends Schema.TaggedError<McpflowConfigError>()("McpflowConfigError", {
  file: Schema.optional(Schema.String),
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return [this.file, this.path, this.detail].filter((part) => part !== undefined && part !== "").join(": ")
  }
}

/** The environment variables are read from, such as `process.env`. */
type Env = Readonly<Record<string, string | undefined>>

// ---------------------------------------------------------------------------------------------
// Small helpers: paths and values in messages
// ---------------------------------------------------------------------------------------------

const truncate = (text: string, max = 40): string => (text.length > max ? `${text.slice(0, max)}…` : text)

/** `["mcpServers", "a", "args", 1]` → `mcpServers.a.args.1`; odd keys are quoted: `mcpServers["b c"]`. */
const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path
    .map((key, i) =>
      typeof key === "number" || (typeof key === "string" && ServerKeyPattern.test(key))
        ? `${i === 0 ? "" : "."}${truncate(String(key))}`
        : `[${typeof key === "string" ? JSON.stringify(truncate(key)) : String(key)}]`
    )
    .join("")

/** What a rejected value was, for "got …"; values under `env` and `headers` may be secrets. */
const describeValue = (input: unknown, secret: boolean): string => {
  if (input === null) return "null"
  if (Array.isArray(input)) return "an array"
  switch (typeof input) {
    case "string":
      return secret ? "a string" : JSON.stringify(truncate(input))
    case "number":
    case "boolean":
      return secret ? `a ${typeof input}` : String(input)
    case "object":
      return "an object"
    case "undefined":
      return "nothing"
    default:
      return typeof input
  }
}

const isSecretPath = (path: ReadonlyArray<PropertyKey>): boolean =>
  path.length > 3 && path[0] === "mcpServers" &&
  (path[2] === "env" || path[2] === "headers" || (path[2] === "replicas" && (path[4] === "env" || path[4] === "headers")))

// ---------------------------------------------------------------------------------------------
// From a Schema issue to one path and one plain-English message
// ---------------------------------------------------------------------------------------------

const expectedOf = (ast: SchemaAST.AST): string => {
  const expected = ast.annotations?.expected
  if (typeof expected === "string") return expected
  switch (ast._tag) {
    case "String":
      return "a string"
    case "Number":
      return "a number"
    case "Boolean":
      return "a boolean"
    case "Arrays":
      return "an array"
    case "Objects":
      return "an object"
    case "Literal":
      return typeof ast.literal === "string" ? JSON.stringify(ast.literal) : String(ast.literal)
    case "Union":
      return ast.types.filter((member) => member._tag !== "Undefined").map(expectedOf).join(" or ")
    default:
      return ast._tag.toLowerCase()
  }
}

const messageOf = (annotations: { readonly [key: string]: unknown } | undefined): string | undefined => {
  const message = annotations?.message
  if (typeof message === "string") return message
  const expected = annotations?.expected
  return typeof expected === "string" ? `Expected ${expected}` : undefined
}

interface Located {
  readonly path: ReadonlyArray<PropertyKey>
  readonly detail: string
}

/** Follows the first branch of the issue tree down to a leaf, collecting the path on the way. */
const locate = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>): Located => {
  const got = () => describeValue(SchemaIssue.hasInput(issue) ? issue.input : undefined, isSecretPath(path))
  switch (issue._tag) {
    case "Pointer":
      return locate(issue.issue, [...path, ...issue.path])
    case "Composite":
      return locate(issue.issues[0], path)
    case "Encoding":
      return locate(issue.issue, path)
    case "Filter": {
      const inner = locate(issue.issue, path)
      const message = messageOf(issue.filter.annotations)
      return message === undefined ? inner : { path: inner.path, detail: message }
    }
    case "AnyOf": {
      const first = issue.issues[0]
      return first !== undefined ? locate(first, path) : { path, detail: `Expected ${expectedOf(issue.ast)}, got ${got()}` }
    }
    case "InvalidType":
      return { path, detail: `Expected ${expectedOf(issue.ast)}, got ${got()}` }
    case "InvalidValue":
      return { path, detail: messageOf(issue.annotations) ?? `Invalid value ${got()}` }
    case "MissingKey":
      return { path, detail: "Missing required field" }
    case "UnexpectedKey": {
      const known = issue.ast._tag === "Objects" ? issue.ast.propertySignatures.map((p) => String(p.name)) : []
      return { path, detail: unknownFieldMessage(nearMiss(String(path.at(-1) ?? ""), known), known) }
    }
    case "Forbidden":
      return { path, detail: messageOf(issue.annotations) ?? "Not allowed here" }
    case "OneOf":
      return { path, detail: "Matches more than one alternative" }
  }
}

const fromIssue = (issue: SchemaIssue.Issue, file: string | undefined): McpflowConfigError => {
  const { detail, path } = locate(issue, [])
  return new McpflowConfigError({ file, path: formatPath(path), detail })
}

// ---------------------------------------------------------------------------------------------
// Variables and durations
// ---------------------------------------------------------------------------------------------

/** Every variable name a text refers to (`${NAME}`, `${NAME:-…}`), for the secrets to mask. */
const variableName = /\$\{([A-Za-z_][A-Za-z0-9_]*)/g

const lookup = (env: Env, name: string): string | undefined => {
  const value = Object.hasOwn(env, name) ? env[name] : undefined
  return typeof value === "string" ? value : undefined
}

/**
 * Expands `${VAR}` and `${VAR:-default}` in `text` from `env`. The default is used when the
 * variable is unset or empty (as in the shell) and may hold references itself
 * (`${A:-${B:-x}}`, up to 8 levels); `$${` is a literal `${`; `$VAR` without braces is left
 * alone. An unset variable without a default, a `${` without its `}`, a malformed reference or
 * nesting deeper than 8 fails naming `path`. With `secret` (env and header values) the message
 * quotes nothing of `text`.
 *
 * @example
 * ```ts
 * Effect.runSync(expandVariables("Bearer ${TOKEN}", { TOKEN: "t0k" }, "mcpServers.gh.headers.Authorization"))
 * // => "Bearer t0k"
 * Effect.runSync(expandVariables("${HOST:-${DEFAULT_HOST:-localhost}}:8080", {}, "mcpServers.api.url"))
 * // => "localhost:8080"
 * Effect.runSync(expandVariables("echo $${HOME}", {}, "mcpServers.sh.args.1"))
 * // => "echo ${HOME}"
 * ```
 */
export const expandVariables = (
  text: string,
  env: Env,
  path: string,
  options: { readonly secret?: boolean | undefined } = {}
): Effect.Effect<string, McpflowConfigError> =>
  Effect.mapError(
    Effect.fromResult(Variables.expand(text, env, { secret: options.secret === true })),
    (detail) => new McpflowConfigError({ path, detail })
  )

const unitMs: ReadonlyMap<string, number> = new Map([
  ...["ms", "msec", "msecs", "milli", "millis", "millisecond", "milliseconds"].map((u) => [u, 1] as const),
  ...["s", "sec", "secs", "second", "seconds"].map((u) => [u, 1_000] as const),
  ...["m", "min", "mins", "minute", "minutes"].map((u) => [u, 60_000] as const),
  ...["h", "hr", "hrs", "hour", "hours"].map((u) => [u, 3_600_000] as const)
])

/** The longest delay Node's timers honour; a longer one fires at once. */
const maxTimerMs = 2_147_483_647

const parseDurationMs = (input: number | string): number | undefined => {
  const match = typeof input === "string" ? /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]+)\s*$/.exec(input) : null
  const scale = match === null ? undefined : unitMs.get((match[2] ?? "").toLowerCase())
  const ms = typeof input === "number" ? input : scale === undefined ? NaN : Number(match?.[1]) * scale
  return Number.isFinite(ms) && ms > 0 && ms <= maxTimerMs ? ms : undefined
}

/** A positive duration: milliseconds, or a string like `"30s"`, `"500ms"`, `"2m"`, `"30 seconds"`. */
const Millis = Schema.Union([Schema.Number, Schema.String]).pipe(
  Schema.decodeTo(
    Schema.Number,
    SchemaTransformation.transformEffect({
      decode: (input: number | string) => {
        const ms = parseDurationMs(input)
        return ms !== undefined
          ? Effect.succeed(ms)
          : Effect.fail(
            new SchemaIssue.InvalidValue({
              message: `Expected a positive duration of at most 24 days such as 500 (ms), "500ms", "30s" or "2m", got ${
                describeValue(input, false)
              }`
            })
          )
      },
      encode: (ms: number) => Effect.succeed(ms)
    })
  )
)

// ---------------------------------------------------------------------------------------------
// The file's shape
// ---------------------------------------------------------------------------------------------

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** A server's health probe: `"ping"` or `{ "tool": name, "args": {…} }`, with its interval and thresholds. */
const HealthEntry = Schema.Struct({
  probe: Schema.optionalKey(Schema.Union([Schema.Literal("ping"), Schema.Struct({ tool: Schema.String, args: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)) })])),
  interval: Schema.optionalKey(Millis),
  timeout: Schema.optionalKey(Millis),
  unhealthyAfter: Schema.optionalKey(PositiveInt),
  healthyAfter: Schema.optionalKey(PositiveInt)
})

const limits = {
  timeout: Schema.optionalKey(Millis),
  connectTimeout: Schema.optionalKey(Millis),
  maxTotalTimeout: Schema.optionalKey(Millis),
  health: Schema.optionalKey(HealthEntry),
  // Replicas only (checked where a group is decoded).
  weight: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThan(0))),
  priority: Schema.optionalKey(Schema.Number)
}

const StringMap = Schema.Record(Schema.String, Schema.String)

const StdioEntry = Schema.Struct({
  type: Schema.Literal("stdio"),
  command: Schema.String,
  args: Schema.optionalKey(Schema.Array(Schema.String)),
  env: Schema.optionalKey(StringMap),
  cwd: Schema.optionalKey(Schema.String),
  ...limits
})

const remoteEntry = <Type extends "http" | "sse">(type: Type) =>
  Schema.Struct({
    type: Schema.Literal(type),
    url: Schema.String,
    headers: Schema.optionalKey(StringMap),
    ...limits
  })

const transports: ReadonlyMap<unknown, "stdio" | "http" | "sse"> = new Map([
  ["stdio", "stdio"],
  ["http", "http"],
  ["streamable-http", "http"],
  ["sse", "sse"]
])

type RawEntry = { readonly [key: string]: unknown }

/** Settles `type` (spelled out, or implied by `command` / `url`) so the union below can dispatch on it. */
const withTransport = (entry: RawEntry): Effect.Effect<RawEntry, SchemaIssue.Issue> => {
  const has = (key: string) => Object.hasOwn(entry, key)
  if (has("type")) {
    const type = transports.get(entry["type"])
    return type !== undefined
      ? Effect.succeed({ ...entry, type })
      : Effect.fail(
        new SchemaIssue.Pointer(
          ["type"],
          new SchemaIssue.InvalidValue({
            message: `Expected "stdio", "http", "streamable-http" or "sse", got ${describeValue(entry["type"], false)}`
          })
        )
      )
  }
  if (has("command") && has("url")) {
    return Effect.fail(
      new SchemaIssue.InvalidValue({
        message: `Has both "command" and "url": add "type": "stdio" or "type": "http" to say which`
      })
    )
  }
  if (has("command")) return Effect.succeed({ ...entry, type: "stdio" })
  if (has("url")) return Effect.succeed({ ...entry, type: "http" })
  return Effect.fail(
    new SchemaIssue.InvalidValue({
      message: `Expected "command" (a local server) or "url" (a remote server), found neither`
    })
  )
}

const EntryByTransport = Schema.Union([StdioEntry, remoteEntry("http"), remoteEntry("sse")])

const Entry = Schema.Record(Schema.String, Schema.Unknown).pipe(
  Schema.decodeTo(
    EntryByTransport,
    SchemaTransformation.transformEffect({
      // The cast only names the shape the union is about to check: it decodes what this returns.
      decode: (entry: RawEntry) => withTransport(entry) as Effect.Effect<typeof EntryByTransport.Encoded, SchemaIssue.Issue>,
      encode: (entry: typeof EntryByTransport.Encoded): Effect.Effect<RawEntry> => Effect.succeed(entry)
    })
  )
)

const serverKeys = Schema.makeFilter((servers: { readonly [key: string]: unknown }) => {
  const bad = Object.keys(servers).find((key) => !ServerKeyPattern.test(key))
  return bad === undefined
    ? undefined
    : { path: [bad], issue: `Invalid server key: use only letters, digits, "_" and "-"` }
})

const AllowPattern = /^(?:\*|[A-Za-z0-9_*-]+)(?:\.[A-Za-z0-9_.*\/-]+)?$/

/**
 * A replica group: `{"replicas": {"name": <server entry with optional weight and priority>},
 * "strategy", "sticky", "breaker": {"failures", "open"}}` (see `ReplicaGroupConfig`).
 */
const GroupEntry = Schema.Struct({
  replicas: Schema.Record(Schema.String, Entry).check(
    serverKeys,
    Schema.makeFilter((replicas: { readonly [key: string]: unknown }) => Object.keys(replicas).length > 0 || "Expected at least one replica")
  ),
  strategy: Schema.optionalKey(Schema.Literals(["round-robin", "weighted", "least-in-flight", "priority"])),
  sticky: Schema.optionalKey(Schema.Boolean),
  breaker: Schema.optionalKey(Schema.Struct({ failures: Schema.optionalKey(PositiveInt), open: Schema.optionalKey(Millis) }))
})

const McpJson = Schema.Struct({
  mcpServers: Schema.Record(Schema.String, Entry).check(serverKeys),
  allow: Schema.optionalKey(
    Schema.Array(
      Schema.String.check(
        Schema.makeFilter((pattern: string) =>
          AllowPattern.test(pattern) ||
          `Expected "server.tool" (e.g. "docker.*", "k8s.kubectl_get") or a server key, got ${
            describeValue(pattern, false)
          }`
        )
      )
    )
  )
})

/** `"webhook": {"url": "https://…", "secret": "${HOOK_SECRET}"}`: where finished runs are announced. */
const WebhookEntry = Schema.Struct({
  url: Schema.String,
  secret: Schema.String
})

const McpflowSection = Schema.Struct({
  policies: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  pools: Schema.optionalKey(Schema.Record(Schema.String, PoolSettingsSchema)),
  webhook: Schema.optionalKey(WebhookEntry)
})

/** The fields mcpflow reads in a server entry, a replica group, a health probe and a group's breaker. */
const entryFields = [...new Set([...Object.keys(StdioEntry.fields), ...Object.keys(remoteEntry("http").fields)])]
const groupFields = Object.keys(GroupEntry.fields)
const healthFields = Object.keys(HealthEntry.fields)
const breakerFields = ["failures", "open"]
const topFields = ["mcpServers", "allow", "mcpflow"]

/**
 * The first field of the file, a server entry, a replica group, a health probe or a breaker that
 * looks like a typo of one mcpflow reads — `"mcpServer"`, `"timout"`, `"evn"`, `"stratgy"` — with
 * the field it most likely meant. Other unknown fields are left alone: `.mcp.json` files are shared with other MCP
 * clients, which read fields of their own; a near miss of ours would otherwise be ignored
 * without a word (a timeout that never applies, a group that stays round-robin).
 */
const misspelledField = (json: unknown): { readonly path: ReadonlyArray<string>; readonly detail: string } | undefined => {
  const check = (value: unknown, known: ReadonlyArray<string>, at: ReadonlyArray<string>): ReturnType<typeof misspelledField> => {
    if (!Predicate.isObject(value) || Array.isArray(value)) return undefined
    for (const key of Object.keys(value)) {
      const meant = nearMiss(key, known)
      if (meant !== undefined) return { path: [...at, key], detail: unknownFieldMessage(meant, known) }
    }
    return undefined
  }
  const top = check(json, topFields, [])
  if (top !== undefined) return top
  const servers = Predicate.isObject(json) ? (json as { readonly mcpServers?: unknown }).mcpServers : undefined
  if (!Predicate.isObject(servers) || Array.isArray(servers)) return undefined
  const entry = (value: unknown, at: ReadonlyArray<string>) =>
    check(value, entryFields, at) ?? check((value as { readonly health?: unknown }).health, healthFields, [...at, "health"])
  for (const [key, value] of Object.entries(servers)) {
    const at = ["mcpServers", key]
    if (!Predicate.isObject(value) || !Object.hasOwn(value, "replicas")) {
      const found = Predicate.isObject(value) ? entry(value, at) : undefined
      if (found !== undefined) return found
      continue
    }
    const group = value as { readonly replicas?: unknown; readonly breaker?: unknown }
    const found = check(group, groupFields, at) ?? check(group.breaker, breakerFields, [...at, "breaker"])
    if (found !== undefined) return found
    if (Predicate.isObject(group.replicas)) {
      for (const [name, replica] of Object.entries(group.replicas)) {
        const inReplica = Predicate.isObject(replica) ? entry(replica, [...at, "replicas", name]) : undefined
        if (inReplica !== undefined) return inReplica
      }
    }
  }
  return undefined
}

const decodeShape = Schema.decodeUnknownEffect(McpJson)
const decodeGroup = Schema.decodeUnknownEffect(GroupEntry)

/** The `mcpServers` entries that are replica groups (they have `replicas`), and the file without them. */
const splitGroups = (json: unknown): { readonly rest: unknown; readonly groups: ReadonlyArray<readonly [string, unknown]> } => {
  if (!Predicate.isObject(json) || !Object.hasOwn(json, "mcpServers")) return { rest: json, groups: [] }
  const servers = (json as { readonly mcpServers: unknown }).mcpServers
  if (!Predicate.isObject(servers) || Array.isArray(servers)) return { rest: json, groups: [] }
  const groups = Object.entries(servers).filter(([, entry]) => Predicate.isObject(entry) && Object.hasOwn(entry, "replicas"))
  if (groups.length === 0) return { rest: json, groups: [] }
  const names = new Set(groups.map(([key]) => key))
  const rest = { ...json, mcpServers: Object.fromEntries(Object.entries(servers).filter(([key]) => !names.has(key))) }
  return { rest, groups }
}
const decodeSection = Schema.decodeUnknownEffect(McpflowSection)

const PolicyKeyPattern = /^([A-Za-z0-9_-]+)(?:\.(\S+))?$/

/**
 * Decodes the `mcpflow` section: `pools` (named bulkhead pools) and `policies`, where each key is
 * `server` or `server.tool` of a configured server and each value `PolicySettings` (unknown fields
 * are errors), checked by building it once on its own.
 */
const decodeSectionOf = Effect.fnUntraced(function*(
  section: unknown,
  servers: ReadonlySet<string>,
  file: string | undefined
): Effect.fn.Return<
  {
    readonly policies?: Record<string, PolicySettings>
    readonly pools?: Record<string, PoolSettings>
    readonly webhook?: typeof WebhookEntry.Type
  },
  McpflowConfigError
> {
  if (section === undefined) return {}
  const at = (path: ReadonlyArray<PropertyKey>, detail: string) =>
    new McpflowConfigError({ file, path: formatPath(["mcpflow", ...path]), detail })
  const decoded = yield* Effect.mapError(
    decodeSection(section, { reportInput: true, onExcessProperty: "error" }),
    (error) => {
      const { detail, path } = locate(error.issue, [])
      return at(path, detail)
    }
  )
  const pools = decoded.pools
  const webhook = decoded.webhook
  if (decoded.policies === undefined) return { ...(pools === undefined ? {} : { pools }), ...(webhook === undefined ? {} : { webhook }) }
  const out: Record<string, PolicySettings> = {}
  for (const [key, value] of Object.entries(decoded.policies)) {
    const match = PolicyKeyPattern.exec(key)
    if (match === null) return yield* at(["policies", key], `Invalid policy key: write "server" or "server.tool"`)
    if (!servers.has(match[1]!)) {
      return yield* at(["policies", key], `No server '${match[1]}' in mcpServers (configured: ${[...servers].join(", ") || "none"})`)
    }
    yield* Effect.mapError(
      Policy.make(value as PolicySettings, { registry: Policy.registry({ pools }), owner: key }),
      (e) => new McpflowConfigError({ file, path: `${formatPath(["mcpflow", "policies", key])}${e.path === "" ? "" : `.${e.path}`}`, detail: e.detail })
    )
    // A key such as `__proto__` must become an own property, not the object's prototype.
    Object.defineProperty(out, key, { value: value as PolicySettings, enumerable: true, writable: true, configurable: true })
  }
  return { policies: out, ...(pools === undefined ? {} : { pools }), ...(webhook === undefined ? {} : { webhook }) }
})

// ---------------------------------------------------------------------------------------------
// Decoding and loading
// ---------------------------------------------------------------------------------------------

/**
 * Decodes the contents of an `.mcp.json` file into a {@link GatewayConfig}, expanding
 * `${VAR}` / `${VAR:-default}` in commands, arguments, env values, `cwd`, URLs and header
 * values; env and header values come out {@link Redacted}. Never throws: any input yields a
 * config or one {@link McpflowConfigError}.
 *
 * @example
 * ```ts
 * const config = Effect.runSync(decodeMcpJson(
 *   { mcpServers: { gh: { url: "https://api.example.com/mcp", headers: { Authorization: "Bearer ${GH_TOKEN}" }, timeout: "30s" } } },
 *   { env: process.env, file: ".mcp.json" }
 * ))
 * config.servers.gh // => { type: "http", url: "https://api.example.com/mcp", headers: { Authorization: <redacted> }, callTimeoutMs: 30000 }
 * ```
 */
export const decodeMcpJson = Effect.fnUntraced(function*(
  json: unknown,
  options: { readonly env: Env; readonly file?: string | undefined }
): Effect.fn.Return<GatewayConfig, McpflowConfigError> {
  const { env, file } = options
  const typo = misspelledField(json)
  if (typo !== undefined) return yield* new McpflowConfigError({ file, path: formatPath(typo.path), detail: typo.detail })
  const split = splitGroups(json)
  const raw = yield* Effect.mapError(decodeShape(split.rest, { reportInput: true }), (error) => fromIssue(error.issue, file))
  const rawGroups: Array<readonly [string, typeof GroupEntry.Type]> = []
  for (const [key, entry] of split.groups) {
    const at = ["mcpServers", key]
    if (!ServerKeyPattern.test(key)) {
      return yield* new McpflowConfigError({ file, path: formatPath(at), detail: `Invalid server key: use only letters, digits, "_" and "-"` })
    }
    const group = yield* Effect.mapError(decodeGroup(entry, { reportInput: true }), (error) => {
      const located = locate(error.issue, at)
      return new McpflowConfigError({ file, path: formatPath(located.path), detail: located.detail })
    })
    rawGroups.push([key, group])
  }
  for (const [key, entry] of Object.entries(raw.mcpServers)) {
    if (entry.weight !== undefined || entry.priority !== undefined) {
      const field = entry.weight !== undefined ? "weight" : "priority"
      return yield* new McpflowConfigError({ file, path: formatPath(["mcpServers", key, field]), detail: `"${field}" applies to a replica only (inside "replicas")` })
    }
  }
  const section = Predicate.isObject(json) && Object.hasOwn(json, "mcpflow") ? (json as { readonly mcpflow: unknown }).mcpflow : undefined
  const { policies, pools, webhook: rawWebhook } = yield* decodeSectionOf(section, new Set([...Object.keys(raw.mcpServers), ...rawGroups.map(([key]) => key)]), file)

  const expand = (text: string, path: ReadonlyArray<PropertyKey>, secret = false) =>
    Effect.mapError(
      Effect.fromResult(Variables.expand(text, env, { secret })),
      (detail) => new McpflowConfigError({ file, path: formatPath(path), detail })
    )
  // What `${VAR}` pulled out of the environment into env and header values: masked too (SecretMask).
  const secrets: Array<Redacted.Redacted<string>> = []
  const expandSecrets = Effect.fnUntraced(function*(
    values: { readonly [name: string]: string } | undefined,
    path: ReadonlyArray<PropertyKey>
  ) {
    const out: Array<[string, Redacted.Redacted<string>]> = []
    for (const [name, value] of Object.entries(values ?? {})) {
      const expanded = yield* expand(value, [...path, name], true)
      out.push([name, Redacted.make(expanded)])
      for (const [, variable] of value.matchAll(variableName)) {
        const found = lookup(env, variable!)
        if (found !== undefined && found !== expanded) secrets.push(Redacted.make(found))
      }
    }
    return Object.fromEntries(out)
  })

  const build = Effect.fnUntraced(function*(entry: typeof Entry.Type, at: ReadonlyArray<PropertyKey>) {
    const h = entry.health
    const health: HealthSettings | undefined = h === undefined ? undefined : {
      ...(h.probe === undefined ? {} : { probe: h.probe }),
      ...(h.interval === undefined ? {} : { intervalMs: h.interval }),
      ...(h.timeout === undefined ? {} : { timeoutMs: h.timeout }),
      ...(h.unhealthyAfter === undefined ? {} : { unhealthyAfter: h.unhealthyAfter }),
      ...(h.healthyAfter === undefined ? {} : { healthyAfter: h.healthyAfter })
    }
    const serverLimits: ServerLimits = {
      ...(entry.timeout === undefined ? {} : { callTimeoutMs: entry.timeout }),
      ...(entry.connectTimeout === undefined ? {} : { connectTimeoutMs: entry.connectTimeout }),
      ...(entry.maxTotalTimeout === undefined ? {} : { maxTotalTimeoutMs: entry.maxTotalTimeout }),
      ...(health === undefined ? {} : { health })
    }
    if (entry.type === "stdio") {
      const command = yield* expand(entry.command, [...at, "command"])
      const args: Array<string> = []
      for (const [i, arg] of (entry.args ?? []).entries()) args.push(yield* expand(arg, [...at, "args", i]))
      const envVars = yield* expandSecrets(entry.env, [...at, "env"])
      const cwd = entry.cwd === undefined ? undefined : yield* expand(entry.cwd, [...at, "cwd"])
      return { type: "stdio", command, args, env: envVars, ...(cwd === undefined ? {} : { cwd }), ...serverLimits } satisfies ServerConfig
    }
    const url = yield* expand(entry.url, [...at, "url"])
    const headers = yield* expandSecrets(entry.headers, [...at, "headers"])
    return { type: entry.type, url, headers, ...serverLimits } satisfies ServerConfig
  })

  const servers: Array<[string, ServerConfig]> = []
  for (const [key, entry] of Object.entries(raw.mcpServers)) servers.push([key, yield* build(entry, ["mcpServers", key])])
  const groups: Array<[string, ReplicaGroupConfig]> = []
  for (const [key, group] of rawGroups) {
    const replicas: Array<[string, ReplicaConfig]> = []
    for (const [name, entry] of Object.entries(group.replicas)) {
      const server: ServerConfig = yield* build(entry, ["mcpServers", key, "replicas", name])
      replicas.push([name, {
        ...server,
        ...(entry.weight === undefined ? {} : { weight: entry.weight }),
        ...(entry.priority === undefined ? {} : { priority: entry.priority })
      }])
    }
    const breaker = group.breaker === undefined ? undefined : {
      ...(group.breaker.failures === undefined ? {} : { failures: group.breaker.failures }),
      ...(group.breaker.open === undefined ? {} : { openMs: group.breaker.open })
    }
    groups.push([key, {
      replicas: Object.fromEntries(replicas),
      ...(group.strategy === undefined ? {} : { strategy: group.strategy }),
      ...(group.sticky === undefined ? {} : { sticky: group.sticky }),
      ...(breaker === undefined ? {} : { breaker })
    }])
  }
  let webhook: GatewayConfig["webhook"]
  if (rawWebhook !== undefined) {
    const url = yield* expand(rawWebhook.url, ["mcpflow", "webhook", "url"])
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      return yield* new McpflowConfigError({ file, path: formatPath(["mcpflow", "webhook", "url"]), detail: `Expected an http(s) URL, got ${describeValue(url, false)}` })
    }
    const secret = yield* expand(rawWebhook.secret, ["mcpflow", "webhook", "secret"], true)
    if (secret === "") {
      return yield* new McpflowConfigError({ file, path: formatPath(["mcpflow", "webhook", "secret"]), detail: "Expected a non-empty secret (the HMAC-SHA256 key its bodies are signed with), e.g. \"${HOOK_SECRET}\"" })
    }
    webhook = { url, secret: Redacted.make(secret, { label: "mcpflow.webhook.secret" }) }
    secrets.push(webhook.secret)
  }
  return {
    servers: Object.fromEntries(servers),
    ...(webhook === undefined ? {} : { webhook }),
    ...(groups.length === 0 ? {} : { groups: Object.fromEntries(groups) }),
    ...(raw.allow === undefined ? {} : { allow: raw.allow }),
    ...(policies === undefined ? {} : { policies }),
    ...(pools === undefined ? {} : { pools }),
    ...(secrets.length === 0 ? {} : { secrets })
  }
})

const readFailure = (cause: unknown): string => {
  const code = Predicate.hasProperty(cause, "code") ? cause.code : undefined
  switch (code) {
    case "ENOENT":
      return "file not found"
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EISDIR":
      return "is a directory, not a file"
    default:
      return cause instanceof Error ? cause.message : String(cause)
  }
}

/** JSON.parse's message without its quote of the source (which may hold secrets), plus line:column. */
const jsonFailure = (cause: unknown, text: string): string => {
  const message = (cause instanceof Error ? cause.message : String(cause)).replace(/, ".*" is not valid JSON$/s, "")
  const position = /\s*in JSON at position (\d+)(?: \(line \d+ column \d+\))?/.exec(message)
  if (position === null) return `invalid JSON: ${message}`
  const offset = Number(position[1])
  const before = text.slice(0, offset)
  const line = before.split("\n").length
  const column = offset - before.lastIndexOf("\n")
  return `invalid JSON at line ${line}, column ${column}: ${message.replace(position[0], "")}`
}

/**
 * Reads and decodes an `.mcp.json` file (see {@link decodeMcpJson}); variables come from
 * `options.env`, by default `process.env`. A missing file fails with `detail: "file not found"`,
 * malformed JSON with the parser's message and, when known, the line and column.
 *
 * @example
 * ```ts
 * const config = await Effect.runPromise(loadMcpJson(".mcp.json", { env: { GH_TOKEN: "t0k" } }))
 * const missing = await Effect.runPromise(Effect.flip(loadMcpJson("nope.json")))
 * missing.message // => "nope.json: file not found"
 * ```
 */
export const loadMcpJson = Effect.fn("loadMcpJson")(function*(
  file: string,
  options?: { readonly env?: Env | undefined }
): Effect.fn.Return<GatewayConfig, McpflowConfigError> {
  const text = yield* Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (cause) => new McpflowConfigError({ file, path: "", detail: readFailure(cause) })
  })
  const json = yield* Effect.try({
    try: (): unknown => JSON.parse(text.replace(/^\uFEFF/, "")),
    catch: (cause) => new McpflowConfigError({ file, path: "", detail: jsonFailure(cause, text.replace(/^\uFEFF/, "")) })
  })
  return yield* decodeMcpJson(json, { env: options?.env ?? process.env, file })
})
