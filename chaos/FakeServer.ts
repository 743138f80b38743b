/**
 * Fake MCP servers declared from the same tool contracts flows use. A fake is served by the
 * real SDK `Server` over `InMemoryTransport`, publishes its contracts' JSON Schemas in
 * `tools/list`, decodes arguments with the contracts' Schemas, and runs Effect handlers on the
 * context it was made in (so `TestClock`, `Random` and a test's services apply).
 *
 * With `options.injector` (see `Injector.ts`), the fake injects a fault plan: handler faults
 * (latency, hang, tool error, JSON-RPC error, rate limit, schema drift, progress stall) here,
 * wire faults in a wrapping `FaultTransport`; and it records calls sent and executed and peak
 * concurrency per tool. Handlers may take a {@link RequestContext} (progress, logs,
 * cancellation). With a `FakeState.CurrentStore` in context, it saves that store after each
 * call it answers (state that survives a resume, see `FakeState.ts`).
 *
 * @example
 * ```ts
 * const docker = yield* FakeServer.make("docker", [
 *   FakeServer.handle(Docker.build, ({ tag }) => Effect.succeed({ imageId: `sha256:${tag}` }))
 * ])
 * const Gateway = GatewayLayer.layer({ servers: { docker } })
 * ```
 * @module
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv-provider.js"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type LoggingLevel,
  type Tool as McpTool
} from "@modelcontextprotocol/sdk/types.js"
import { Cause, Clock, Context, Effect, Exit, Schema } from "effect"
import type { ContractInfo, ContractSchema } from "../dsl/Contract.ts"
import * as PlainCodec from "../dsl/internal/PlainCodec.ts"
import { firstIssue } from "../dsl/SchemaIssues.ts"
import type { InProcessServerConfig, ServerLimits } from "../src/runtime/gateway/ServerConfig.ts"
import type * as ConnectionPool from "./ConnectionPool.ts"
import * as FakeState from "./FakeState.ts"
import { FaultTransport } from "./FaultTransport.ts"
import type { CallDecision, Injector, ServerHooks } from "./Injector.ts"

/**
 * A handler's way to answer `isError: true` with a message (what a real server does when a
 * tool fails).
 *
 * @example
 * ```ts
 * FakeServer.handle(Payments.charge, () => Effect.fail(new ToolRefusal({ text: "card declined" })))
 * ```
 */
export class ToolRefusal extends Schema.TaggedError<ToolRefusal>()("ToolRefusal", { text: Schema.String }) {}

/**
 * What a handler knows of the request it answers (the SDK's `extra`, as Effects): its id, a
 * signal aborted when the client cancels it or its connection closes (the handler's Effect is
 * interrupted then too), and ways to report progress and log as a real server does.
 *
 * @example
 * ```ts
 * FakeServer.handle(Ml.train, (input, request) =>
 *   Effect.gen(function*() {
 *     for (let epoch = 1; epoch <= 3; epoch++) {
 *       yield* Effect.sleep("10 seconds")
 *       yield* request.progress(epoch, 3, `epoch ${epoch}`)
 *     }
 *     yield* request.log("info", "training done")
 *     return { model_id: "m1" }
 *   }))
 * ```
 */
export interface RequestContext {
  readonly requestId: string | number
  /** Aborted when the client cancels the call (`notifications/cancelled`) or its connection closes. */
  readonly signal: AbortSignal
  /**
   * Sends `notifications/progress` when the client asked for progress (a no-op otherwise). A
   * `ProgressStall` fault holds the handler here.
   */
  readonly progress: (progress: number, total?: number, message?: string) => Effect.Effect<void>
  /** Sends a `notifications/message` log line (logger: the server's key). */
  readonly log: (level: LoggingLevel, data: unknown) => Effect.Effect<void>
}

/**
 * One tool of a fake server: its contract and the Effect that answers it.
 *
 * @example
 * ```ts
 * const h: ToolHandler = FakeServer.handle(Echo, ({ message }) => Effect.succeed(message))
 * ```
 */
export interface ToolHandler<R = never> {
  readonly contract: ContractInfo
  readonly run: (input: unknown, request: RequestContext) => Effect.Effect<unknown, ToolRefusal, R>
}

/**
 * Pairs a contract with its handler; input and output are typed by the contract. The handler
 * may take the {@link RequestContext} as its second argument (progress, cancellation, logs).
 *
 * @example
 * ```ts
 * FakeServer.handle(Echo.echo, ({ message }) => Effect.succeed({ echoed: message, length: message.length }))
 * ```
 */
