/**
 * Unit tests of the flow DSL and its interpreter on the memory engine, on the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, Option, Result, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Tool } from "../../dsl/index.ts"
import {
  dag,
  Flow,
  FlowEngine,
  FlowError,
  type FlowEvent,
  FlowEvents,
  forEach,
  on,
  parallel,
  Plan,
  publish,
  saga,
  step,
  topic,
  when
} from "../../dsl/flow/index.ts"

type Engine = FlowEngine.FlowEngine | import("effect/workflow/WorkflowEngine").WorkflowEngine

/** Runs a flow on a fresh memory engine, advancing virtual time until it ends. */
const runFlow = <A, E>(effect: Effect.Effect<A, E, Engine>) =>
  Effect.gen(function*() {
    const sink = FlowEvents.collect()
    const fiber = yield* effect.pipe(
      Effect.provide(FlowEngine.layerMemory),
      Effect.provideService(FlowEvents.FlowEvents, sink),
      Effect.exit,
      Effect.forkChild
    )
    for (let i = 0; i < 10_000 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("10 millis")
    const exit = yield* Fiber.join(fiber)
    return { exit, events: sink.events }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const fail = exit.cause.reasons.find((r) => r._tag === "Fail")
  return fail?._tag === "Fail" ? (fail.error as E) : undefined
}

const flowReason = <A, E>(exit: Exit.Exit<A, E>) => {
  const error = failureOf(exit)
  assert.instanceOf(error, FlowError, `expected a FlowError, got ${String(exit)}`)
  return (error as FlowError).reason
}

const paths = (events: ReadonlyArray<FlowEvent>, tag: FlowEvent["_tag"]) =>
  events.filter((e) => e._tag === tag).map((e) => ("path" in e ? e.path : ""))

const Empty = Schema.Struct({})

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", { attempt: Schema.Number }) {
  get transient() {
    return true
  }
}

describe("flow input and output", () => {
  it.effect("bad input is a FlowError InvalidFlowInput naming the path; nothing runs", () =>
    Effect.gen(function*() {
      let ran = 0
      const flow = Flow.make({
        name: "deploy",
        input: Schema.Struct({ service: Schema.Struct({ name: Schema.String, replicas: Schema.Number }) }),
        output: Schema.Number,
        run: ({ service }) => step("apply", Effect.sync(() => ++ran + service.replicas))
      })
      const { events, exit } = yield* runFlow(Flow.run(flow, { service: { name: 42, replicas: 1 } } as never))
      const reason = flowReason(exit)
      assert.strictEqual(reason._tag, "InvalidFlowInput")
      if (reason._tag === "InvalidFlowInput") {
        assert.strictEqual(reason.path, "service.name")
        assert.include(reason.issue, "string")
      }
      assert.strictEqual(ran, 0)
      assert.deepStrictEqual(events.filter((e) => e._tag === "StepStarted"), [])
      const missing = yield* runFlow(Flow.run(flow, { service: { name: "api" } } as never))
      const r2 = flowReason(missing.exit)
      assert.strictEqual(r2._tag === "InvalidFlowInput" ? r2.path : undefined, "service.replicas")
      assert.strictEqual(ran, 0)
      // And a good input runs.
      const ok = yield* runFlow(Flow.run(flow, { service: { name: "api", replicas: 2 } }))
      assert.deepStrictEqual(ok.exit, Exit.succeed(3))
    }))

  it.effect("a field the input does not have is InvalidFlowInput too, naming the field it most likely meant; nothing runs", () =>
    Effect.gen(function*() {
      let ran = 0
      const flow = Flow.make({
        name: "ship",
        input: Schema.Struct({ image: Schema.optionalKey(Schema.String), target: Schema.optionalKey(Schema.Struct({ region: Schema.String })) }),
        output: Schema.String,
        run: ({ image }) => step("ship", Effect.sync(() => (ran++, image ?? "app:1")))
      })
      // A misspelled option would otherwise leave its default in place without a word.
      const typo = flowReason((yield* runFlow(Flow.run(flow, { imgae: "app:2" } as never))).exit)
      assert.deepInclude(typo, { _tag: "InvalidFlowInput", path: "imgae", issue: `Unknown field; did you mean "image"?` })
      const nested = flowReason((yield* runFlow(Flow.run(flow, { target: { region: "eu", zone: "a" } } as never))).exit)
      assert.deepInclude(nested, { _tag: "InvalidFlowInput", path: "target.zone", issue: `Unknown field; expected "region"` })
      assert.strictEqual(ran, 0)
      const ok = yield* runFlow(Flow.run(flow, { image: "app:2" }))
      assert.deepStrictEqual(ok.exit, Exit.succeed("app:2"))
      // A flow that takes no input (Schema lets an empty struct take any object) says so.
      const none = Flow.make({ name: "none", input: Empty, output: Schema.Number, run: () => step("one", Effect.succeed(1)) })
      const given = flowReason((yield* runFlow(Flow.run(none, { image: "app:2" } as never))).exit)
      assert.deepInclude(given, { _tag: "InvalidFlowInput", path: "image", issue: "Unknown field: this flow takes no input" })
      assert.deepStrictEqual((yield* runFlow(Flow.run(none, {}))).exit, Exit.succeed(1))
    }))

  it.effect("a result that does not fit the output Schema is InvalidFlowOutput naming the path (after the steps ran)", () =>
    Effect.gen(function*() {
      let ran = 0
      const flow = Flow.make({
        name: "out",
        input: Empty,
        output: Schema.Struct({ url: Schema.String, port: Schema.Number }),
        run: () => step("make", Effect.sync(() => (ran++, { url: 42 as unknown as string, port: 80 })))
      })
      const { events, exit } = yield* runFlow(Flow.run(flow, {}))
      const reason = flowReason(exit)
      assert.strictEqual(reason._tag, "InvalidFlowOutput")
      assert.strictEqual(reason._tag === "InvalidFlowOutput" ? reason.path : undefined, "url")
      assert.strictEqual(ran, 1)
      const finished = events.find((e) => e._tag === "FlowFinished")
      assert.strictEqual(finished?._tag === "FlowFinished" ? finished.outcome : undefined, "failure")
    }))
})

describe("definitions", () => {
  it.effect("a duplicate step name in one scope is a FlowDefinition error; the same name in two scopes is fine", () =>
    Effect.gen(function*() {
      const dup = Flow.make({
        name: "dup",
        input: Empty,
        output: Schema.Number,
        run: () =>
          Effect.gen(function*() {
            yield* step("build", Effect.succeed(1))
            return yield* step("build", Effect.succeed(2))
          })
      })
      const reason = flowReason((yield* runFlow(Flow.run(dup, {}))).exit)
      assert.strictEqual(reason._tag, "FlowDefinition")
      assert.include(reason._tag === "FlowDefinition" ? reason.detail : "", `duplicate step name "build"`)

      const scoped = Flow.make({
        name: "scoped",
        input: Empty,
        output: Schema.Unknown,
        run: () => parallel("p", { a: step("build", Effect.succeed(1)), b: step("build", Effect.succeed(2)) })
      })
      const { events, exit } = yield* runFlow(Flow.run(scoped, {}))
      assert.deepStrictEqual(exit, Exit.succeed({ a: 1, b: 2 }))
      assert.includeMembers(paths(events, "StepSucceeded"), ["p/a/build", "p/b/build"])
    }))

  it.effect("a DAG whose names are built at run time: a missing dependency fails the DAG before any node runs, naming it", () =>
    Effect.gen(function*() {
      let ran = 0
      const flow = Flow.make({
        name: "missing-dep",
        input: Schema.Struct({ names: Schema.Array(Schema.String) }),
        output: Schema.Unknown,
        run: ({ names }) => {
          let d: any = dag("d").node("first", () => step("w", Effect.sync(() => ran++)))
          d = d.node(names[0], { needs: [names[1]] }, () => step("w", Effect.sync(() => ran++)))
          return (d as ReturnType<typeof dag>).run()
        }
      })
      const reason = flowReason((yield* runFlow(Flow.run(flow, { names: ["deploy", "tset"] }))).exit)
      assert.strictEqual(reason._tag, "FlowDefinition")
      const detail = reason._tag === "FlowDefinition" ? reason.detail : ""
      assert.include(detail, `"deploy"`)
      assert.include(detail, `"tset"`)
      assert.strictEqual(ran, 0, "no node ran")
    }))
})

describe("DAGs", () => {
  it.effect("a false `when` skips the node and its dependents, unless they are `always`; outcomes say why", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const w = (name: string) => step("w", Effect.sync(() => (ran.push(name), name)))
      const flow = Flow.make({
        name: "skips",
        input: Empty,
        output: Schema.Unknown,
        run: () =>
          Effect.map(
            dag("d")
              .node("build", () => w("build"))
              .node("scan", { needs: ["build"], when: () => false, whenLabel: "scanning enabled" }, () => w("scan"))
              .node("deploy", { needs: ["scan"] }, () => w("deploy"))
              .node("notify", { needs: ["deploy"] }, () => w("notify"))
              .node("cleanup", { needs: ["deploy"], always: true }, ({ deploy }) => w(`cleanup ${deploy ?? "none"}`))
              .node("test", { needs: ["build"] }, ({ build }) => w(`test ${build}`))
              .run(),
            (r) => Object.fromEntries(Object.entries(r.outcomes).map(([k, o]) => [k, o._tag]))
          )
      })
      const { events, exit } = yield* runFlow(Flow.run(flow, {}))
      assert.deepStrictEqual(exit, Exit.succeed({
        build: "Succeeded",
        scan: "Skipped",
        deploy: "Skipped",
        notify: "Skipped",
        cleanup: "Succeeded",
        test: "Succeeded"
      }))
      assert.sameMembers(ran, ["build", "test build", "cleanup none"])
      assert.sameMembers(paths(events, "StepSkipped"), ["d/scan", "d/deploy", "d/notify"])
      const scan = events.find((e) => e._tag === "StepSkipped" && e.path === "d/scan")
      assert.include(scan?._tag === "StepSkipped" ? scan.why : "", "scanning enabled")
      const deploy = events.find((e) => e._tag === "StepSkipped" && e.path === "d/deploy")
      assert.include(deploy?._tag === "StepSkipped" ? deploy.why : "", "scan")
    }))

  it.effect("continueOnError: the DAG goes on, the failed node's dependents are skipped; without it the DAG fails", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const make = (continueOnError: boolean) =>
        Flow.make({
          name: `coe-${continueOnError}`,
          input: Empty,
          output: Schema.Unknown,
          run: () =>
            Effect.map(
              dag("d")
                .node("lint", { continueOnError }, () => step("w", Effect.fail("lint broke")))
                .node("report", { needs: ["lint"] }, () => step("w", Effect.sync(() => ran.push("report"))))
                .node("build", () => step("w", Effect.sleep(50).pipe(Effect.andThen(Effect.sync(() => ran.push("build"))))))
                .run(),
              (r) => Object.fromEntries(Object.entries(r.outcomes).map(([k, o]) => [k, o._tag]))
            )
        })
      const { exit } = yield* runFlow(Flow.run(make(true), {}))
      assert.deepStrictEqual(exit, Exit.succeed({ lint: "Failed", report: "Skipped", build: "Succeeded" }))
      assert.deepStrictEqual(ran, ["build"])
      ran.length = 0
      const failed = yield* runFlow(Flow.run(make(false), {}))
      assert.strictEqual(failureOf(failed.exit), "lint broke")
      assert.notInclude(ran, "report")
      const finished = failed.events.find((e) => e._tag === "FlowFinished")
      assert.strictEqual(finished?._tag === "FlowFinished" ? finished.failedStep : undefined, "d/lint/w")
    }))

  it.effect("outcomes and outputs list the nodes in the order they were declared, not the order they finished", () =>
    Effect.gen(function*() {
      const finished: Array<string> = []
      const w = (name: string, ms: number) => step("w", Effect.sleep(ms).pipe(Effect.andThen(Effect.sync(() => (finished.push(name), name)))))
      const flow = Flow.make({
        name: "order",
        input: Empty,
        output: Schema.Unknown,
        run: () =>
          Effect.map(
            dag("d")
              .node("slow", () => w("slow", 50))
              .node("skipped", { when: () => false }, () => w("skipped", 0))
              .node("fast", () => w("fast", 0))
              .node("after", { needs: ["fast"] }, () => w("after", 10))
              .run(),
            (r) => ({ outcomes: Object.keys(r.outcomes), outputs: Object.keys(r.outputs) })
          )
      })
      const { exit } = yield* runFlow(Flow.run(flow, {}))
      assert.deepStrictEqual(finished, ["fast", "after", "slow"])
      assert.deepStrictEqual(exit, Exit.succeed({ outcomes: ["slow", "skipped", "fast", "after"], outputs: ["slow", "fast", "after"] }))
    }))
})

