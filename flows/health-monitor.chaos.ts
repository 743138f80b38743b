/**
 * The chaos suite of the health monitor (`flows/health-monitor.ts`): the sandbox's fakes as
 * definitions, what must hold whatever the faults, and the settings.
 *
 * ```sh
 * npx mcpflow chaos flows/health-monitor.chaos.ts
 * ```
 * @module
 */
import { Effect, Ref } from "effect"
import type { FlowInvariant } from "../chaos/FlowCheck.ts"
import * as FlowFacts from "../chaos/FlowFacts.ts"
import type * as Injector from "../chaos/Injector.ts"
import type { ChaosSuite } from "../chaos/Runner.ts"
import healthMonitor, { monitors } from "./health-monitor.ts"
import { type ClusterState, makeSandbox, type SandboxOptions, type SentMessage } from "./sandbox/index.ts"

/** The flow, so `mcpflow chaos flows/health-monitor.chaos.ts` finds it. */
export default healthMonitor

/**
 * The round an alert or notification names (`[round 2] …`).
 *
 * @example
 * ```ts
 * roundOf({ server: "communication-hub", tool: "send_alert", id: "a1", args: { message: "[round 2] x" } }) // => 2
 * ```
 */
export const roundOf = (m: SentMessage): number => Number(/^\[round (\d+)\]/.exec(String(m.args.message))?.[1] ?? NaN)


const CHAOS_SERVERS = ["communication-hub", "docker", "kubernetes", "prometheus-monitoring", "desktop-commander"] as const

interface Snapshot {
  readonly sent: ReadonlyArray<SentMessage>
  readonly cluster: ClusterState
}

/**
 * The sandbox's fakes as chaos definitions (fresh state per run, `prepare`d; the hub carries
 * the snapshot the invariants read: what the hub received, and the cluster).
 *
 * @example
 * ```ts
 * yield* Chaos.checkFlow(healthMonitor, { input: { rounds: 3 }, servers: chaosServers({ unhealthyServices: ["app"] }), invariants: chaosInvariants({ unhealthy: ["prometheus-monitoring"], rounds: 3 }) })
 * ```
 */
export const chaosServers = (options: SandboxOptions, prepare: (s: ClusterState) => ClusterState = (s) => s) =>
  Effect.gen(function*() {
    const sandbox = yield* makeSandbox(options)
    yield* Ref.update(sandbox.state.cluster, prepare)
    const snapshot: Effect.Effect<Snapshot> = Effect.all({ sent: Ref.get(sandbox.state.sent), cluster: Ref.get(sandbox.state.cluster) })
    return yield* FlowFacts.definitions(sandbox.servers, CHAOS_SERVERS, { "communication-hub": snapshot })
  })

type MonitorOutput = typeof healthMonitor.output.Type
type Run = Parameters<FlowInvariant<MonitorOutput, unknown>["holds"]>[0]
const snapshotOf = (run: Run): Snapshot => run.snapshots["communication-hub"] as Snapshot
const sentMessage = (call: Injector.SentCall) => String(FlowFacts.argsOf(call).message)
const about = (message: string, round: number, server: string) =>
  message.startsWith(`[round ${round}] `) && (message.includes(` ${server}:`) || message.includes(` ${server} is `))
/**
 * The alerts (notifications) the flow sent about a server in a round: client-side sends, except
 * those the server refused (nothing happened; a retry may follow). A message duplicated in
 * transit is one send: what the hub then does with two copies is the hub's deduplication.
 */
const sends = (run: Run, tool: string, round: number, server: string) =>
  FlowFacts.callsTo(run, `communication-hub.${tool}`).filter((c) => c.end !== "refused" && about(sentMessage(c), round, server))
const alertsFor = (run: Run, round: number, server: string) => sends(run, "send_alert", round, server)
const notificationsFor = (run: Run, round: number, server: string) => sends(run, "send_notification", round, server)
/** The alerts the hub received about a server in a round. */
const received = (run: Run, round: number, server: string) =>
  snapshotOf(run).sent.filter((m) => m.tool === "send_alert" && about(String(m.args.message), round, server))
const has = (run: Run, tag: "StepStarted" | "StepSucceeded" | "StepFailed" | "StepSkipped", path: string) =>
  run.events.some((e) => e._tag === tag && e.path === path && (e._tag !== "StepFailed" || !e.interrupted))

const roundsOf = (n: number) => Array.from({ length: n }, (_, i) => i + 1)
const SERVERS = monitors.map((m) => m.server)

