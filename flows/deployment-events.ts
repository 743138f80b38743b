/**
 * The seeds' event-driven deployment: handlers subscribed to `deployment.started`,
 * `deployment.completed` and `deployment.failed` (seed 000's event bus and
 * `deployment_success_handler`, seed 003's `on_deployment_started`/`on_deployment_completed`),
 * and a deployment that publishes them:
 *
 * | topic | handlers |
 * | --- | --- |
 * | `deployment.started` | set up monitoring (alert rules) · announce on Slack `#deployments` |
 * | `deployment.completed` | record the deployment status · back up the config · notify stakeholders · open a post-deployment validation work item |
 * | `deployment.failed` | trigger rollback (back to the revision that ran before, or delete a first deployment) · page the on-call |
 *
 * The deployment itself: build the image, note the running revision, apply the manifests, wait
 * for the rollout, verify the service's health. `deployment.completed` is published only after
 * the health check passed; any failure publishes `deployment.failed` instead, and the flow fails
 * with `DeploymentFailed`, which says how many failure handlers failed (a rollback that did not
 * happen is never silent). A failing handler does not stop the others; as in the seeds'
 * `EventDrivenWorkflow`, it raises a "Workflow handler failed" alert naming the event and handler.
 *
 * Run it on the built-in sandbox servers (in-process fakes, nothing real is touched):
 *
 * ```sh
 * npx tsx flows/deployment-events.ts                                  # app 1.5.0 to production, exit 0
 * npx tsx flows/deployment-events.ts --input '{"version":"1.6.0","environment":"staging"}'
 * npx tsx flows/deployment-events.ts --input '{"service":"web"}'      # a first deployment
 * npx tsx flows/deployment-events.ts --config .mcp.json               # real servers
 * npx mcpflow plan flows/deployment-events.ts                         # handlers and steps, without calling anything
 * npx vitest run test/flows/deployment-events.test.ts                 # sandbox runs (incl. an unhealthy rollout) and the chaos suite
 * ```
 * @module
 */
import { Effect, Option, Result, Schema } from "effect"
import { Flow, on, publish, step, topic, type Topic } from "../dsl/flow/index.ts"
import type { McpflowToolError } from "../dsl/index.ts"
import { main } from "../src/app/run/FlowFile.ts"
import { sandboxServers } from "./sandbox/index.ts"
import { AzureDevOps, Docker, Kubernetes } from "./servers/deploy.ts"
import { PrometheusMonitoring } from "./servers/monitoring.ts"
import { CommunicationHub, SlackNotifications } from "./servers/notifications.ts"
import { S3Storage } from "./servers/storage.ts"

// -----------------------------------------------------------------------------
// Topics
// -----------------------------------------------------------------------------

const Deployment = { service: Schema.String, version: Schema.String, environment: Schema.String }

/** A deployment began. */
export const DeploymentStarted = topic("deployment.started", Schema.Struct(Deployment))

/** A deployment rolled out and passed its health check. */
export const DeploymentCompleted = topic("deployment.completed", Schema.Struct({ ...Deployment, revision: Schema.Int }))

/**
 * A deployment failed at `stage`. `applying` says whether it got as far as applying the
 * manifests (the cluster may have changed); `previous` is the revision that ran before (none
 * for a first deployment): what a rollback goes back to.
 */
export const DeploymentFailedEvent = topic(
  "deployment.failed",
  Schema.Struct({
    ...Deployment,
    stage: Schema.String,
    error: Schema.String,
    applying: Schema.Boolean,
    previous: Schema.NullOr(Schema.Struct({ revision: Schema.Int, image: Schema.String }))
  })
)

// -----------------------------------------------------------------------------
// Input, output, errors
// -----------------------------------------------------------------------------

const orDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const Input = Schema.Struct({
  service: orDefault(Schema.String, "app"),
  version: orDefault(Schema.String, "1.5.0"),
  environment: orDefault(Schema.Literals(["staging", "production"]), "production")
})
type Input = typeof Input.Type

