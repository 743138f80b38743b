/**
 * The seeds' disaster recovery workflow (`disaster_recovery_workflow`), made to always finish
 * with a status report:
 *
 * 1. **assess** the system's health (prometheus-monitoring), then **escalate**: a critical alert
 *    paging the on-call rotation, with the assessment.
 * 2. **health checks**, in parallel, settle-all: pods, containers, critical services.
 * 3. **recovery**, by incident type: restart the services (`service_failure`), fail over to the
 *    backup database (`database_failure`) or scale out to the backup region
 *    (`infrastructure_failure`).
 * 4. **emergency backups**, in parallel: an S3 emergency backup and a `pg_dump`.
 * 5. **verification**, in parallel: the service's health checks and its public health endpoint.
 * 6. **status report** to slack, email and the dashboard: "completed successfully", or
 *    "completed with issues" listing every recovery step that failed. When the notification
 *    fails (or its fate is unknown: a lost answer), the report goes out again as a critical alert
 *    (the seeds' failure alert): at least once, at most twice.
 *
 * No failing step stops the recovery: each is reported and counted as an issue. A recovery with
 * issues ends the run with `RecoveryIncomplete` (exit 1) after the report is sent.
 *
 * Run it on the built-in sandbox servers (in-process fakes, nothing real is touched):
 *
 * ```sh
 * npx tsx flows/disaster-recovery.ts                                            # a service failure
 * npx tsx flows/disaster-recovery.ts --input '{"incident":"database_failure"}'
 * npx tsx flows/disaster-recovery.ts --input '{"incident":"infrastructure_failure"}' --json
 * npx tsx flows/disaster-recovery.ts --config .mcp.json --input '{"incident":"service_failure","service":"api"}'
 * npx mcpflow plan flows/disaster-recovery.ts
 * npx mcpflow chaos flows/disaster-recovery.chaos.ts --runs 300 --seed 7
 * ```
 * @module
 */
import { Effect, Result, Schema } from "effect"
import { Flow, parallel, step, type StepResults, when } from "../dsl/flow/index.ts"
import { McpflowToolError } from "../dsl/ToolError.ts"
import { main } from "../src/app/run/FlowFile.ts"
import { sandboxServers } from "./sandbox/index.ts"
import { Docker, Kubernetes } from "./servers/deploy.ts"
import { PrometheusMonitoring } from "./servers/monitoring.ts"
import { CommunicationHub } from "./servers/notifications.ts"
import { DesktopCommander } from "./servers/security.ts"
import { S3Storage } from "./servers/storage.ts"

const Incident = Schema.Literals(["service_failure", "database_failure", "infrastructure_failure"])

const Input = Schema.Struct({
  /** What happened (default `service_failure`). */
  incident: Schema.optionalKey(Incident),
  /** The affected service (default `app`). */
  service: Schema.optionalKey(Schema.String)
})

const Output = Schema.Struct({
  incident: Incident,
  /** The system's state when the recovery started (`unavailable` when monitoring could not tell). */
  assessment: Schema.Literals(["healthy", "degraded", "critical", "unavailable"]),
  /** The recovery action that ran. */
  recovery: Schema.String,
  /** Where the emergency backups went. */
  backups: Schema.Array(Schema.String),
  /** The id of the status report sent. */
  report: Schema.String
})

/**
 * The recovery ran to its end, but some of its steps failed; the status report (sent) lists them.
 *
 * @example
 * ```ts
 * new RecoveryIncomplete({ incident: "database_failure", issues: ["switch to backup database: exit 1"] }).message
 * // => "disaster recovery for database_failure completed with issues: switch to backup database: exit 1"
 * ```
 */
export class RecoveryIncomplete extends Schema.TaggedError<RecoveryIncomplete>()("RecoveryIncomplete", {
  incident: Incident,
  issues: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `disaster recovery for ${this.incident} completed with issues: ${this.issues.join("; ")}`
  }
}

/** 3 retries from 1 s, doubling to at most 60 s (the seeds' RetryManager). */
const retry = { maxAttempts: 4, backoff: { kind: "exponential", initial: "1s", max: "60s", factor: 2 } } as const

/**
 * A tool answered, but its answer says the action did not work: a command's exit code, a
 * `success: false`, an unhealthy service. The step fails with it, so the run's step results
 * (`Flow.results`) hold every issue, whatever its kind.
 */
class Unsuccessful extends Schema.TaggedError<Unsuccessful>()("Unsuccessful", { detail: Schema.String }) {
  override get message(): string {
    return this.detail
  }
}

/** The answer must say it worked (`ok`), else the step fails with `detail`. */
const expect = <A>(ok: (a: A) => boolean, detail: (a: A) => string) =>
<E, R>(answer: Effect.Effect<A, E, R>): Effect.Effect<A, E | Unsuccessful, R> =>
  Effect.filterOrFail(answer, ok, (a) => new Unsuccessful({ detail: detail(a) }))

