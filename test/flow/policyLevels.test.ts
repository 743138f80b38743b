/**
 * Policy order across levels: a step whose policy retries around a tool call that has its own
 * circuit breaker escapes the fixed order (breaker outside retry) — the plan and the chaos report
 * say so. A step policy's breaker is one circuit per step path, shared by every `forEach` item;
 * `per: "item"` gives each item its own.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schema } from "effect"
import { Chaos, FakeServer, Fault, ToolRefusal } from "../../chaos/index.ts"
import * as ChaosRunner from "../../chaos/Runner.ts"
import { Flow, forEach, Plan, step } from "../../dsl/flow/index.ts"
import { collect, FlowEvents } from "../../dsl/flow/FlowEvents.ts"
import { Tool } from "../../dsl/index.ts"
import type { McpGateway } from "../../dsl/ports/McpGateway.ts"
import type { PolicyInput } from "../../dsl/policy/Policy.ts"
import * as Reporter from "../../src/app/run/Reporter.ts"
import * as Engines from "../../src/runtime/engine/Engines.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"

const breakerSettings = { trip: { kind: "consecutive", failures: 1 }, openDuration: "1 minute" } as const
const stepRetry = { retry: { maxAttempts: 3, backoff: { kind: "constant", initial: "1 second" } } } as const

const Deploy = Tool.server("deploy", {
  apply: Tool.define({
    description: "Apply a release to a region",
    input: Schema.Struct({ region: Schema.String }),
    output: Schema.Struct({ ok: Schema.Boolean }),
    annotations: { idempotent: true }
  }),
  guarded: Tool.define({
    description: "The same, with a breaker in its contract",
    input: Schema.Struct({ region: Schema.String }),
    output: Schema.Struct({ ok: Schema.Boolean }),
    annotations: { idempotent: true },
    policy: { breaker: breakerSettings }
  })
})

const flowWith = (name: string, body: Effect.Effect<unknown, unknown, never>) =>
  Flow.make({ name, input: Schema.Struct({}), output: Schema.Unknown, uses: [Deploy], run: () => body as never })

describe("a step's retry around a call's breaker is reported", () => {
  it("Flow.plan warns when a step retries around a call with a breaker (call options or contract), not otherwise", async () => {
    const warned = (body: Effect.Effect<unknown, unknown, never>) =>
      Effect.runPromise(Effect.map(Flow.plan(flowWith("f", body), {}), (p) => p.warnings))
    const callBreaker = await warned(step("apply", Deploy.apply({ region: "eu" }, { policy: { breaker: breakerSettings } }) as never, { policy: stepRetry }))
    assert.deepStrictEqual(callBreaker, [Plan.retryAroundBreaker("apply", "deploy.apply")])
    const contractBreaker = await warned(step("apply", Deploy.guarded({ region: "eu" }) as never, { policy: stepRetry }))
    assert.deepStrictEqual(contractBreaker, [Plan.retryAroundBreaker("apply", "deploy.guarded")])
    // Nested: the retrying step is an ancestor of the step making the call.
    const nested = await warned(step("outer", step("inner", Deploy.guarded({ region: "eu" })) as never, { policy: stepRetry }))
    assert.deepStrictEqual(nested, [Plan.retryAroundBreaker("outer", "deploy.guarded")])
    // In the fixed order: the step's breaker around the call's retry; or both on the call.
    assert.deepStrictEqual(await warned(step("apply", Deploy.apply({ region: "eu" }, { policy: stepRetry }) as never, { policy: { breaker: breakerSettings } })), [])
    assert.deepStrictEqual(await warned(step("apply", Deploy.apply({ region: "eu" }, { policy: { ...stepRetry, breaker: breakerSettings } }) as never)), [])
    assert.deepStrictEqual(await warned(step("apply", Deploy.guarded({ region: "eu" }, { policy: { breaker: false } }) as never, { policy: stepRetry })), [])
  })

  it("mcpflow plan's text and the chaos report show the warning", async () => {
    const flow = flowWith("retry-around-breaker", step("apply", Deploy.guarded({ region: "eu" }) as never, { policy: stepRetry }))
    const text = Plan.toText(await Effect.runPromise(Flow.plan(flow, {})))
    assert.include(text, `warnings:\n  ! step "apply" retries around deploy.guarded, whose call has a circuit breaker`)
    const servers = Effect.succeed([{ key: "deploy", handlers: [FakeServer.handle(Deploy.guarded, () => Effect.succeed({ ok: true }))] }] as ReadonlyArray<FakeServer.Definition>)
    const { names, report, summary } = await Effect.runPromise(ChaosRunner.run(flow as never, { servers }, { input: {}, runs: 5, seed: 1 }))
    assert.deepStrictEqual(report.warnings, [Plan.retryAroundBreaker("apply", "deploy.guarded")])
    assert.include(ChaosRunner.table(report, summary, names), `warning           ${Plan.retryAroundBreaker("apply", "deploy.guarded")}`)
    assert.deepStrictEqual(ChaosRunner.toJson(report, summary, names, "x.ts").warnings, report.warnings)
    assert.include(Chaos.formatFlow(report), `warning: ${Plan.retryAroundBreaker("apply", "deploy.guarded")}`)
  })
})

describe("at run time, where the policies meet", () => {
  /** Runs `flow` through the real gateway (in-process deploy server, config `policies`) into a report. */
  const report = (flow: ReturnType<typeof flowWith>, policies: Readonly<Record<string, PolicyInput>>, mode: "plain" | "json") =>
    Effect.scoped(Effect.gen(function*() {
      const text: Array<string> = []
      const writers = { out: (t: string) => void text.push(t), err: (t: string) => void text.push(t) }
      const reporter = yield* Reporter.make({ mode, level: "normal", color: false, dryRun: false, writers })
      const deploy = yield* FakeServer.fromDefinition({
        key: "deploy",
        handlers: [FakeServer.handle(Deploy.apply, () => Effect.succeed({ ok: true })), FakeServer.handle(Deploy.guarded, () => Effect.succeed({ ok: true }))]
      })
      const sink = collect()
      const exit = yield* (Flow.run(flow, {}) as unknown as Effect.Effect<unknown, unknown, McpGateway>).pipe(
        Effect.provideService(FlowEvents, { emit: (e) => (sink.emit(e), reporter.sink.emit(e)) }),
        Effect.provide(Layer.merge(Engines.memory, GatewayLayer.layer({ servers: { deploy }, policies }))),
        Effect.exit
      )
      assert.isTrue(Exit.isSuccess(exit))
      const summary = yield* reporter.finish(exit, { flow: flow.name, durationMs: 1, sandbox: true })
      const orders = sink.events.flatMap((e) => e._tag === "Policy" && e.event._tag === "PolicyOrder" ? [[e.path, e.event.step, e.event.tool]] : [])
      return { text: text.join(""), summary, orders }
    }))
  // A breaker the flow's code does not show: the gateway config's, for deploy.apply. Two calls and a nested step in the retrying step.
  const twice = flowWith(
    "config-breaker",
    Effect.andThen(
      step("apply", Effect.all([Deploy.apply({ region: "eu" }), Deploy.apply({ region: "us" }), step("verify", Deploy.apply({ region: "eu" }))]) as never, { policy: stepRetry }),
      step("guard", Deploy.guarded({ region: "eu" }) as never, { policy: stepRetry })
    ) as Effect.Effect<unknown, unknown, never>
  )
  const configBreaker = { "deploy.apply": { breaker: breakerSettings } }

  it.effect("a step's retry around a call whose breaker comes from the gateway config: once per (step, tool), in the live report and RunSummary.warnings", () =>
    Effect.gen(function*() {
      // The plan cannot see the config's breaker: it warns only of the contract's.
      assert.deepStrictEqual((yield* Flow.plan(twice, {})).warnings, [Plan.retryAroundBreaker("guard", "deploy.guarded")])
      const plain = yield* report(twice, configBreaker, "plain")
      assert.deepStrictEqual(plain.orders, [["apply", "apply", "deploy.apply"], ["guard", "guard", "deploy.guarded"]], "one event per (step, tool)")
      const expected = [Plan.retryAroundBreaker("apply", "deploy.apply"), Plan.retryAroundBreaker("guard", "deploy.guarded")]
      assert.deepStrictEqual(plain.summary.warnings, expected)
      assert.include(plain.text, `! apply: warning: ${expected[0]}`, "the live report shows it when it happens")
      assert.include(plain.text, `  warning: ${expected[1]}`, "and the summary repeats it")
      const json = yield* report(twice, configBreaker, "json")
      const line = json.text.split("\n").find((l) => l.includes(`"_tag":"RunSummary"`))
      assert.isDefined(line)
      assert.deepStrictEqual((JSON.parse(line!) as { warnings?: unknown }).warnings, expected)
    }))

  it.effect("no warning when the policies keep the fixed order: no breaker on the call, or the retry on the call itself", () =>
    Effect.gen(function*() {
      const none = yield* report(twice, {}, "plain")
      assert.deepStrictEqual(none.orders, [["guard", "guard", "deploy.guarded"]], "without the config's breaker only the contract's is reported")
      const onTheCall = flowWith("call-level", step("apply", Deploy.guarded({ region: "eu" }, { policy: stepRetry }) as never))
      const fine = yield* report(onTheCall, configBreaker, "json")
      assert.deepStrictEqual(fine.orders, [])
      assert.isUndefined(fine.summary.warnings)
    }))
})