const Published = Schema.Struct({ topic: Schema.String, handled: Schema.Int, failed: Schema.Int })

const Output = Schema.Struct({
  service: Schema.String,
  version: Schema.String,
  environment: Schema.String,
  revision: Schema.Int,
  /** Each event published, with how many of its handlers ran and failed. */
  events: Schema.Array(Published)
})

/**
 * The deployment failed at `stage`; `deployment.failed` was published and its handlers ran
 * (`handlersFailed` of them failed: the rollback may not have happened).
 *
 * @example
 * ```ts
 * new DeploymentFailed({ service: "app", version: "1.5.0", stage: "verify health", error: "unhealthy", handlersFailed: 0 }).message
 * ```
 */
export class DeploymentFailed extends Schema.TaggedError<DeploymentFailed>()("DeploymentFailed", {
  service: Schema.String,
  version: Schema.String,
  stage: Schema.String,
  error: Schema.String,
  handlersFailed: Schema.Int
}) {
  override get message(): string {
    return `deployment of ${this.service} ${this.version} failed at ${this.stage}: ${this.error}` +
      (this.handlersFailed === 0 ? "; rolled back" : `; ${this.handlersFailed} deployment.failed handler(s) failed: check the rollback`)
  }
}

/** A deployment stage's own verdict (the rollout did not finish, the service is unhealthy). */
class StageFailed extends Schema.TaggedError<StageFailed>()("StageFailed", { detail: Schema.String }) {
  override get message(): string {
    return this.detail
  }
}

// -----------------------------------------------------------------------------
// Handlers
// -----------------------------------------------------------------------------

const idempotent = {
  retry: { maxAttempts: 3, backoff: { kind: "exponential", initial: "200 millis", max: "5 seconds" }, jitter: "full" },
  timeout: "30 seconds"
} as const

/** Retried only when nothing was sent (the default for tools that are not idempotent). */
const once = { retry: { maxAttempts: 2 }, timeout: "30 seconds" } as const

/**
 * Subscribes `handler` to `t` as in the seeds' `EventDrivenWorkflow`: when it fails, an alert
 * names the event and the handler (best effort), and the failure still counts in `publish`.
 */
const handle = <A, E, R>(t: Topic<A>, name: string, handler: (payload: A) => Effect.Effect<unknown, E, R>) =>
  on(t, name, (payload: A) =>
    handler(payload).pipe(
      Effect.tapError((error) =>
        step(
          "handler failed alert",
          CommunicationHub.send_alert({
            message: `Workflow handler failed: ${Flow.messageOf(error)}`,
            severity: "high",
            metadata: { event_type: t.name, handler: name }
          }, { policy: once })
        ).pipe(Effect.ignore)
      )
    ))

