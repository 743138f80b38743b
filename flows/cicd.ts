/**
 * The seeds' full CI/CD pipeline (`full_cicd_pipeline`):
 *
 * 1. **checks** (settle-all): bandit, npm audit, black and mypy next to the image branch —
 *    build, then the tests in the image, then the container scan. A failing quality check is
 *    reported, not blocking (as in the seeds); a failing image branch stops the pipeline.
 * 2. **gate "deploy decision"**: open when the build and the tests passed and the container scan
 *    found no vulnerability.
 * 3. **staging** deploy (gate "staging deploy"), then the **integration** tests against staging
 *    (gate "integration tests").
 * 4. **production**: back up the current production deployment, then deploy (gate "production
 *    deploy").
 * 5. **monitoring**, in parallel: alert rules and the readiness wait (gate "monitoring").
 * 6. **notify**: one broadcast with the step summary, completed or failed.
 * 7. **on failure**: exactly one alert with the run's step results when any step failed or a gate
 *    closed; the run then fails with that cause (a closed gate: `GateClosed`, exit 1).
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
import { Effect, Result, Schema } from "effect"
import { Flow, parallel, step, type StepResult, type StepResults } from "../dsl/flow/index.ts"
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
  /** Every step's and gate's outcome by name (the final notification carries the details). */
  steps: Schema.Record(Schema.String, Schema.String)
})

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

// --- the step summary ------------------------------------------------------------------------

/** A step's status for the summary: a tool that answered `success: false` (a failing command, a failed build) failed. */
const statusOf = (result: StepResult): string =>
  result.status === "succeeded" && typeof result.output === "object" && result.output !== null &&
    (result.output as { readonly success?: unknown }).success === false
    ? "failed"
    : result.status

/** Every step's and gate's status so far, by name. */
const statuses = (results: StepResults): Record<string, string> =>
  Object.fromEntries(results.entries.map(([path, result]) => [path.slice(path.lastIndexOf("/") + 1), statusOf(result)]))

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

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

      /** 6. The comprehensive notification, with the step summary. */
      const notify = (name: string, status: "completed" | "failed", results: StepResults) =>
        step(
          name,
          CommunicationHub.broadcast_deployment({
            environment: results.get("production deploy")?.status === "succeeded" ? "production" : "staging",
            service,
            version,
            status,
            details: {
              pipeline_steps: results.entries.length,
              deploy_ready: results.get("deploy decision")?.status === "succeeded",
              steps: statuses(results)
            }
          }),
          { policy: { retry, timeout: "30 seconds" } }
        )

      const release = Effect.gen(function*() {
        // 1. Code quality and security next to build → test → container scan; settle all.
        const checks = yield* parallel("checks", {
          bandit: step("bandit", SecurityScanner.bandit_scan({ path: "src/", format: "json" }), { policy: scan, idempotent: true }),
          "npm audit": step("npm audit", SecurityScanner.npm_audit({ package_json_path: "package.json" }), { policy: scan, idempotent: true }),
          black: step("black", DesktopCommander.execute_command({ command: "black --check src/" }), { policy: command("5 minutes") }),
          mypy: step("mypy", DesktopCommander.execute_command({ command: "mypy src/" }), { policy: command("5 minutes") }),
          image: Effect.gen(function*() {
            const build = yield* step(
              "build",
              Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: image }, { timeout: "10 minutes" }),
              { policy: { retry, timeout: "10 minutes" }, idempotent: true }
            )
            const test = yield* step(
              "test",
              Docker.docker_run({ image, command: input.testCommand ?? "pytest tests/ --cov=src/" }, { timeout: "10 minutes" }),
              { policy: { timeout: "10 minutes" } }
            )
            const container = yield* step("container scan", SecurityScanner.container_scan({ image, format: "json" }), {
              policy: scan,
              idempotent: true
            })
            return { build, test, container }
          })
        }, { mode: "settle", description: "quality checks report; the image branch must pass" })
        if (Result.isFailure(checks.image)) return yield* Effect.fail(checks.image.failure)
        const { build, container, test } = checks.image.success

        // 2. The deploy decision (the seeds' deploy_ready).
        const vulnerabilities = container.vulnerabilities.length
        const reasons = [
          ...(build.success ? [] : ["the build failed"]),
          ...(test.success ? [] : [`the tests failed (exit ${test.exit_code})`]),
          ...(vulnerabilities === 0 ? [] : [`the container scan found ${plural(vulnerabilities, "vulnerability", "vulnerabilities")}`])
        ]
        yield* Flow.gate("deploy decision", reasons.length === 0, () => reasons.join("; "))

        // 3. Staging, then the integration tests against it.
        const staging = yield* step("apply to staging", Kubernetes.kubectl_apply({ manifest_path: "k8s/staging/", namespace: "staging" }), {
          policy: deploy,
          idempotent: true
        })
        yield* Flow.gate("staging deploy", staging.success, "kubectl apply to staging did not succeed")
        const integration = yield* step(
          "run integration tests",
          DesktopCommander.execute_command({ command: "pytest tests/integration/ --env=staging" }, { timeout: "15 minutes" }),
          { policy: command("15 minutes") }
        )
        yield* Flow.gate("integration tests", integration.success, "the integration tests against staging failed")

        // 4. Production: back up what runs, then deploy.
        const backup = yield* step("backup", S3Storage.backup_deployment({ environment: "production", service }), {
          policy: { retry, timeout: "10 minutes" }
        })
        const production = yield* step(
          "apply to production",
          Kubernetes.kubectl_apply({ manifest_path: "k8s/production/", namespace: "production" }),
          { policy: deploy, idempotent: true }
        )
        yield* Flow.gate("production deploy", production.success, "kubectl apply to production did not succeed")

        // 5. Monitoring and the readiness wait, in parallel.
        const monitoring = yield* parallel("post-deploy", {
          alerts: step("alert rules", PrometheusMonitoring.setup_alerts({ service, environment: "production" }), {
            policy: { retry, timeout: "1 minute" },
            idempotent: true
          }),
          readiness: step(
            "pods ready",
            DesktopCommander.execute_command(
              { command: `kubectl wait --for=condition=ready pod -l app=${service} -n production --timeout=300s` },
              { timeout: "6 minutes" }
            ),
            { policy: command("6 minutes") }
          )
        })
        yield* Flow.gate(
          "monitoring",
          monitoring.alerts.success && monitoring.readiness.success,
          "the alert rules or the pods' readiness failed after the production deploy"
        )

        const results = yield* Flow.results
        yield* notify("notify", "completed", results)
        return {
          image,
          environment: "production" as const,
          backupId: backup.backup_id,
          alertRules: monitoring.alerts.alert_rules,
          steps: statuses(results)
        }
      })

      // 7. On failure: the failed broadcast, then exactly one alert with the partial results.
      return yield* Flow.onFailure(
        release,
        (failure, results) =>
          Effect.gen(function*() {
            yield* Effect.ignore(notify("notify", "failed", results))
            yield* step(
              "alert",
              CommunicationHub.send_alert({
                message: `CI/CD pipeline for ${image} failed: ${failure.message}`,
                severity: "high",
                metadata: { image, error: failure.message, partial_results: results.toJson() }
              }),
              { policy: { retry, timeout: "30 seconds" } }
            )
          }),
        { description: "a step failed or a gate stopped the release" }
      )
    })
})

export default cicd

/** The built-in sandbox: fake docker, security-scanner, desktop-commander, kubernetes, prometheus-monitoring, s3-storage and communication-hub servers. */
export const sandbox = cicdSandbox

main(import.meta, cicd, { sandbox })
