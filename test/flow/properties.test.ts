/**
 * Property tests of the flow interpreter, on the TestClock: random DAGs, random sagas, and
 * parallel blocks whose branches call a fake MCP server through a real gateway.
 *
 * Replay a failure with the printed seed: `FC_SEED=<seed> npx vitest run test/flow/properties.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, type Duration, Effect, Exit, Fiber, Layer, Result, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { FakeServer, ToolRefusal } from "../../chaos/index.ts"
import { Tool } from "../../dsl/index.ts"
import { McpflowToolError } from "../../dsl/ToolError.ts"
import {
  dag,
  Flow,
  FlowEngine,
  FlowError,
  type FlowEvent,
  FlowEvents,
  parallel,
  saga,
  step
} from "../../dsl/flow/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"

const seed = Number(process.env.FC_SEED ?? Date.now())
console.log(`flow properties: seed ${seed}; replay with FC_SEED=${seed}`)

/** Runs a property body on a fresh TestClock (with its tracking scheduler). */
const onTestClock = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provide(Layer.fresh(TestClock.layer()))))

/** Forks `effect` and advances virtual time until it is done. */
const driveToEnd = <A, E, R>(effect: Effect.Effect<A, E, R>, ready: () => boolean = () => true, tick: Duration.Input = "100 millis") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.exit(effect))
    // Starting a run takes a few scheduler hops that the TestClock does not track: let the run
    // reach its first sleeps before time moves, so durations are exact.
    // (Starting includes promise-based work, e.g. hashing the execution id: wait on the event loop.)
    yield* eventually(() => ready() || fiber.pollUnsafe() !== undefined)
    for (let i = 0; i < 100_000 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust(tick)
    return yield* Fiber.join(fiber)
  })

/** Lets promise-based work (the in-memory MCP transport) run: a few turns of the event loop. */
const flushEventLoop = (turns = 4) =>
  Effect.promise(async () => {
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  })

