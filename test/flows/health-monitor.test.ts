/**
 * The health monitor on its sandbox, in virtual time: rounds on a schedule (durable sleeps),
 * healthy servers, a recovery that works (a deployment scaled back up), recoveries that do not
 * (a degraded service, a missing container, a failing restart), and a chaos suite (faults
 * anywhere, a few hundred runs, seeds printed, replay with FC_SEED=<seed>).
 */
import { drive as driveFor } from "../support/drive.ts"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, Fiber, Ref } from "effect"
import { chaosIt } from "../../chaos/vitest.ts"
import { Flow, FlowEngine, FlowEvents } from "../../dsl/flow/index.ts"
import { chaosInvariants, chaosRequestKey, chaosServers, roundOf } from "../../flows/health-monitor.chaos.ts"
import healthMonitor, { scaledToZero } from "../../flows/health-monitor.ts"
import { type ClusterState, makeSandbox, type SandboxOptions } from "../../flows/sandbox/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"

const drive = <A, E>(fiber: Fiber.Fiber<A, E>, budgetMs = 6 * 3_600_000, stepMs = 100) => driveFor(fiber, budgetMs, stepMs)

type Input = typeof healthMonitor.input.Encoded

const runOnSandbox = (
  options: SandboxOptions = {},
  input: Input = {},
  prepare: (s: ClusterState) => ClusterState = (s) => s,
  stepMs = 100
) =>
  Effect.gen(function*() {
    const sink = FlowEvents.collect()
    const sandbox = yield* makeSandbox(options)
    yield* Ref.update(sandbox.state.cluster, prepare)
    const fiber = yield* Flow.run(healthMonitor, input).pipe(
      Effect.provideService(FlowEvents.FlowEvents, sink),
      Effect.provide(FlowEngine.layerMemory),
      Effect.provide(GatewayLayer.layer({ servers: sandbox.servers })),
      Effect.exit,
      Effect.forkChild
    )
    const exit = yield* drive(fiber, 6 * 3_600_000, stepMs)
    const sent = yield* Ref.get(sandbox.state.sent)
    const cluster = yield* Ref.get(sandbox.state.cluster)
    return {
      exit,
      virtualMs: yield* Clock.currentTimeMillis,
      events: sink.events,
      sent,
      cluster,
      alerts: sent.filter((m) => m.tool === "send_alert"),
      notifications: sent.filter((m) => m.tool === "send_notification"),
      ok: (path: string) => sink.events.some((e) => e._tag === "StepSucceeded" && e.path === path)
    }
  })


