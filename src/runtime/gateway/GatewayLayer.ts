/**
 * The `McpGateway` layers: from a config object, from an `.mcp.json` file, or from in-process
 * servers. Servers connect lazily on first use, reconnect after a dropped connection with a
 * bounded backoff, and are all closed when the layer's scope closes (`ServerConnections`);
 * calls are checked against the allowlists (`Allowlist`), timed by their deadlines
 * (`Deadlines`, `ToolCall`) and run through the config's policies (`Policies`).
 *
 * @module
 */
import type { CallToolResult, Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Exit, Fiber, Layer } from "effect"
import type { ContractInfo, ContractSchema } from "../../../dsl/Contract.ts"
import { type McpflowToolError, NotAllowed, Timeout, ToolFailed, toolError, type ToolErrorReason, UnknownTool } from "../../../dsl/ToolError.ts"
import { type CallOptions, CallSites, type ContractMismatch, GatewayEvents, makeCallSites, McpGateway } from "../../../dsl/ports/McpGateway.ts"
import * as Allowlist from "./Allowlist.ts"
import * as Deadlines from "./Deadlines.ts"
import type { Connection } from "./Connection.ts"
import { compareContract } from "./Discovery.ts"
import * as Health from "./Health.ts"
import * as HealthGate from "./HealthGate.ts"
import { loadMcpJson, McpflowConfigError } from "./McpJson.ts"
import { makePolicies } from "./Policies.ts"
import * as Replicas from "./Replicas.ts"
import { thrownReason } from "./SdkErrors.ts"
import * as SecretMask from "./SecretMask.ts"
import * as ServerConnections from "./ServerConnections.ts"
import type { GatewayConfig, HealthSettings } from "./ServerConfig.ts"
import { beginCall, callTool } from "./ToolCall.ts"
import * as CallTelemetry from "../observe/CallTelemetry.ts"
import { CurrentTelemetry } from "../observe/Telemetry.ts"
import { traceSafeAttributes } from "../observe/TraceSafe.ts"

/**
 * Extra settings for a gateway layer.
 *
 * @example
 * ```ts
 * GatewayLayer.layer(config, { allow: ["docker.*", "k8s.kubectl_get"] })
 * ```
 */
export interface GatewayOptions {
  /**
   * An allowlist of `server.tool` patterns. When the config has one too, a call must match both
   * (a flow can only narrow what its environment allows).
   */
  readonly allow?: ReadonlyArray<string> | undefined
}

/**
 * What a watched request reports besides its server and tool: which attempt of its call it is
 * (counted only when watched), and the contract fields marked safe to show in its span.
 */
class Watch {
  attempts = 0
  constructor(readonly schema: ContractSchema, readonly input: unknown) {}
}

/**
 * The gateway service: the connections, the allowlists, the deadlines and the policies of the
 * config, composed into `call`, `callRaw`, `listTools`, `checkContracts` and `status`.
 */