describe("forEach", () => {
  it.effect("runs batches one after the other, each under its concurrency limit, and reports every item's outcome", () =>
    Effect.gen(function*() {
      let running = 0
      let peak = 0
      const spans: Array<{ item: number; start: number; end: number }> = []
      const flow = Flow.make({
        name: "batches",
        input: Empty,
        output: Schema.Unknown,
        run: () =>
          forEach("items", [1, 2, 3, 4, 5, 6, 7], (item) =>
            step("work", Effect.gen(function*() {
              const start = yield* Clock.currentTimeMillis
              running++
              peak = Math.max(peak, running)
              yield* Effect.sleep(100)
              running--
              spans.push({ item, start, end: yield* Clock.currentTimeMillis })
              if (item === 5) return yield* Effect.fail(`item ${item} failed`)
              return item * 10
            })), { batchSize: 3, concurrency: 2, key: (i) => `i${i}` }).pipe(
            Effect.map((outcomes) =>
              outcomes.map((o) => [o.key, Result.isSuccess(o.result) ? o.result.success : `failed: ${o.result.failure}`])
            )
          )
      })
      const { events, exit } = yield* runFlow(Flow.run(flow, {}))
      assert.deepStrictEqual(exit, Exit.succeed([
        ["i1", 10],
        ["i2", 20],
        ["i3", 30],
        ["i4", 40],
        ["i5", "failed: item 5 failed"],
        ["i6", 60],
        ["i7", 70]
      ]))
      assert.strictEqual(peak, 2)
      const batchOf = (item: number) => Math.floor((item - 1) / 3)
      for (const a of spans) {
        for (const b of spans) {
          if (batchOf(b.item) > batchOf(a.item)) assert.isAtLeast(b.start, a.end, `item ${b.item} started before ${a.item} ended`)
        }
      }
      // 3 items at 2 at a time take 200 ms; 3 + 3 + 1 items: 200 + 200 + 100.
      assert.strictEqual(Math.max(...spans.map((x) => x.end)) - Math.min(...spans.map((x) => x.start)), 500)
      assert.includeMembers(paths(events, "StepFailed"), ["items/[i5]/work", "items/[i5]"])
    }))
})