export const handle = <In extends ContractSchema, Out extends ContractSchema, R = never>(
  contract: ContractInfo<In, Out>,
  run: (input: In["Type"], request: RequestContext) => Effect.Effect<Out["Type"], ToolRefusal, R>
): ToolHandler<R> => ({ contract, run: run as (input: unknown, request: RequestContext) => Effect.Effect<unknown, ToolRefusal, R> })

const textResult = (text: string, isError = false): CallToolResult => ({
  content: [{ type: "text", text }],
  ...(isError ? { isError: true } : {})
})

const isObjectSchema = (schema: unknown): boolean =>
  typeof schema === "object" && schema !== null && (schema as { readonly type?: unknown }).type === "object"

/**
 * The MCP `Tool` entry a contract publishes: name, description, JSON Schemas, annotations.
 *
 * @example
 * ```ts
 * toolListing(Echo.echo).inputSchema // => { type: "object", properties: { message: { type: "string" } }, required: ["message"], … }
 * ```
 */
export const toolListing = (contract: ContractInfo): McpTool => {
  const output = contract.outputJsonSchema()
  const a = contract.annotations
  return {
    name: contract.tool,
    description: contract.description,
    inputSchema: { ...contract.inputJsonSchema(), type: "object" } as McpTool["inputSchema"],
    ...(isObjectSchema(output) ? { outputSchema: output as McpTool["outputSchema"] } : {}),
    annotations: {
      readOnlyHint: a.readOnly,
      destructiveHint: a.destructive,
      idempotentHint: a.idempotent,
      openWorldHint: a.openWorld
    }
  }
}

interface CompiledTool<R> {
  readonly listing: McpTool
  readonly decode: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly encode: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly structured: boolean
  readonly run: (input: unknown, request: RequestContext) => Effect.Effect<unknown, ToolRefusal, R>
  /** The output's required properties, then the others (what schema drift removes or changes first). */
  readonly outputKeys: ReadonlyArray<string>
}

/** A contract's listing and codecs, compiled once per contract (fakes are made once per chaos run). */
const compiledCache = new WeakMap<ContractInfo, Omit<CompiledTool<never>, "run">>()

const compiled = (c: ContractInfo): Omit<CompiledTool<never>, "run"> => {
  let out = compiledCache.get(c)
  if (out === undefined) {
    const listing = toolListing(c)
    out = {
      listing,
      // Plain schemas skip the codec for values it would only copy (see PlainCodec).
      decode: PlainCodec.withShortcut(c.input.ast, Schema.decodeUnknownExit(Schema.toCodecJson(c.input))),
      encode: PlainCodec.withShortcut(c.output.ast, Schema.encodeUnknownExit(Schema.toCodecJson(c.output))),
      structured: listing.outputSchema !== undefined,
      outputKeys: outputKeysOf(listing.outputSchema)
    }
    compiledCache.set(c, out)
  }
  return out
}

let validator: AjvJsonSchemaValidator | undefined
const sharedValidator = (): AjvJsonSchemaValidator => (validator ??= new AjvJsonSchemaValidator())

type Drift = "missing-field" | "wrong-type" | "extra-field"

type Answer =
  | { readonly _tag: "Value"; readonly value: unknown; readonly drift: Drift | undefined }
  | { readonly _tag: "Result"; readonly result: CallToolResult }
  | { readonly _tag: "RpcError"; readonly code: number; readonly message: string }

const outputKeysOf = (schema: unknown): ReadonlyArray<string> => {
  if (typeof schema !== "object" || schema === null) return []
  const s = schema as { readonly properties?: Record<string, unknown>; readonly required?: ReadonlyArray<string> }
  const required = s.required ?? []
  return [...required, ...Object.keys(s.properties ?? {}).filter((k) => !required.includes(k))]
}

const otherType = (value: unknown): unknown =>
  typeof value === "string" ? 12345 : typeof value === "number" ? "not-a-number" : typeof value === "boolean" ? "yes" : "drifted"

/**
 * Schema drift applied to an encoded result: a required field removed, a field's type
 * changed, or a field added. A value that is not an object drifts to another type.
 *
 * @example
 * ```ts
 * applyDrift({ id: "a", n: 1 }, ["id", "n"], "missing-field") // => { n: 1 }
 * ```
 */
