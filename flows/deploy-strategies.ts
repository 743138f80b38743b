/**
 * The seeds' deployment strategies (`BlueGreenDeployment`, `CanaryDeployment`,
 * `RollingDeployment`), selected by input, each a saga that puts things back when it fails:
 *
 * - **blue-green**: deploy the new version to the idle colour's namespace, verify its health,
 *   switch the service to it, retire the old colour. An unhealthy idle colour is deleted and
 *   the service stays where it was.
 * - **canary**: deploy the canary, then for each stage (10, 25, 50, 100 %) shift that share of
 *   traffic, let it soak, and check the canary's metrics; a failed check (or any failure) rolls
 *   back to 0 % canary and removes it. After the last stage the new version is promoted to the
 *   stable deployment and the canary removed.
 * - **rolling** (the seeds' default): apply the deployment, wait for the rollout, verify the
 *   service's health; a failed rollout or health check sets the deployment back to the image it
 *   ran before (read first; `kubectl set image` is idempotent, so the rollback may retry).
 *
 * Each check is a gate ("green healthy", "25% healthy", "rolled out", "healthy"): a closed one
 * rolls the saga back and ends the run with `GateClosed` naming it (exit 1): production was
 * protected, but the new version is not live. Kubernetes calls retry as the seeds' `deploy_with_retry` (5 retries from
 * 2 s, jittered) behind one breaker per run (3 consecutive failures open it for a minute).
 *
 * Run it on the built-in sandbox servers (in-process fakes, nothing real is touched):
 *
 * ```sh
 * npx tsx flows/deploy-strategies.ts                                                # rolling, app 1.5.0 to production
 * npx tsx flows/deploy-strategies.ts --input '{"strategy":"blue-green"}'
 * npx tsx flows/deploy-strategies.ts --input '{"strategy":"canary","soakSeconds":1}'  # the seeds soak 5 minutes per stage
 * npx tsx flows/deploy-strategies.ts --config .mcp.json --input '{"strategy":"canary","version":"1.6.0"}'
 * npx mcpflow plan flows/deploy-strategies.ts --input '{"strategy":"canary"}'
 * npx mcpflow chaos flows/deploy-strategies.chaos.ts --input '{"strategy":"canary","soakSeconds":60}' --runs 200
 * ```
 * @module
 */
import { Duration, Effect, Option, Schema } from "effect"
import { Flow, saga, step, when } from "../dsl/flow/index.ts"
import { McpflowToolError } from "../dsl/ToolError.ts"
import * as Backoff from "../dsl/policy/Backoff.ts"
import * as CircuitBreaker from "../dsl/policy/CircuitBreaker.ts"
import * as Policy from "../dsl/policy/Policy.ts"
import * as Retry from "../dsl/policy/Retry.ts"
import { main } from "../src/app/run/FlowFile.ts"
import { sandboxServers } from "./sandbox/index.ts"
import { NonNegative, Percent } from "./servers/common.ts"
import { Docker, Kubernetes } from "./servers/deploy.ts"
import { PrometheusMonitoring } from "./servers/monitoring.ts"

const Strategy = Schema.Literals(["blue-green", "canary", "rolling"])

const Input = Schema.Struct({
  /** How to roll the new version out (default `rolling`, the seeds' fallback). */
  strategy: Schema.optionalKey(Strategy),
  /** The application: its manifests live in `./k8s/<app>/` (default `app`). */
  app: Schema.optionalKey(Schema.String),
  /** The version to deploy: the image `<app>:<version>` (default `1.5.0`). */
  version: Schema.optionalKey(Schema.String),
  /** The namespace that serves the application (default `production`). */
  namespace: Schema.optionalKey(Schema.String),
  /** Canary: how long each stage soaks before its metrics check, in seconds (default 300). */
  soakSeconds: Schema.optionalKey(NonNegative),
  /** Canary: the traffic stages, in percent (default 10, 25, 50, 100). */
  stages: Schema.optionalKey(Schema.NonEmptyArray(Percent)),
  /** Canary: the highest error rate a stage may show (default 0.01). */
  maxErrorRate: Schema.optionalKey(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })))
})

const Output = Schema.Struct({
  strategy: Strategy,
  app: Schema.String,
  version: Schema.String,
  namespace: Schema.String,
  /** What is live now, in a sentence. */
  live: Schema.String,
  /** Cleanup that did not happen (the deployment itself succeeded). */
  warnings: Schema.Array(Schema.String)
})

// --- policies --------------------------------------------------------------------------------