describe("event bus", () => {
  const Deployed = topic("deployment.completed", Schema.Struct({ service: Schema.String, version: Schema.String }))

  it.effect("handlers run in subscription order as reported groups; a failing handler is counted, not propagated", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const flow = Flow.make({
        name: "bus",
        input: Empty,
        output: Schema.Unknown,
        run: () =>
          Effect.gen(function*() {
            yield* on(Deployed, "notify", (e) => step("send", Effect.sync(() => seen.push(`notify ${e.service}@${e.version}`))))
            yield* on(Deployed, "flaky hook", () => step("call", Effect.fail("hook down")))
            yield* on(Deployed, "audit", (e) => Effect.sync(() => seen.push(`audit ${e.service}`)))
            const first = yield* publish(Deployed, { service: "api", version: "1.4.2" })
            const second = yield* publish(Deployed, { service: "web", version: "2.0.0" })
            const bad = yield* Effect.exit(publish(Deployed, { service: 1 } as never))
            return { first, second, badFailed: Exit.isFailure(bad) }
          })
      })
      const { events, exit } = yield* runFlow(Flow.run(flow, {}))
      assert.deepStrictEqual(exit, Exit.succeed({
        first: { handled: 3, failed: 1 },
        second: { handled: 3, failed: 1 },
        badFailed: true
      }))
      assert.deepStrictEqual(seen, ["notify api@1.4.2", "audit api", "notify web@2.0.0", "audit web"])
      const published = events.filter((e) => e._tag === "Published")
      assert.deepStrictEqual(published.map((e) => (e._tag === "Published" ? [e.topic, e.handlers] : [])), [
        ["deployment.completed", 3],
        ["deployment.completed", 3]
      ])
      assert.includeMembers(paths(events, "StepSucceeded"), [
        "deployment.completed#1/notify/send",
        "deployment.completed#2/audit"
      ])
      assert.include(paths(events, "StepFailed"), "deployment.completed#1/flaky hook/call")
    }))
})