/** Waits on real time (event-loop turns) until `predicate` holds; false if it never does. */
const eventually = (predicate: () => boolean, budgetMs = 3000) =>
  Effect.promise(async () => {
    const deadline = performance.now() + budgetMs
    while (!predicate() && performance.now() < deadline) await new Promise<void>((resolve) => setImmediate(resolve))
    return predicate()
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const fail = exit.cause.reasons.find((r) => r._tag === "Fail")
  return fail?._tag === "Fail" ? (fail.error as E) : undefined
}

const pathsOf = (events: ReadonlyArray<FlowEvent>, tag: FlowEvent["_tag"]) =>
  events.filter((e) => e._tag === tag).map((e) => ("path" in e ? e.path : ""))

// --- random DAGs -----------------------------------------------------------------------------

interface DagCase {
  readonly latencies: ReadonlyArray<number>
  readonly needs: ReadonlyArray<ReadonlyArray<number>>
  readonly limit: number | undefined
}

const dagCase = (limited: boolean): fc.Arbitrary<DagCase> =>
  fc.integer({ min: 1, max: 12 }).chain((n) =>
    fc.record({
      latencies: fc.array(fc.integer({ min: 0, max: 400 }), { minLength: n, maxLength: n }),
      needs: fc.tuple(
        ...Array.from({ length: n }, (_, i) =>
          i === 0 ? fc.constant<Array<number>>([]) : fc.uniqueArray(fc.nat(i - 1), { maxLength: Math.min(i, 4) }))
      ),
      limit: limited ? fc.integer({ min: 1, max: 4 }) : fc.constant(undefined)
    })
  )

interface DagObservation {
  readonly starts: Array<Array<number>>
  readonly ends: Array<Array<number>>
  readonly maxRunning: number
  readonly durationMs: number | undefined
  readonly succeeded: ReadonlyArray<string>
  readonly exit: Exit.Exit<unknown, unknown>
}

const runDag = (c: DagCase) =>
  Effect.gen(function*() {
    const n = c.latencies.length
    const starts: Array<Array<number>> = Array.from({ length: n }, () => [])
    const ends: Array<Array<number>> = Array.from({ length: n }, () => [])
    let running = 0
    let maxRunning = 0
    const work = (i: number) =>
      Effect.gen(function*() {
        starts[i]!.push(yield* Clock.currentTimeMillis)
        running++
        maxRunning = Math.max(maxRunning, running)
        yield* Effect.sleep(c.latencies[i]!)
        ends[i]!.push(yield* Clock.currentTimeMillis)
      }).pipe(Effect.ensuring(Effect.sync(() => void running--)))
    const flow = Flow.make({
      name: "random-dag",
      input: Schema.Struct({}),
      output: Schema.Unknown,
      run: () => {
        // Names are computed at run time: build through the untyped face of the builder.
        let d: any = dag("g")
        for (let i = 0; i < n; i++) {
          d = d.node(`n${i}`, { needs: c.needs[i]!.map((j) => `n${j}`) }, () => step("work", work(i)))
        }
        return (d as ReturnType<typeof dag>).run({ concurrency: c.limit })
      }
    })
    const sink = FlowEvents.collect()
    const roots = c.needs.flatMap((needs, i) => (needs.length === 0 ? [i] : []))
    const exit = yield* driveToEnd(
      Flow.run(flow, {}).pipe(Effect.provide(FlowEngine.layerMemory), Effect.provideService(FlowEvents.FlowEvents, sink)),
      // Virtual time starts moving once the run has reached its first sleeps (the nodes that need nothing).
      () => roots.filter((i) => starts[i]!.length > 0).length >= Math.min(roots.length, c.limit ?? Infinity)
    )
    const finished = sink.events.find((e) => e._tag === "FlowFinished")
    return {
      starts,
      ends,
      maxRunning,
      durationMs: finished?._tag === "FlowFinished" ? finished.durationMs : undefined,
      succeeded: pathsOf(sink.events, "StepSucceeded"),
      exit
    } satisfies DagObservation
  })

/** Earliest finish of every node with unbounded parallelism. */
const earliestFinish = (c: DagCase): Array<number> => {
  const ef: Array<number> = []
  c.latencies.forEach((lat, i) => {
    ef.push(lat + Math.max(0, ...c.needs[i]!.map((j) => ef[j]!)))
  })
  return ef
}

const checkOrderAndOnce = (c: DagCase, o: DagObservation) => {
  assert.isTrue(Exit.isSuccess(o.exit), `the run failed: ${String(o.exit)}`)
  c.latencies.forEach((_, i) => {
    assert.strictEqual(o.starts[i]!.length, 1, `node n${i} started ${o.starts[i]!.length} times`)
    assert.strictEqual(o.ends[i]!.length, 1, `node n${i} finished ${o.ends[i]!.length} times`)
    for (const j of c.needs[i]!) {
      assert.isAtLeast(o.starts[i]![0]!, o.ends[j]![0]!, `n${i} started before n${j}, which it needs, ended`)
    }
    assert.strictEqual(o.succeeded.filter((p) => p === `g/n${i}/work`).length, 1, `step g/n${i}/work reported once`)
    assert.strictEqual(o.succeeded.filter((p) => p === `g/n${i}`).length, 1, `node g/n${i} reported once`)
  })
}

// --- random sagas ----------------------------------------------------------------------------

class Boom extends Schema.TaggedError<Boom>()("Boom", { step: Schema.Number }) {
  override get message() {
    return `boom at s${this.step}`
  }
}
class UndoFailed extends Schema.TaggedError<UndoFailed>()("UndoFailed", { step: Schema.Number }) {
  override get message() {
    return `undo of s${this.step} failed`
  }
}

interface SagaCase {
  readonly length: number
  readonly compensated: ReadonlyArray<boolean>
  readonly failingUndo: ReadonlyArray<boolean>
  readonly latencies: ReadonlyArray<number>
  /** Index of the failing step; `length` means a trailing step fails after all of them; undefined: no failure. */
  readonly failAt: number | undefined
  readonly inSaga: boolean
}

const sagaCase: fc.Arbitrary<SagaCase> = fc.integer({ min: 1, max: 8 }).chain((length) =>
  fc.record({
    length: fc.constant(length),
    compensated: fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), { minLength: length, maxLength: length }),
    failingUndo: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }), {
      minLength: length,
      maxLength: length
    }),
    latencies: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: length, maxLength: length }),
    failAt: fc.option(fc.integer({ min: 0, max: length }), { nil: undefined, freq: 6 }),
    inSaga: fc.boolean()
  })
)

// --- a fake MCP server that records cancellations ---------------------------------------------

