/**
 * The faults users asked for: `times` (the first N firings), `where` / `Fault.on` (calls whose
 * arguments match, typed by the contract), different kinds per target in one plan
 * (`faults.perTarget`), fake handlers with a request context (progress, logs, cancellation) and
 * the `ProgressStall` fault.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import fc from "fast-check"
import { Arbitraries, Chaos, FakeServer, Fault, Injector, Models } from "../../chaos/index.ts"
import { Tool } from "../../dsl/index.ts"
import type { McpflowToolError } from "../../dsl/index.ts"
import { type GatewayEvent, GatewayEvents } from "../../dsl/ports/McpGateway.ts"
import { InventoryApi, Payment, sagaServers, suiteSeed } from "./support.ts"

const reasonOf = (exit: Exit.Exit<unknown, McpflowToolError>) =>
  Exit.isSuccess(exit) ? "Success" : (exit.cause.reasons.find((r) => r._tag === "Fail") as { error: McpflowToolError } | undefined)?.error.reason._tag

/** Three charges for three orders, each with a 5 s timeout; the exits, in order. */
const threeCharges = Effect.forEach(["o1", "o2", "o3"], (order_id) =>
  Effect.exit(Payment.charge({ order_id, amount: 10 }, { timeout: "5 seconds" })))

const charges = (run: Chaos.RunResult<unknown, unknown>) => (run.snapshots.payment as Models.Ledger.LedgerSnapshot).charges

describe("times: a fault limited to its first firings", () => {
  it.effect("lose one response: only the first matching call loses its answer", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runOnce({ servers: sagaServers, program: threeCharges }, Fault.plan(1, [Fault.lostResponse("payment.charge", { times: 1 })]))
      const exits = run.outcome._tag === "Success" ? run.outcome.value : assert.fail(Chaos.formatRun(run))
      assert.deepStrictEqual(exits.map(reasonOf), ["Timeout", "Success", "Success"])
      assert.strictEqual(Injector.formatLog(run.log), "t=0ms payment.charge#0 LostResponse [0] then silence")
      assert.strictEqual(charges(run).length, 3, "the lost answer's charge happened")
    }))

  it.effect("a burst counts against times; without times a rate-1 fault hits every call", () =>
    Effect.gen(function*() {
      const limited = yield* Chaos.runOnce({ servers: sagaServers, program: threeCharges }, Fault.plan(1, [Fault.toolError("payment.charge", "no", { burst: 3, times: 2 })]))
      assert.deepStrictEqual(limited.log.map((i) => i.call), [0, 1])
      const every = yield* Chaos.runOnce({ servers: sagaServers, program: threeCharges }, Fault.plan(1, [Fault.toolError("payment.charge", "no")]))
      assert.deepStrictEqual(every.log.map((i) => i.call), [0, 1, 2])
    }))
})

describe("where: faults aimed at calls whose arguments match", () => {
  it.effect("Fault.on(contract, partial args) hits one order's call and no other", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runOnce(
        { servers: sagaServers, program: threeCharges },
        Fault.plan(1, [Fault.toolError(Fault.on(Payment.charge, { order_id: "o2" }), "declined for o2")])
      )
      const exits = run.outcome._tag === "Success" ? run.outcome.value : assert.fail(Chaos.formatRun(run))
      assert.deepStrictEqual(exits.map(reasonOf), ["Success", "ToolFailed", "Success"])
      assert.deepStrictEqual(charges(run).map((c) => c.orderId), ["o1", "o3"])
    }))

  it("the selector is typed by the contract's input, and round-trips through a plan's JSON", () => {
    const selector = Fault.on(Payment.charge, { order_id: "o2", amount: 10 })
    assert.deepStrictEqual(selector, { target: "payment.charge", where: { order_id: "o2", amount: 10 } })
    // @ts-expect-error: `tenant` is not an argument of payment.charge
    Fault.on(Payment.charge, { tenant: "acme" })
    // @ts-expect-error: `amount` is a number
    Fault.on(Payment.charge, { amount: "ten" })
    const plan = Fault.plan(3, [Fault.lostResponse(selector, { times: 1 })])
    assert.deepStrictEqual(Fault.decodePlan(JSON.parse(JSON.stringify(Fault.encodePlan(plan)))), plan)
    assert.strictEqual(Fault.describe(plan.faults[0]!), `LostResponse(then silence) @ payment.charge where {"order_id":"o2","amount":10} rate 1 ×1`)
  })

  it("matchesArgs: objects match partially, level by level; arrays and scalars exactly", () => {
    const args = { tenant: "acme", order: { region: "eu", id: "o1" }, tags: ["a", "b"] }
    assert.isTrue(Fault.matchesArgs(undefined, args))
    assert.isTrue(Fault.matchesArgs({ order: { region: "eu" } }, args))
    assert.isFalse(Fault.matchesArgs({ order: { region: "us" } }, args))
    assert.isFalse(Fault.matchesArgs({ tenant: "globex" }, args))
    assert.isTrue(Fault.matchesArgs({ tags: ["a", "b"] }, args))
    assert.isFalse(Fault.matchesArgs({ tags: ["a"] }, args))
    assert.isFalse(Fault.matchesArgs({ missing: null }, args))
  })
})