describe("interruption and sagas", () => {
  it.effect("interrupting the fiber of Flow.run compensates the completed steps (reverse), reports the in-flight one, ends 'interrupted'", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const flow = Flow.make({
        name: "ctrl-c",
        input: Empty,
        output: Schema.Number,
        run: () =>
          saga("order", Effect.gen(function*() {
            yield* step("reserve", Effect.sync(() => log.push("reserve")), { compensate: () => Effect.sync(() => log.push("release")) })
            yield* step("charge", Effect.sleep(100).pipe(Effect.andThen(Effect.sync(() => log.push("charge")))), {
              compensate: () => Effect.sleep(50).pipe(Effect.andThen(Effect.sync(() => log.push("refund"))))
            })
            yield* step("ship", Effect.never, { compensate: () => Effect.sync(() => log.push("unship")) })
            return 1
          }))
      })
      const sink = FlowEvents.collect()
      const fiber = yield* Flow.run(flow, {}).pipe(
        Effect.provide(FlowEngine.layerMemory),
        Effect.provideService(FlowEvents.FlowEvents, sink),
        Effect.forkChild
      )
      const shipping = () => sink.events.some((e) => e._tag === "StepStarted" && e.path === "order/ship")
      // Starting a run hashes its execution id (a promise): let the event loop turn while time moves.
      for (let i = 0; i < 1000 && !shipping(); i++) {
        yield* TestClock.adjust("10 millis")
        yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      }
      assert.isTrue(shipping(), "the run reached its last step")
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber))
      for (let i = 0; i < 100 && interrupting.pollUnsafe() === undefined; i++) yield* TestClock.adjust("10 millis")
      yield* Fiber.join(interrupting)
      assert.deepStrictEqual(log, ["reserve", "charge", "refund", "release"])
      assert.deepStrictEqual(paths(sink.events, "Compensated"), ["order/charge", "order/reserve"])
      const ship = sink.events.find((e) => e._tag === "StepFailed" && e.path === "order/ship")
      assert.isTrue(ship?._tag === "StepFailed" && ship.interrupted, "the in-flight step is reported as interrupted")
      const finished = sink.events.find((e) => e._tag === "FlowFinished")
      assert.strictEqual(finished?._tag === "FlowFinished" ? finished.outcome : undefined, "interrupted")
    }))

  it.effect("a saga in a branch interrupted by a fail-fast sibling still compensates its completed steps", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const flow = Flow.make({
        name: "sibling",
        input: Empty,
        output: Schema.String,
        run: () =>
          parallel("p", {
            order: saga("order", Effect.gen(function*() {
              yield* step("reserve", Effect.sync(() => log.push("reserve")), { compensate: () => Effect.sync(() => log.push("release")) })
              yield* step("ship", Effect.sleep(1000), { compensate: () => Effect.sync(() => log.push("unship")) })
            })),
            check: step("check", Effect.sleep(500).pipe(Effect.andThen(Effect.fail("check failed"))))
          }).pipe(Effect.as("ok"), Effect.catch((e) => Effect.succeed(`caught ${e}`)))
      })
      const { events, exit } = yield* runFlow(Flow.run(flow, {}))
      assert.deepStrictEqual(exit, Exit.succeed("caught check failed"))
      assert.deepStrictEqual(log, ["reserve", "release"])
      assert.deepStrictEqual(paths(events, "Compensated"), ["p/order/order/reserve"])
      assert.deepStrictEqual(paths(events, "CompensationFailed"), [])
    }))

  it.effect("nested sagas: an inner failure undoes only the inner block; a later outer failure undoes the rest, each once", () =>
    Effect.gen(function*() {
      const undo: Array<string> = []
      const s = (name: string, fail = false) =>
        step(name, fail ? Effect.fail(`${name} failed`) : Effect.succeed(name), {
          compensate: () => Effect.sync(() => undo.push(name))
        })
      const make = (outerFails: boolean) =>
        Flow.make({
          name: `nested-${outerFails}`,
          input: Empty,
          output: Schema.String,
          run: () =>
            saga("outer", Effect.gen(function*() {
              yield* s("a")
              const inner = yield* Effect.exit(saga("inner", Effect.gen(function*() {
                yield* s("b")
                yield* s("c")
                return yield* s("d", true)
              })))
              assert.isTrue(Exit.isFailure(inner))
              yield* saga("kept", Effect.gen(function*() {
                yield* s("e")
                yield* s("f")
              }))
              if (outerFails) yield* s("g", true)
              return "done"
            }))
        })
      const ok = yield* runFlow(Flow.run(make(false), {}))
      assert.deepStrictEqual(ok.exit, Exit.succeed("done"))
      assert.deepStrictEqual(undo, ["c", "b"], "only the failed inner block was undone")
      undo.length = 0
      const bad = yield* runFlow(Flow.run(make(true), {}))
      assert.strictEqual(failureOf(bad.exit), "g failed")
      assert.deepStrictEqual(undo, ["c", "b", "f", "e", "a"], "inner undone first, then the rest in reverse, each once")
    }))
})

