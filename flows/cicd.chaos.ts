/**
 * The chaos suite of the CI/CD pipeline (`flows/cicd.ts`): its sandbox as fake-server
 * definitions over one state, and the pipeline's invariants, checked whatever the faults.
 *
 * ```sh
 * npx mcpflow chaos flows/cicd.chaos.ts --runs 500 --seed 42
 * ```
 * @module
 */
import { Effect, Ref, type Schema } from "effect"
import type { FlowInvariant } from "../chaos/FlowCheck.ts"
import * as FlowFacts from "../chaos/FlowFacts.ts"
import type { ChaosSuite } from "../chaos/Runner.ts"
import cicd from "./cicd.ts"
import { type ClusterState, makeSandbox, type SandboxOptions, type SentMessage, type StoredObject } from "./sandbox/index.ts"

/** The flow, so `mcpflow chaos flows/cicd.chaos.ts` finds it. */
export default cicd

const SERVERS = ["communication-hub", "docker", "security-scanner", "desktop-commander", "kubernetes", "prometheus-monitoring", "s3-storage"] as const

/** What the chaos invariants read after a run: the sandbox's state. */
interface Snapshot {
  readonly cluster: ClusterState
  readonly sent: ReadonlyArray<SentMessage>
  readonly objects: ReadonlyMap<string, StoredObject>
}

/** The flow's sandbox as fake-server definitions (the harness adds its injector); the hub carries the state snapshot. */
const definitions = (options: SandboxOptions) =>
  Effect.flatMap(makeSandbox(options), (sandbox) =>
    FlowFacts.definitions(sandbox.servers, SERVERS, {
      "communication-hub": Effect.all({
        cluster: Ref.get(sandbox.state.cluster),
        sent: Ref.get(sandbox.state.sent),
        objects: Ref.get(sandbox.state.objects)
      })
    }))

type Invariant = FlowInvariant<typeof cicd.output.Type, unknown>
type Run = Parameters<Invariant["holds"]>[0]

const snapshotOf = (run: Run): Snapshot => run.snapshots["communication-hub"] as Snapshot
const toProduction = (args: Readonly<Record<string, unknown>>) => args.namespace === "production"
const integrationTests = (args: Readonly<Record<string, unknown>>) => String(args.command).startsWith("pytest tests/integration")

const invariants = (options: SandboxOptions): ReadonlyArray<Invariant> => [
  {
    name: "production is never deployed unless staging integration tests passed and the container scan found nothing",
    holds: (run) => {
      const applies = FlowFacts.callsTo(run, "kubernetes.kubectl_apply", toProduction)
      if (applies.length === 0) return snapshotOf(run).cluster.deployments.get("production/app")?.image === "app:1.4.2"
      const at = applies[0]!.atMs
      const integration = FlowFacts.callsTo(run, "desktop-commander.execute_command", integrationTests)
      const scans = FlowFacts.callsTo(run, "security-scanner.container_scan")
      return (options.vulnerableImages ?? []).length === 0 &&
        !(options.failingCommands ?? []).some((c) => c.startsWith("pytest tests/integration")) &&
        integration.some((c) => c.end === "answered" && c.atMs <= at) &&
        scans.some((c) => c.end === "answered" && c.atMs <= at)
    },
    detail: (run) => `production: ${snapshotOf(run).cluster.deployments.get("production/app")?.image}; calls: ${run.sent.map((c) => `${c.server}.${c.tool}#${c.call}:${c.end}`).join(", ")}`
  },
  {
    name: "the backup is taken before any production deploy, and only after the integration tests",
    holds: (run) => {
      const applies = FlowFacts.callsTo(run, "kubernetes.kubectl_apply", toProduction)
      const backups = FlowFacts.callsTo(run, "s3-storage.backup_deployment")
      const integration = FlowFacts.callsTo(run, "desktop-commander.execute_command", integrationTests).filter((c) => c.end === "answered")
      return (applies.length === 0 || backups.some((b) => b.end === "answered" && b.atMs <= applies[0]!.atMs)) &&
        (backups.length === 0 || integration.some((c) => c.atMs <= backups[0]!.atMs))
    }
  },
  {
    name: "a failed pipeline sends exactly one alert, with partial results (unless the alert itself was faulted); a successful one none",
    holds: (run) => {
      // What the flow sent (attempts the server refused do not count), and what the server recorded:
      // more than one only when the transport duplicated the request.
      const attempts = FlowFacts.callsTo(run, "communication-hub.send_alert").filter((c) => c.end !== "refused")
      const alerts = snapshotOf(run).sent.filter((m) => m.tool === "send_alert")
      if (run.outcome._tag === "Success") return attempts.length === 0 && alerts.length === 0
      if (attempts.length > 1 || (alerts.length > 1 && !FlowFacts.faultFired(run, "DuplicateMessage", "communication-hub.send_alert"))) return false
      if (alerts.length === 0) return FlowFacts.faultFired(run, "*", "communication-hub.send_alert")
      return alerts.every((alert) => {
        const metadata = alert.args.metadata
        return typeof metadata === "object" && metadata !== null && !Array.isArray(metadata) &&
          typeof (metadata as Schema.JsonObject).partial_results === "object"
      })
    },
    detail: (run) => `outcome ${run.outcome._tag}; alerts ${JSON.stringify(snapshotOf(run).sent.filter((m) => m.tool === "send_alert").map((m) => m.args.message))}`
  },
  {
    name: "a successful run shipped the image: production runs it, backed up first, announced as completed",
    holds: (run) => {
      if (run.outcome._tag !== "Success") return true
      const s = snapshotOf(run)
      return s.cluster.deployments.get("production/app")?.image === "app:1.5.0" &&
        [...s.objects.keys()].some((k) => k.startsWith("backups/deployments/production/app/")) &&
        s.sent.some((m) => m.tool === "broadcast_deployment" && m.args.status === "completed")
    }
  },
  {
    name: "the run fails with a typed cause: a blocked release, a tool error, or a policy's failure",
    holds: (run) =>
      run.outcome._tag !== "Failure" ||
      (typeof run.outcome.error === "object" && run.outcome.error !== null && "_tag" in run.outcome.error),
    detail: (run) => String(run.outcome._tag === "Failure" ? run.outcome.error : run.outcome._tag)
  }
]

/**
 * The chaos suite of the pipeline on its sandbox (with `options`, e.g. a vulnerable image): the
 * servers as fake-server definitions over one sandbox state, and the pipeline's invariants.
 *
 * @example
 * ```ts
 * const report = yield* Chaos.checkFlow(cicd, { input: {}, ...chaosSuite({ vulnerableImages: ["app:1.5.0"] }), runs: 100 })
 * ```
 */
export const chaosSuite = (options: SandboxOptions = {}) => ({
  servers: definitions(options),
  invariants: invariants(options),
  deadline: "6 hours" as const
})

/**
 * What `npx mcpflow chaos flows/cicd.chaos.ts` checks: the clean sandbox, input `{}`.
 *
 * @example
 * ```ts
 * chaos.deadline // => "6 hours"
 * ```
 */
export const chaos: ChaosSuite = { ...chaosSuite(), input: {} }
