/**
 * `flows/deployment-events.ts` on its sandbox, on the TestClock: a healthy deployment and what
 * its `deployment.completed` handlers did; an unhealthy one rolled back by `deployment.failed`;
 * a first deployment removed again; a build failure (nothing to roll back); a failing handler
 * (the seeds' "Workflow handler failed" alert); a rollback that fails (said in the error); then a
 * chaos suite.
 *
 * Replay a chaos failure with the printed seed: `FC_SEED=<seed> npx vitest run test/flows/deployment-events.test.ts`.
 */
import { chaosSeed } from "../../chaos/vitest.ts"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"
import { Chaos, Fault, FlowFacts } from "../../chaos/index.ts"
import { Flow, FlowEngine } from "../../dsl/flow/index.ts"
import deploymentEvents, { DeploymentFailed } from "../../flows/deployment-events.ts"
import { type ClusterState, makeSandbox, type SandboxOptions, type SentMessage } from "../../flows/sandbox/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"

const SERVERS = ["kubernetes", "communication-hub", "docker", "prometheus-monitoring", "s3-storage", "slack-notifications", "azure-devops"] as const
type Deployed = typeof deploymentEvents.output.Type
type Input = typeof deploymentEvents.input.Encoded

/** Runs the flow on a fresh sandbox, advancing the TestClock until it ends. */
const deploy = (input: Input, options: SandboxOptions = {}) =>
  Effect.gen(function*() {
    const sandbox = yield* makeSandbox(options)
    const fiber = yield* Flow.run(deploymentEvents, input).pipe(
      Effect.provide(FlowEngine.layerMemory),
      Effect.provide(GatewayLayer.layer({ servers: sandbox.servers })),
      Effect.exit,
      Effect.forkChild
    )
    for (let n = 0; n < 5_000 && fiber.pollUnsafe() === undefined; n++) {
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      yield* TestClock.adjust("100 millis")
    }
    return {
      exit: yield* Fiber.join(fiber),
      cluster: yield* Ref.get(sandbox.state.cluster),
      sent: yield* Ref.get(sandbox.state.sent),
      objects: yield* Ref.get(sandbox.state.objects)
    }
  })

const failureOf = <A>(exit: Exit.Exit<A, unknown>): unknown => {
  if (Exit.isSuccess(exit)) return assert.fail("expected the deployment to fail")
  const f = exit.cause.reasons.find((r) => r._tag === "Fail")
  return f?._tag === "Fail" ? f.error : assert.fail(`no typed failure: ${String(exit.cause)}`)
}

const running = (c: ClusterState, key = "production/app") => {
  const d = c.deployments.get(key)
  return d === undefined ? undefined : { image: d.image, revision: d.revision }
}
const messages = (sent: ReadonlyArray<SentMessage>) =>
  sent.map((m) => `${m.tool}${m.args.status !== undefined ? `:${String(m.args.status)}` : m.args.severity !== undefined ? `:${String(m.args.severity)}` : ""}`)

