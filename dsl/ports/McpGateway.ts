/**
 * The `McpGateway` service: every MCP tool call of mcpflow goes through it. Its layers live in
 * `GatewayLayer.ts`; this module holds the service tag and the types callers see.
 *
 * @module
 */
import type { CallToolResult, Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import { Context, type Duration, type Effect } from "effect"
import type { ContractInfo, ContractSchema } from "../Contract.ts"
import type { PolicyInput } from "../policy/Policy.ts"
import type { McpflowToolError } from "../ToolError.ts"

/**
 * Per-call settings; each overrides the server's own. `A` is the call's result type (what a
 * policy's fallback must produce).
 *
 * @example
 * ```ts
 * Everything.longRunning({ duration: 5, steps: 5 }, { timeout: "2 seconds", resetTimeoutOnProgress: true, maxTotalTimeout: "10 seconds" })
 * Docker.build(input, { policy: { retry: { maxAttempts: 5 }, timeout: "2 minutes" } })
 * ```
 */
export interface CallOptions<A = unknown> {
  /** How long the call may go without an answer (or, with `resetTimeoutOnProgress`, without progress). */
  readonly timeout?: Duration.Input | undefined
  /** Let progress notifications restart the timeout. */
  readonly resetTimeoutOnProgress?: boolean | undefined
  /** With `resetTimeoutOnProgress`, the most the call may take in all. */
  readonly maxTotalTimeout?: Duration.Input | undefined
  /** A label echoed in this call's events (the interpreter passes the step name). */
  readonly label?: string | undefined
  /**
   * Resilience policy for this call (data or instances, see `Policy`). Per policy kind it
   * overrides the tool's policy and the server's (call site > tool > server); `false` switches a
   * kind off. A fallback may call other tools (it is given this gateway).
   */
  readonly policy?: PolicyInput<A, unknown, McpGateway> | undefined
  /**
   * This call is safe to repeat even though the tool is not declared idempotent (a read-only
   * shell command, a rollback to a named revision): retries and hedges may repeat it.
   */
  readonly idempotent?: boolean | undefined
}

/**
 * What the gateway reports: connection changes, server log messages, call progress.
 *
 * @example
 * ```ts
 * const e: GatewayEvent = { _tag: "ToolProgress", server: "everything", tool: "trigger-long-running-operation", progress: 2, total: 5 }
 * ```
 */
export type GatewayEvent =
  | { readonly _tag: "ServerConnecting"; readonly server: string; readonly attempt: number }
  | {
    readonly _tag: "ServerConnected"
    readonly server: string
    readonly pid?: number | undefined
    readonly serverName?: string | undefined
    readonly serverVersion?: string | undefined
  }
  | { readonly _tag: "ServerDisconnected"; readonly server: string; readonly detail: string }
  | {
    readonly _tag: "ServerLog"
    readonly server: string
    readonly level: string
    readonly logger?: string | undefined
    readonly data: unknown
  }
  | {
    readonly _tag: "ToolProgress"
    readonly server: string
    readonly tool: string
    readonly label?: string | undefined
    readonly progress: number
    readonly total?: number | undefined
    readonly message?: string | undefined
  }
  | {
    /** A replica group's call was served by `replica`, after the replicas in `skipped` (and why). */
    readonly _tag: "ReplicaServed"
    readonly server: string
    readonly replica: string
    readonly tool: string
    readonly label?: string | undefined
    readonly skipped: ReadonlyArray<{ readonly replica: string; readonly why: string }>
  }
  | {
    /**
     * A fault injected by a chaos harness hit a call to `server.tool` (its `call`-th, 1-based) at
     * `atMs` (epoch ms): reported from the fiber that made the call, so its step records it.
     */
    readonly _tag: "FaultFired"
    readonly server: string
    readonly tool: string
    readonly kind: string
    readonly call: number
    readonly atMs: number
    readonly detail?: string | undefined
  }
  | {
    /** A server's health state changed (see `ServerHealth`). */
    readonly _tag: "HealthChanged"
    readonly server: string
    readonly from: HealthState
    readonly to: HealthState
    readonly detail?: string | undefined
  }

/**
 * Where the gateway's events go. Read from the fiber that makes a call (progress) or that
 * opened the connection (connection changes, server logs); a no-op by default.
 *
 * @example
 * ```ts
 * const events: Array<GatewayEvent> = []
 * program.pipe(Effect.provideService(GatewayEvents, { emit: (e) => events.push(e) }))
 * ```
 */
export const GatewayEvents = Context.Reference<{ readonly emit: (event: GatewayEvent) => void }>(
  "mcpflow/gateway/GatewayEvents",
  { defaultValue: () => ({ emit: () => {} }) }
)

/**
 * Where tool calls are made: the path of the step running them (`""` outside any step) and the
 * index of each call within one attempt of that step, in the order the calls are first made. A
 * call made again by re-running the same call Effect (an `Effect.retry` around it, a call
 * policy's retry) keeps its index; a step's retry starts a new attempt, counted from 0 again. A
 * chaos harness uses it to tell one request sent twice from two requests with equal arguments.
 *
 * @example
 * ```ts
 * const sites = makeCallSites("order/charge")
 * const input = { amount: 10 }
 * sites.indexOf(input) // => 0
 * sites.indexOf(input) // => 0 (the same call again)
 * sites.indexOf({ amount: 10 }) // => 1 (another call)
 * ```
 */
export interface CallSites {
  readonly path: string
  /** The index of the call made with this input (by identity) in the current attempt. */
  readonly indexOf: (input: object) => number
}

/**
 * The current step attempt's {@link CallSites} (`undefined` outside any step); see {@link makeCallSites}.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provideService(CallSites, makeCallSites("deploy")))
 * ```
 */
export const CallSites = Context.Reference<CallSites | undefined>("mcpflow/gateway/CallSites", { defaultValue: () => undefined })

/**
 * The innermost step around a call whose own policy retries, as the call sees it. A call that has
 * a circuit breaker of its own reports, once per step and tool in a run (`warned` keeps the
 * tools already reported), a `PolicyOrder` policy event: the step's retry runs outside the
 * call's breaker, each retry a new call through the circuit.
 *
 * @example
 * ```ts
 * body.pipe(Effect.provideService(RetryingStep, { path: "deploy", warned: new Set() }))
 * ```
 */
export interface RetryingStep {
  readonly path: string
  readonly warned: Set<string>
}

/**
 * The current {@link RetryingStep} (`undefined` outside any step whose policy retries).
 *
 * @example
 * ```ts
 * Effect.withFiber((fiber) => Effect.succeed(fiber.getRef(RetryingStep)?.path))
 * ```
 */
export const RetryingStep = Context.Reference<RetryingStep | undefined>("mcpflow/gateway/RetryingStep", { defaultValue: () => undefined })

/**
 * Fresh {@link CallSites} for one attempt of the step at `path`.
 *
 * @example
 * ```ts
 * makeCallSites("order/charge").indexOf({ amount: 10 }) // => 0
 * ```
 */
export const makeCallSites = (path: string): CallSites => {
  let seen: WeakMap<object, number> | undefined
  let next = 0
  return {
    path,
    indexOf: (input) => {
      seen ??= new WeakMap()
      let i = seen.get(input)
      if (i === undefined) seen.set(input, i = next++)
      return i
    }
  }
}

/**
 * One server's connection state, for diagnostics and `mcpflow tools`.
 *
 * @example
 * ```ts
 * const s: ServerStatus = { server: "fs", type: "stdio", state: "connected", pid: 4242, connects: 1 }
 * ```
 */
export interface ServerStatus {
  readonly server: string
  readonly type: "stdio" | "http" | "sse" | "in-process"
  readonly state: "idle" | "connected" | "disconnected" | "closed"
  readonly pid?: number | undefined
  /** How many times a connection was established. */
  readonly connects: number
  readonly serverName?: string | undefined
  readonly serverVersion?: string | undefined
}

/**
 * A server's health as its probes see it: `unknown` until probed.
 *
 * @example
 * ```ts
 * const s: HealthState = "unhealthy"
 * ```
 */
export type HealthState = "unknown" | "healthy" | "unhealthy"

/**
 * One server's (or replica's, `group/replica`) health: its state, the probes in a row that
 * agreed, when it was last probed (ms since the epoch, on the Clock) and what the last failure said.
 *
 * @example
 * ```ts
 * const h: ServerHealth = { server: "search/a", state: "healthy", successes: 3, failures: 0, checkedAt: 0, latencyMs: 2 }
 * ```
 */
export interface ServerHealth {
  readonly server: string
  readonly state: HealthState
  readonly successes: number
  readonly failures: number
  readonly checkedAt?: number | undefined
  readonly latencyMs?: number | undefined
  readonly detail?: string | undefined
}

/**
 * A difference between a declared contract and what its server publishes.
 *
 * @example
 * ```ts
 * const m: ContractMismatch = { kind: "MissingRequiredInput", server: "fs", tool: "read_file", field: "path", detail: "…" }
 * ```
 */
export interface ContractMismatch {
  readonly kind: "ServerUnreachable" | "MissingTool" | "MissingRequiredInput" | "UnknownInputField" | "InputTypeChanged" | "OutputChanged"
  readonly server: string
  readonly tool: string
  readonly field?: string | undefined
  readonly detail: string
}

/**
 * The gateway to every configured MCP server.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const gateway = yield* McpGateway
 *   const tools = yield* gateway.listTools("everything")
 *   return tools.map((t) => t.name)
 * })
 * ```
 */
export class McpGateway extends Context.Service<McpGateway, {
  /** The configured server keys. */
  readonly servers: ReadonlyArray<string>
  /** Calls a tool through its contract: allowlist, encode, then its resolved policy around call and decode. */
  readonly call: <In extends ContractSchema, Out extends ContractSchema>(
    contract: ContractInfo<In, Out>,
    input: In["Type"],
    options?: CallOptions<Out["Type"]>
  ) => Effect.Effect<Out["Type"], McpflowToolError>
  /** Calls a tool with raw JSON arguments; an `isError` result fails with `ToolFailed`. */
  readonly callRaw: (
    server: string,
    tool: string,
    args: Readonly<Record<string, unknown>>,
    options?: CallOptions
  ) => Effect.Effect<CallToolResult, McpflowToolError>
  /** The tools a server publishes (connecting if needed). */
  readonly listTools: (server: string) => Effect.Effect<ReadonlyArray<McpTool>, McpflowToolError>
  /** Compares contracts with what their servers publish. */
  readonly checkContracts: (
    contracts: ReadonlyArray<ContractInfo>
  ) => Effect.Effect<ReadonlyArray<ContractMismatch>>
  /** Every server's connection state. */
  readonly status: Effect.Effect<ReadonlyArray<ServerStatus>>
  /**
   * Every server's health (replicas as `group/replica`); with `probe`, each is probed once first.
   * Absent on gateways without a health registry.
   */
  readonly health?: ((options?: { readonly probe?: boolean | undefined }) => Effect.Effect<ReadonlyArray<ServerHealth>>) | undefined
}>()("mcpflow/gateway/McpGateway") {}
