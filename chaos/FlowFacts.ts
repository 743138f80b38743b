/**
 * Facts about a finished chaos run, for a flow suite's invariants: the calls sent to a tool and
 * their arguments, whether a fault fired on a tool, which sends count as one logical request,
 * and the fake-server definitions of a sandbox (so the run can inject faults into them).
 *
 * @example
 * ```ts
 * import { FlowFacts } from "mcpflow/chaos"
 * const deployed = FlowFacts.callsTo(run, "kubernetes.kubectl_apply", (args) => args.namespace === "production")
 * const excused = FlowFacts.faultFired(run, "*", "communication-hub.send_alert")
 * ```
 * @module
 */
import { Effect } from "effect"
import type { ServerConfig } from "../src/runtime/gateway/ServerConfig.ts"
import * as FakeServer from "./FakeServer.ts"
import * as F from "./Fault.ts"
import type { Injection, SentCall } from "./Injector.ts"

/**
 * A sent call's arguments as an object (`{}` when they are not one).
 *
 * @example
 * ```ts
 * FlowFacts.argsOf(run.sent[0]!).namespace // => "production"
 * ```
 */
export const argsOf = (call: Pick<SentCall, "args">): Readonly<Record<string, unknown>> => {
  const parsed: unknown = JSON.parse(call.args)
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {}
}

/**
 * The calls the flow sent to a tool (`"server.tool"`, `*` patterns allowed), in order, whose
 * arguments satisfy `match`.
 *
 * @example
 * ```ts
 * FlowFacts.callsTo(run, "desktop-commander.execute_command", (args) => String(args.command).startsWith("pytest"))
 * ```
 */
export const callsTo = (
  run: { readonly sent: ReadonlyArray<SentCall> },
  tool: string,
  match: (args: Readonly<Record<string, unknown>>) => boolean = () => true
): ReadonlyArray<SentCall> => run.sent.filter((c) => F.matches(tool, c.server, c.tool) && match(argsOf(c)))

/**
 * Whether a fault of `kind` (`"*"`: any kind) fired on `target` (`"server.tool"`, `"server"`,
 * `*` patterns; default every tool). A connection fault of the tool's server counts: the call
 * could not get through either.
 *
 * @example
 * ```ts
 * FlowFacts.faultFired(run, "DuplicateMessage", "communication-hub.send_alert") // the hub ran the alert twice
 * FlowFacts.faultFired(run, "*", "notification.send_slack") // the message may not have arrived
 * ```
 */
export const faultFired = (
  run: { readonly log: ReadonlyArray<Injection> },
  kind: F.FaultKind | "*",
  target = "*"
): boolean =>
  run.log.some((i) =>
    (kind === "*" || i.kind === kind) && F.matches(target, i.server, i.tool === "(connect)" ? undefined : i.tool)
  )

/**
 * The sent call as its own logical request (its arguments and its call index): two sends of it
 * are two requests, never a duplicate.
 *
 * @example
 * ```ts
 * FlowFacts.ownRequest({ args: '{"a":1}', call: 2 }) // => '{"a":1}#2'
 * ```
 */
export const ownRequest = (call: Pick<SentCall, "args" | "call">): string => `${call.args}#${call.call}`

/**
 * A `requestKey` for the `no-duplicate-request` invariant: sends for which `separate` holds are
 * each their own request (deliberate repeats: a restart per round, a call carrying an
 * idempotency key), the others are one request per identical arguments (the default).
 *
 * @example
 * ```ts
 * const requestKey = FlowFacts.requestKeyWhere((call) => call.server === "desktop-commander")
 * ```
 */
export const requestKeyWhere = (
  separate: (call: SentCall, args: Readonly<Record<string, unknown>>) => boolean
): (call: SentCall) => string =>
(call) => (separate(call, argsOf(call)) ? ownRequest(call) : call.args)

/**
 * The definitions of some servers built by `FakeServer.fromDefinition` (e.g. a sandbox's), in
 * the order of `keys`, so a chaos run rebuilds them with its injector over the same state;
 * `snapshots` gives some of them the state the invariants read (`run.snapshots[key]`). Dies
 * naming a key whose server is missing or was not built from a definition.
 *
 * @example
 * ```ts
 * const servers = Effect.flatMap(makeSandbox(), (s) =>
 *   FlowFacts.definitions(s.servers, ["kubernetes", "docker"], { kubernetes: Ref.get(s.state.cluster) }))
 * ```
 */
export const definitions = (
  servers: Readonly<Record<string, ServerConfig>>,
  keys: ReadonlyArray<string>,
  snapshots: Readonly<Record<string, Effect.Effect<unknown>>> = {}
): Effect.Effect<ReadonlyArray<FakeServer.Definition>> =>
  Effect.forEach(keys, (key) => {
    const config = servers[key]
    const def = config?.type === "in-process" ? FakeServer.definitionOf(config) : undefined
    if (def === undefined) return Effect.die(new Error(`FlowFacts.definitions: server '${key}' was not built by FakeServer.fromDefinition`))
    const snapshot = snapshots[key]
    return Effect.succeed((snapshot === undefined ? def : { ...def, snapshot }) as FakeServer.Definition)
  })
