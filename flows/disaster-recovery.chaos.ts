/**
 * The chaos suite of the disaster recovery (`flows/disaster-recovery.ts`): the sandbox as
 * fake-server definitions with the sent messages as the snapshot, and the recovery's invariants.
 *
 * ```sh
 * npx mcpflow chaos flows/disaster-recovery.chaos.ts --runs 300 --seed 7
 * ```
 * @module
 */
import { Effect, Ref } from "effect"
import type { FlowInvariant } from "../chaos/FlowCheck.ts"
import * as FlowFacts from "../chaos/FlowFacts.ts"
import type { ChaosSuite } from "../chaos/Runner.ts"
import disasterRecovery, { RecoveryIncomplete } from "./disaster-recovery.ts"
import { makeSandbox, type SandboxOptions, type SentMessage } from "./sandbox/index.ts"

/** The flow, so `mcpflow chaos flows/disaster-recovery.chaos.ts` finds it. */
export default disasterRecovery

const SERVERS = ["communication-hub", "prometheus-monitoring", "kubernetes", "docker", "desktop-commander", "s3-storage"] as const

/** The sandbox as fake-server definitions; the hub carries the sent messages as its snapshot. */
const definitions = (options: SandboxOptions) =>
  Effect.flatMap(makeSandbox(options), (sandbox) =>
    FlowFacts.definitions(sandbox.servers, SERVERS, { "communication-hub": Ref.get(sandbox.state.sent) }))

type Invariant = FlowInvariant<typeof disasterRecovery.output.Type, unknown>
type Run = Parameters<Invariant["holds"]>[0]

const sentOf = (run: Run): ReadonlyArray<SentMessage> => run.snapshots["communication-hub"] as ReadonlyArray<SentMessage>
const reportsOf = (run: Run) =>
  sentOf(run).flatMap((m) => {
    const message = String(m.args.message)
    return (m.tool === "send_notification" && message.startsWith("Disaster recovery completed")) ||
        (m.tool === "send_alert" && message.startsWith("Disaster recovery workflow failed to report"))
      ? [message]
      : []
  })
const faultedOn = (run: Run, tool: string) => FlowFacts.faultFired(run, "*", `communication-hub.${tool}`)
/** The transport delivered a request twice: the server ran it twice, whatever the flow did. */
const duplicatedOn = (run: Run, tool: string) => FlowFacts.faultFired(run, "DuplicateMessage", `communication-hub.${tool}`)

/** The recovery action's calls, by incident type. */
const recoveryCalls = (run: Run) =>
  [
    ...FlowFacts.callsTo(run, "kubernetes.kubectl_apply"),
    ...FlowFacts.callsTo(run, "desktop-commander.execute_command", (args) => String(args.command).startsWith("kubectl patch"))
  ]

const invariants = (options: SandboxOptions): ReadonlyArray<Invariant> => [
  {
    name: "the status report is always sent; twice (notification, then the alert fallback) only when the notification's fate was unknown",
    holds: (run) => {
      const reports = reportsOf(run)
      const notifications = FlowFacts.callsTo(run, "communication-hub.send_notification")
      if (reports.length === 0) return faultedOn(run, "send_notification") && faultedOn(run, "send_alert")
      return reports.length === 1 || duplicatedOn(run, "send_notification") || duplicatedOn(run, "send_alert") ||
        (reports.length === 2 && notifications.every((c) => c.end !== "answered"))
    },
    detail: (run) => `reports ${JSON.stringify(reportsOf(run))}; outcome ${run.outcome._tag}`
  },
  {
    name: "the report says \"with issues\" when any recovery action failed (and the run fails with RecoveryIncomplete)",
    holds: (run) => {
      const report = reportsOf(run)[0]
      const incomplete = run.outcome._tag === "Failure" && run.outcome.error instanceof RecoveryIncomplete
      const failingAction = (options.failingCommands ?? []).some((c) => c.startsWith("kubectl patch"))
      return (!failingAction || incomplete) && (!incomplete || report === undefined || report.includes("completed with issues"))
    },
    detail: (run) =>
      `outcome ${run.outcome._tag === "Failure" ? String(run.outcome.error) : run.outcome._tag}; report ${JSON.stringify(reportsOf(run))}`
  },
  {
    name: "a report of success comes only from a successful run whose recovery action answered",
    holds: (run) => {
      const report = reportsOf(run)[0]
      const success = report !== undefined && report.includes("completed successfully")
      return run.outcome._tag === "Success"
        ? success && recoveryCalls(run).some((c) => c.end === "answered")
        : !success || !(run.outcome._tag === "Failure" && run.outcome.error instanceof RecoveryIncomplete)
    },
    detail: (run) =>
      `outcome ${run.outcome._tag === "Failure" ? String(run.outcome.error) : run.outcome._tag}; report ${JSON.stringify(reportsOf(run))}`
  },
  {
    name: "one escalation alert at most, critical and paging",
    holds: (run) => {
      const escalations = sentOf(run).filter((m) => m.tool === "send_alert" && String(m.args.message).startsWith("Disaster recovery initiated"))
      return (escalations.length <= 1 || duplicatedOn(run, "send_alert")) && escalations.every((m) => m.args.severity === "critical" && m.args.escalation_policy === "critical")
    }
  },
  {
    name: "the run ends in success or a typed failure after the report",
    holds: (run) =>
      run.outcome._tag === "Success" ||
      (run.outcome._tag === "Failure" && typeof run.outcome.error === "object" && run.outcome.error !== null && "_tag" in run.outcome.error)
  }
]

/**
 * The chaos suite on the sandbox (with `options`, e.g. a failover command that fails): the
 * servers as fake-server definitions, the sent messages as the snapshot, and the recovery's
 * invariants.
 *
 * @example
 * ```ts
 * const report = yield* Chaos.checkFlow(disasterRecovery, { input: { incident: "database_failure" }, ...chaosSuite({ failingCommands: ["kubectl patch"] }), runs: 100 })
 * ```
 */
export const chaosSuite = (options: SandboxOptions = {}) => ({
  servers: definitions(options),
  invariants: invariants(options),
  deadline: "6 hours" as const
})

/**
 * What `npx mcpflow chaos flows/disaster-recovery.chaos.ts` checks: the clean sandbox, input `{}`.
 *
 * @example
 * ```ts
 * chaos.deadline // => "6 hours"
 * ```
 */
export const chaos: ChaosSuite = { ...chaosSuite(), input: {} }