/** Every handler, subscribed for the rest of the run. */
const subscribe = Effect.gen(function*() {
  // deployment.started
  yield* handle(DeploymentStarted, "setup monitoring", (e) =>
    step("setup alerts", PrometheusMonitoring.setup_alerts({ service: e.service, environment: e.environment }, { policy: idempotent })))
  yield* handle(DeploymentStarted, "announce start", (e) =>
    step(
      "post to #deployments",
      SlackNotifications.post_message({ channel: "#deployments", text: `🚀 Deployment started: ${e.service} v${e.version} → ${e.environment}` }, {
        policy: once
      })
    ))

  // deployment.completed
  yield* handle(DeploymentCompleted, "record status", (e) =>
    step(
      "update deployment status",
      PrometheusMonitoring.update_deployment_status({ status: "active", version: e.version, service: e.service, environment: e.environment }, {
        policy: idempotent
      })
    ))
  yield* handle(DeploymentCompleted, "backup config", (e) =>
    step("backup config", S3Storage.backup_config({ source: `k8s/${e.environment}/`, backup_name: `deployment_${e.service}_${e.version}` }, { policy: once })))
  yield* handle(DeploymentCompleted, "notify stakeholders", (e) =>
    step(
      "broadcast completed",
      CommunicationHub.broadcast_deployment({
        environment: e.environment,
        service: e.service,
        version: e.version,
        status: "completed",
        details: { revision: e.revision }
      }, { policy: once })
    ))
  yield* handle(DeploymentCompleted, "post-deployment task", (e) =>
    step(
      "create work item",
      AzureDevOps.create_work_item({
        project: "Operations",
        work_item_type: "Task",
        title: `Post-deployment validation for ${e.service}`,
        description: `Validate deployment of ${e.service} v${e.version} to ${e.environment} (revision ${e.revision})`
      }, { policy: once })
    ))

  // deployment.failed
  yield* handle(DeploymentFailedEvent, "trigger rollback", (e) =>
    Effect.gen(function*() {
      // What runs now decides: an apply whose answer was lost may still have rolled out.
      if (!e.applying) return
      const current = yield* step("running revision", runningRevision(e.service, e.environment))
      if (Option.isNone(current) || (e.previous !== null && current.value.revision === e.previous.revision)) return
      if (e.previous === null) {
        yield* step(
          "delete first deployment",
          Kubernetes.kubectl_delete({ resource_type: "deployment", name: e.service, namespace: e.environment }, { policy: idempotent })
        )
      } else {
        yield* step(
          "rollout undo",
          Kubernetes.kubectl_rollout_undo({ resource_type: "deployment", name: e.service, namespace: e.environment, to_revision: e.previous.revision }, {
            policy: once
          })
        )
      }
      yield* step(
        "update deployment status",
        PrometheusMonitoring.update_deployment_status({ status: "rolled_back", version: e.version, service: e.service, environment: e.environment }, {
          policy: idempotent
        })
      )
      yield* step(
        "broadcast rolled back",
        CommunicationHub.broadcast_deployment({
          environment: e.environment,
          service: e.service,
          version: e.version,
          status: "rolled_back",
          details: { stage: e.stage, error: e.error, to_revision: e.previous?.revision ?? null }
        }, { policy: once })
      ).pipe(Effect.ignore)
    }))
  yield* handle(DeploymentFailedEvent, "page on-call", (e) =>
    step(
      "alert",
      CommunicationHub.send_alert({
        message: `Deployment of ${e.service} ${e.version} to ${e.environment} failed at ${e.stage}: ${e.error}`,
        severity: e.environment === "production" ? "critical" : "high",
        ...(e.environment === "production" ? { escalation_policy: "deployments-oncall" } : {}),
        metadata: { stage: e.stage, previous_revision: e.previous?.revision ?? null }
      }, { policy: once })
    ))
})

/** The deployment's running revision and image, if it exists (kubectl answers NotFound otherwise). */
const runningRevision = (service: string, namespace: string) =>
  Kubernetes.kubectl_get({ resource_type: "deployment", name: service, namespace }, { policy: idempotent }).pipe(
    Effect.map((r) => Option.fromNullishOr(r.items[0]).pipe(Option.map((d) => ({ revision: d.revision ?? 0, image: d.image ?? "?" })))),
    Effect.catchIf(
      (e: McpflowToolError) => e.reason._tag === "ToolFailed" && e.message.includes("NotFound"),
      () => Effect.succeed(Option.none())
    )
  )

// -----------------------------------------------------------------------------
// The deployment
// -----------------------------------------------------------------------------

