/**
 * The seeds' health check and recovery pattern (`HealthCheckManager.monitor_health`), run on a
 * schedule for a bounded time: `rounds` rounds, `intervalSeconds` apart (a durable
 * `Flow.sleep` between rounds, so a journaled run can park between them and be resumed).
 *
 * Each round checks every server at once (settle-all: one server's trouble never stops the
 * others' checks):
 *
 * | server | healthy when | recovery |
 * | --- | --- | --- |
 * | `docker` | `docker_ps` succeeds and the expected containers run | `sudo systemctl restart docker` (desktop-commander) |
 * | `kubernetes` | every deployment of the namespace has ready replicas | scale the ones without to `minReplicas` |
 * | `prometheus-monitoring` | the system health is `healthy` | `kubectl rollout restart` each degraded service (desktop-commander) |
 *
 * For each server and round, as in the seeds:
 *
 * - the check failed (an error, after its retries) → one alert, severity medium;
 * - unhealthy → the recovery action, then the check again: healthy → one notification
 *   ("Recovery action executed for …", dashboard); still unhealthy or the action failed → one
 *   alert, severity high.
 *
 * So every unhealthy check leads to exactly one alert in that round, or to a verified recovery.
 * Alerts and notifications name their round (`[round 2] …`). The run succeeds when every round
 * ran; it fails with `AlertsUndelivered` when an alert could not be sent (someone was not told).
 *
 * Run it on the built-in sandbox servers (in-process fakes, nothing real is touched; production
 * `app` starts crashed, with no replica, so the first round shows a recovery):
 *
 * ```sh
 * npx tsx flows/health-monitor.ts                                           # 3 rounds, 2 s apart: app (crashed) is scaled back up; exit 0
 * npx tsx flows/health-monitor.ts --input '{"rounds":120,"intervalSeconds":30}'   # an hour at the seeds' 30 s
 * npx tsx flows/health-monitor.ts --input '{"containers":["cache","db","worker"]}'  # a container that is not running: recovery, then an alert
 * npx tsx flows/health-monitor.ts --json                                    # one JSON event per line
 * npx tsx flows/health-monitor.ts --config .mcp.json                        # real servers
 * npx mcpflow plan flows/health-monitor.ts                                  # its structure, without calling anything
 * npx vitest run test/flows/health-monitor.test.ts                          # sandbox runs and the chaos suite (health-monitor.chaos.ts)
 * ```
 * @module
 */
import { Duration, Effect, Option, Ref, Result, Schema } from "effect"
import { Flow, parallel, step, when } from "../dsl/flow/index.ts"
import type { McpflowToolError, McpGateway } from "../dsl/index.ts"
import { main } from "../src/app/run/FlowFile.ts"
import { type ClusterState, makeSandbox } from "./sandbox/index.ts"
import { CommunicationHub, DesktopCommander } from "./servers/cicd.ts"
import { PositiveInt } from "./servers/common.ts"
import { Docker, Kubernetes } from "./servers/deploy.ts"
import { PrometheusMonitoring } from "./servers/monitoring.ts"

// -----------------------------------------------------------------------------
// Input and output
// -----------------------------------------------------------------------------

const orDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const Input = Schema.Struct({
  /** How many rounds of checks (the run's bound). */
  rounds: orDefault(PositiveInt.check(Schema.isLessThanOrEqualTo(100_000)), 3),
  /** Time between the start of one round's wait and the next round (the seeds use 30 s). */
  intervalSeconds: orDefault(Schema.Finite.check(Schema.isGreaterThan(0)), 2),
  /** The containers docker must be running. */
  containers: orDefault(Schema.Array(Schema.String), ["cache", "db"]),
  /** The namespace whose deployments must have ready replicas. */
  namespace: orDefault(Schema.String, "production"),
  /** What a deployment with no ready replica is scaled back to. */
  minReplicas: orDefault(PositiveInt, 3)
})

/** What happened to one server in one round. */
export const CheckStatus = Schema.Literals(["healthy", "recovered", "unhealthy", "check-failed", "recovery-failed"])

/**
 * One server's outcome in one round.
 *
 * @example
 * ```ts
 * const r: typeof RoundResult.Type = { round: 1, server: "docker", status: "healthy", detail: "cache, db running", alerted: false, notified: false }
 * ```
 */