const make = (declared: GatewayConfig, options: GatewayOptions = {}) =>
  Effect.gen(function*() {
    // Each replica of a group is a server of its own to the connections (`group/replica`).
    const flat = Replicas.flatten(declared)
    const config: GatewayConfig = { ...declared, servers: flat.servers }
    const connections = yield* ServerConnections.make(config.servers)
    const { handles } = connections
    const servers = flat.groups.size === 0
      ? connections.servers
      : [...Object.keys(declared.servers), ...flat.groups.keys()]
    const allowlist = Allowlist.make([config.allow, options.allow])
    // Metrics, when someone exports them (read once: absent, a call pays nothing for them).
    const telemetry = yield* CurrentTelemetry
    const deadlinesOf = new Map([...handles].map(([key, handle]) => [key, Deadlines.resolver(key, handle.config)]))
    // The config's secrets, masked in everything a server says before anyone sees it (see SecretMask).
    const mask = SecretMask.fromConfig(config)
    /**
     * What reaches a caller from a server, masked: the failure, and the events raised meanwhile
     * (progress; the stderr lines and disconnections of a connection opened by this call).
     */
    const masked = <A>(effect: Effect.Effect<A, McpflowToolError>): Effect.Effect<A, McpflowToolError> =>
      effect.pipe(
        Effect.mapError(mask.error),
        Effect.updateService(GatewayEvents, (sink) => ({ emit: (event) => sink.emit(mask.event(event)) }))
      )

    const fail = (reason: ToolErrorReason) => Effect.fail(toolError(reason))
    const notAllowed = (server: string, tool: string) => fail(new NotAllowed({ server, tool, allowed: allowlist.patterns }))

    /** One health probe of a server: MCP `ping`, or its named tool (an `isError` answer fails it). */
    const check = (key: string, settings: HealthSettings | undefined): Effect.Effect<void, McpflowToolError> => {
      const handle = handles.get(key)
      if (handle === undefined) return unknownServer(key, "ping")
      const probe = settings?.probe
      if (probe !== undefined && probe !== "ping") {
        return Effect.asVoid(sendTo(handle, probe.tool, probe.args ?? {}, { label: "health" }, Effect.succeed, undefined, undefined).pipe(
          Effect.flatMap((result) => result.isError === true ? fail(new ToolFailed({ server: key, tool: probe.tool, text: "the probe answered isError" })) : Effect.void)
        ))
      }
      return Effect.flatMap(connections.connection(handle, "ping"), (conn) =>
        Effect.tryPromise({
          try: () => conn.client.ping({ timeout: Deadlines.SDK_NO_TIMEOUT }),
          catch: (error) => toolError(thrownReason(key, "ping", error))
        }).pipe(Effect.asVoid))
    }
    // A probe's failure is shown (health events, `mcpflow health`): masked like any server text.
    const checkMasked = mask.active ? (key: string, settings: HealthSettings | undefined) => Effect.mapError(check(key, settings), mask.error) : check
    const health = Health.makeRegistry([...handles.values()].map((h) => ({ key: h.key, settings: h.config.health })), checkMasked)
    // Policies from the config, built once per layer, their breakers held open while their server's
    // health probes fail (HealthGate). A malformed entry in a config written in code is a defect
    // here (`layerFromFile` reports it as a McpflowConfigError when decoding).
    const policies = yield* makePolicies(config.policies, config.pools, HealthGate.make(health)).pipe(
      Effect.mapError((e) => new McpflowConfigError({ path: e.path, detail: e.detail })),
      Effect.orDie
    )
    telemetry?.watchPools(policies.pools)
    const router = yield* Replicas.makeRouter(flat.groups, health)

    const unknownServer = (server: string, tool: string) =>
      fail(
        new UnknownTool({
          server,
          tool,
          detail: `no server '${server}' is configured (configured: ${servers.length ? servers.join(", ") : "none"})`
        })
      )

    /**
     * Calls `tool` on `server` (already allowed): its handle, its connection (looked up when the
     * Effect runs, so a retried call reconnects), then one `tools/call` whose result `decode`
     * (the contract's decoder) turns into the value in the same step. A `ConnectionLost` failure
     * makes the next call reconnect.
     */
    const send = <A>(
      server: string,
      tool: string,
      args: Readonly<Record<string, unknown>>,
      callOptions: CallOptions | undefined,
      decode: (result: CallToolResult) => Effect.Effect<A, McpflowToolError>,
      meta?: Readonly<Record<string, unknown>>,
      idempotent = false,
      watch?: Watch
    ): Effect.Effect<A, McpflowToolError> => {
      const handle = handles.get(server)
      if (handle === undefined) {
        const group = router.groups.get(server)
        if (group === undefined) return unknownServer(server, tool)
        const label = callOptions?.label
        // A replica's call starts in the routed call's registration (see Replicas.Routing).
        return router.route(group, tool, label, idempotent, mask.active
          ? Replicas.fromEffect((key) => send(key, tool, args, callOptions, decode, meta, idempotent, watch))
          : (key, resume, fiber) => startOn(handles.get(key)!, tool, args, callOptions, decode, meta, watch, resume, fiber))
      }
      if (!mask.active) return sendTo(handle, tool, args, callOptions, decode, meta, watch)
      // The decoded value's strings are masked, its Redacted fields kept (the journal seals them).
      return masked(sendTo(handle, tool, args, callOptions, (result) => Effect.map(decode(result), mask.value), meta, watch))
    }

    /** What a call does when its connection is lost (forget it: the next call reconnects), made once per connection. */
    const lost = new WeakMap<Connection, () => void>()
    const lostOf = (handle: ServerConnections.ServerHandle, conn: Connection): () => void => {
      let onLost = lost.get(conn)
      if (onLost === undefined) lost.set(conn, onLost = () => connections.drop(handle, conn))
      return onLost
    }

    /**
     * One request. When a tracer is installed or metrics are exported it is watched (a span,
     * `traceparent` in `_meta`, metrics): decided in the call's registration, so an unwatched
     * call pays one reference read. The span sees masked failures only.
     */
    const sendTo = <A>(
      handle: ServerConnections.ServerHandle,
      tool: string,
      args: Readonly<Record<string, unknown>>,
      callOptions: CallOptions | undefined,
      decode: (result: CallToolResult) => Effect.Effect<A, McpflowToolError>,
      meta: Readonly<Record<string, unknown>> | undefined,
      watch: Watch | false | undefined
    ): Effect.Effect<A, McpflowToolError> =>
      // A registration runs on its fiber: the caller's, read once for the telemetry check and the call's references.
      Effect.callback<A, McpflowToolError>((resume) => startOn(handle, tool, args, callOptions, decode, meta, watch, resume, Fiber.getCurrent()!))

    /**
     * Starts one request from inside an `Effect.callback` registration on `fiber` (`sendTo`'s,
     * or a routed call's): on an open connection it is sent at once and `resume` gets its
     * outcome; otherwise `resume` gets the Effect that connects (or watches) first. Returns
     * what cancels the request.
     */
    const startOn = <A>(
      handle: ServerConnections.ServerHandle,
      tool: string,
      args: Readonly<Record<string, unknown>>,
      callOptions: CallOptions | undefined,
      decode: (result: CallToolResult) => Effect.Effect<A, McpflowToolError>,
      meta: Readonly<Record<string, unknown>> | undefined,
      watch: Watch | false | undefined,
      resume: (effect: Effect.Effect<A, McpflowToolError>) => void,
      fiber: Fiber.Fiber<unknown, unknown>
    ): Effect.Effect<void> | void => {
      const deadlines = deadlinesOf.get(handle.key)!(callOptions)
      const label = callOptions?.label
      if (watch !== false && CallTelemetry.isWatched(telemetry, fiber)) {
        const attempt = watch === undefined ? 1 : ++watch.attempts
        const attributes = watch === undefined ? undefined : traceSafeAttributes(watch.schema, watch.input)
        return resume(CallTelemetry.observe(telemetry, handle.key, tool, attempt, attributes, (extra) => {
          const sent = sendTo(handle, tool, args, callOptions, decode, extra === undefined ? meta : { ...meta, ...extra }, false)
          return mask.active ? Effect.mapError(sent, mask.error) : sent
        }))
      }
      const current = handle.conn
      if (current !== undefined && !current.isClosed()) {
        return beginCall(current.client, handle.key, tool, args, label, deadlines, decode, lostOf(handle, current), resume, meta, fiber)
      }
      resume(Effect.flatMap(connections.connect(handle, tool), (conn) =>
        callTool(conn.client, handle.key, tool, args, label, deadlines, decode, () =>
          connections.drop(handle, conn), meta)))
    }

    /** Calls outside any step: one attempt for the gateway's lifetime. */
    const rootSites = makeCallSites("")
    /** The servers (and groups, by their first replica) that ask for call sites (`callSites`). */
    const siteServers = new Set(
      servers.filter((server) => {
        const group = router.groups.get(server)
        const config = handles.get(group === undefined ? server : group.replicas[0]!.key)?.config
        return config?.type === "in-process" && config.callSites === true
      })
    )
    /** Whether a call's input gets a call site: its server asks for them and the input is an object. */
    const wantsSite = (server: string, input: unknown): input is object =>
      siteServers.size !== 0 && siteServers.has(server) && typeof input === "object" && input !== null
    /**
     * A call's site, read from its fiber once per logical call, before its policies, so a
     * policy's retry sends the same site again.
     */
    const siteOf = (fiber: Fiber.Fiber<unknown, unknown>, input: object): Readonly<Record<string, unknown>> => {
      const sites = fiber.getRef(CallSites) ?? rootSites
      return { "mcpflow/step": sites.path, "mcpflow/call": sites.indexOf(input) }
    }

    const sendRaw = (
      server: string,
      tool: string,
      args: Readonly<Record<string, unknown>>,
      callOptions: CallOptions | undefined,
      meta: Readonly<Record<string, unknown>> | undefined
    ) => send(server, tool, args, callOptions, Effect.succeed, meta, callOptions?.idempotent === true)

    const callRaw = (
      server: string,
      tool: string,
      args: Readonly<Record<string, unknown>>,
      callOptions?: CallOptions
    ) => {
      if (!allowlist.isAllowed(server, tool)) return notAllowed(server, tool)
      if (!wantsSite(server, args)) return sendRaw(server, tool, args, callOptions, undefined)
      return Effect.withFiber((fiber) => sendRaw(server, tool, args, callOptions, siteOf(fiber, args)))
    }

    /** One attempt of a contract call: send the encoded input, decode the result. */
    const attempt = <In extends ContractSchema, Out extends ContractSchema>(
      contract: ContractInfo<In, Out>,
      args: Readonly<Record<string, unknown>>,
      callOptions: CallOptions<Out["Type"]> | undefined,
      meta: Readonly<Record<string, unknown>> | undefined,
      watch: Watch
    ): Effect.Effect<Out["Type"], McpflowToolError> =>
      send(
        contract.server,
        contract.tool,
        args,
        callOptions as CallOptions | undefined,
        contract.decodeResult,
        meta,
        callOptions?.idempotent ?? (contract.annotations.idempotent === true || contract.annotations.readOnly === true),
        watch
      )

    const call = <In extends ContractSchema, Out extends ContractSchema>(
      contract: ContractInfo<In, Out>,
      input: In["Type"],
      callOptions?: CallOptions<Out["Type"]>
    ): Effect.Effect<Out["Type"], McpflowToolError> => {
      if (!allowlist.isAllowed(contract.server, contract.tool)) return notAllowed(contract.server, contract.tool)
      if (!wantsSite(contract.server, input)) return callAt(contract, input, callOptions, undefined)
      return Effect.withFiber((fiber) => callAt(contract, input, callOptions, siteOf(fiber, input)))
    }

    /** A contract call (allowed) with its call site, if any. */
    const callAt = <In extends ContractSchema, Out extends ContractSchema>(
      contract: ContractInfo<In, Out>,
      input: In["Type"],
      callOptions: CallOptions<Out["Type"]> | undefined,
      meta: Readonly<Record<string, unknown>> | undefined
    ): Effect.Effect<Out["Type"], McpflowToolError> => {
      const encoded = contract.encodeInput(input)
      if (policies.needed(contract as ContractInfo, callOptions)) {
        // A policy's retries run the same attempt again: each run of the call counts them from 1.
        return Effect.flatMap(encoded, (args) =>
          policies.run(contract, args, callOptions, attempt(contract, args, callOptions, meta, new Watch(contract.input, input)), service))
      }
      const watch = new Watch(contract.input, input)
      // The plain path: an input that encoded synchronously (an Exit) goes straight to the call.
      if (Exit.isExit(encoded)) {
        return Exit.isSuccess(encoded) ? attempt(contract, encoded.value as Record<string, unknown>, callOptions, meta, watch) : encoded
      }
      return Effect.flatMap(encoded, (args) => attempt(contract, args, callOptions, meta, watch))
    }

    const listTools = (server: string): Effect.Effect<ReadonlyArray<McpTool>, McpflowToolError> => {
      const handle = handles.get(server)
      if (handle === undefined) {
        const group = router.groups.get(server)
        return group === undefined
          ? unknownServer(server, "tools/list")
          : router.route(group, "tools/list", undefined, true, Replicas.fromEffect((key) => listTools(key)))
      }
      return mask.active ? masked(Effect.map(listToolsOf(handle), mask.value)) : listToolsOf(handle)
    }

    const listToolsOf = (handle: ServerConnections.ServerHandle): Effect.Effect<ReadonlyArray<McpTool>, McpflowToolError> => {
      const server = handle.key
      const timeoutMs = handle.config.callTimeoutMs ?? Deadlines.DEFAULT_CALL_TIMEOUT_MS
      return Effect.flatMap(connections.connection(handle, "tools/list"), (conn) => {
        if (handle.tools !== undefined && handle.conn === conn) return Effect.succeed(handle.tools)
        return Effect.tryPromise({
          try: async () => {
            const tools: Array<McpTool> = []
            let cursor: string | undefined
            do {
              const page = await conn.client.listTools(cursor ? { cursor } : undefined, { timeout: Deadlines.SDK_NO_TIMEOUT })
              tools.push(...page.tools)
              cursor = page.nextCursor
            } while (cursor)
            return tools
          },
          catch: (error) => toolError(thrownReason(server, "tools/list", error))
        }).pipe(
          Effect.timeoutOrElse({
            duration: timeoutMs,
            orElse: () => fail(new Timeout({ server, tool: "tools/list", phase: "call", afterMs: timeoutMs }))
          }),
          Effect.tap((tools) =>
            Effect.sync(() => {
              if (handle.conn === conn) handle.tools = tools
            })
          )
        )
      })
    }

    const checkContracts = (contracts: ReadonlyArray<ContractInfo>) =>
      Effect.gen(function*() {
        const byServer = new Map<string, Array<ContractInfo>>()
        for (const contract of contracts) {
          const list = byServer.get(contract.server) ?? []
          list.push(contract)
          byServer.set(contract.server, list)
        }
        const results = yield* Effect.forEach(
          [...byServer],
          ([server, list]) =>
            listTools(server).pipe(
              Effect.map((published) => list.flatMap((contract) => compareContract(contract, published))),
              Effect.catch((error) =>
                Effect.succeed<ReadonlyArray<ContractMismatch>>(
                  list.map((contract) => ({
                    kind: "ServerUnreachable" as const,
                    server,
                    tool: contract.tool,
                    detail: error.message
                  }))
                )
              )
            ),
          { concurrency: "unbounded" }
        )
        return results.flat()
      })

    // Background probes start once everything they use is defined.
    yield* health.watch
    const service: McpGateway["Service"] = McpGateway.of({
      servers,
      call,
      callRaw,
      listTools,
      checkContracts,
      status: connections.status,
      health: (healthOptions) =>
        healthOptions?.probe === true
          ? Effect.forEach([...handles.keys()], health.probe, { concurrency: "unbounded" })
          : health.snapshot
    })
    return service
  })

/**
 * A gateway over the servers of a config object.
 *
 * @example
 * ```ts
 * const Gateway = GatewayLayer.layer({ servers: { fs: { type: "stdio", command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "."], env: {} } } })
 * program.pipe(Effect.provide(Gateway))
 * ```
 */
export const layer = (config: GatewayConfig, options?: GatewayOptions): Layer.Layer<McpGateway> =>
  Layer.effect(McpGateway, make(config, options))

/**
 * A gateway over the servers of an `.mcp.json` file (default `./.mcp.json`), with `${VAR}`
 * expansion from the process environment.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(GatewayLayer.layerFromFile(".mcp.json", { allow: ["fs.read_*"] })))
 * ```
 */
export const layerFromFile = (
  file = ".mcp.json",
  options?: GatewayOptions & { readonly env?: Record<string, string | undefined> | undefined }
): Layer.Layer<McpGateway, McpflowConfigError> =>
  Layer.effect(
    McpGateway,
    Effect.flatMap(loadMcpJson(file, { env: options?.env }), (config) => make(config, options))
  )
