/**
 * The one error type of every MCP tool call: {@link McpflowToolError}, whose
 * `reason` says what went wrong, where, and whether retrying can help.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { McpflowToolError } from "mcpflow"
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
 * A resilience policy refused the call before anything was sent: the circuit `breaker` was
 * open (or its half-open trial calls were all in flight), the `bulkhead` was full or its wait
 * expired, or the local `rate-limit` had no token. `policy` names what refused (the circuit key,
 * the bulkhead pool, the rate limiter's key); `retryAfterMs` is when to come back, if known.
 * Transient: a later attempt can succeed, and a retry waits at least `retryAfterMs`. A breaker
 * never counts it as a failure. (A rate limit announced by the *server* is {@link RateLimited}.)
 *
 * @example
 * ```ts
 * new Rejected({ server: "gh", tool: "search", by: "breaker", policy: "gh", retryAfterMs: 30000, detail: "circuit 'gh' is open" }).message
 * // => "gh.search: rejected by the circuit breaker 'gh' (nothing was sent; retry after 30000 ms): circuit 'gh' is open"
 * ```
 */
export class Rejected extends Schema.TaggedClass<Rejected>()("Rejected", {
  ...where,
  by: Schema.Literals(["breaker", "bulkhead", "rate-limit"]),
  policy: Schema.String,
  retryAfterMs: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  get message() {
    const by = this.by === "breaker" ? "circuit breaker" : this.by === "bulkhead" ? "bulkhead" : "rate limiter"
    const after = this.retryAfterMs !== undefined ? `; retry after ${this.retryAfterMs} ms` : ""
    return `${at(this)}: rejected by the ${by} '${this.policy}' (nothing was sent${after}): ${this.detail}`
  }
}

/**
 * The encoded form of {@link ToolErrorReason} (what `Schema.encode` produces; plain JSON).
 *
 * @example
 * ```ts
 * const encoded: ToolErrorReasonEncoded = { _tag: "UnknownTool", server: "fs", tool: "x", detail: "not published" }
 * ```
 */
export type ToolErrorReasonEncoded =
  | typeof ToolFailed.Encoded
  | typeof InvalidInput.Encoded
  | typeof InvalidOutput.Encoded
  | typeof Timeout.Encoded
  | typeof ConnectionLost.Encoded
  | typeof ServerUnavailable.Encoded
  | typeof Protocol.Encoded
  | typeof AuthRequired.Encoded
  | typeof NotAllowed.Encoded
  | typeof UnknownTool.Encoded
  | typeof RateLimited.Encoded
  | typeof Rejected.Encoded
  | FallbackFailedEncoded

/**
 * The encoded form of {@link FallbackFailed}.
 *
 * @example
 * ```ts
 * const encoded: FallbackFailedEncoded = {
 *   _tag: "FallbackFailed", server: "scan", tool: "run", policy: "local",
 *   primary: { _tag: "ServerUnavailable", server: "scan", tool: "run", detail: "down" },
 *   fallback: { _tag: "ToolFailed", server: "desktop", tool: "scan", text: "no scanner" }
 * }
 * ```
 */
export interface FallbackFailedEncoded {
  readonly _tag: "FallbackFailed"
  readonly server: string
  readonly tool: string
  readonly policy: string
  readonly primary: ToolErrorReasonEncoded
  readonly fallback: ToolErrorReasonEncoded
}

const reasonSchema = Schema.suspend((): Schema.Codec<ToolErrorReason, ToolErrorReasonEncoded> => ToolErrorReason)

/**
 * The call failed and so did its fallback (`policy` names the fallback); both failures are kept,
 * as typed reasons. `server` and `tool` are the primary call's; the fallback's failure may name
 * another server and tool (a fallback to another `server.tool`). Transient iff the fallback's
 * failure is; it may have reached a server if either failure may have.
 *
 * @example
 * ```ts
 * const both = new FallbackFailed({
 *   server: "scan", tool: "run", policy: "local",
 *   primary: new ServerUnavailable({ server: "scan", tool: "run", detail: "down" }),
 *   fallback: new ToolFailed({ server: "desktop", tool: "scan", text: "no scanner" })
 * })
 * both.message
 * // => "scan.run: the call and its fallback 'local' both failed: scan.run: server 'scan' is unavailable: down; then desktop.scan failed: no scanner"
 * ```
 */
export class FallbackFailed extends Schema.TaggedClass<FallbackFailed>()("FallbackFailed", {
  ...where,
  policy: Schema.String,
  primary: reasonSchema,
  fallback: reasonSchema
}) {
  get message(): string {
    return `${at(this)}: the call and its fallback '${this.policy}' both failed: ${this.primary.message}; then ${this.fallback.message}`
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
  RateLimited,
  Rejected,
  FallbackFailed
])

/**
 * One reason of {@link McpflowToolError}.
 *
 * @example
 * ```ts
 * const tag: ToolErrorReason["_tag"] = "Timeout"
 * ```
 */
export type ToolErrorReason =
  | ToolFailed
  | InvalidInput
  | InvalidOutput
  | Timeout
  | ConnectionLost
  | ServerUnavailable
  | Protocol
  | AuthRequired
  | NotAllowed
  | UnknownTool
  | RateLimited
  | Rejected
  | FallbackFailed

/**
 * Whether retrying can help: true for `Timeout` of a call (not of the total budget),
 * `ConnectionLost`, `ServerUnavailable`, `RateLimited` and `Rejected`; for `FallbackFailed`,
 * whether the fallback's failure is; false for the rest.
 *
 * @example
 * ```ts
 * isTransient(new Timeout({ server: "a", tool: "b", phase: "call", afterMs: 1 })) // => true
 * ```
 */
export const isTransient = (reason: ToolErrorReason): boolean => {
  switch (reason._tag) {
    case "Timeout":
      return reason.phase === "call"
    case "ConnectionLost":
    case "ServerUnavailable":
    case "RateLimited":
    case "Rejected":
      return true
    case "FallbackFailed":
      return isTransient(reason.fallback)
    case "ToolFailed":
    case "InvalidInput":
    case "InvalidOutput":
    case "Protocol":
    case "AuthRequired":
    case "NotAllowed":
    case "UnknownTool":
      return false
  }
}

/**
 * Whether the failed call may have reached the server and had its side effect
 * (`Timeout` of a call, `ConnectionLost`, and `InvalidOutput` — the tool ran, its answer did not fit;
 * `FallbackFailed` when either of its failures may
 * have): retrying such a call of a non-idempotent tool can repeat the side effect.
 *
 * @example
 * ```ts
 * mayHaveReachedServer(new ConnectionLost({ server: "pay", tool: "charge", detail: "closed" })) // => true
 * ```
 */
export const mayHaveReachedServer = (reason: ToolErrorReason): boolean => {
  switch (reason._tag) {
    case "Timeout":
    case "ConnectionLost":
    // The tool ran and answered; only its answer did not fit the contract.
    case "InvalidOutput":
      return true
    case "FallbackFailed":
      return mayHaveReachedServer(reason.primary) || mayHaveReachedServer(reason.fallback)
    default:
      return false
  }
}

/**
 * The delay a reason asks for before the next attempt: `RateLimited` (the server said when),
 * `Rejected` (the policy said when), and for `FallbackFailed` its fallback's.
 *
 * @example
 * ```ts
 * retryAfterMsOf(new RateLimited({ server: "gh", tool: "search", retryAfterMs: 2000, detail: "slow down" })) // => 2000
 * ```
 */
export const retryAfterMsOf = (reason: ToolErrorReason): number | undefined => {
  switch (reason._tag) {
    case "RateLimited":
    case "Rejected":
      return reason.retryAfterMs
    case "FallbackFailed":
      return retryAfterMsOf(reason.fallback)
    default:
      return undefined
  }
}

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
  /** A delay the server or a policy asked for before the next attempt, if any (see {@link retryAfterMsOf}). */
  get retryAfterMs(): number | undefined {
    return retryAfterMsOf(this.reason)
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
