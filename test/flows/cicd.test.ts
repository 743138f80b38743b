/**
 * The CI/CD flow on its sandbox, in virtual time: the happy path and the unhappy paths the
 * sandbox options produce, checked against the sandbox state (what runs where, what was backed
 * up, what was sent).
 */
import { drive as driveFor } from "../support/drive.ts"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, Fiber, Ref } from "effect"
import { Flow, FlowEngine, FlowEvents, GateClosed } from "../../dsl/flow/index.ts"
import { chaosSuite } from "../../flows/cicd.chaos.ts"
import cicd from "../../flows/cicd.ts"
import { makeSandbox, type SandboxOptions, type SentMessage } from "../../flows/sandbox/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { chaosCase } from "./support.ts"

const drive = <A, E>(fiber: Fiber.Fiber<A, E>) => driveFor(fiber)

/** Runs the flow on a fresh sandbox, on a TestClock advanced until the run ends. */
const runOnSandbox = (options: SandboxOptions = {}, input: typeof cicd.input.Encoded = {}) =>
  Effect.gen(function*() {
    const sink = FlowEvents.collect()
    const sandbox = yield* makeSandbox(options)
    const fiber = yield* Flow.run(cicd, input).pipe(
      Effect.provideService(FlowEvents.FlowEvents, sink),
      Effect.provide(FlowEngine.layerMemory),
      Effect.provide(GatewayLayer.layer({ servers: sandbox.servers })),
      Effect.exit,
      Effect.forkChild
    )
    const exit = yield* drive(fiber)
    const virtualMs = yield* Clock.currentTimeMillis
    const state = sandbox.state
    const cluster = yield* Ref.get(state.cluster)
    const sent = yield* Ref.get(state.sent)
    const objects = yield* Ref.get(state.objects)
    return {
      exit,
      virtualMs,
      events: sink.events,
      image: (key: string) => cluster.deployments.get(key)?.image,
      sent,
      alerts: sent.filter((m) => m.tool === "send_alert"),
      broadcasts: sent.filter((m) => m.tool === "broadcast_deployment"),
      backups: [...objects.keys()].filter((k) => k.startsWith("backups/deployments/production/"))
    }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "the run failed")
  if (Exit.isSuccess(exit)) throw new Error("unreachable")
  return Cause.squash(exit.cause) as E
}

const partialResults = (alert: SentMessage) => {
  const metadata = alert.args.metadata
  assert.isTrue(typeof metadata === "object" && metadata !== null && !Array.isArray(metadata), "the alert has metadata")
  const partial = (metadata as { readonly partial_results?: unknown }).partial_results
  assert.isTrue(typeof partial === "object" && partial !== null, "the alert carries the partial results")
  return partial as Readonly<Record<string, { readonly status: string }>>
}