const Work = Tool.server("work", {
  run: Tool.define({
    description: "Works for `ms` virtual milliseconds, then answers (or refuses when `fail`)",
    input: Schema.Struct({ id: Schema.String, ms: Schema.Number, fail: Schema.Boolean }),
    output: Schema.Struct({ id: Schema.String })
  })
})

interface ServerLog {
  readonly started: Set<string>
  readonly completed: Set<string>
  /** Calls whose handler was interrupted: the request's AbortSignal fired on the server. */
  readonly cancelled: Set<string>
}

const workGateway = (log: ServerLog) =>
  Layer.unwrap(
    Effect.map(
      FakeServer.make("work", [
        FakeServer.handle(Work.run, ({ fail, id, ms }) =>
          Effect.gen(function*() {
            log.started.add(id)
            yield* Effect.sleep(ms)
            if (fail) return yield* new ToolRefusal({ text: `${id} refused` })
            log.completed.add(id)
            return { id }
          }).pipe(Effect.onInterrupt(() => Effect.sync(() => void log.cancelled.add(id)))))
      ]),
      (work) => GatewayLayer.layer({ servers: { work } })
    )
  )

interface ParallelCase {
  /** Branch latencies, multiples of 100 ms (distinct from the failure time). */
  readonly latencies: ReadonlyArray<number>
  readonly failing: ReadonlyArray<boolean>
}

const parallelCase: fc.Arbitrary<ParallelCase> = fc.integer({ min: 2, max: 6 }).chain((n) =>
  fc.record({
    latencies: fc.array(fc.integer({ min: 1, max: 10 }).map((k) => k * 100), { minLength: n, maxLength: n }),
    failing: fc.array(fc.boolean(), { minLength: n, maxLength: n })
  })
)

/**
 * Runs a flow with one parallel block whose branches call the fake server, driving virtual time
 * in 10 ms ticks with event-loop turns in between (MCP messages travel on promises).
 */
const runParallel = (branches: ReadonlyArray<{ readonly ms: number; readonly fail: boolean }>, mode: "fail-fast" | "settle") =>
  Effect.gen(function*() {
    const log: ServerLog = { started: new Set(), completed: new Set(), cancelled: new Set() }
    const block: { value?: unknown } = {}
    const flow = Flow.make({
      name: `parallel-${mode}`,
      input: Schema.Struct({}),
      output: Schema.Null,
      run: () =>
        parallel(
          "p",
          Object.fromEntries(branches.map((b, i) => [`b${i}`, step("call", Work.run({ id: `b${i}`, ms: b.ms, fail: b.fail }))])),
          { mode }
        ).pipe(Effect.map((value) => {
          block.value = value
          return null
        }))
    })
    const sink = FlowEvents.collect()
    return yield* Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(
        Effect.exit(
          Flow.run(flow, {}).pipe(Effect.provide(FlowEngine.layerMemory), Effect.provideService(FlowEvents.FlowEvents, sink))
        )
      )
      const allStarted = yield* eventually(() => log.started.size === branches.length)
      assert.isTrue(allStarted, `only ${log.started.size} of ${branches.length} calls reached the server`)
      for (let i = 0; i < 500 && fiber.pollUnsafe() === undefined; i++) {
        yield* TestClock.adjust("10 millis")
        yield* flushEventLoop()
      }
      const done = yield* eventually(() => fiber.pollUnsafe() !== undefined)
      assert.isTrue(done, "the run did not end")
      const exit = yield* Fiber.join(fiber)
      return { exit, log, events: sink.events, block: block.value }
    }).pipe(Effect.provide(workGateway(log)))
  })

// ---------------------------------------------------------------------------------------------