describe("flows/health-monitor.ts on the sandbox", () => {
  it.effect("healthy servers: every round checks every server, nothing is sent, the rounds are an interval apart", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({}, { rounds: 4, intervalSeconds: 30 })
      assert.isTrue(Exit.isSuccess(run.exit), Exit.isFailure(run.exit) ? Cause.pretty(run.exit.cause) : "")
      if (Exit.isFailure(run.exit)) return
      const out = run.exit.value
      assert.strictEqual(out.rounds, 4)
      assert.strictEqual(out.checks, 12)
      assert.strictEqual(out.healthy, 12)
      assert.strictEqual(out.alerts, 0)
      assert.deepStrictEqual(run.alerts, [])
      assert.deepStrictEqual(run.notifications, [])
      assert.isAtLeast(run.virtualMs, 3 * 30_000, "three waits of 30 s between four rounds")
      assert.isBelow(run.virtualMs, 3 * 30_000 + 10_000)
      for (const r of [1, 2, 3]) assert.isTrue(run.events.some((e) => e._tag === "StepSucceeded" && e.path === `wait ${r}`))
      assert.isFalse(run.events.some((e) => e._tag === "StepStarted" && e.path === "wait 4"), "no wait after the last round")
    }))

  it.effect("a deployment with no ready replica is scaled back up: one recovery notification, then healthy", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({}, { rounds: 3 }, scaledToZero)
      assert.isTrue(Exit.isSuccess(run.exit), Exit.isFailure(run.exit) ? Cause.pretty(run.exit.cause) : "")
      if (Exit.isFailure(run.exit)) return
      const k8s = run.exit.value.history.filter((h) => h.server === "kubernetes")
      assert.deepStrictEqual(k8s.map((h) => h.status), ["recovered", "healthy", "healthy"])
      assert.isTrue(k8s[0]!.notified)
      assert.strictEqual(run.cluster.deployments.get("production/app")?.replicas, 3, "scaled to minReplicas")
      assert.strictEqual(run.notifications.length, 1)
      assert.match(String(run.notifications[0]!.args.message), /^\[round 1\] Recovery action executed for kubernetes: .*scaled app → 3/)
      assert.deepStrictEqual(run.notifications[0]!.args.channels, ["dashboard"])
      assert.deepStrictEqual(run.alerts, [], "a verified recovery raises no alert")
    }))

  it.effect("a degraded service that a restart does not fix: exactly one high alert per round", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ unhealthyServices: ["app"] }, { rounds: 3 })
      assert.isTrue(Exit.isSuccess(run.exit), Exit.isFailure(run.exit) ? Cause.pretty(run.exit.cause) : "")
      if (Exit.isFailure(run.exit)) return
      const prom = run.exit.value.history.filter((h) => h.server === "prometheus-monitoring")
      assert.deepStrictEqual(prom.map((h) => h.status), ["unhealthy", "unhealthy", "unhealthy"])
      assert.deepStrictEqual(run.alerts.map(roundOf), [1, 2, 3])
      for (const alert of run.alerts) {
        assert.strictEqual(alert.args.severity, "high")
        assert.match(String(alert.args.message), /prometheus-monitoring is unhealthy after recovery: .*app degraded/)
      }
      for (const r of [1, 2, 3]) {
        assert.isTrue(run.ok(`round ${r}/prometheus-monitoring/recover/action`), `round ${r} restarted the service`)
        assert.isTrue(run.ok(`round ${r}/prometheus-monitoring/recover/recheck`), `round ${r} checked again`)
      }
      assert.deepStrictEqual(run.notifications, [])
    }))

  it.effect("a restart that fails: 'Recovery failed' alerts, severity high", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ unhealthyServices: ["app"], failingCommands: ["kubectl rollout restart"] }, { rounds: 2 })
      assert.isTrue(Exit.isSuccess(run.exit))
      if (Exit.isFailure(run.exit)) return
      assert.deepStrictEqual(
        run.exit.value.history.filter((h) => h.server === "prometheus-monitoring").map((h) => h.status),
        ["recovery-failed", "recovery-failed"]
      )
      assert.strictEqual(run.alerts.length, 2)
      assert.match(String(run.alerts[0]!.args.message), /^\[round 1\] Recovery failed for prometheus-monitoring: system degraded; app degraded .* → recovery failed: rollout restart app exited 1/)
      assert.isFalse(run.events.some((e) => e._tag === "StepStarted" && e.path === "round 1/prometheus-monitoring/recover/recheck"))
    }))

  it.effect("a container that is not running: docker is restarted, still missing, one alert per round", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({}, { rounds: 2, containers: ["cache", "db", "worker"] })
      assert.isTrue(Exit.isSuccess(run.exit))
      if (Exit.isFailure(run.exit)) return
      assert.strictEqual(run.exit.value.alerts, 2)
      assert.deepStrictEqual(run.alerts.map((a) => [roundOf(a), a.args.metadata]), [
        [1, { round: 1, server: "docker", status: "unhealthy", detail: "not running: worker → systemctl restart docker done; still unhealthy: not running: worker" }],
        [2, { round: 2, server: "docker", status: "unhealthy", detail: "not running: worker → systemctl restart docker done; still unhealthy: not running: worker" }]
      ])
      assert.isTrue(run.ok("round 1/docker/recover/action") && run.ok("round 2/docker/recover/action"), "docker restarted each round")
    }))

  it.effect("rounds minutes apart park the run between rounds (durable sleeps above the in-memory threshold)", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({}, { rounds: 3, intervalSeconds: 600 }, scaledToZero, 1_000)
      assert.isTrue(Exit.isSuccess(run.exit), Exit.isFailure(run.exit) ? Cause.pretty(run.exit.cause) : "")
      if (Exit.isFailure(run.exit)) return
      assert.strictEqual(run.exit.value.checks, 9)
      assert.strictEqual(run.notifications.length, 1, "the replays after each wake-up did not repeat round 1")
      assert.isAtLeast(run.virtualMs, 20 * 60_000)
    }))

  it.effect("input out of bounds is refused before anything runs", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({}, { rounds: 0 })
      assert.isTrue(Exit.isFailure(run.exit))
      assert.deepStrictEqual(run.sent, [])
    }))
})

// -----------------------------------------------------------------------------
// Chaos
// -----------------------------------------------------------------------------

describe("flows/health-monitor.ts chaos", () => {
  for (const [label, options, prepare, truth, runs] of [
    ["healthy sandbox", {}, undefined, [], 160],
    ["degraded service", { unhealthyServices: ["app"] }, undefined, ["prometheus-monitoring"], 80],
    ["deployment down", {}, scaledToZero, [], 80]
  ] as const) {
    chaosIt(`${label}: invariants hold under faults (${runs} runs)`, () => ({
      flow: healthMonitor,
      input: { rounds: 3, intervalSeconds: 30 },
      servers: chaosServers(options, prepare),
      invariants: chaosInvariants({ unhealthy: truth, rounds: 3 }),
      runs,
      deadline: "2 hours",
      requestKey: chaosRequestKey,
      file: "flows/health-monitor.ts"
    }), 120_000)
  }
})