/** `deploy_with_retry`: 5 retries from 2 s, doubling to at most 60 s, jittered. */
const applyRetry = { maxAttempts: 6, backoff: { kind: "exponential", initial: "2s", max: "60s", factor: 2 }, jitter: "equal" } as const
/** `retry_with_backoff`'s defaults: 3 retries from 1 s. */
const retry = { maxAttempts: 4, backoff: { kind: "exponential", initial: "1s", max: "60s", factor: 2 }, jitter: "equal" } as const

/** The flow's parameters, with defaults applied. */
interface Target {
  readonly app: string
  readonly version: string
  readonly namespace: string
}

type KubePolicy = Policy.PolicySpec

/** The server answered, but not in the contract's shape. */
const invalidOutput = (error: unknown): boolean => error instanceof McpflowToolError && error.reason._tag === "InvalidOutput"

/**
 * A compensation's idempotent call (traffic back, a namespace or deployment removed): a rollback
 * must not give up: it retries whatever the error, 10 attempts from 1 s doubling to 30 s (about
 * 2.5 minutes, past a server's restart) — but for an answer that does not fit the contract: the
 * server answered, the work is done.
 */
const undoPolicy = {
  policy: {
    retry: Retry.make({
      maxAttempts: 10,
      backoff: Backoff.exponential("1 second", { max: "30 seconds" }),
      retryOn: (error: unknown) => !invalidOutput(error)
    }),
    timeout: "2 minutes"
  }
} as const

/** An undo the server answered did its work, even when its answer does not fit the contract. */
const undone = <A, R>(call: Effect.Effect<A, McpflowToolError, R>): Effect.Effect<void, McpflowToolError, R> =>
  call.pipe(Effect.asVoid, Effect.catchReason("McpflowToolError", "InvalidOutput", () => Effect.void))

/**
 * What the deployment runs now (undefined when it does not exist yet): what a rollback goes back
 * to. Read before changing anything, so a retried apply cannot hide the change.
 */
const currentRevision = (name: string, { app, namespace }: Target, kube: KubePolicy) =>
  step(name, Kubernetes.kubectl_get({ resource_type: "deployments", namespace }), {
    policy: { ...kube, retry, timeout: "1 minute" },
    idempotent: true
  }).pipe(Effect.map((r) => {
    const found = r.items.find((d) => d.name === app)
    return found?.revision === undefined || found.image === undefined ? undefined : { revision: found.revision, image: found.image }
  }))

/**
 * Back to the image `previous` ran (or, for a deployment that did not exist, away): setting an
 * image is idempotent, so the rollback retries whatever happens.
 */
const rollBack = (target: Target, previous: { readonly revision: number; readonly image: string } | undefined) =>
  previous === undefined
    ? undone(Kubernetes.kubectl_delete({ resource_type: "deployment", name: target.app, namespace: target.namespace }, undoPolicy))
    : undone(
      Kubernetes.kubectl_set_image(
        { resource_type: "deployment", name: target.app, namespace: target.namespace, image: previous.image },
        undoPolicy
      )
    )

// --- blue-green --------------------------------------------------------------------------------

const blueGreen = ({ app, namespace }: Target, kube: KubePolicy) =>
  Effect.gen(function*() {
    const namespaces = yield* step("find live colour", Kubernetes.kubectl_get({ resource_type: "namespaces" }), {
      policy: { ...kube, retry, timeout: "1 minute" },
      idempotent: true
    })
    const live = namespaces.items.some((n) => n.name === `${app}-green`) && !namespaces.items.some((n) => n.name === `${app}-blue`)
      ? "green"
      : "blue"
    const idle = live === "blue" ? "green" : "blue"
    yield* saga(
      "cutover",
      Effect.gen(function*() {
        yield* step(
          `deploy ${idle}`,
          Kubernetes.kubectl_apply({ manifest_path: `./k8s/${app}/`, namespace: `${app}-${idle}` }),
          {
            policy: { ...kube, retry: applyRetry, timeout: "5 minutes" },
            idempotent: true,
            compensate: () => undone(Kubernetes.kubectl_delete({ resource_type: "namespace", name: `${app}-${idle}` }, undoPolicy)),
            description: `the new version next to ${live}, without traffic`
          }
        )
        const health = yield* step(
          `verify ${idle}`,
          PrometheusMonitoring.verify_service_health({ service: app, environment: `${app}-${idle}`, timeout: 300 }, { timeout: "6 minutes" }),
          { policy: { retry, timeout: "6 minutes" }, idempotent: true }
        )
        yield* Flow.gate(
          `${idle} healthy`,
          health.healthy,
          `${health.checks_passed}/${health.checks_total} health checks passed (error rate ${health.error_rate})`
        )
        yield* step(
          "switch traffic",
          Kubernetes.kubectl_apply({ manifest_path: `./k8s/${app}/service-${idle}.yaml`, namespace }),
          {
            policy: { ...kube, retry: applyRetry, timeout: "5 minutes" },
            idempotent: true,
            compensate: () => undone(Kubernetes.kubectl_apply({ manifest_path: `./k8s/${app}/service-${live}.yaml`, namespace }, undoPolicy))
          }
        )
      })
    )
    // Past the switch there is no going back: a failed cleanup is a warning, not a rollback.
    const retired = yield* step(`retire ${live}`, Kubernetes.kubectl_delete({ resource_type: "namespace", name: `${app}-${live}` }), {
      policy: { ...kube, retry, timeout: "5 minutes" },
      idempotent: true
    }).pipe(Effect.result)
    return {
      live: `${idle} (${app}-${idle}) serves ${namespace}`,
      warnings: retired._tag === "Failure" ? [`${app}-${live} was not retired: ${retired.failure.message}`] : []
    }
  })