export const applyDrift = (value: unknown, keys: ReadonlyArray<string>, drift: Drift): unknown => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return drift === "extra-field" ? value : otherType(value)
  }
  const record = { ...(value as Record<string, unknown>) }
  const key = keys.find((k) => k in record) ?? Object.keys(record)[0]
  switch (drift) {
    case "missing-field":
      if (key !== undefined) delete record[key]
      return record
    case "wrong-type":
      if (key !== undefined) record[key] = otherType(record[key])
      else record["value"] = "drifted"
      return record
    case "extra-field":
      record["__chaos_extra"] = true
      return record
  }
}

/**
 * Options of a fake server.
 *
 * @example
 * ```ts
 * FakeServer.make("ci", handlers, { name: "ci-sandbox", callTimeoutMs: 10_000 })
 * ```
 */
export interface FakeServerOptions extends ServerLimits {
  readonly name?: string | undefined
  readonly version?: string | undefined
  /**
   * Injects the faults of a plan (handler and transport) and records calls, concurrency and
   * the faults that fired; share one injector between the servers of a run.
   */
  readonly injector?: Injector | undefined
  /** Lend connections kept across the runs of a check instead of connecting anew (with `injector`). */
  readonly pool?: ConnectionPool.Pool | undefined
}

/**
 * A fake server as data: its key, handlers, options and, for stateful models, a snapshot of its
 * state (read by invariants after a chaos run).
 *
 * @example
 * ```ts
 * const def: Definition = { key: "payment", handlers: [FakeServer.handle(Payment.charge, charge)], snapshot: ledger.snapshot }
 * ```
 */
export interface Definition<R = never> {
  readonly key: string
  readonly handlers: ReadonlyArray<ToolHandler<R>>
  readonly snapshot?: Effect.Effect<unknown> | undefined
  readonly options?: FakeServerOptions | undefined
}

/**
 * The injector of the chaos run in progress, if any: a fake made by {@link make} without an
 * `injector` option takes this one. It lets a chaos run inject faults into servers it did not
 * build itself, such as a flow file's sandbox (`flows/sandbox/`): build them with this reference
 * provided.
 *
 * @example
 * ```ts
 * const servers = yield* cicdSandbox.pipe(Effect.provideService(FakeServer.CurrentInjector, injector))
 * ```
 */
export const CurrentInjector = Context.Reference<Injector | undefined>("mcpflow/chaos/FakeServer/CurrentInjector", {
  defaultValue: () => undefined
})

/**
 * Builds the in-process config of a {@link Definition}, with extra options (an injector).
 *
 * @example
 * ```ts
 * const config = yield* FakeServer.fromDefinition(def, { injector })
 * ```
 */
export const fromDefinition = <R>(def: Definition<R>, extra: FakeServerOptions = {}): Effect.Effect<InProcessServerConfig, never, R> =>
  Effect.tap(make(def.key, def.handlers, { ...def.options, ...extra }), (config) =>
    Effect.sync(() => void madeFrom.set(config, def as Definition<unknown>)))

const madeFrom = new WeakMap<InProcessServerConfig, Definition<unknown>>()

/**
 * The definition a config was built from by {@link fromDefinition} (its key and handlers, over
 * the same state), so a chaos run can rebuild it with its own injector; `undefined` for any
 * other config.
 *
 * @example
 * ```ts
 * const { servers } = yield* makeSandbox()
 * FakeServer.definitionOf(servers.docker)?.key // => "docker"
 * ```
 */
export const definitionOf = (config: InProcessServerConfig): Definition<unknown> | undefined => madeFrom.get(config)

/** The SDK's `extra` of a request handler, as far as {@link HandlerRequest} needs it. */
interface RequestExtra {
  readonly requestId: string | number
  readonly signal: AbortSignal
  readonly sendNotification: (notification: { method: string; params?: Record<string, unknown> }) => Promise<void>
}

/**
 * A request's {@link RequestContext}: one small object per call, its `progress` and `log`
 * functions made only when a handler reads them (most handlers never do), so a call pays no
 * closures for them.
 */
class HandlerRequest implements RequestContext {
  /** Progress updates sent so far (a `ProgressStall` holds the handler at its `afterUpdates`-th). */
  private updates = 0
  constructor(
    private readonly key: string,
    private readonly progressToken: string | number | undefined,
    private readonly extra: RequestExtra,
    private readonly decision: CallDecision | undefined,
    private readonly hooks: ServerHooks | undefined
  ) {}

  get requestId(): string | number {
    return this.extra.requestId
  }

  get signal(): AbortSignal {
    return this.extra.signal
  }

  get progress(): RequestContext["progress"] {
    return (progress, total, message) => Effect.suspend(() => this.sendProgress(progress, total, message))
  }

