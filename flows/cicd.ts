/**
 * The seeds' full CI/CD pipeline (`full_cicd_pipeline`):
 *
 * 1. **checks** (settle-all): bandit, npm audit, black and mypy next to the image branch —
 *    build, then the tests in the image, then the container scan. A failing quality check is
 *    reported, not blocking (as in the seeds); a failing image branch stops the pipeline.
 * 2. **deploy decision**: ready when the build and the tests passed and the container scan found
 *    no vulnerability.
 * 3. **staging** deploy, then the **integration** tests against staging.
 * 4. **production**, only when the integration tests passed: back up the current production
 *    deployment, then deploy.
 * 5. **monitoring**, in parallel: alert rules and the readiness wait.
 * 6. **notify**: one broadcast with the step summary, whatever the outcome.
 * 7. **on failure**: exactly one alert with the partial results when any step failed or a gate
 *    stopped the release; the run then fails with that cause (exit 1).
 *
 * Retries, breakers and timeouts are where the seeds put them: the RetryManager's exponential
 * backoff (3 retries from 1 s, 2 s for deployments, at most 60 s), a breaker per server
 * (3 consecutive failures open it for 60 s) and the seeds' timeouts (security scans 5 min, build
 * 10 min, readiness 300 s).
 *
 * Run it on the built-in sandbox servers (in-process fakes, nothing real is touched):
 *
 * ```sh
 * npx tsx flows/cicd.ts                                   # live report; exit 0 when production got the image
 * npx tsx flows/cicd.ts --input '{"image":"app:1.6.0"}'   # another version
 * npx tsx flows/cicd.ts --json                            # one JSON event per line
 * npx tsx flows/cicd.ts --config .mcp.json                # real servers
 * npx mcpflow plan flows/cicd.ts                          # its structure, without calling anything
 * npx mcpflow chaos flows/cicd.ts --runs 500 --seed 42   # faults injected; the invariants of cicd.chaos.ts checked
 * ```
 * @module
 */
import { Cause, Effect, Exit, Option, Ref, Result, Schema } from "effect"
import { Flow, parallel, step, when } from "../dsl/flow/index.ts"
import * as CircuitBreaker from "../dsl/policy/CircuitBreaker.ts"
import * as Policy from "../dsl/policy/Policy.ts"
import { main } from "../src/app/run/FlowFile.ts"
import { cicdSandbox } from "./sandbox/cicd.ts"
import { CommunicationHub, DesktopCommander, Docker, Kubernetes, SecurityScanner } from "./servers/cicd.ts"
import { PrometheusMonitoring } from "./servers/monitoring.ts"
import { S3Storage } from "./servers/storage.ts"

const Input = Schema.Struct({
  /** The image to build and ship, `name:version` (default `app:1.5.0`). */
  image: Schema.optionalKey(Schema.String),
  /** The command that runs the unit tests inside the image (default `pytest tests/ --cov=src/`). */
  testCommand: Schema.optionalKey(Schema.String)
})

const Output = Schema.Struct({
  image: Schema.String,
  environment: Schema.Literal("production"),
  /** The backup of the production deployment taken before the deploy. */
  backupId: Schema.String,
  alertRules: Schema.Array(Schema.String),
  /** Every stage's outcome (the final notification carries the details). */
  steps: Schema.Record(Schema.String, Schema.String)
})

/** The gates that can stop a release after its steps ran. */
const Gate = Schema.Literals(["deploy decision", "staging deploy", "integration tests", "production deploy", "monitoring"])

/**
 * The pipeline stopped at a gate: the steps ran, but what they answered does not allow going on
 * (a vulnerability in the image, failing integration tests, pods that never became ready).
 *
 * @example
 * ```ts
 * new ReleaseBlocked({ gate: "deploy decision", reason: "container scan found 1 vulnerability" }).message
 * // => "release blocked at the deploy decision: container scan found 1 vulnerability"
 * ```
 */
export class ReleaseBlocked extends Schema.TaggedError<ReleaseBlocked>()("ReleaseBlocked", {
  gate: Gate,
  reason: Schema.String
}) {
  override get message(): string {
    return `release blocked at the ${this.gate}: ${this.reason}`
  }
}

// --- policies (the seeds' RetryManager, circuit breakers and timeouts) -----------------------