describe("deployment-events on the sandbox", () => {
  it.effect("healthy: started → deployed → completed; the completed handlers record, back up, notify and open a work item", () =>
    Effect.gen(function*() {
      const { exit, cluster, sent, objects } = yield* deploy({})
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const done = (exit as Exit.Success<Deployed>).value
      assert.deepStrictEqual(done.events, [
        { topic: "deployment.started", handled: 2, failed: 0 },
        { topic: "deployment.completed", handled: 4, failed: 0 }
      ])
      assert.deepStrictEqual(running(cluster), { image: "app:1.5.0", revision: 8 })
      assert.strictEqual(done.revision, 8)
      assert.deepStrictEqual(messages(sent), ["post_message", "broadcast_deployment:completed"])
      assert.match(String(sent[0]?.args.text), /Deployment started: app v1\.5\.0/)
      assert.deepStrictEqual(cluster.workItems.map((w) => w.title), ["Post-deployment validation for app"])
      assert.isTrue([...objects.keys()].some((k) => k.includes("deployment_app_1.5.0")), [...objects.keys()].join(", "))
    }))

  it.effect("unhealthy: deployment.failed rolls production back to the revision that ran before and pages the on-call", () =>
    Effect.gen(function*() {
      const { exit, cluster, sent } = yield* deploy({}, { unhealthyServices: ["app"] })
      const error = failureOf(exit)
      assert.instanceOf(error, DeploymentFailed)
      assert.strictEqual((error as DeploymentFailed).stage, "verify health")
      assert.strictEqual((error as DeploymentFailed).handlersFailed, 0)
      assert.deepStrictEqual(running(cluster), { image: "app:1.4.2", revision: 9 })
      assert.deepStrictEqual(messages(sent), ["post_message", "broadcast_deployment:rolled_back", "send_alert:critical"])
      assert.strictEqual(sent[2]?.args.escalation_policy, "deployments-oncall")
      assert.deepStrictEqual(cluster.workItems, [])
    }))

  it.effect("a first deployment that fails is deleted again (there is nothing to roll back to)", () =>
    Effect.gen(function*() {
      const ok = yield* deploy({ service: "web", version: "0.1.0" })
      assert.deepStrictEqual(running(ok.cluster, "production/web"), { image: "web:0.1.0", revision: 1 })
      const { exit, cluster } = yield* deploy({ service: "web", version: "0.1.0" }, { unhealthyServices: ["web"] })
      assert.instanceOf(failureOf(exit), DeploymentFailed)
      assert.isUndefined(running(cluster, "production/web"))
    }))

  it.effect("the build fails: deployment.failed is published, but nothing was applied and nothing is rolled back", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runOnce(chaosSpec({}), Fault.plan(5, [Fault.toolError("docker.docker_build", "no space left on device")]))
      const error = run.outcome._tag === "Failure" ? run.outcome.error : undefined
      assert.instanceOf(error, DeploymentFailed, Chaos.formatRun(run))
      assert.strictEqual((error as DeploymentFailed).stage, "build")
      assert.deepStrictEqual(running(clusterOf(run)), { image: "app:1.4.2", revision: 7 })
      assert.isFalse(run.sent.some((c) => c.tool === "kubectl_rollout_undo" || c.tool === "kubectl_delete" || c.tool === "kubectl_apply"))
      assert.deepStrictEqual(messages(sentOf(run)), ["post_message", "send_alert:critical"])
    }))

  it.effect("a failing handler does not stop the others and raises the seeds' 'Workflow handler failed' alert", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runOnce(chaosSpec({}), Fault.plan(5, [Fault.toolError("s3-storage.backup_config", "bucket not found")]))
      assert.strictEqual(run.outcome._tag, "Success", Chaos.formatRun(run))
      const done = (run.outcome as { readonly value: Deployed }).value
      assert.deepStrictEqual(done.events[1], { topic: "deployment.completed", handled: 4, failed: 1 })
      const alert = sentOf(run).find((m) => m.tool === "send_alert")
      assert.match(String(alert?.args.message), /Workflow handler failed: .*bucket not found/)
      assert.deepStrictEqual(alert?.args.metadata, { event_type: "deployment.completed", handler: "backup config" })
      assert.strictEqual(clusterOf(run).workItems.length, 1, "the handlers after it still ran")
    }))

  it.effect("the rollback fails: the new version still runs, and the error says so (never silent)", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runOnce(
        chaosSpec({}, { unhealthyServices: ["app"] }),
        Fault.plan(5, [Fault.toolError("kubernetes.kubectl_rollout_undo", "admission webhook denied the request")])
      )
      const error = run.outcome._tag === "Failure" ? run.outcome.error : undefined
      assert.instanceOf(error, DeploymentFailed, Chaos.formatRun(run))
      assert.strictEqual((error as DeploymentFailed).handlersFailed, 1)
      assert.match((error as DeploymentFailed).message, /check the rollback/)
      assert.deepStrictEqual(running(clusterOf(run)), { image: "app:1.5.0", revision: 8 })
      assert.isTrue(sentOf(run).some((m) => m.tool === "send_alert" && String(m.args.message).startsWith("Workflow handler failed")))
    }))
})

