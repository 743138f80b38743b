/**
 * The one error type of every MCP tool call: {@link McpflowToolError}, whose
 * `reason` says what went wrong, where, and whether retrying can help.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { McpflowToolError } from "mcpflow/dsl"
 *
 * const handled = call.pipe(
 *   Effect.catchReason("McpflowToolError", "ToolFailed", (r) => Effect.succeed(r.text))
 * )
 * ```
 * @module
 */
import { Schema } from "effect"

const where = { server: Schema.String, tool: Schema.String }

const at = (r: { readonly server: string; readonly tool: string }) => `${r.server}.${r.tool}`

/**
 * The server answered the call with `isError: true`; `text` is what it said.
 *
 * @example
 * ```ts
 * new ToolFailed({ server: "fs", tool: "read_file", text: "ENOENT" }).message
 * // => "fs.read_file failed: ENOENT"
 * ```
 */
export class ToolFailed extends Schema.TaggedClass<ToolFailed>()("ToolFailed", {
  ...where,
  text: Schema.String
}) {
  get message() {
    return `${at(this)} failed: ${this.text}`
  }
}

/**
 * The input did not fit the contract's input Schema; nothing was sent.
 *
 * @example
 * ```ts
 * new InvalidInput({ server: "k8s", tool: "apply", path: "replicas", issue: "Expected number" })
 * ```
 */
export class InvalidInput extends Schema.TaggedClass<InvalidInput>()("InvalidInput", {
  ...where,
  path: Schema.String,
  issue: Schema.String
}) {
  get message() {
    return `${at(this)}: invalid input${this.path ? ` at ${this.path}` : ""}: ${this.issue} (nothing was sent)`
  }
}

/**
 * The server's result did not fit the contract's output Schema (schema drift).
 *
 * @example
 * ```ts
 * new InvalidOutput({ server: "k8s", tool: "get", path: "items.0.name", issue: "Missing key" })
 * ```
 */
export class InvalidOutput extends Schema.TaggedClass<InvalidOutput>()("InvalidOutput", {
  ...where,
  path: Schema.String,
  issue: Schema.String
}) {
  get message() {
    return `${at(this)}: the result does not fit the contract's output${this.path ? ` at ${this.path}` : ""}: ${this.issue}`
  }
}

/**
 * A deadline passed: `phase` says which one (the call without progress, or the call's whole
 * budget including progress extensions), `policy` names what set it.
 *
 * @example
 * ```ts
 * new Timeout({ server: "ci", tool: "build", phase: "call", afterMs: 30000, policy: "server ci" })
 * ```
 */
export class Timeout extends Schema.TaggedClass<Timeout>()("Timeout", {
  ...where,
  phase: Schema.Literals(["call", "total"]),
  afterMs: Schema.Number,
  policy: Schema.optional(Schema.String)
}) {
  get message() {
    const what = this.phase === "total" ? "the call's total budget" : "the call"
    return `${at(this)}: timed out after ${this.afterMs} ms (${what}${this.policy ? `, set by ${this.policy}` : ""})`
  }
}

/**
 * The connection dropped while the call was in flight; the call may have reached the server.
 *
 * @example
 * ```ts
 * new ConnectionLost({ server: "fs", tool: "write_file", detail: "Connection closed" })
 * ```
 */
export class ConnectionLost extends Schema.TaggedClass<ConnectionLost>()("ConnectionLost", {
  ...where,
  detail: Schema.String
}) {
  get message() {
    return `${at(this)}: connection to server '${this.server}' lost during the call: ${this.detail}`
  }
}

/**
 * The server could not be started or connected to; the call was not sent.
 *
 * @example
 * ```ts
 * new ServerUnavailable({ server: "docker", tool: "build", detail: "spawn docker-mcp ENOENT" })
 * ```
 */
export class ServerUnavailable extends Schema.TaggedClass<ServerUnavailable>()("ServerUnavailable", {
  ...where,
  detail: Schema.String
}) {
  get message() {
    return `${at(this)}: server '${this.server}' is unavailable: ${this.detail}`
  }
}

/**
 * The server answered with a JSON-RPC error.
 *
 * @example
 * ```ts
 * new Protocol({ server: "x", tool: "y", code: -32602, detail: "Invalid params" })
 * ```
 */
export class Protocol extends Schema.TaggedClass<Protocol>()("Protocol", {
  ...where,
  code: Schema.Number,
  detail: Schema.String
}) {
  get message() {
    return `${at(this)}: JSON-RPC error ${this.code}: ${this.detail}`
  }
}

/**
 * The server asks for credentials (HTTP 401/403, or an OAuth flow).
 *
 * @example
 * ```ts
 * new AuthRequired({ server: "github", tool: "search", detail: "HTTP 401" })
 * ```
 */
export class AuthRequired extends Schema.TaggedClass<AuthRequired>()("AuthRequired", {
  ...where,
  detail: Schema.String
}) {
  get message() {
    return `${at(this)}: server '${this.server}' requires authentication: ${this.detail}`
  }
}

/**
 * The call is outside the gateway's allowlist (least privilege); nothing was sent.
 *
 * @example
 * ```ts
 * new NotAllowed({ server: "k8s", tool: "delete", allowed: ["k8s.kubectl_get"] })
 * ```
 */