/** 3 retries, 1 s doubling, at most 60 s (`RetryManager.execute_with_retry`). */
const retry = { maxAttempts: 4, backoff: { kind: "exponential", initial: "1s", max: "60s", factor: 2 } } as const
/** Deployments retry from 2 s (`reliable_deployment`). */
const deployRetry = { maxAttempts: 4, backoff: { kind: "exponential", initial: "2s", max: "60s", factor: 2 } } as const

/** One breaker per server for the whole run: 3 consecutive failures open it for 60 s. */
const serverBreaker = (server: string) =>
  CircuitBreaker.make({ name: server, trip: CircuitBreaker.consecutive(3), openDuration: "60 seconds" }).pipe(
    Effect.map((breaker) => Policy.breaker(breaker, "breaker")),
    Effect.orDie
  )

// --- partial results -------------------------------------------------------------------------

type Results = Ref.Ref<Schema.JsonObject>

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" ? error.message : String(error)

/** Records a stage's outcome in the run's partial results (what the alert and the summary carry). */
const tracked = <A, E, R>(
  results: Results,
  key: string,
  describe: (value: A) => Schema.JsonObject
) =>
(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  self.pipe(
    Effect.tap((value) => Ref.update(results, (r) => ({ ...r, [key]: { status: "succeeded", ...describe(value) } }))),
    Effect.tapError((error) => Ref.update(results, (r) => ({ ...r, [key]: { status: "failed", error: messageOf(error) } })))
  )

/** Each stage's status, from the partial results. */
const statuses = (summary: Schema.JsonObject): Record<string, string> =>
  Object.fromEntries(Object.entries(summary).map(([key, value]) => {
    const status = isJsonObject(value) ? value.status : undefined
    return [key, typeof status === "string" ? status : "unknown"]
  }))

const isJsonObject = (value: Schema.Json): value is Schema.JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const skipped = (results: Results, key: string, why: string) =>
  Ref.update(results, (r) => ({ ...r, [key]: { status: "skipped", why } }))

const commandOutcome = (r: { readonly success: boolean; readonly exit_code: number; readonly output: string }): Schema.JsonObject => ({
  status: r.success ? "succeeded" : "failed",
  exit_code: r.exit_code,
  ...(r.success ? {} : { output: r.output.slice(-400) })
})

// --- the flow --------------------------------------------------------------------------------

/**
 * The pipeline.
 *
 * @example
 * ```ts
 * const shipped = yield* Flow.run(cicd, { image: "app:1.5.0" })
 * shipped.backupId // => "bk-000001"
 * ```
 */
const cicd = Flow.make({
  name: "cicd",
  description: "Check, build, test and scan an image, ship it through staging to production, and tell the team",
  input: Input,
  output: Output,
  uses: [
    SecurityScanner.bandit_scan,
    SecurityScanner.npm_audit,
    SecurityScanner.container_scan,
    DesktopCommander.execute_command,
    Docker.docker_build,
    Docker.docker_run,
    Kubernetes.kubectl_apply,
    S3Storage.backup_deployment,
    PrometheusMonitoring.setup_alerts,
    CommunicationHub.broadcast_deployment,
    CommunicationHub.send_alert
  ],
  run: (input) =>
    Effect.gen(function*() {
      const image = input.image ?? "app:1.5.0"
      const colon = image.lastIndexOf(":")
      const service = colon > 0 ? image.slice(0, colon) : image
      const version = colon > 0 ? image.slice(colon + 1) : "latest"
      const results: Results = yield* Ref.make<Schema.JsonObject>({})
      const breakers = {
        scanner: yield* serverBreaker("security-scanner"),
        commander: yield* serverBreaker("desktop-commander"),
        kubernetes: yield* serverBreaker("kubernetes")
      }
      const scan = { retry, timeout: "5 minutes", breaker: breakers.scanner }
      // desktop-commander's contract is not idempotent: its commands are retried only when they
      // surely did not reach the server (the chaos suites hold the flow to that).
      const command = (timeout: string) => ({ retry, timeout, breaker: breakers.commander })
      const deploy = { retry: deployRetry, timeout: "5 minutes", breaker: breakers.kubernetes }

      const pipeline = Effect.gen(function*() {
        // 1. Code quality and security next to build → test → container scan; settle all.
        const checks = yield* parallel("checks", {
          bandit: step("bandit", SecurityScanner.bandit_scan({ path: "src/", format: "json" }), { policy: scan, idempotent: true })
            .pipe(tracked(results, "bandit", (r) => ({ findings: r.findings.length }))),
          "npm audit": step("npm audit", SecurityScanner.npm_audit({ package_json_path: "package.json" }), { policy: scan, idempotent: true })
            .pipe(tracked(results, "npm audit", (r) => ({ vulnerabilities: r.total_vulnerabilities }))),
          black: step("black", DesktopCommander.execute_command({ command: "black --check src/" }), { policy: command("5 minutes") })
            .pipe(tracked(results, "black", commandOutcome)),
          mypy: step("mypy", DesktopCommander.execute_command({ command: "mypy src/" }), { policy: command("5 minutes") })
            .pipe(tracked(results, "mypy", commandOutcome)),
          image: Effect.gen(function*() {
            const build = yield* step(
              "build",
              Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: image }, { timeout: "10 minutes" }),
              { policy: { retry, timeout: "10 minutes" }, idempotent: true }
            ).pipe(tracked(results, "build", (b) => ({ status: b.success ? "succeeded" : "failed", image_id: b.image_id })))
            const test = yield* step(
              "test",
              Docker.docker_run({ image, command: input.testCommand ?? "pytest tests/ --cov=src/" }, { timeout: "10 minutes" }),
              { policy: { timeout: "10 minutes" } }
            ).pipe(tracked(results, "test", commandOutcome))
            const container = yield* step(
              "container scan",
              SecurityScanner.container_scan({ image, format: "json" }),
              { policy: scan, idempotent: true }
            ).pipe(tracked(results, "container scan", (r) => ({
              status: r.vulnerabilities.length === 0 ? "succeeded" : "failed",
              vulnerabilities: r.vulnerabilities.map((v) => `${v.id} (${v.severity}, ${v.package})`)
            })))
            return { build, test, container }
          })
        }, { mode: "settle", description: "quality checks report; the image branch must pass" })
        if (Result.isFailure(checks.image)) return yield* Effect.fail(checks.image.failure)
        const { build, container, test } = checks.image.success
        const vulnerabilities = container.vulnerabilities.length

        // 2. The deploy decision (the seeds' deploy_ready).
        const decision = yield* step(
          "deploy decision",
          Effect.sync(() => {
            const reasons = [
              ...(build.success ? [] : ["the build failed"]),
              ...(test.success ? [] : [`the tests failed (exit ${test.exit_code})`]),
              ...(vulnerabilities === 0 ? [] : [`the container scan found ${vulnerabilities} vulnerabilit${vulnerabilities === 1 ? "y" : "ies"}`])
            ]
            return { ready: reasons.length === 0, reasons }
          }),
          { description: "ready when the build and the tests passed and the container scan found nothing" }
        ).pipe(tracked(results, "deploy decision", (d) => ({ ready: d.ready, reasons: d.reasons })))

        // 3. Staging, then the integration tests against it.
        const staging = yield* when(
          "staging",
          decision.ready,
          step("staging deploy", Kubernetes.kubectl_apply({ manifest_path: "k8s/staging/", namespace: "staging" }), {
            policy: deploy,
            idempotent: true
          }).pipe(tracked(results, "staging deploy", (r) => ({ status: r.success ? "succeeded" : "failed", resources: r.resources }))),
          { description: "the deploy decision said ready" }
        )
        const stagingOk = Option.exists(staging, (r) => r.success)
        const integration = yield* when(
          "integration",
          stagingOk,
          step(
            "integration tests",
            DesktopCommander.execute_command({ command: "pytest tests/integration/ --env=staging" }, { timeout: "15 minutes" }),
            { policy: command("15 minutes") }
          ).pipe(tracked(results, "integration tests", commandOutcome)),
          { description: "staging deployed" }
        )
        const integrationOk = Option.exists(integration, (r) => r.success)

        // 4. Production: back up what runs, then deploy.
        const production = yield* when(
          "production",
          integrationOk,
          Effect.gen(function*() {
            const backup = yield* step("backup", S3Storage.backup_deployment({ environment: "production", service }), {
              policy: { retry, timeout: "10 minutes" }
            }).pipe(tracked(results, "backup", (b) => ({ backup_id: b.backup_id, ...(b.version !== undefined ? { previous_version: b.version } : {}) })))
            const deployed = yield* step(
              "production deploy",
              Kubernetes.kubectl_apply({ manifest_path: "k8s/production/", namespace: "production" }),
              { policy: deploy, idempotent: true }
            ).pipe(tracked(results, "production deploy", (r) => ({ status: r.success ? "succeeded" : "failed", resources: r.resources })))
            return { backup, deployed }
          }),
          { description: "staging integration tests passed" }
        )
        const productionOk = Option.exists(production, (p) => p.deployed.success)

        // 5. Monitoring and the readiness wait, in parallel.
        const monitoring = yield* when(
          "monitoring",
          productionOk,
          parallel("post-deploy", {
            alerts: step("alert rules", PrometheusMonitoring.setup_alerts({ service, environment: "production" }), {
              policy: { retry, timeout: "1 minute" },
              idempotent: true
            }).pipe(tracked(results, "alert rules", (r) => ({ rules: r.alert_rules.length }))),
            readiness: step(
              "pods ready",
              DesktopCommander.execute_command(
                { command: `kubectl wait --for=condition=ready pod -l app=${service} -n production --timeout=300s` },
                { timeout: "6 minutes" }
              ),
              { policy: command("6 minutes") }
            ).pipe(tracked(results, "pods ready", commandOutcome))
          }),
          { description: "production deployed" }
        )
        const monitoringOk = Option.exists(monitoring, (m) => m.alerts.success && m.readiness.success)

        const blocked: ReleaseBlocked | undefined = !decision.ready
          ? new ReleaseBlocked({ gate: "deploy decision", reason: decision.reasons.join("; ") })
          : !stagingOk
          ? new ReleaseBlocked({ gate: "staging deploy", reason: "kubectl apply to staging did not succeed" })
          : !integrationOk
          ? new ReleaseBlocked({ gate: "integration tests", reason: "the integration tests against staging failed" })
          : !productionOk
          ? new ReleaseBlocked({ gate: "production deploy", reason: "kubectl apply to production did not succeed" })
          : !monitoringOk
          ? new ReleaseBlocked({ gate: "monitoring", reason: "the alert rules or the pods' readiness failed after the production deploy" })
          : undefined
        const notRun = [
          ...(Option.isNone(staging) ? ["staging deploy"] : []),
          ...(Option.isNone(integration) ? ["integration tests"] : []),
          ...(Option.isNone(production) ? ["production deploy"] : [])
        ]
        for (const key of notRun) yield* skipped(results, key, blocked?.message ?? "not needed")

        // 6. The comprehensive notification, with the step summary.
        const summary = yield* Ref.get(results)
        yield* step(
          "notify",
          CommunicationHub.broadcast_deployment({
            environment: productionOk ? "production" : "staging",
            service,
            version,
            status: blocked === undefined ? "completed" : "failed",
            details: {
              pipeline_steps: Object.keys(summary).length,
              security_issues: vulnerabilities,
              deploy_ready: decision.ready,
              steps: summary
            }
          }),
          { policy: { retry, timeout: "30 seconds" } }
        )
        if (blocked !== undefined) return yield* Effect.fail(blocked)
        return {
          image,
          environment: "production" as const,
          backupId: Option.match(production, { onNone: () => "", onSome: (p) => p.backup.backup_id }),
          alertRules: Option.match(monitoring, { onNone: () => [], onSome: (m) => m.alerts.alert_rules }),
          steps: statuses(summary)
        }
      })

      const exit = yield* Effect.exit(pipeline)
      const failed = Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)
      // 7. Exactly one alert, with the partial results, when anything failed.
      yield* when(
        "on failure",
        failed,
        Effect.gen(function*() {
          const partial = yield* Ref.get(results)
          const error = Exit.isFailure(exit) ? messageOf(Cause.squash(exit.cause)) : "unknown"
          return yield* step(
            "alert",
            CommunicationHub.send_alert({
              message: `CI/CD pipeline for ${image} failed: ${error}`,
              severity: "high",
              metadata: { image, error, partial_results: partial }
            }),
            { policy: { retry, timeout: "30 seconds" } }
          )
        }),
        { description: "a step failed or a gate stopped the release" }
      ).pipe(Effect.ignore)
      return yield* exit
    })
})

export default cicd

/** The built-in sandbox: fake docker, security-scanner, desktop-commander, kubernetes, prometheus-monitoring, s3-storage and communication-hub servers. */
export const sandbox = cicdSandbox

main(import.meta, cicd, { sandbox })