  get log(): RequestContext["log"] {
    return (level, data) => this.send("notifications/message", { level, logger: this.key, data })
  }

  private send(method: string, params: Record<string, unknown>): Effect.Effect<void> {
    return Effect.promise(() => this.extra.sendNotification({ method, params }).catch(() => undefined)).pipe(
      Effect.tap(() => Effect.sync(() => this.hooks?.touch()))
    )
  }

  private sendProgress(progress: number, total: number | undefined, message: string | undefined): Effect.Effect<void> {
    const stall = this.decision?.handler?._tag === "ProgressStall" ? this.decision.handler : undefined
    const held = stall !== undefined && this.updates++ === stall.afterUpdates
      ? stall.forMs === undefined ? Effect.never : Effect.sleep(stall.forMs)
      : Effect.void
    const progressToken = this.progressToken
    const notify = progressToken === undefined ? Effect.void : this.send("notifications/progress", {
      progressToken,
      progress,
      ...(total !== undefined ? { total } : {}),
      ...(message !== undefined ? { message } : {})
    })
    return Effect.andThen(held, notify)
  }
}

/**
 * Builds an in-process server config serving `handlers`. Handlers run on the context this
 * Effect runs in; a new SDK `Server` is made for every (re)connection, state lives in the
 * handlers (e.g. a `Ref`), so it survives reconnects.
 *
 * @example
 * ```ts
 * const ci = yield* FakeServer.make("ci", [FakeServer.handle(Ci.build, () => Effect.succeed({ ok: true }))])
 * GatewayLayer.layer({ servers: { ci } })
 * ```
 */
