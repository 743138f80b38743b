/**
 * A chaos check keeps its fakes' SDK connections across runs (`chaos/ConnectionPool.ts`): a run
 * with a connection-level fault (server down, flapping, slow start, dropped connection) on a
 * reused connection behaves exactly as with a connection made for the run, and runs after a
 * faulty one are not affected by it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Chaos, Fault } from "../../chaos/index.ts"
import * as ConnectionPool from "../../chaos/ConnectionPool.ts"
import { spec } from "../../bench/chaosSpec.ts"

/**
 * What a run did. Calls sent at the same virtual instant to different servers may be recorded
 * in another order than with a handshake per run (no handshake means fewer promise turns), so
 * `sent`, the fault log and the events of one virtual instant are compared as sets; each
 * call's index per tool, its site and its end, each event's time, and the order of instants are
 * compared exactly.
 */
const sorted = (xs: ReadonlyArray<unknown>) => xs.map((x) => JSON.stringify(x)).sort()
const view = (run: Chaos.FlowRunResult<unknown, unknown>) =>
  JSON.stringify({ outcome: Chaos.outcomeKind(run.outcome), log: sorted(run.log), sent: sorted(run.sent), violations: run.violations, events: [...run.events].map((e) => [e.at, JSON.stringify(e)] as const).sort(([a, x], [b, y]) => a - b || (x < y ? -1 : x > y ? 1 : 0)), durationMs: run.durationMs })

const runAll = (plans: ReadonlyArray<Fault.FaultPlan>) =>
  Effect.runPromise(Effect.forEach(plans, (plan) => Effect.map(Chaos.runFlowOnce(spec, plan), view)))

const connectionFaults: ReadonlyArray<Fault.FaultPlan> = [
  Fault.plan(1, [Fault.serverDown("status", 0, 60_000)]),
  Fault.plan(2, [Fault.flapping("stock", 2, 3)]),
  Fault.plan(3, [Fault.slowStart("pay", 40_000)]),
  Fault.plan(4, [Fault.slowStart("status", 2_000)]),
  Fault.plan(5, [Fault.connectionDrop("status.get", { times: 1 })]),
  Fault.plan(6, [Fault.lostResponse("pay.charge", {}, "close")])
]

describe("connections kept across a check's runs", () => {
  it("connection-level faults on reused connections behave as on connections made per run", async () => {
    // Clean runs between the faulty ones: each faulty run starts on connections an earlier run used.
    const plans = connectionFaults.flatMap((p) => [Fault.none, p, Fault.none])
    ConnectionPool.settings.enabled = false
    const perRun = await runAll(plans).finally(() => {
      ConnectionPool.settings.enabled = true
    })
    const before = ConnectionPool.settings.fresh
    const pooled = await runAll(plans)
    const made = ConnectionPool.settings.fresh - before
    // 4 servers × 18 runs = 72 connections: most are reused, the faulty ones are made anew.
    assert.isBelow(made, 40, `pairs made: ${made}`)
    for (let i = 0; i < plans.length; i++) assert.strictEqual(pooled[i], perRun[i], `run ${i}: ${Fault.encodePlan(plans[i]!)}`)
    const down = JSON.parse(pooled[1]!) as { outcome: string; log: ReadonlyArray<string> }
    assert.strictEqual(down.outcome, "Failure:ServerUnavailable")
    assert.isTrue(down.log.some((l) => l.includes(`"ServerDown"`) && l.includes(`"(connect)"`)), down.log.join("\n"))
  })
})