// --- canary ----------------------------------------------------------------------------------

const canary = (
  target: Target,
  kube: KubePolicy,
  options: { readonly stages: ReadonlyArray<number>; readonly soak: Duration.Duration; readonly maxErrorRate: number }
) =>
  Effect.gen(function*() {
    const { app, namespace } = target
    yield* saga(
      "stages",
      Effect.gen(function*() {
        const stable = yield* currentRevision("stable revision", target, kube)
        yield* step(
          "deploy canary",
          Kubernetes.kubectl_apply({ manifest_path: `./k8s/${app}/canary.yaml`, namespace }),
          {
            policy: { ...kube, retry: applyRetry, timeout: "5 minutes" },
            idempotent: true,
            // The rollback of every stage: all traffic back to stable, then the canary removed.
            compensate: () =>
              undone(Kubernetes.update_traffic_split({ service: app, namespace, canary_percent: 0 }, undoPolicy)).pipe(
                Effect.andThen(undone(Kubernetes.kubectl_delete({ resource_type: "deployment", name: `${app}-canary`, namespace }, undoPolicy)))
              ),
            description: "rolled back to 0 % canary (and removed) when any later stage fails"
          }
        )
        for (const percent of options.stages) {
          yield* step(`shift ${percent}%`, Kubernetes.update_traffic_split({ service: app, namespace, canary_percent: percent }), {
            policy: { ...kube, retry, timeout: "1 minute" },
            idempotent: true
          })
          yield* Flow.sleep(`soak ${percent}%`, options.soak)
          const metrics = yield* step(
            `check ${percent}%`,
            PrometheusMonitoring.check_metrics({ service: app, namespace, window: "5m", max_error_rate: options.maxErrorRate }),
            { policy: { retry, timeout: "1 minute" }, idempotent: true, description: "error rate and latency of the canary within bounds" }
          )
          yield* Flow.gate(
            `${percent}% healthy`,
            metrics.healthy,
            `error rate ${metrics.error_rate} > ${options.maxErrorRate}, p95 ${metrics.latency_p95_ms} ms`
          )
        }
        // Promote: the stable deployment takes the new version, then the canary goes away.
        yield* step("promote", Kubernetes.kubectl_apply({ manifest_path: `./k8s/${app}/deployment.yaml`, namespace }), {
          policy: { ...kube, retry: applyRetry, timeout: "5 minutes" },
          idempotent: true,
          compensate: () => rollBack(target, stable),
          description: "the stable deployment takes the new version"
        })
        yield* step("traffic to stable", Kubernetes.update_traffic_split({ service: app, namespace, canary_percent: 0 }), {
          policy: { ...kube, retry, timeout: "1 minute" },
          idempotent: true
        })
      })
    )
    const removed = yield* step(
      "remove canary",
      Kubernetes.kubectl_delete({ resource_type: "deployment", name: `${app}-canary`, namespace }),
      { policy: { ...kube, retry, timeout: "5 minutes" }, idempotent: true }
    ).pipe(Effect.result)
    return {
      live: `the stable deployment of ${namespace} after ${options.stages.length} canary stages`,
      warnings: removed._tag === "Failure" ? [`${app}-canary was not removed: ${removed.failure.message}`] : []
    }
  })

// --- rolling ---------------------------------------------------------------------------------