describe("a step policy's breaker over forEach items", () => {
  /** Region "eu" refuses; "us" works. Items run one at a time, "eu" first. */
  const servers = Effect.succeed([{
    key: "deploy",
    handlers: [FakeServer.handle(Deploy.apply, ({ region }) => region === "eu" ? Effect.fail(new ToolRefusal({ text: "eu is frozen" })) : Effect.succeed({ ok: true }))]
  }] as ReadonlyArray<FakeServer.Definition>)
  const rollout = (per: "item" | undefined) =>
    Flow.make({
      name: `rollout-${per ?? "shared"}`,
      input: Schema.Struct({}),
      output: Schema.Array(Schema.String),
      uses: [Deploy],
      run: () =>
        Effect.map(
          forEach("regions", ["eu", "us"], (region) =>
            step("apply", Deploy.apply({ region }, { timeout: "5 seconds" }), {
              policy: { breaker: { ...breakerSettings, ...(per === undefined ? {} : { per }) } }
            }), { concurrency: 1, key: (r) => r }),
          (outcomes) => outcomes.map((o) => `${o.item}:${o.result._tag}`)
        )
    })

  it("by default one circuit per step path: the failure of one item opens it for the others", async () => {
    const run = await Effect.runPromise(Chaos.runFlowOnce({ flow: rollout(undefined), input: {}, servers }, Fault.none))
    assert.deepStrictEqual(run.outcome._tag === "Success" ? run.outcome.value : run.outcome, ["eu:Failure", "us:Failure"])
    assert.deepStrictEqual(run.sent.map((c) => c.args), [`{"region":"eu"}`], "us was rejected by the open circuit, never sent")
  })

  it("per: \"item\" gives each item its own circuit", async () => {
    const run = await Effect.runPromise(Chaos.runFlowOnce({ flow: rollout("item"), input: {}, servers }, Fault.none))
    assert.deepStrictEqual(run.outcome._tag === "Success" ? run.outcome.value : run.outcome, ["eu:Failure", "us:Success"])
    assert.deepStrictEqual(run.sent.map((c) => c.args), [`{"region":"eu"}`, `{"region":"us"}`])
  })
})