export const RoundResult = Schema.Struct({
  round: Schema.Int,
  server: Schema.String,
  status: CheckStatus,
  detail: Schema.String,
  /** An alert was sent for it. */
  alerted: Schema.Boolean,
  /** A recovery notification was sent for it. */
  notified: Schema.Boolean
})

const Output = Schema.Struct({
  rounds: Schema.Int,
  checks: Schema.Int,
  healthy: Schema.Int,
  recovered: Schema.Int,
  alerts: Schema.Int,
  history: Schema.Array(RoundResult)
})

/**
 * Alerts that could not be sent: the monitoring ran, but nobody was told about these.
 *
 * @example
 * ```ts
 * new AlertsUndelivered({ alerts: ["[round 2] Health check failed for docker: …"] }).message
 * ```
 */
export class AlertsUndelivered extends Schema.TaggedError<AlertsUndelivered>()("AlertsUndelivered", {
  alerts: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `${this.alerts.length} alert(s) could not be sent: ${this.alerts.join("; ")}`
  }
}

// -----------------------------------------------------------------------------
// Checks and recoveries
// -----------------------------------------------------------------------------

type Settings = typeof Input.Type

/** A check's verdict: healthy or not, and why (what the alert or notification says). */
interface Verdict {
  readonly healthy: boolean
  readonly detail: string
}

/** A server's check (read-only, safe to repeat) and its recovery action. */
interface Monitor {
  readonly server: string
  readonly check: (settings: Settings) => Effect.Effect<Verdict, McpflowToolError, McpGateway>
  readonly recover: (settings: Settings, verdict: Verdict) => Effect.Effect<Verdict, McpflowToolError, McpGateway>
}

/** Checks retry transient failures quickly: a check must end well within a round. */
const checkPolicy = { retry: { maxAttempts: 3, backoff: { kind: "exponential", initial: "200 millis", max: "2 seconds" } }, timeout: "10 seconds" } as const
/** Recovery actions and messages are not repeated once they may have reached their server. */
const actionPolicy = { retry: { maxAttempts: 3, backoff: { kind: "exponential", initial: "500 millis", max: "5 seconds" } }, timeout: "1 minute" } as const

const commandVerdict = (what: string) => (r: { readonly success: boolean; readonly exit_code: number; readonly output: string }): Verdict =>
  r.success ? { healthy: true, detail: `${what} done` } : { healthy: false, detail: `${what} exited ${r.exit_code}: ${r.output.slice(-200)}` }

const docker = {
  server: "docker",
  check: (settings: Settings) =>
    Effect.map(Docker.docker_ps({ all: false }), (ps): Verdict => {
      if (!ps.success) return { healthy: false, detail: "docker ps did not succeed" }
      const running = new Set(ps.containers.filter((c) => c.status === "running").flatMap((c) => c.names))
      const missing = settings.containers.filter((name) => !running.has(name))
      return missing.length === 0
        ? { healthy: true, detail: `${settings.containers.join(", ") || "no container"} running` }
        : { healthy: false, detail: `not running: ${missing.join(", ")}` }
    }),
  recover: () => Effect.map(DesktopCommander.execute_command({ command: "sudo systemctl restart docker" }), commandVerdict("systemctl restart docker"))
} satisfies Monitor

const kubernetes = {
  server: "kubernetes",
  check: (settings: Settings) =>
    Effect.map(Kubernetes.kubectl_get({ resource_type: "deployments", namespace: settings.namespace }), (got): Verdict => {
      const down = got.items.filter((d) => (d.status.ready_replicas ?? 0) === 0).map((d) => d.name)
      return down.length === 0
        ? { healthy: true, detail: `${got.items.length} deployment(s) ready in ${settings.namespace}` }
        : { healthy: false, detail: `no ready replica: ${down.join(", ")}` }
    }),
  recover: (settings: Settings) =>
    Effect.gen(function*() {
      const got = yield* Kubernetes.kubectl_get({ resource_type: "deployments", namespace: settings.namespace })
      const down = got.items.filter((d) => (d.status.ready_replicas ?? 0) === 0).map((d) => d.name)
      const scaled = yield* Effect.forEach(down, (name) =>
        Effect.map(
          Kubernetes.kubectl_scale({ resource_type: "deployment", name, namespace: settings.namespace, replicas: settings.minReplicas }),
          (r) => `${name} → ${r.replicas}`
        ))
      return { healthy: true, detail: scaled.length === 0 ? "nothing to scale" : `scaled ${scaled.join(", ")}` }
    })
} satisfies Monitor

