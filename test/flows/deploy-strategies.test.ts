/**
 * The deployment strategies on their sandbox, in virtual time (a canary soaks 5 virtual minutes
 * per stage in milliseconds): each strategy's happy path and its rollback, checked against the
 * cluster's state; then a chaos suite per strategy. Replay a chaos failure with the printed seed:
 * `FC_SEED=<seed> npx vitest run test/flows/deploy-strategies.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Ref } from "effect"
import { Chaos, Fault } from "../../chaos/index.ts"
import * as VirtualTime from "../../chaos/VirtualTime.ts"
import { Flow, type FlowEvent, FlowEngine, FlowEvents, GateClosed } from "../../dsl/flow/index.ts"
import { chaosSuite, clusterOf, compensationsFailed } from "../../flows/deploy-strategies.chaos.ts"
import deployStrategies from "../../flows/deploy-strategies.ts"
import { type ClusterState, makeSandbox, type SandboxOptions } from "../../flows/sandbox/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { chaosCase } from "./support.ts"

type Input = typeof deployStrategies.input.Encoded
type Output = typeof deployStrategies.output.Type

/** Runs the flow on a fresh sandbox, letting virtual time jump to each next sleep. */
const runOnSandbox = (input: Input, options: SandboxOptions = {}) =>
  Effect.gen(function*() {
    const sink = FlowEvents.collect()
    let cluster: Ref.Ref<ClusterState> | undefined
    const driven = yield* VirtualTime.run(
      () =>
        Effect.gen(function*() {
          const sandbox = yield* makeSandbox(options)
          cluster = sandbox.state.cluster
          return yield* Flow.run(deployStrategies, input).pipe(
            Effect.provideService(FlowEvents.FlowEvents, sink),
            Effect.provide(FlowEngine.layerMemory),
            Effect.provide(GatewayLayer.layer({ servers: sandbox.servers }))
          )
        }),
      { deadlineMs: 6 * 3_600_000 }
    )
    assert.isFalse(driven.hung, `the run ended (stuck at ${driven.endMs} ms)`)
    const state = yield* Ref.get(cluster!)
    return { exit: driven.exit!, virtualMs: driven.endMs, events: sink.events, state }
  })

const image = (state: ClusterState, key: string) => state.deployments.get(key)?.image

const succeeded = (exit: Exit.Exit<Output, unknown>): Output => {
  if (Exit.isFailure(exit)) assert.fail(Cause.pretty(exit.cause))
  return (exit as Exit.Success<Output>).value
}

/** The gate that stopped the run (and rolled it back). */
const rolledBack = (exit: Exit.Exit<Output, unknown>): GateClosed => {
  assert.isTrue(Exit.isFailure(exit), "the run failed")
  const error = Cause.squash((exit as Exit.Failure<Output, unknown>).cause)
  assert.instanceOf(error, GateClosed, String(error))
  return error as GateClosed
}

const compensated = (events: ReadonlyArray<FlowEvent>) => events.filter((e) => e._tag === "Compensated").map((e) => e.path)