describe("flows/cicd.ts on the sandbox", () => {
  it.effect("ships the image through staging to production, with monitoring and one broadcast", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox()
      assert.isTrue(Exit.isSuccess(run.exit), Exit.isFailure(run.exit) ? Cause.pretty(run.exit.cause) : "")
      if (Exit.isFailure(run.exit)) return
      const out = run.exit.value
      assert.strictEqual(out.image, "app:1.5.0")
      assert.strictEqual(run.image("staging/app"), "app:1.5.0")
      assert.strictEqual(run.image("production/app"), "app:1.5.0")
      assert.strictEqual(run.backups.length, 1, "production was backed up once")
      assert.match(out.backupId, /^bk-/)
      assert.strictEqual(out.alertRules.length, 4)
      assert.deepStrictEqual(run.alerts, [])
      assert.strictEqual(run.broadcasts.length, 1)
      const broadcast = run.broadcasts[0]!.args
      assert.strictEqual(broadcast.environment, "production")
      assert.strictEqual(broadcast.status, "completed")
      assert.strictEqual(broadcast.version, "1.5.0")
      assert.deepStrictEqual(
        Object.entries(out.steps).filter(([, s]) => s !== "succeeded"),
        [],
        "every stage succeeded"
      )
      assert.includeMembers(Object.keys(out.steps), ["bandit", "npm audit", "black", "mypy", "build", "test", "container scan", "integration tests", "backup", "production deploy", "pods ready"])
      assert.isTrue(run.events.some((e) => e._tag === "StepSkipped" && e.path === "on failure"), "no alert branch")
    }))

  it.effect("a vulnerable image is never deployed: one failed broadcast and exactly one alert with partial results", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ vulnerableImages: ["app:1.5.0"] })
      const error = failureOf(run.exit)
      assert.instanceOf(error, GateClosed)
      assert.strictEqual((error as GateClosed).gate, "deploy decision")
      assert.match((error as GateClosed).message, /container scan found 1 vulnerability/)
      assert.strictEqual(run.image("production/app"), "app:1.4.2", "production untouched")
      assert.strictEqual(run.image("staging/app"), "app:1.5.0-rc.1", "staging untouched")
      assert.deepStrictEqual(run.backups, [])
      assert.strictEqual(run.alerts.length, 1)
      const partial = partialResults(run.alerts[0]!)
      // The partial results are the run's step results by path: the scan answered (with its
      // vulnerability), the gate after it closed, and nothing after the gate was reached.
      assert.strictEqual(partial["checks/image/container scan"]?.status, "succeeded")
      assert.strictEqual((partial["checks/image/container scan"] as unknown as { output: { vulnerabilities: ReadonlyArray<unknown> } }).output.vulnerabilities.length, 1)
      assert.strictEqual(partial["deploy decision"]?.status, "failed")
      assert.strictEqual(partial["checks/image/build"]?.status, "succeeded")
      assert.isUndefined(partial["production deploy"], "the production deploy was never reached")
      assert.strictEqual(run.broadcasts.length, 1)
      assert.strictEqual(run.broadcasts[0]!.args.status, "failed")
      assert.strictEqual(run.broadcasts[0]!.args.environment, "staging")
    }))

  it.effect("failing integration tests stop the release after staging, before the backup", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ failingCommands: ["pytest tests/integration"] })
      const error = failureOf(run.exit)
      assert.instanceOf(error, GateClosed)
      assert.strictEqual((error as GateClosed).gate, "integration tests")
      assert.strictEqual(run.image("staging/app"), "app:1.5.0", "staging got the image")
      assert.strictEqual(run.image("production/app"), "app:1.4.2", "production did not")
      assert.deepStrictEqual(run.backups, [])
      assert.strictEqual(run.alerts.length, 1)
      assert.strictEqual(partialResults(run.alerts[0]!)["integration tests"]?.status, "failed")
    }))

  it.effect("failing quality checks are reported, not blocking (settle-all)", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ failingCommands: ["mypy", "black"] })
      assert.isTrue(Exit.isSuccess(run.exit))
      if (Exit.isFailure(run.exit)) return
      assert.strictEqual(run.exit.value.steps["mypy"], "failed")
      assert.strictEqual(run.exit.value.steps["black"], "failed")
      assert.strictEqual(run.image("production/app"), "app:1.5.0")
      assert.deepStrictEqual(run.alerts, [])
    }))

  it.effect("pods that never become ready fail the run after the production deploy, with one alert", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ failingCommands: ["kubectl wait"] })
      const error = failureOf(run.exit)
      assert.instanceOf(error, GateClosed)
      assert.strictEqual((error as GateClosed).gate, "monitoring")
      assert.strictEqual(run.image("production/app"), "app:1.5.0")
      assert.strictEqual(run.backups.length, 1, "the backup precedes the deploy")
      assert.strictEqual(run.alerts.length, 1)
      assert.strictEqual(run.broadcasts[0]!.args.status, "failed")
    }))

  it.effect("ships another image given as input; the run takes seconds of (virtual) time", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({}, { image: "app:1.6.0" })
      assert.isTrue(Exit.isSuccess(run.exit))
      assert.strictEqual(run.image("production/app"), "app:1.6.0")
      assert.isBelow(run.virtualMs, 6_000)
    }))

  it.effect("input that does not fit the Schema is refused before anything runs", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({}, { image: 42 } as unknown as typeof cicd.input.Encoded)
      const error = failureOf(run.exit)
      assert.strictEqual((error as { readonly _tag?: string })._tag, "FlowError")
      assert.deepStrictEqual(run.sent, [], "nothing was sent")
    }))
})

// -----------------------------------------------------------------------------
// Chaos: faults anywhere, a few hundred runs, seeds printed (replay with FC_SEED=<seed>)
// -----------------------------------------------------------------------------

describe("flows/cicd.ts chaos (faults anywhere; replay with FC_SEED=<seed>)", () => {
  for (const [label, options, runs] of [
    ["clean sandbox", {}, 140],
    ["vulnerable image", { vulnerableImages: ["app:1.5.0"] }, 60],
    ["failing integration tests", { failingCommands: ["pytest tests/integration"] }, 60]
  ] as const) {
    chaosCase(`${label}: invariants hold (${runs} runs)`, () => ({
      flow: cicd,
      input: {},
      ...chaosSuite(options),
      runs,
      file: "flows/cicd.ts"
    }))
  }
})