export class NotAllowed extends Schema.TaggedClass<NotAllowed>()("NotAllowed", {
  ...where,
  allowed: Schema.Array(Schema.String)
}) {
  get message() {
    return `${at(this)}: not allowed by the allowlist [${this.allowed.join(", ")}]; nothing was sent`
  }
}

/**
 * The server does not publish this tool, or the server key is not configured.
 *
 * @example
 * ```ts
 * new UnknownTool({ server: "fs", tool: "rm_rf", detail: "the server publishes: read_file, write_file" })
 * ```
 */
export class UnknownTool extends Schema.TaggedClass<UnknownTool>()("UnknownTool", {
  ...where,
  detail: Schema.String
}) {
  get message() {
    return `${at(this)}: unknown tool: ${this.detail}`
  }
}

/**
 * The server refused the call for now and may say when to come back (`retryAfterMs`).
 *
 * @example
 * ```ts
 * new RateLimited({ server: "gh", tool: "search", retryAfterMs: 2000, detail: "rate limited" })
 * ```
 */
export class RateLimited extends Schema.TaggedClass<RateLimited>()("RateLimited", {
  ...where,
  retryAfterMs: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  get message() {
    return `${at(this)}: rate limited${this.retryAfterMs !== undefined ? ` (retry after ${this.retryAfterMs} ms)` : ""}: ${this.detail}`
  }
}

/**
 * Every reason a tool call can fail, as a union Schema.
 *
 * @example
 * ```ts
 * Schema.decodeUnknownSync(ToolErrorReason)({ _tag: "Timeout", server: "a", tool: "b", phase: "call", afterMs: 5 })
 * ```
 */
export const ToolErrorReason = Schema.Union([
  ToolFailed,
  InvalidInput,
  InvalidOutput,
  Timeout,
  ConnectionLost,
  ServerUnavailable,
  Protocol,
  AuthRequired,
  NotAllowed,
  UnknownTool,
  RateLimited
])

/**
 * One reason of {@link McpflowToolError}.
 *
 * @example
 * ```ts
 * const tag: ToolErrorReason["_tag"] = "Timeout"
 * ```
 */
export type ToolErrorReason = typeof ToolErrorReason.Type

const transientTags: ReadonlySet<ToolErrorReason["_tag"]> = new Set([
  "Timeout",
  "ConnectionLost",
  "ServerUnavailable",
  "RateLimited"
])

const maybeSentTags: ReadonlySet<ToolErrorReason["_tag"]> = new Set(["Timeout", "ConnectionLost"])

/**
 * Whether retrying can help: true for `Timeout`, `ConnectionLost`, `ServerUnavailable` and
 * `RateLimited`; false for the rest.
 *
 * @example
 * ```ts
 * isTransient(new Timeout({ server: "a", tool: "b", phase: "call", afterMs: 1 })) // => true
 * ```
 */
export const isTransient = (reason: ToolErrorReason): boolean =>
  transientTags.has(reason._tag) && !(reason._tag === "Timeout" && reason.phase === "total")

/**
 * Whether the failed call may have reached the server and had its side effect
 * (`Timeout` of a call, `ConnectionLost`): retrying such a call of a non-idempotent tool can
 * repeat the side effect.
 *
 * @example
 * ```ts
 * mayHaveReachedServer(new ConnectionLost({ server: "pay", tool: "charge", detail: "closed" })) // => true
 * ```
 */
export const mayHaveReachedServer = (reason: ToolErrorReason): boolean =>
  maybeSentTags.has(reason._tag)

/**
 * The error of every MCP tool call. Match on `reason._tag`, or use
 * `Effect.catchReason("McpflowToolError", "Timeout", …)`.
 *
 * @example
 * ```ts
 * const error = new McpflowToolError({ reason: new ToolFailed({ server: "fs", tool: "read", text: "no" }) })
 * error.message   // => "fs.read failed: no"
 * error.transient // => false
 * ```
 */
export class McpflowToolError extends Schema.TaggedError<McpflowToolError>()("McpflowToolError", {
  reason: ToolErrorReason
}) {
  override get message(): string {
    return this.reason.message
  }
  /** The server key of the failed call. */
  get server(): string {
    return this.reason.server
  }
  /** The tool name of the failed call. */
  get tool(): string {
    return this.reason.tool
  }
  /** Whether a retry can help (see {@link isTransient}). */
  get transient(): boolean {
    return isTransient(this.reason)
  }
  /** Whether the call may have had its side effect (see {@link mayHaveReachedServer}). */
  get mayHaveReachedServer(): boolean {
    return mayHaveReachedServer(this.reason)
  }
  /** A delay the server asked for before the next attempt, if any. */
  get retryAfterMs(): number | undefined {
    return this.reason._tag === "RateLimited" ? this.reason.retryAfterMs : undefined
  }
}

/**
 * Builds an {@link McpflowToolError} from one of its reasons.
 *
 * @example
 * ```ts
 * toolError(new UnknownTool({ server: "fs", tool: "x", detail: "not published" }))
 * ```
 */
export const toolError = (reason: ToolErrorReason): McpflowToolError => new McpflowToolError({ reason })