describe("flow properties (TestClock)", () => {
  it("random DAGs, unbounded: each node once, after all it needs, as early as possible; makespan = critical path", async () => {
    await fc.assert(
      fc.asyncProperty(dagCase(false), (c) =>
        onTestClock(Effect.gen(function*() {
          const o = yield* runDag(c)
          checkOrderAndOnce(c, o)
          const ef = earliestFinish(c)
          c.latencies.forEach((_, i) => {
            const ready = Math.max(0, ...c.needs[i]!.map((j) => ef[j]!))
            assert.strictEqual(o.starts[i]![0], ready, `n${i} started at ${o.starts[i]![0]}, ready at ${ready}`)
          })
          assert.strictEqual(o.durationMs, Math.max(...ef), "virtual makespan vs critical path")
        }))),
      { seed, numRuns: 60 }
    )
  })

  it("random DAGs under a concurrency limit: never more than the limit at once, order and once still hold", async () => {
    await fc.assert(
      fc.asyncProperty(dagCase(true), (c) =>
        onTestClock(Effect.gen(function*() {
          const o = yield* runDag(c)
          checkOrderAndOnce(c, o)
          assert.isAtMost(o.maxRunning, c.limit!, `${o.maxRunning} nodes ran at once, limit ${c.limit}`)
          const sum = c.latencies.reduce((a, b) => a + b, 0)
          assert.isAtLeast(o.durationMs!, Math.max(...earliestFinish(c)))
          assert.isAtMost(o.durationMs!, sum)
          // With a limit of 1 the nodes run one after the other: the makespan is the sum.
          if (c.limit === 1) assert.strictEqual(o.durationMs, sum)
        }))),
      { seed, numRuns: 60 }
    )
  })

  it("random sagas: exactly the completed steps' compensations run, in reverse order, once each; failures reported", async () => {
    await fc.assert(
      fc.asyncProperty(sagaCase, (c) =>
        onTestClock(Effect.gen(function*() {
          const undone: Array<number> = []
          const causes: Array<Cause.Cause<unknown>> = []
          const ran: Array<number> = []
          const prefix = c.inSaga ? "order/" : ""
          const body = Effect.gen(function*() {
            for (let i = 0; i < c.length; i++) {
              const work = Effect.sleep(c.latencies[i]!).pipe(
                Effect.andThen(Effect.sync(() => void ran.push(i))),
                Effect.andThen(c.failAt === i ? Effect.fail(new Boom({ step: i })) : Effect.succeed(i))
              )
              yield* step(`s${i}`, work, {
                compensate: c.compensated[i]
                  ? (value: number, cause) =>
                    Effect.sleep(10).pipe(
                      Effect.andThen(Effect.sync(() => {
                        assert.strictEqual(value, i)
                        undone.push(i)
                        causes.push(cause)
                      })),
                      Effect.andThen(c.failingUndo[i] ? Effect.fail(new UndoFailed({ step: i })) : Effect.void)
                    )
                  : undefined
              })
            }
            if (c.failAt === c.length) yield* step("finish", Effect.fail(new Boom({ step: c.length })))
            return c.length
          })
          const flow = Flow.make({
            name: "random-saga",
            input: Schema.Struct({}),
            output: Schema.Number,
            run: () => (c.inSaga ? saga("order", body) : body)
          })
          const sink = FlowEvents.collect()
          const exit = yield* driveToEnd(
            Flow.run(flow, {}).pipe(Effect.provide(FlowEngine.layerMemory), Effect.provideService(FlowEvents.FlowEvents, sink)),
            () => true,
            "10 millis"
          )

          if (c.failAt === undefined) {
            assert.isTrue(Exit.isSuccess(exit), `expected success, got ${String(exit)}`)
            assert.deepStrictEqual(undone, [])
            return
          }
          const completed = Array.from({ length: Math.min(c.failAt, c.length) }, (_, i) => i)
          assert.deepStrictEqual(ran, [...completed, ...(c.failAt < c.length ? [c.failAt] : [])], "steps that ran")
          const expected = completed.filter((i) => c.compensated[i]).reverse()
          assert.deepStrictEqual(undone, expected, "compensations that ran, in order")
          for (const cause of causes) {
            assert.instanceOf(Cause.squash(cause), Boom, "a compensation receives the original cause")
          }
          assert.deepStrictEqual(pathsOf(sink.events, "CompensationStarted"), expected.map((i) => `${prefix}s${i}`))
          const failedUndos = expected.filter((i) => c.failingUndo[i])
          assert.deepStrictEqual(pathsOf(sink.events, "CompensationFailed"), failedUndos.map((i) => `${prefix}s${i}`))
          assert.deepStrictEqual(
            pathsOf(sink.events, "Compensated"),
            expected.filter((i) => !c.failingUndo[i]).map((i) => `${prefix}s${i}`)
          )
          const error = failureOf(exit)
          if (failedUndos.length === 0) {
            assert.instanceOf(error, Boom, `expected the step's own error, got ${String(exit)}`)
            assert.strictEqual((error as Boom).step, c.failAt)
          } else {
            assert.instanceOf(error, FlowError, `expected a FlowError, got ${String(exit)}`)
            const reason = (error as FlowError).reason
            assert.strictEqual(reason._tag, "CompensationsFailed")
            if (reason._tag === "CompensationsFailed") {
              assert.include(reason.original, `boom at s${c.failAt}`, "the original cause is kept")
              assert.deepStrictEqual(
                reason.failures.map((f) => f.step),
                failedUndos.map((i) => `${prefix}s${i}`)
              )
              for (const f of reason.failures) assert.include(f.error, "undo of")
            }
          }
          const finished = sink.events.find((e) => e._tag === "FlowFinished")
          assert.strictEqual(finished?._tag === "FlowFinished" ? finished.outcome : undefined, "failure")
        }))),
      { seed, numRuns: 100 }
    )
  })

  it("fail-fast parallel: the first failure interrupts the rest and their MCP calls are cancelled on the server", async () => {
    await fc.assert(
      fc.asyncProperty(parallelCase, fc.nat(), fc.integer({ min: 0, max: 9 }), (c, pick, at) =>
        onTestClock(Effect.gen(function*() {
          // One failing branch, failing at k*100 + 50 ms (never at the same time as another branch).
          const failing = pick % c.latencies.length
          const failMs = at * 100 + 50
          const branches = c.latencies.map((ms, i) => (i === failing ? { ms: failMs, fail: true } : { ms, fail: false }))
          const { events, exit, log } = yield* runParallel(branches, "fail-fast")
          const error = failureOf(exit)
          assert.instanceOf(error, McpflowToolError, `expected the branch's tool error, got ${String(exit)}`)
          assert.strictEqual((error as McpflowToolError).reason._tag, "ToolFailed")
          const early = branches.flatMap((b, i) => (!b.fail && b.ms < failMs ? [`b${i}`] : []))
          const late = branches.flatMap((b, i) => (!b.fail && b.ms > failMs ? [`b${i}`] : []))
          const cancelledAll = yield* eventually(() => late.every((id) => log.cancelled.has(id)))
          assert.isTrue(cancelledAll, `cancelled on the server: ${[...log.cancelled]}, expected ${late}`)
          assert.deepStrictEqual([...log.completed].sort(), early.sort(), "calls that completed on the server")
          assert.deepStrictEqual([...log.cancelled].sort(), [...late].sort(), "calls cancelled on the server")
          const interrupted = events.filter((e) => e._tag === "StepFailed" && e.interrupted && e.kind === "step")
            .map((e) => ("path" in e ? e.path : ""))
          assert.deepStrictEqual(interrupted.sort(), late.map((id) => `p/${id}/call`).sort(), "steps reported interrupted")
        }))),
      { seed, numRuns: 25 }
    )
  })

  it("settle-all parallel: every branch runs to its end and the block returns each branch's Result", async () => {
    await fc.assert(
      fc.asyncProperty(parallelCase, (c) =>
        onTestClock(Effect.gen(function*() {
          const branches = c.latencies.map((ms, i) => ({ ms, fail: c.failing[i]! }))
          const { block, exit, log } = yield* runParallel(branches, "settle")
          assert.isTrue(Exit.isSuccess(exit), `a settle block does not fail: ${String(exit)}`)
          const out = block as Record<string, Result.Result<{ id: string }, McpflowToolError>>
          assert.deepStrictEqual(Object.keys(out).sort(), branches.map((_, i) => `b${i}`).sort())
          branches.forEach((b, i) => {
            const r = out[`b${i}`]!
            if (b.fail) {
              assert.isTrue(Result.isFailure(r), `b${i} should have failed`)
              if (Result.isFailure(r)) {
                assert.instanceOf(r.failure, McpflowToolError)
                assert.strictEqual(r.failure.reason._tag, "ToolFailed")
              }
            } else {
              assert.deepStrictEqual(r, Result.succeed({ id: `b${i}` }))
            }
          })
          assert.deepStrictEqual(
            [...log.completed].sort(),
            branches.flatMap((b, i) => (b.fail ? [] : [`b${i}`])).sort()
          )
          assert.strictEqual(log.cancelled.size, 0, `nothing is cancelled: ${[...log.cancelled]}`)
        }))),
      { seed, numRuns: 20 }
    )
  })
})