describe("perTarget: different kinds per target in one plan", () => {
  const targets = [
    { server: "payment", tool: "charge" },
    { server: "payment", tool: "refund" },
    { server: "inventory", tool: "reserve" },
    { server: "inventory", tool: "stock" }
  ]
  const rules: ReadonlyArray<Arbitraries.TargetRule> = [
    { target: "payment.charge", kinds: ["ToolError", "RateLimited"] },
    { target: "payment.refund", kinds: ["LostResponse", "Hang"] },
    { target: Fault.on(InventoryApi.reserve, { sku: "widget" }), kinds: ["ConnectionDrop"] }
  ]

  it("refusals on the forward call, ambiguous faults on the undo, a selector's where kept", () => {
    const seed = suiteSeed("perTarget plans")
    const plans = fc.sample(Arbitraries.faultPlan({ targets, perTarget: rules, maxFaults: 4 }), { seed, numRuns: 200 })
    const seen = new Set<string>()
    for (const plan of plans) {
      for (const f of plan.faults) {
        seen.add(`${f.target} ${f._tag}`)
        if (f.target === "payment.charge") assert.include(["ToolError", "RateLimited"], f._tag)
        else if (f.target === "payment.refund") assert.include(["LostResponse", "Hang"], f._tag)
        else {
          assert.strictEqual(f.target, "inventory.reserve")
          assert.strictEqual(f._tag, "ConnectionDrop")
          assert.deepStrictEqual(f.where, { sku: "widget" })
        }
      }
    }
    assert.strictEqual(seen.size, 5, [...seen].join(", "))
  })

  it("a rule that matches no tool is refused with its target and the tools there are", () => {
    assert.throws(() => Arbitraries.faultPlan({ targets, perTarget: [{ target: "shipping.*", kinds: ["Hang"] }] }), /shipping\.\* matches none of the tools \(payment\.charge/)
  })

  it.effect("through the public plan options of Chaos.check", () =>
    Effect.gen(function*() {
      const seed = suiteSeed("perTarget check")
      const seenKinds = new Set<string>()
      const program = Effect.gen(function*() {
        yield* InventoryApi.stock({ sku: "widget" })
        return yield* Effect.exit(Payment.charge({ order_id: "o1", amount: 5 }, { timeout: "5 seconds" }))
      })
      const report = yield* Chaos.check({
        servers: sagaServers,
        program,
        runs: 30,
        seed,
        faults: { perTarget: [{ target: "payment.charge", kinds: ["ToolError"] }, { target: "inventory.stock", kinds: ["Latency"] }] },
        invariants: [{ name: "sees only the asked kinds", holds: (run) => run.log.every((i) => (seenKinds.add(i.kind), i.kind === "ToolError" || i.kind === "Latency")) }]
      })
      assert.isTrue(report.ok, Chaos.format(report))
      assert.deepStrictEqual([...seenKinds].sort(), ["Latency", "ToolError"])
    }))
})

/** A long job that reports progress every 10 s, three times, and logs when done. */
const Jobs = Tool.server("jobs", {
  run: Tool.define({
    description: "Run a long job",
    input: Schema.Struct({ name: Schema.String }),
    output: Schema.Struct({ done: Schema.String }),
    annotations: { idempotent: true }
  })
})

const seenAborts: Array<boolean> = []
const jobServers = Effect.succeed([
  {
    key: "jobs",
    handlers: [
      FakeServer.handle(Jobs.run, ({ name }, request) =>
        Effect.gen(function*() {
          for (let i = 1; i <= 3; i++) {
            yield* Effect.sleep("10 seconds")
            yield* request.progress(i, 3, `step ${i}`)
          }
          yield* request.log("info", `job ${name} done`)
          return { done: name }
        }).pipe(Effect.onInterrupt(() => Effect.sync(() => void seenAborts.push(request.signal.aborted)))))
    ]
  }
] satisfies ReadonlyArray<FakeServer.Definition>)

/** Runs the job with a 15 s timeout restarted by progress, collecting the gateway's events. */
const runJob = Effect.gen(function*() {
  const events: Array<GatewayEvent> = []
  const exit = yield* Effect.exit(Jobs.run({ name: "nightly" }, { timeout: "15 seconds", resetTimeoutOnProgress: true })).pipe(
    Effect.provideService(GatewayEvents, { emit: (e) => void events.push(e) })
  )
  return { reason: reasonOf(exit), progress: events.flatMap((e) => (e._tag === "ToolProgress" ? [e.progress] : [])), logs: events.flatMap((e) => (e._tag === "ServerLog" ? [String(e.data)] : [])) }
})

describe("fake handlers get a request context; ProgressStall stalls their progress", () => {
  it.effect("progress reaches the caller and restarts its timeout; a log line reaches the gateway", () =>
    Effect.gen(function*() {
      const run = yield* Chaos.runOnce({ servers: jobServers, program: runJob }, Fault.none)
      assert.deepStrictEqual(run.outcome, { _tag: "Success", value: { reason: "Success", progress: [1, 2, 3], logs: ["job nightly done"] } }, Chaos.formatRun(run))
      assert.strictEqual(run.durationMs, 30_000, "30 s of work under a 15 s timeout: progress kept the call alive")
    }))

  it.effect("a stall after the first update: no more progress, the caller times out, the handler sees the cancellation", () =>
    Effect.gen(function*() {
      seenAborts.length = 0
      const run = yield* Chaos.runOnce({ servers: jobServers, program: runJob }, Fault.plan(1, [Fault.progressStall("jobs.run", 1)]))
      assert.deepStrictEqual(run.outcome, { _tag: "Success", value: { reason: "Timeout", progress: [1], logs: [] } }, Chaos.formatRun(run))
      assert.deepStrictEqual(seenAborts, [true], "the handler was interrupted with its signal aborted")
      assert.deepStrictEqual(run.sent.map((c) => c.end), ["cancelled"])
      assert.strictEqual(Injector.formatLog(run.log), "t=0ms jobs.run#0 ProgressStall [0] after 1 update(s), for ever")
    }))

  it.effect("a bounded stall delays progress: the answer comes late, or not at all when the stall outlasts the timeout", () =>
    Effect.gen(function*() {
      const late = yield* Chaos.runOnce({ servers: jobServers, program: runJob }, Fault.plan(1, [Fault.progressStall("jobs.run", 2, 4_000)]))
      assert.deepStrictEqual(late.outcome, { _tag: "Success", value: { reason: "Success", progress: [1, 2, 3], logs: ["job nightly done"] } })
      assert.strictEqual(late.durationMs, 34_000)
      const tooLate = yield* Chaos.runOnce({ servers: jobServers, program: runJob }, Fault.plan(1, [Fault.progressStall("jobs.run", 0, 6_000)]))
      assert.strictEqual(tooLate.outcome._tag === "Success" ? tooLate.outcome.value.reason : "?", "Timeout")
    }))
})