const prometheus = {
  server: "prometheus-monitoring",
  check: () =>
    Effect.map(PrometheusMonitoring.get_system_health({ include_metrics: true, time_range: "5m" }), (h): Verdict => {
      const degraded = h.services.filter((s) => s.status !== "healthy")
      return h.status === "healthy" && degraded.length === 0
        ? { healthy: true, detail: `${h.services.length} services healthy` }
        : { healthy: false, detail: `system ${h.status}; ${degraded.map((s) => `${s.name} ${s.status} (error rate ${s.error_rate})`).join(", ") || "no service named"}` }
    }),
  recover: (settings: Settings) =>
    Effect.gen(function*() {
      const h = yield* PrometheusMonitoring.get_system_health({ include_metrics: false, time_range: "5m" })
      const degraded = h.services.filter((s) => s.status !== "healthy").map((s) => s.name)
      const results = yield* Effect.forEach(degraded, (service) =>
        Effect.map(
          DesktopCommander.execute_command({ command: `kubectl rollout restart deployment/${service} -n ${settings.namespace}` }),
          commandVerdict(`rollout restart ${service}`)
        ))
      const failed = results.filter((r) => !r.healthy)
      return failed.length === 0
        ? { healthy: true, detail: degraded.length === 0 ? "nothing to restart" : `restarted ${degraded.join(", ")}` }
        : { healthy: false, detail: failed.map((r) => r.detail).join("; ") }
    })
} satisfies Monitor

/** The servers checked each round, in order. */
export const monitors: ReadonlyArray<Monitor> = [docker, kubernetes, prometheus]

/**
 * One server in one round: check; when unhealthy, recover and check again; then exactly one
 * alert (check failed, recovery failed, still unhealthy) or one notification (recovered).
 */
const monitorOnce = (monitor: Monitor, round: number, settings: Settings) =>
  Effect.gen(function*() {
    const tag = `[round ${round}]`
    const checked = yield* Effect.result(step("check", monitor.check(settings), { policy: checkPolicy, idempotent: true }))
    const verdict = Result.isSuccess(checked) ? checked.success : undefined
    const unhealthy = verdict !== undefined && !verdict.healthy

    const recovery = yield* when(
      "recover",
      unhealthy,
      Effect.gen(function*() {
        const recovered = (status: typeof CheckStatus.Type, detail: string) => ({ status, detail: `${verdict!.detail} → ${detail}` })
        const action = yield* Effect.result(step("action", monitor.recover(settings, verdict!), { policy: actionPolicy }))
        if (Result.isFailure(action)) return recovered("recovery-failed", `recovery failed: ${Flow.messageOf(action.failure)}`)
        if (!action.success.healthy) return recovered("recovery-failed", `recovery failed: ${action.success.detail}`)
        const again = yield* Effect.result(step("recheck", monitor.check(settings), { policy: checkPolicy, idempotent: true }))
        if (Result.isFailure(again)) return recovered("unhealthy", `${action.success.detail}; recheck failed: ${Flow.messageOf(again.failure)}`)
        return again.success.healthy
          ? recovered("recovered", `${action.success.detail}; ${again.success.detail}`)
          : recovered("unhealthy", `${action.success.detail}; still unhealthy: ${again.success.detail}`)
      }),
      { description: "the check found the server unhealthy" }
    )

    // What the round found: the check's failure, or what the recovery did, or the check's verdict.
    const outcome: { readonly status: typeof CheckStatus.Type; readonly detail: string } = Result.isFailure(checked)
      ? { status: "check-failed", detail: Flow.messageOf(checked.failure) }
      : Option.getOrElse(recovery, () => ({ status: unhealthy ? "unhealthy" as const : "healthy" as const, detail: verdict!.detail }))
    const { detail, status } = outcome

    const alertText = {
      "check-failed": `${tag} Health check failed for ${monitor.server}: ${detail}`,
      "recovery-failed": `${tag} Recovery failed for ${monitor.server}: ${detail}`,
      unhealthy: `${tag} ${monitor.server} is unhealthy after recovery: ${detail}`
    }[status as "check-failed" | "recovery-failed" | "unhealthy"]
    const alerted = yield* when(
      "alert",
      status === "check-failed" || status === "unhealthy" || status === "recovery-failed",
      Effect.result(step(
        "send",
        CommunicationHub.send_alert({
          message: alertText,
          severity: status === "check-failed" ? "medium" : "high",
          metadata: { round, server: monitor.server, status, detail }
        }),
        { policy: actionPolicy }
      )),
      { description: "the check failed, or the server is still unhealthy" }
    )
    const notified = yield* when(
      "notify",
      status === "recovered",
      Effect.result(step(
        "send",
        CommunicationHub.send_notification({
          message: `${tag} Recovery action executed for ${monitor.server}: ${detail}`,
          channels: ["dashboard"],
          priority: "normal"
        }),
        { policy: actionPolicy }
      )),
      { description: "the recovery action restored the server" }
    )
    return {
      result: {
        round,
        server: monitor.server,
        status,
        detail,
        alerted: Option.exists(alerted, Result.isSuccess),
        notified: Option.exists(notified, Result.isSuccess)
      } satisfies typeof RoundResult.Type,
      undelivered: Option.exists(alerted, Result.isFailure) ? [alertText] : []
    }
  })