const rolling = (target: Target, kube: KubePolicy) =>
  saga(
    "rollout",
    Effect.gen(function*() {
      const { app, namespace } = target
      const previous = yield* currentRevision("current revision", target, kube)
      yield* step(
        "apply",
        Kubernetes.kubectl_apply({ manifest_path: `./k8s/${app}/deployment.yaml`, namespace }),
        {
          policy: { ...kube, retry: applyRetry, timeout: "5 minutes" },
          idempotent: true,
          compensate: () => rollBack(target, previous),
          description: "back to the previous image when the rollout or the health check fails"
        }
      )
      const rollout = yield* step(
        "rollout status",
        Kubernetes.kubectl_rollout_status({ resource_type: "deployment", name: app, namespace, timeout: 600 }, { timeout: "11 minutes" }),
        { policy: { ...kube, retry, timeout: "11 minutes" }, idempotent: true }
      )
      yield* Flow.gate("rolled out", rollout.status === "success", `${rollout.status}: ${rollout.message}`)
      const health = yield* step(
        "health check",
        PrometheusMonitoring.verify_service_health({ service: app, environment: namespace, timeout: 300 }, { timeout: "6 minutes" }),
        { policy: { retry, timeout: "6 minutes" }, idempotent: true }
      )
      yield* Flow.gate(
        "healthy",
        health.healthy,
        `${health.checks_passed}/${health.checks_total} health checks passed (error rate ${health.error_rate})`
      )
      return { live: `revision ${rollout.revision} (${rollout.ready_replicas}/${rollout.replicas} ready)`, warnings: [] }
    })
  )

// --- the flow --------------------------------------------------------------------------------

/**
 * Deploys a version with the strategy the input picks.
 *
 * @example
 * ```ts
 * const done = yield* Flow.run(deployStrategies, { strategy: "canary", version: "1.5.0", soakSeconds: 60 })
 * done.live // => "the stable deployment of production after 4 canary stages"
 * ```
 */
const deployStrategies = Flow.make({
  name: "deploy-strategies",
  description: "Deploy a version blue-green, canary (10/25/50/100 % with a metrics check per stage) or rolling, rolling back on failure",
  input: Input,
  output: Output,
  uses: [
    Docker.docker_build,
    Kubernetes.kubectl_apply,
    Kubernetes.kubectl_get,
    Kubernetes.kubectl_delete,
    Kubernetes.kubectl_rollout_status,
    Kubernetes.kubectl_set_image,
    Kubernetes.update_traffic_split,
    PrometheusMonitoring.verify_service_health,
    PrometheusMonitoring.check_metrics
  ],
  run: (input) =>
    Effect.gen(function*() {
      const strategy = input.strategy ?? "rolling"
      const target: Target = {
        app: input.app ?? "app",
        version: input.version ?? "1.5.0",
        namespace: input.namespace ?? "production"
      }
      const breaker = yield* CircuitBreaker.make({
        name: "kubernetes",
        trip: CircuitBreaker.consecutive(3),
        openDuration: "1 minute"
      }).pipe(Effect.orDie)
      const kube: KubePolicy = { breaker: Policy.breaker(breaker, "breaker") }
      // The image the manifests roll out (rebuilding a tag is idempotent).
      yield* step("image", Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: `${target.app}:${target.version}` }, { timeout: "10 minutes" }), {
        policy: { retry, timeout: "10 minutes" },
        idempotent: true,
        description: `${target.app}:${target.version}`
      })
      // One branch runs; plans show all three.
      const blueGreenDone = yield* when("blue-green", strategy === "blue-green", blueGreen(target, kube), {
        description: "the strategy is blue-green"
      })
      const canaryDone = yield* when(
        "canary",
        strategy === "canary",
        canary(target, kube, {
          stages: input.stages ?? [10, 25, 50, 100],
          soak: Duration.seconds(input.soakSeconds ?? 300),
          maxErrorRate: input.maxErrorRate ?? 0.01
        }),
        { description: "the strategy is canary" }
      )
      const rollingDone = yield* when("rolling", strategy === "rolling", rolling(target, kube), { description: "the strategy is rolling" })
      const done = Option.getOrElse(
        Option.orElse(blueGreenDone, () => Option.orElse(canaryDone, () => rollingDone)),
        () => ({ live: "nothing deployed", warnings: [] })
      )
      return { strategy, ...target, ...done }
    })
})

export default deployStrategies

/** The built-in sandbox: fake docker, kubernetes and prometheus-monitoring servers over one cluster. */
export const sandbox = Effect.map(
  sandboxServers(),
  (all) => Object.fromEntries(["docker", "kubernetes", "prometheus-monitoring"].flatMap((key) => (all[key] === undefined ? [] : [[key, all[key]]])))
)

main(import.meta, deployStrategies, { sandbox })