describe("flows/deploy-strategies.ts on the sandbox", () => {
  it.effect("rolling (the default): production runs the new revision", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({})
      const out = succeeded(run.exit)
      assert.strictEqual(out.strategy, "rolling")
      assert.strictEqual(image(run.state, "production/app"), "app:1.5.0")
      assert.strictEqual(run.state.deployments.get("production/app")?.revision, 8)
      assert.match(out.live, /revision 8/)
      assert.isTrue(run.events.some((e) => e._tag === "StepSkipped" && e.path === "canary"))
    }))

  it.effect("rolling: a failed health check rolls back to the previous revision", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ strategy: "rolling" }, { unhealthyServices: ["app"] })
      const error = rolledBack(run.exit)
      assert.strictEqual(error.gate, "healthy")
      assert.match(error.reason, /^\d+\/\d+ health checks passed \(error rate [\d.]+\)$/)
      assert.strictEqual(image(run.state, "production/app"), "app:1.4.2")
      assert.deepStrictEqual(compensated(run.events), ["rolling/rollout/apply"])
    }))

  it.effect("blue-green: green takes the traffic, blue is retired", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ strategy: "blue-green" })
      const out = succeeded(run.exit)
      assert.strictEqual(image(run.state, "app-green/app"), "app:1.5.0")
      assert.isFalse(run.state.namespaces.has("app-blue"))
      assert.match(out.live, /green/)
      assert.deepStrictEqual(out.warnings, [])
    }))

  it.effect("blue-green: an unhealthy green is deleted and blue keeps serving", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ strategy: "blue-green" }, { unhealthyServices: ["app"] })
      const error = rolledBack(run.exit)
      assert.strictEqual(error.gate, "green healthy")
      assert.match(error.reason, /^\d+\/\d+ health checks passed \(error rate [\d.]+\)$/)
      assert.isFalse(run.state.namespaces.has("app-green"))
      assert.strictEqual(image(run.state, "app-blue/app"), "app:1.4.2")
      assert.isFalse(run.events.some((e) => e._tag === "StepStarted" && e.path.endsWith("switch traffic")))
    }))

  it.effect("canary: four stages of 5 virtual minutes, then promoted; no canary left, all traffic on stable", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ strategy: "canary" })
      succeeded(run.exit)
      assert.strictEqual(image(run.state, "production/app"), "app:1.5.0")
      assert.isFalse(run.state.deployments.has("production/app-canary"))
      assert.strictEqual(run.state.traffic.get("production/app"), 0)
      assert.isAtLeast(run.virtualMs, 4 * 300_000, "each stage soaked")
      // Each durable soak parks the run and replays the completed steps: count the fresh ones.
      const checks = run.events.flatMap((e) =>
        e._tag === "StepSucceeded" && !e.replayed && /\/check \d+%$/.test(e.path) ? [e.path.split("/").pop()] : []
      )
      assert.deepStrictEqual(checks, ["check 10%", "check 25%", "check 50%", "check 100%"])
    }))

  for (const [from, stage] of [[10, "10%"], [25, "25%"], [50, "50%"], [100, "100%"]] as const) {
    it.effect(`canary: a failed metrics check at ${stage} rolls back to 0 % canary and removes it`, () =>
      Effect.gen(function*() {
        const run = yield* runOnSandbox({ strategy: "canary", soakSeconds: 60 }, { canaryUnhealthyFrom: from })
        const error = rolledBack(run.exit)
        assert.strictEqual(error.gate, `${stage} healthy`)
        assert.match(error.reason, /^error rate [\d.]+ > 0\.01, p95 \d+ ms$/)
        assert.strictEqual(run.state.traffic.get("production/app"), 0)
        assert.isFalse(run.state.deployments.has("production/app-canary"))
        assert.strictEqual(image(run.state, "production/app"), "app:1.4.2", "stable untouched")
        assert.deepStrictEqual(compensated(run.events), ["canary/stages/deploy canary"])
        assert.isFalse(run.events.some((e) => e._tag === "StepStarted" && e.path.endsWith("promote")))
      }))
  }

  it.effect("input that does not fit is refused before anything runs", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ strategy: "big-bang" } as unknown as Input)
      assert.isTrue(Exit.isFailure(run.exit))
      assert.isFalse(run.events.some((e) => e._tag === "StepStarted"))
    }))
})

// -----------------------------------------------------------------------------
// Chaos
// -----------------------------------------------------------------------------

describe("flows/deploy-strategies.ts chaos (replay with FC_SEED=<seed>)", () => {
  for (const [label, input, options, runs] of [
    ["canary", { strategy: "canary", soakSeconds: 60 }, {}, 80],
    ["canary degrading from 25 %", { strategy: "canary", soakSeconds: 60 }, { canaryUnhealthyFrom: 25 }, 80],
    ["rolling", { strategy: "rolling" }, {}, 50],
    ["rolling, unhealthy", { strategy: "rolling" }, { unhealthyServices: ["app"] }, 40],
    ["blue-green", { strategy: "blue-green" }, {}, 40],
    ["blue-green, unhealthy", { strategy: "blue-green" }, { unhealthyServices: ["app"] }, 30]
  ] as const) {
    chaosCase(`${label}: invariants hold (${runs} runs)`, () => ({
      flow: deployStrategies,
      input,
      ...chaosSuite(options),
      runs,
      file: "flows/deploy-strategies.ts"
    }))
  }

  it.effect("a rollback kubernetes always refuses is reported, not hidden: CompensationsFailed, flagged by saga-atomicity", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runFlowOnce(
        { flow: deployStrategies, input: { strategy: "rolling" }, ...chaosSuite({ unhealthyServices: ["app"] }) },
        Fault.plan(0, [Fault.toolError("kubernetes.kubectl_set_image", "admission webhook denied the request")])
      )
      assert.isTrue(compensationsFailed(run), run.outcome._tag)
      assert.match(run.outcome._tag === "Failure" ? String(run.outcome.error) : "", /rolling\/rollout\/apply/)
      assert.includeMembers(run.violations.map((v) => v.invariant), ["saga-atomicity"])
      assert.strictEqual(clusterOf(run).deployments.get("production/app")?.image, "app:1.5.0", "the new version stays: the report says so")
    }))
})