describe("step policies", () => {
  it.effect("a retry policy on a step re-runs its body inside the journal entry", () =>
    Effect.gen(function*() {
      let attempts = 0
      const flow = Flow.make({
        name: "retry-inside",
        input: Empty,
        output: Schema.Number,
        run: () =>
          step(
            "flaky",
            Effect.suspend(() => (++attempts < 3 ? Effect.fail(new Flaky({ attempt: attempts })) : Effect.succeed(attempts))),
            { policy: { retry: { maxAttempts: 3, backoff: { kind: "constant", initial: "100 millis" }, jitter: "none" } }, idempotent: true }
          )
      })
      const { events, exit } = yield* runFlow(Flow.run(flow, {}))
      assert.deepStrictEqual(exit, Exit.succeed(3))
      assert.strictEqual(attempts, 3)
      const retried = events.filter((e) => e._tag === "StepRetried")
      assert.deepStrictEqual(retried.map((e) => (e._tag === "StepRetried" ? [e.path, e.attempt, e.delayMs] : [])), [
        ["flaky", 2, 100],
        ["flaky", 3, 100]
      ])
      assert.deepStrictEqual(paths(events, "StepSucceeded"), ["flaky"])
    }))

  it.effect("a retry around a journaled step does not re-run its body (why the DSL puts retries inside)", () =>
    Effect.gen(function*() {
      let attempts = 0
      const flow = Flow.make({
        name: "retry-outside",
        input: Empty,
        output: Schema.Number,
        run: () =>
          step("flaky", Effect.suspend(() => (++attempts < 3 ? Effect.fail(new Flaky({ attempt: attempts })) : Effect.succeed(attempts))))
            .pipe(Effect.retry({ times: 3 }))
      })
      const { exit } = yield* runFlow(Flow.run(flow, {}))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(attempts, 1, "the body ran once: the retry never reached it again")
    }))
})

