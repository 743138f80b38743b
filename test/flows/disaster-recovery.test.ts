/**
 * The disaster recovery flow on its sandbox, in virtual time: each incident type, and recoveries
 * with issues (a failing failover, an unhealthy service), checked against what the sandbox sent;
 * then a chaos suite: the status report always goes out, and says "with issues" whenever a
 * recovery step failed. Replay a chaos failure with the printed seed:
 * `FC_SEED=<seed> npx vitest run test/flows/disaster-recovery.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Ref } from "effect"
import * as VirtualTime from "../../chaos/VirtualTime.ts"
import { Flow, FlowEngine, FlowEvents } from "../../dsl/flow/index.ts"
import { chaosSuite } from "../../flows/disaster-recovery.chaos.ts"
import disasterRecovery, { RecoveryIncomplete } from "../../flows/disaster-recovery.ts"
import { makeSandbox, type SandboxOptions, type SentMessage, type StoredObject } from "../../flows/sandbox/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { chaosCase } from "./support.ts"

type Input = typeof disasterRecovery.input.Encoded
type Output = typeof disasterRecovery.output.Type

/** Runs the flow on a fresh sandbox, letting virtual time jump to each next sleep. */
const runOnSandbox = (input: Input, options: SandboxOptions = {}) =>
  Effect.gen(function*() {
    const sink = FlowEvents.collect()
    let state: { readonly sent: Ref.Ref<ReadonlyArray<SentMessage>>; readonly objects: Ref.Ref<ReadonlyMap<string, StoredObject>> } | undefined
    const driven = yield* VirtualTime.run(
      () =>
        Effect.gen(function*() {
          const sandbox = yield* makeSandbox(options)
          state = sandbox.state
          return yield* Flow.run(disasterRecovery, input).pipe(
            Effect.provideService(FlowEvents.FlowEvents, sink),
            Effect.provide(FlowEngine.layerMemory),
            Effect.provide(GatewayLayer.layer({ servers: sandbox.servers }))
          )
        }),
      { deadlineMs: 6 * 3_600_000 }
    )
    assert.isFalse(driven.hung, `the run ended (stuck at ${driven.endMs} ms)`)
    const sent = yield* Ref.get(state!.sent)
    const objects = yield* Ref.get(state!.objects)
    return {
      exit: driven.exit!,
      events: sink.events,
      sent,
      reports: sent.filter((m) => m.tool === "send_notification").map((m) => String(m.args.message)),
      alerts: sent.filter((m) => m.tool === "send_alert"),
      emergencyBackups: [...objects.keys()].filter((k) => k.startsWith("backups/emergency/"))
    }
  })

const succeeded = (exit: Exit.Exit<Output, unknown>): Output => {
  if (Exit.isFailure(exit)) assert.fail(Cause.pretty(exit.cause))
  return (exit as Exit.Success<Output>).value
}

const incomplete = (exit: Exit.Exit<Output, unknown>): RecoveryIncomplete => {
  assert.isTrue(Exit.isFailure(exit), "the run failed")
  const error = Cause.squash((exit as Exit.Failure<Output, unknown>).cause)
  assert.instanceOf(error, RecoveryIncomplete, String(error))
  return error as RecoveryIncomplete
}

const ran = (events: ReadonlyArray<{ readonly _tag: string }>, path: string) =>
  events.some((e) => e._tag === "StepSucceeded" && "path" in e && e.path === path)