/** A command must exit 0. */
const exitsZero = expect((r: { readonly success: boolean; readonly exit_code: number }) => r.success, (r) => `exit ${r.exit_code}`)

/** `kubectl apply` must succeed. */
const applied = expect((r: { readonly success: boolean }) => r.success, () => "kubectl apply did not succeed")

/** The recovery action of each incident type. */
const recoveryAction = {
  service_failure: "restart services",
  database_failure: "switch to backup database",
  infrastructure_failure: "scale out to backup region"
} as const

/** Every step that failed so far, as `name: why`: the diagnostics (health checks) apart from the issues. */
const failedSteps = (results: StepResults) => {
  const failed = results.entries.flatMap(([path, r]) =>
    r.status === "failed" ? [{ path, text: `${path.slice(path.lastIndexOf("/") + 1)}: ${r.error}` }] : []
  )
  const diagnostic = (path: string) => path.startsWith("health checks/")
  return {
    // The assessment is best effort: the report says "unavailable" instead.
    issues: failed.filter((f) => f.path !== "assess" && !diagnostic(f.path)).map((f) => f.text),
    diagnostics: failed.filter((f) => diagnostic(f.path)).map((f) => f.text)
  }
}

/**
 * The recovery.
 *
 * @example
 * ```ts
 * const done = yield* Flow.run(disasterRecovery, { incident: "database_failure" })
 * done.recovery // => "switch to backup database"
 * ```
 */