describe("plans", () => {
  const Shop = Tool.server("shop", {
    reserve: Tool.define({
      description: "Reserve stock",
      input: Schema.Struct({ sku: Schema.String }),
      output: Schema.Struct({ id: Schema.String })
    }),
    release: Tool.define({
      description: "Release stock",
      input: Schema.Struct({ id: Schema.String }),
      output: Schema.Struct({ ok: Schema.Boolean })
    }),
    charge: Tool.define({
      description: "Charge",
      input: Schema.Struct({ amount: Schema.Number }),
      output: Schema.Struct({ receipt: Schema.String }),
      annotations: { idempotent: false }
    }),
    notify: Tool.define({ description: "Notify", input: Schema.Struct({ text: Schema.String }), output: Schema.String })
  })

  it.effect("a small flow's plan: nodes, tools, compensations, policies, and Mermaid edges; no server is called", () =>
    Effect.gen(function*() {
      const flow = Flow.make({
        name: "order",
        input: Schema.Struct({ sku: Schema.String, amount: Schema.Number }),
        output: Schema.Unknown,
        uses: [Shop],
        run: ({ amount, sku }) =>
          dag("d")
            .node("reserve", () =>
              step("reserve", Shop.reserve({ sku }), { compensate: (r) => Shop.release({ id: r.id }) }))
            .node("charge", { needs: ["reserve"] }, () =>
              step("charge", Shop.charge({ amount }), { policy: { timeout: "5 seconds", retry: { maxAttempts: 2 } } }))
            .node("notify", { needs: ["charge"], when: () => true, whenLabel: "paid" }, () =>
              step("notify", Shop.notify({ text: "paid" })))
            .run()
      })
      const plan = yield* Flow.plan(flow, { sku: "A-1", amount: 10 })
      const byPath = new Map(plan.nodes.map((n) => [n.path, n]))
      assert.includeMembers([...byPath.keys()], [
        "d",
        "d/reserve",
        "d/reserve/reserve",
        "d/reserve/reserve/compensate",
        "d/charge",
        "d/charge/charge",
        "d/notify",
        "d/notify/notify"
      ])
      assert.isTrue(byPath.get("d/reserve/reserve")!.compensated)
      assert.isFalse(byPath.get("d/charge/charge")!.compensated)
      assert.deepStrictEqual(byPath.get("d/reserve/reserve")!.tools, ["shop.reserve"])
      assert.deepStrictEqual(byPath.get("d/reserve/reserve/compensate")!.tools, ["shop.release"])
      assert.deepStrictEqual(byPath.get("d/charge/charge")!.tools, ["shop.charge"])
      assert.deepStrictEqual(byPath.get("d/charge")!.needs, ["reserve"])
      assert.strictEqual(byPath.get("d/notify")!.condition, "paid")
      const policies = byPath.get("d/charge/charge")!.policies.join(" ")
      assert.include(policies, "retry")
      assert.include(policies, "timeout")
      assert.deepStrictEqual(byPath.get("d/notify/notify")!.policies, [])
      assert.sameMembers(plan.tools.map((t) => t.name), ["shop.reserve", "shop.release", "shop.charge", "shop.notify"])
      assert.isTrue(plan.tools.every((t) => t.declared && t.reached))

      const mermaid = Plan.toMermaid(plan)
      assert.match(mermaid, /^flowchart TD/)
      assert.include(mermaid, "n_d_reserve --> n_d_charge")
      assert.include(mermaid, `n_d_charge -.->|"paid"| n_d_notify`)
      assert.include(mermaid, "-.->|on failure|")
      const text = Plan.toText(plan)
      assert.include(text, "shop.charge")
      assert.include(text, "compensated on failure")
    }))

  it.effect("the text plan names a long chain of policies once, under policies:, and writes a short one where it applies", () =>
    Effect.gen(function*() {
      const long = { breaker: { name: "shop", trip: { kind: "consecutive", failures: 3 }, openDuration: "1 minute" }, retry: { maxAttempts: 3 }, timeout: "5 seconds" } as const
      const flow = Flow.make({
        name: "shop",
        input: Schema.Struct({}),
        output: Schema.Unknown,
        uses: [Shop],
        run: () =>
          Effect.all([
            step("first", Shop.charge({ amount: 1 }), { policy: long }),
            step("second", Shop.charge({ amount: 2 }), { policy: long }),
            step("quick", Shop.notify({ text: "x" }), { policy: { timeout: "1 second" } })
          ])
      })
      const plan = yield* Flow.plan(flow, {})
      const text = Plan.toText(plan)
      const chain = plan.nodes.find((n) => n.path === "first")!.policies
      assert.isAbove(chain.join(" → ").length, 72)
      // The same long chain: one name, on both steps; its policies listed once, outermost first.
      assert.include(text, "• first [step] · calls shop.charge · policies [A]")
      assert.include(text, "• second [step] · calls shop.charge · policies [A]")
      assert.include(text, `\npolicies (outermost first):\n  [A] ${chain[0]}\n      → ${chain[1]}\n`)
      assert.strictEqual(text.split(chain[0]!).length, 2, "written once")
      // A short chain stays where it applies.
      assert.include(text, "• quick [step] · calls shop.notify · policies timeout(")
      assert.notInclude(text, "[B]")
    }))

  it.effect("a when block: skipped with its reason when false, run when true", () =>
    Effect.gen(function*() {
      const flow = Flow.make({
        name: "cond",
        input: Schema.Struct({ go: Schema.Boolean }),
        output: Schema.Unknown,
        run: ({ go }) =>
          when("prod", go, step("apply", Effect.succeed("applied")), { description: "staging healthy" }).pipe(
            Effect.map(Option.getOrElse(() => "skipped"))
          )
      })
      const yes = yield* runFlow(Flow.run(flow, { go: true }))
      assert.deepStrictEqual(yes.exit, Exit.succeed("applied"))
      const no = yield* runFlow(Flow.run(flow, { go: false }))
      assert.deepStrictEqual(no.exit, Exit.succeed("skipped"))
      const skipped = no.events.find((e) => e._tag === "StepSkipped")
      assert.deepStrictEqual(skipped?._tag === "StepSkipped" ? [skipped.path, skipped.why] : [], ["prod", "not (staging healthy)"])
    }))
})