const deploy = (input: Input, previous: { readonly revision: number; readonly image: string } | null) =>
  Effect.gen(function*() {
    const image = `${input.service}:${input.version}`
    yield* step("build", Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: image }, { policy: idempotent }))
    yield* step(
      "apply",
      Kubernetes.kubectl_apply({ manifest_path: `k8s/${input.environment}/${input.service}/`, namespace: input.environment }, { policy: idempotent })
    )
    const rollout = yield* step(
      "rollout status",
      Kubernetes.kubectl_rollout_status({ resource_type: "deployment", name: input.service, namespace: input.environment, timeout: 300 }, {
        policy: idempotent
      }).pipe(
        Effect.filterOrFail((r) => r.status === "success", (r) => new StageFailed({ detail: `rollout ${r.status}: ${r.message}` }))
      )
    )
    yield* step(
      "verify health",
      PrometheusMonitoring.verify_service_health({ service: input.service, environment: input.environment, timeout: 120 }, { policy: idempotent }).pipe(
        Effect.filterOrFail(
          (h) => h.healthy,
          (h) => new StageFailed({ detail: `unhealthy: ${h.checks_passed}/${h.checks_total} checks passed, error rate ${h.error_rate}` })
        )
      )
    )
    return { revision: rollout.revision, previous }
  })

// -----------------------------------------------------------------------------
// The flow
// -----------------------------------------------------------------------------

/**
 * The event-driven deployment.
 *
 * @example
 * ```ts
 * const r = yield* Flow.run(deploymentEvents, { service: "app", version: "1.5.0", environment: "production" })
 * r.events // => [{ topic: "deployment.started", handled: 2, failed: 0 }, { topic: "deployment.completed", handled: 4, failed: 0 }]
 * ```
 */
const deploymentEvents = Flow.make({
  name: "deployment-events",
  description: "Deploy a service and drive monitoring, notifications, backups and rollback from deployment.started/completed/failed events",
  input: Input,
  output: Output,
  uses: [
    Docker.docker_build,
    Kubernetes.kubectl_get,
    Kubernetes.kubectl_apply,
    Kubernetes.kubectl_rollout_status,
    Kubernetes.kubectl_rollout_undo,
    Kubernetes.kubectl_delete,
    PrometheusMonitoring.setup_alerts,
    PrometheusMonitoring.verify_service_health,
    PrometheusMonitoring.update_deployment_status,
    S3Storage.backup_config,
    CommunicationHub.broadcast_deployment,
    CommunicationHub.send_alert,
    SlackNotifications.post_message,
    AzureDevOps.create_work_item
  ],
  run: (input) =>
    Effect.gen(function*() {
      yield* subscribe
      const event = { service: input.service, version: input.version, environment: input.environment }
      const started = yield* publish(DeploymentStarted, event)

      // Which stage failed is the first step that failed in it (`Flow.attempt`).
      const before = yield* Flow.attempt(step("running revision", runningRevision(input.service, input.environment)))
      const previous = Result.isSuccess(before) ? Option.getOrNull(before.success) : null
      const deployed = Result.isSuccess(before) ? yield* Flow.attempt(deploy(input, previous)) : Result.fail(before.failure)
      if (Result.isFailure(deployed)) {
        const { failedStep: failedAt = "running revision", message: error } = deployed.failure
        const applying = failedAt !== "running revision" && failedAt !== "build"
        const failed = yield* publish(DeploymentFailedEvent, { ...event, stage: failedAt, error, applying, previous })
        return yield* new DeploymentFailed({ service: input.service, version: input.version, stage: failedAt, error, handlersFailed: failed.failed })
      }
      const completed = yield* publish(DeploymentCompleted, { ...event, revision: deployed.success.revision })
      return {
        ...event,
        revision: deployed.success.revision,
        events: [
          { topic: DeploymentStarted.name, ...started },
          { topic: DeploymentCompleted.name, ...completed }
        ]
      }
    })
})

export default deploymentEvents

const SERVERS = [
  "docker",
  "kubernetes",
  "prometheus-monitoring",
  "s3-storage",
  "communication-hub",
  "slack-notifications",
  "azure-devops"
] as const

/** The built-in sandbox: fake docker, kubernetes (production/app runs app:1.4.2), monitoring, storage and notification servers. */
export const sandbox = Effect.map(sandboxServers(), (all) => Object.fromEntries(SERVERS.map((key) => [key, all[key]!])))

main(import.meta, deploymentEvents, { sandbox })