// -----------------------------------------------------------------------------
// The flow
// -----------------------------------------------------------------------------

/**
 * The monitor.
 *
 * @example
 * ```ts
 * const report = yield* Flow.run(healthMonitor, { rounds: 3, intervalSeconds: 30 })
 * report.history.filter((r) => r.status !== "healthy")
 * ```
 */
const healthMonitor = Flow.make({
  name: "health-monitor",
  description: "Check docker, kubernetes and prometheus every interval for a number of rounds; recover what is unhealthy, alert on what is not recovered",
  input: Input,
  output: Output,
  uses: [
    Docker.docker_ps,
    Kubernetes.kubectl_get,
    Kubernetes.kubectl_scale,
    PrometheusMonitoring.get_system_health,
    DesktopCommander.execute_command,
    CommunicationHub.send_alert,
    CommunicationHub.send_notification
  ],
  run: (settings) =>
    Effect.gen(function*() {
      const history: Array<typeof RoundResult.Type> = []
      const undelivered: Array<string> = []
      for (let round = 1; round <= settings.rounds; round++) {
        const branches: Record<string, ReturnType<typeof monitorOnce>> = {}
        for (const monitor of monitors) branches[monitor.server] = monitorOnce(monitor, round, settings)
        const results = yield* parallel(`round ${round}`, branches, { mode: "settle", description: "every server at once" })
        for (const monitor of monitors) {
          const r = results[monitor.server]
          // A branch never fails: each outcome is settled inside it.
          if (r !== undefined && Result.isSuccess(r)) {
            history.push(r.success.result)
            undelivered.push(...r.success.undelivered)
          }
        }
        if (round < settings.rounds) yield* Flow.sleep(`wait ${round}`, Duration.seconds(settings.intervalSeconds))
      }
      if (undelivered.length > 0) return yield* new AlertsUndelivered({ alerts: undelivered })
      return {
        rounds: settings.rounds,
        checks: history.length,
        healthy: history.filter((h) => h.status === "healthy").length,
        recovered: history.filter((h) => h.status === "recovered").length,
        alerts: history.filter((h) => h.alerted).length,
        history
      }
    })
})

export default healthMonitor

/**
 * A cluster where production `app` has no replica: what a crashed deployment looks like to the
 * checks (the kubernetes recovery scales it back up).
 *
 * @example
 * ```ts
 * chaosServers({}, scaledToZero)
 * ```
 */
export const scaledToZero = (s: ClusterState): ClusterState => {
  const app = s.deployments.get("production/app")
  return app === undefined ? s : { ...s, deployments: new Map(s.deployments).set("production/app", { ...app, replicas: 0 }) }
}

/**
 * The built-in sandbox: docker, kubernetes, prometheus-monitoring, desktop-commander and
 * communication-hub fakes, where production `app` starts with no replica (a crashed
 * deployment): the first round scales it back up and notifies, the next rounds find it healthy.
 */
export const sandbox = Effect.gen(function*() {
  const { servers, state } = yield* makeSandbox()
  yield* Ref.update(state.cluster, scaledToZero)
  return Object.fromEntries(["docker", "kubernetes", "prometheus-monitoring", "desktop-commander", "communication-hub"].map((key) => [key, servers[key]!]))
})

main(import.meta, healthMonitor, { sandbox })