/** Each (round, server) whose check ran. */
const checked = (run: Run, rounds: number) =>
  roundsOf(rounds).flatMap((round) => SERVERS.filter((s) => has(run, "StepStarted", `round ${round}/${s}/check`)).map((server) => ({ round, server })))

/**
 * What must hold whatever the faults, for a run of `rounds` rounds where the servers in
 * `unhealthy` really are unhealthy (and no recovery fixes them): at most one alert or
 * notification per server per round; every unhealthy or failed check leads to exactly one alert
 * in its round, or to a verified recovery; a really unhealthy server is alerted about in every
 * round; a successful run ran every round, and a failed one failed only for an undelivered alert.
 *
 * @example
 * ```ts
 * chaosInvariants({ unhealthy: ["prometheus-monitoring"], rounds: 3 }).length // => 4
 * ```
 */
export const chaosInvariants = (options: { readonly unhealthy: ReadonlyArray<string>; readonly rounds: number }): ReadonlyArray<FlowInvariant<MonitorOutput, unknown>> => [
  {
    name: "the flow never sends more than one alert or notification per server per round",
    holds: (run) => checked(run, options.rounds).every(({ round, server }) => alertsFor(run, round, server).length <= 1 && notificationsFor(run, round, server).length <= 1),
    detail: (run) => JSON.stringify(FlowFacts.callsTo(run, "communication-hub.*").map((c) => `${sentMessage(c).slice(0, 60)}: ${c.end}`))
  },
  {
    name: "every unhealthy or failed check leads to exactly one alert in that round, or to a verified recovery",
    holds: (run) =>
      checked(run, options.rounds).every(({ round, server }) => {
        const at = `round ${round}/${server}`
        const bad = has(run, "StepFailed", `${at}/check`) || has(run, "StepStarted", `${at}/recover`)
        const alerts = alertsFor(run, round, server).length
        if (!bad) return alerts === 0 && notificationsFor(run, round, server).length === 0
        if (has(run, "StepStarted", `${at}/notify`)) return alerts === 0 && has(run, "StepSucceeded", `${at}/recover/recheck`)
        return alerts === 1 || (alerts === 0 && FlowFacts.faultFired(run, "*", "communication-hub.send_alert")) ||
          // The round was cut short (the run hung or was interrupted before the alert).
          !has(run, "StepSucceeded", at)
      }),
    detail: (run) => `${checked(run, options.rounds).length} checks; sent: ${JSON.stringify(snapshotOf(run).sent.map((m) => m.args.message))}`
  },
  {
    name: "a server that is really unhealthy is alerted about in every round (unless the alert itself was faulted)",
    holds: (run) =>
      options.unhealthy.every((server) =>
        roundsOf(options.rounds).filter((r) => has(run, "StepSucceeded", `round ${r}/${server}`)).every((r) =>
          received(run, r, server).length >= 1 || FlowFacts.faultFired(run, "*", "communication-hub.send_alert")
        )
      )
  },
  {
    name: "a successful run ran every round; it fails only because an alert could not be sent",
    holds: (run) =>
      run.outcome._tag === "Success"
        ? run.outcome.value.checks === options.rounds * SERVERS.length
        : run.outcome._tag !== "Failure" ||
          ((run.outcome.error as { readonly _tag?: string })._tag === "AlertsUndelivered" && FlowFacts.faultFired(run, "*", "communication-hub.send_alert")),
    detail: (run) => String(run.outcome._tag === "Failure" ? JSON.stringify(run.outcome.error) : run.outcome._tag)
  }
]

/**
 * Each restart and each scale is a deliberate action of its round: its own request.
 *
 * @example
 * ```ts
 * chaosRequestKey({ server: "desktop-commander", tool: "execute_command", call: 1, atMs: 0, args: "{}", end: "answered" }) // => "{}#1"
 * ```
 */
export const chaosRequestKey = FlowFacts.requestKeyWhere((call) => call.server === "desktop-commander")

/**
 * The chaos suite of `npx mcpflow chaos flows/health-monitor.chaos.ts`: 3 rounds 30 s apart on
 * a healthy sandbox, each restart and scale its own request ({@link chaosRequestKey}).
 *
 * @example
 * ```ts
 * chaos.input // => { rounds: 3, intervalSeconds: 30 }
 * ```
 */
export const chaos: ChaosSuite = {
  servers: chaosServers({}),
  input: { rounds: 3, intervalSeconds: 30 },
  invariants: chaosInvariants({ unhealthy: [], rounds: 3 }),
  deadline: "2 hours",
  requestKey: chaosRequestKey,
  runs: 160
}