// -----------------------------------------------------------------------------
// Chaos
// -----------------------------------------------------------------------------

const definitions = (options: SandboxOptions) =>
  Effect.flatMap(makeSandbox(options), (sandbox) =>
    FlowFacts.definitions(sandbox.servers, SERVERS, {
      kubernetes: Ref.get(sandbox.state.cluster),
      "communication-hub": Ref.get(sandbox.state.sent)
    }))

const chaosSpec = (input: Input, options: SandboxOptions = {}): Chaos.Spec<Deployed, unknown> => ({
  servers: definitions(options),
  program: Flow.run(deploymentEvents, input).pipe(Effect.provide(FlowEngine.layerMemory))
})

type Run = Omit<Chaos.RunResult<Deployed, unknown>, "violations">
const clusterOf = (run: Run): ClusterState => run.snapshots.kubernetes as ClusterState
const sentOf = (run: Run): ReadonlyArray<SentMessage> => run.snapshots["communication-hub"] as ReadonlyArray<SentMessage>
const broadcasts = (run: Run, status: string) => sentOf(run).filter((m) => m.tool === "broadcast_deployment" && m.args.status === status).length

const invariants: ReadonlyArray<Chaos.Invariant<Deployed, unknown>> = [
  {
    name: "the flow succeeds or fails with DeploymentFailed",
    holds: (run) => run.outcome._tag === "Success" || (run.outcome._tag === "Failure" && run.outcome.error instanceof DeploymentFailed),
    detail: (run) => (run.outcome._tag === "Failure" ? String(run.outcome.error) : run.outcome._tag)
  },
  {
    name: "a successful deployment runs the new version and is never rolled back",
    holds: (run) =>
      run.outcome._tag !== "Success" ||
      (running(clusterOf(run))?.image === "app:1.5.0" && !run.sent.some((c) => c.tool === "kubectl_rollout_undo" || c.tool === "kubectl_delete") &&
        broadcasts(run, "rolled_back") === 0)
  },
  {
    name: "a failed deployment is never announced as completed",
    holds: (run) => run.outcome._tag === "Success" || broadcasts(run, "completed") === 0
  },
  {
    name: "a failed deployment leaves the previous version running — or says its rollback handler failed",
    holds: (run) => {
      if (run.outcome._tag !== "Failure" || !(run.outcome.error instanceof DeploymentFailed)) return true
      return running(clusterOf(run))?.image === "app:1.4.2" || run.outcome.error.handlersFailed > 0
    },
    detail: (run) => `${JSON.stringify(running(clusterOf(run)))}; ${run.outcome._tag === "Failure" ? String(run.outcome.error) : ""}`
  },
  {
    name: "a rollback goes back to the revision that ran before, never further",
    holds: (run) => [...clusterOf(run).deployments.values()].every((d) => d.namespace !== "production" || d.name !== "app" || d.image !== "app:1.4.1")
  }
]

const seedOf = (offset: number) => chaosSeed("deployment-events chaos", offset)

describe("deployment-events chaos", () => {
  for (const [label, options, runs, offset] of [
    ["a healthy release", {}, 200, 0],
    ["an unhealthy release", { unhealthyServices: ["app"] }, 100, 1]
  ] as const) {
    it.effect(`${label}: completed only when healthy, rolled back (or said so) when not, never announced wrongly`, () =>
      Effect.gen(function*() {
        const seed = seedOf(offset)
        const report = yield* Chaos.check({ ...chaosSpec({}, options), invariants, runs, seed })
        console.log(`deployment-events chaos (${label}): seed ${seed} — replay with FC_SEED=${seed}\n${Chaos.format(report)}`)
        assert.isTrue(report.ok, Chaos.format(report))
      }), 60_000)
  }
})