describe("flows/disaster-recovery.ts on the sandbox", () => {
  it.effect("a service failure: escalated, services restarted, backed up, verified, reported as successful", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({})
      const out = succeeded(run.exit)
      assert.deepStrictEqual({ incident: out.incident, assessment: out.assessment, recovery: out.recovery }, {
        incident: "service_failure",
        assessment: "healthy",
        recovery: "restart services"
      })
      assert.strictEqual(run.alerts.length, 1, "one escalation")
      assert.strictEqual(run.alerts[0]!.args.severity, "critical")
      assert.strictEqual(run.alerts[0]!.args.escalation_policy, "critical")
      assert.deepStrictEqual(run.reports, ["Disaster recovery completed successfully for service_failure"])
      const report = run.sent.find((m) => m.tool === "send_notification")!
      assert.deepStrictEqual(report.args.channels, ["slack", "email", "dashboard"])
      assert.strictEqual(report.args.template, "incident")
      assert.strictEqual(run.emergencyBackups.length, 1)
      assert.strictEqual(out.backups.length, 2)
      assert.isTrue(ran(run.events, "service recovery/restart services"))
      assert.isTrue(run.events.some((e) => e._tag === "StepSkipped" && e.path === "database failover"))
    }))

  it.effect("a database failure fails over to the backup database", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ incident: "database_failure" })
      assert.strictEqual(succeeded(run.exit).recovery, "switch to backup database")
      assert.isTrue(ran(run.events, "database failover/switch to backup database"))
      assert.deepStrictEqual(run.reports, ["Disaster recovery completed successfully for database_failure"])
    }))

  it.effect("an infrastructure failure scales out to the backup region", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ incident: "infrastructure_failure" })
      assert.strictEqual(succeeded(run.exit).recovery, "scale out to backup region")
      assert.isTrue(ran(run.events, "infrastructure failover/scale out to backup region"))
    }))

  it.effect("a failing failover: the recovery goes on, the report says \"with issues\", the run fails with RecoveryIncomplete", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({ incident: "database_failure" }, { failingCommands: ["kubectl patch"] })
      const error = incomplete(run.exit)
      assert.deepStrictEqual(error.issues, ["switch to backup database: exit 1"])
      assert.strictEqual(run.reports.length, 1)
      assert.match(run.reports[0]!, /^Disaster recovery completed with issues for database_failure: switch to backup database: exit 1/)
      assert.strictEqual(run.emergencyBackups.length, 1, "the backups still ran")
      assert.isTrue(ran(run.events, "verification"))
    }))

  it.effect("an unhealthy service: assessed degraded, verification fails, reported with issues", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({}, { unhealthyServices: ["app"] })
      const error = incomplete(run.exit)
      assert.deepStrictEqual(error.issues, ["service health: 3/5 checks passed"])
      const escalation = run.alerts[0]!.args.metadata as { readonly assessment?: { readonly status?: string; readonly degraded?: ReadonlyArray<string> } }
      assert.strictEqual(escalation.assessment?.status, "degraded")
      assert.deepStrictEqual(escalation.assessment?.degraded, ["app"])
      assert.match(run.reports[0]!, /with issues/)
    }))

  it.effect("failing health checks are diagnostics: reported, not issues", () =>
    Effect.gen(function*() {
      const run = yield* runOnSandbox({}, { failingCommands: ["systemctl status"] })
      succeeded(run.exit)
      assert.deepStrictEqual(run.reports, [
        "Disaster recovery completed successfully for service_failure (health checks that failed: critical services: exit 1)"
      ])
    }))
})

// -----------------------------------------------------------------------------
// Chaos
// -----------------------------------------------------------------------------

describe("flows/disaster-recovery.ts chaos (faults anywhere; replay with FC_SEED=<seed>)", () => {
  for (const [label, input, options, runs] of [
    ["service failure", { incident: "service_failure" }, {}, 100],
    ["database failure, failover failing", { incident: "database_failure" }, { failingCommands: ["kubectl patch"] }, 60],
    ["database failure", { incident: "database_failure" }, {}, 40],
    ["infrastructure failure, service unhealthy", { incident: "infrastructure_failure" }, { unhealthyServices: ["app"] }, 60]
  ] as const) {
    chaosCase(`${label}: invariants hold (${runs} runs)`, () => ({
      flow: disasterRecovery,
      input,
      ...chaosSuite(options),
      runs,
      file: "flows/disaster-recovery.ts"
    }))
  }
})