const disasterRecovery = Flow.make({
  name: "disaster-recovery",
  description: "Assess, escalate, check, recover by incident type, back up, verify, and always send a status report",
  input: Input,
  output: Output,
  uses: [
    PrometheusMonitoring.get_system_health,
    PrometheusMonitoring.verify_service_health,
    CommunicationHub.send_alert,
    CommunicationHub.send_notification,
    Kubernetes.kubectl_get,
    Kubernetes.kubectl_apply,
    Docker.docker_ps,
    DesktopCommander.execute_command,
    S3Storage.emergency_backup
  ],
  run: (input) =>
    Effect.gen(function*() {
      const incident = input.incident ?? "service_failure"
      const service = input.service ?? "app"

      // 1. Assessment and escalation: both best effort, the recovery goes on without them.
      const assessment = yield* step(
        "assess",
        PrometheusMonitoring.get_system_health({ include_metrics: true, time_range: "1h" }),
        { policy: { retry, timeout: "1 minute" }, idempotent: true }
      ).pipe(Effect.result)
      const assessed = Result.isSuccess(assessment) ? assessment.success.status : "unavailable"
      yield* step(
        "escalate",
        CommunicationHub.send_alert({
          message: `Disaster recovery initiated for ${incident}`,
          severity: "critical",
          escalation_policy: "critical",
          metadata: {
            incident_type: incident,
            assessment: Result.isSuccess(assessment)
              ? {
                status: assessment.success.status,
                degraded: assessment.success.services.filter((s) => s.status !== "healthy").map((s) => s.name),
                ...(assessment.success.metrics !== undefined ? { error_rate: assessment.success.metrics.error_rate } : {})
              }
              : { status: "unavailable", error: Flow.messageOf(assessment.failure) }
          }
        }),
        { policy: { retry, timeout: "30 seconds" } }
      ).pipe(Effect.ignore)

      // 2. Health checks: diagnostics for the report, settle-all.
      yield* parallel("health checks", {
        pods: step("pods", Kubernetes.kubectl_get({ resource_type: "pods", namespace: "production" }), {
          policy: { retry, timeout: "1 minute" },
          idempotent: true
        }),
        containers: step("containers", Docker.docker_ps({ all: false }), { policy: { retry, timeout: "1 minute" }, idempotent: true }),
        services: step("critical services", DesktopCommander.execute_command({ command: "systemctl status critical-services" }).pipe(exitsZero), {
          policy: { retry, timeout: "1 minute" }
        })
      }, { mode: "settle", description: "what runs; reported, never blocking" })

      // 3. The recovery action for the incident type (the plan shows all three); a failure is an issue, not a stop.
      yield* when(
        "service recovery",
        incident === "service_failure",
        step(recoveryAction.service_failure, Kubernetes.kubectl_apply({ manifest_path: "k8s/production/", namespace: "production" }).pipe(applied), {
          policy: { retry, timeout: "5 minutes" },
          idempotent: true
        }).pipe(Effect.ignore),
        { description: "the incident is a service failure (re-apply the production manifests)" }
      )
      yield* when(
        "database failover",
        incident === "database_failure",
        step(
          recoveryAction.database_failure,
          DesktopCommander.execute_command({
            command:
              `kubectl patch deployment ${service} -p '{"spec":{"template":{"spec":{"containers":[{"name":"${service}","env":[{"name":"DATABASE_URL","value":"\${BACKUP_DATABASE_URL}"}]}]}}}}'`
          }).pipe(exitsZero),
          { policy: { retry, timeout: "5 minutes" } }
        ).pipe(Effect.ignore),
        { description: "the incident is a database failure (point the service at the backup database)" }
      )
      yield* when(
        "infrastructure failover",
        incident === "infrastructure_failure",
        step(recoveryAction.infrastructure_failure, Kubernetes.kubectl_apply({ manifest_path: "k8s/backup-region/", namespace: "production" }).pipe(applied), {
          policy: { retry, timeout: "5 minutes" },
          idempotent: true
        }).pipe(Effect.ignore),
        { description: "the incident is an infrastructure failure (run in the backup region)" }
      )
      const recovery = recoveryAction[incident]

      // 4. Emergency backups, in parallel.
      const backups = yield* parallel("emergency backups", {
        s3: step("s3 emergency backup", S3Storage.emergency_backup({ source: "production-data", priority: "high" }), {
          policy: { retry, timeout: "10 minutes" }
        }),
        dump: step(
          "database dump",
          DesktopCommander.execute_command({ command: "pg_dump $DATABASE_URL | gzip > /tmp/emergency_backup_$(date +%s).sql.gz" }).pipe(exitsZero),
          { policy: { retry, timeout: "10 minutes" } }
        )
      }, { mode: "settle" })

      // 5. Verification, in parallel.
      yield* parallel("verification", {
        health: step(
          "service health",
          PrometheusMonitoring.verify_service_health({ service, environment: "production", timeout: 300 }, { timeout: "6 minutes" }).pipe(
            expect((h) => h.healthy, (h) => `${h.checks_passed}/${h.checks_total} checks passed`)
          ),
          { policy: { retry, timeout: "6 minutes" }, idempotent: true }
        ),
        endpoint: step("health endpoint", DesktopCommander.execute_command({ command: `curl -f https://${service}.company.com/health` }).pipe(exitsZero), {
          policy: { retry, timeout: "1 minute" }
        })
      }, { mode: "settle" })

      // Every failed step is in the run's results: the issues, and the health checks as diagnostics.
      const { diagnostics, issues } = failedSteps(yield* Flow.results)

      // 6. The status report, always; as an alert when the notification cannot be sent.
      const message = `Disaster recovery ${issues.length === 0 ? "completed successfully" : "completed with issues"} for ${incident}` +
        (issues.length === 0 ? "" : `: ${issues.join("; ")}`) +
        (diagnostics.length === 0 ? "" : ` (health checks that failed: ${diagnostics.join("; ")})`)
      const report = yield* step(
        "status report",
        CommunicationHub.send_notification({ message, channels: ["slack", "email", "dashboard"], priority: "critical", template: "incident" }),
        { policy: { retry, timeout: "30 seconds" } }
      ).pipe(Effect.result)
      // An answer that does not fit the contract is still an answer: the report went out.
      const undelivered = Result.isFailure(report) &&
        !(report.failure instanceof McpflowToolError && report.failure.reason._tag === "InvalidOutput")
      const fallback = yield* when(
        "report failed",
        undelivered,
        step(
          "report as alert",
          CommunicationHub.send_alert({
            message: `Disaster recovery workflow failed to report: ${message}`,
            severity: "critical",
            metadata: {
              incident_type: incident,
              partial_results: { assessment: assessed, recovery, issues, health_checks_failed: diagnostics }
            }
          }),
          { policy: { retry, timeout: "30 seconds" } }
        ),
        { description: "the status report may not have been delivered" }
      ).pipe(Effect.result)

      if (issues.length > 0) return yield* new RecoveryIncomplete({ incident, issues })
      if (Result.isFailure(report)) {
        // The recovery succeeded but its report went out (at best) as an alert: say so.
        return yield* Result.isFailure(fallback) ? fallback.failure : report.failure
      }
      return {
        incident,
        assessment: assessed,
        recovery,
        backups: [
          ...(Result.isSuccess(backups.s3) ? [backups.s3.success.location] : []),
          ...(Result.isSuccess(backups.dump) ? ["pg_dump → /tmp/emergency_backup_<time>.sql.gz"] : [])
        ],
        report: report.success.notification_id
      }
    })
})

export default disasterRecovery

/** The built-in sandbox: fake prometheus-monitoring, communication-hub, kubernetes, docker, desktop-commander and s3-storage servers. */
export const sandbox = Effect.map(
  sandboxServers(),
  (all) =>
    Object.fromEntries(
      ["prometheus-monitoring", "communication-hub", "kubernetes", "docker", "desktop-commander", "s3-storage"].flatMap((key) =>
        all[key] === undefined ? [] : [[key, all[key]]]
      )
    )
)

main(import.meta, disasterRecovery, { sandbox })