export const make = <R = never>(
  key: string,
  handlers: ReadonlyArray<ToolHandler<R>>,
  options: FakeServerOptions = {}
): Effect.Effect<InProcessServerConfig, never, R> =>
  Effect.map(Effect.context<R>(), (context) => {
    const run = Effect.runPromiseExitWith(context)
    const fork = Effect.runForkWith(context)
    const clock = Context.getUnsafe(context, Clock.Clock)
    const injector = options.injector ?? Context.get(context, CurrentInjector)
    const store = Context.get(context, FakeState.CurrentStore)
    const hooks: ServerHooks | undefined = injector?.server(key, {
      now: () => clock.currentTimeMillisUnsafe(),
      sleep: (ms) => run(Effect.sleep(ms)).then(() => undefined)
    })
    const tools = new Map<string, CompiledTool<R>>()
    for (const handler of handlers) {
      tools.set(handler.contract.tool, { ...compiled(handler.contract), run: handler.run })
    }
    const listings = [...tools.values()].map((t) => t.listing)
    /** A call under a fault decision (latency, handler faults); the plain path runs the handler alone. */
    const answer = (
      name: string,
      tool: CompiledTool<R>,
      input: unknown,
      d: CallDecision,
      h: ServerHooks,
      request: RequestContext
    ): Effect.Effect<Answer, ToolRefusal, R> =>
      Effect.gen(function*() {
        if (d.latencyBeforeMs > 0) yield* Effect.sleep(d.latencyBeforeMs)
        const f = d.handler
        if (f?._tag === "Hang") return yield* Effect.never
        if (f?._tag === "ToolError") return { _tag: "Result", result: textResult(f.message, true) } as const
        if (f?._tag === "RateLimited") {
          return { _tag: "Result", result: textResult(`rate limit exceeded, retry after ${f.retryAfterMs} ms`, true) } as const
        }
        if (f?._tag === "JsonRpcError") return { _tag: "RpcError", code: f.code, message: f.message } as const
        h.executed(name)
        const value = yield* tool.run(input, request)
        h.touch()
        if (d.latencyAfterMs > 0) yield* Effect.sleep(d.latencyAfterMs)
        return { _tag: "Value", value, drift: f?._tag === "InvalidOutput" ? f.drift : undefined } as const
      })
    /** The `tools/call` result of a handler's output (encoded by its contract, drifted if the plan says so). */
    const resultOf = (tool: CompiledTool<R>, output: unknown, drift: Drift | undefined): CallToolResult => {
      const encoded = tool.encode(output)
      if (Exit.isFailure(encoded)) return textResult(`the fake produced output its contract rejects: ${String(encoded.cause)}`, true)
      const value = drift === undefined ? encoded.value : applyDrift(encoded.value, tool.outputKeys, drift)
      if (tool.structured) {
        return { content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: value as Record<string, unknown> }
      }
      return textResult(typeof value === "string" ? value : JSON.stringify(value) ?? "null")
    }
    /**
     * The answer of a finished handler fiber. `faulted`: it ran {@link answer} (its value is an
     * {@link Answer}); otherwise the handler alone (its value is the handler's output).
     */
    const finish = (tool: CompiledTool<R>, exit: Exit.Exit<unknown, ToolRefusal>, faulted: boolean): CallToolResult => {
      hooks?.touch()
      // Saved before the answer leaves: what the caller (and its journal) learns, the saved state has seen.
      store?.save()
      if (Exit.isFailure(exit)) {
        const refusal = exit.cause.reasons.find((r) => r._tag === "Fail")
        return textResult(refusal?._tag === "Fail" ? refusal.error.text : `internal error: ${Cause.pretty(exit.cause)}`, true)
      }
      if (!faulted) return resultOf(tool, exit.value, undefined)
      const out = exit.value as Answer
      if (out._tag === "Result") return out.result
      if (out._tag === "RpcError") throw Object.assign(new Error(out.message), { code: out.code })
      return resultOf(tool, out.value, out.drift)
    }
    /**
     * A `tools/call` answer; the decision for its request id is in `connectionDecisions` (filled by
     * the FaultTransport). A handler that finishes without waiting (most do) is answered at once:
     * its fiber runs synchronously as it starts, and only a handler that suspends costs a promise.
     */
    const callTool: ConnectionPool.Binding["call"] = (request, extra, connectionDecisions) => {
      const tool = tools.get(request.params.name)
      if (tool === undefined) return textResult(`Tool ${request.params.name} not found`, true)
      const input = tool.decode(request.params.arguments ?? {})
      if (Exit.isFailure(input)) {
        const error = input.cause.reasons.find((r) => r._tag === "Fail")
        const located = error?._tag === "Fail" ? firstIssue(error.error.issue) : { path: "", message: "invalid" }
        return textResult(`Invalid arguments for ${request.params.name}${located.path ? ` at ${located.path}` : ""}: ${located.message}`, true)
      }
      const decision = connectionDecisions.get(extra.requestId)
      hooks?.touch()
      const context = new HandlerRequest(key, request.params._meta?.progressToken, extra, decision, hooks)
      const faulted = decision !== undefined && hooks !== undefined
      if (!faulted) hooks?.executed(request.params.name)
      const fiber = fork(
        faulted ? answer(request.params.name, tool, input.value, decision, hooks, context) : tool.run(input.value, context),
        { signal: extra.signal }
      )
      const exit = fiber.pollUnsafe()
      if (exit !== undefined) return finish(tool, exit, faulted)
      return new Promise<CallToolResult>((resolve, reject) =>
        fiber.addObserver((exit) => {
          try {
            resolve(finish(tool, exit, faulted))
          } catch (error) {
            reject(error)
          }
        })
      )
    }
    let pendingConnection: Map<string | number, CallDecision> | undefined
    const makeServer = () => {
      const connectionDecisions = new Map<string | number, CallDecision>()
      pendingConnection = connectionDecisions
      const server = new Server(
        { name: options.name ?? `${key} (fake)`, version: options.version ?? "0.0.0" },
        // One validator for every fake: the SDK builds a new Ajv per server otherwise (a fake
        // only needs it for elicitation, which it never does).
        { capabilities: { tools: {}, logging: {} }, jsonSchemaValidator: sharedValidator() }
      )
      server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listings }))
      server.setRequestHandler(CallToolRequestSchema, (request, extra) => callTool(request, extra, connectionDecisions))
      return server
    }
    const wrapTransport = hooks === undefined ? undefined : (transport: Transport): Transport => {
      const c = hooks.connect()
      const connectionDecisions = pendingConnection ?? new Map<string | number, CallDecision>()
      pendingConnection = undefined
      return new FaultTransport(transport, hooks, connectionDecisions, c.startDelayMs, c.refused)
    }
    return {
      type: "in-process" as const,
      make: makeServer,
      wrapTransport,
      callSites: hooks !== undefined,
      // A chaos check's pool lends a connection kept across runs (see ConnectionPool.ts).
      lease: hooks === undefined || options.pool === undefined ? undefined : (() => {
        const pool = options.pool
        const binding: ConnectionPool.Binding = { hooks, listings, call: callTool }
        const info = { key, name: options.name, version: options.version }
        return (signal: AbortSignal | undefined) => pool.lease(info, binding, signal)
      })(),
      connectTimeoutMs: options.connectTimeoutMs,
      callTimeoutMs: options.callTimeoutMs,
      maxTotalTimeoutMs: options.maxTotalTimeoutMs
    }
  })
