/**
 * Health feeds the breakers (HealthGate): a server whose probes fail holds the policy breakers
 * that guard calls to it open; passing probes let them go half-open, and never close a circuit
 * or shorten an opening that real call failures caused. On virtual time.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { FakeServer, Fault, Injector } from "../chaos/index.ts"
import { CircuitBreaker, Tool } from "../dsl/index.ts"
import { Flow, step } from "../dsl/flow/index.ts"
import { type FlowEvent, FlowEvents } from "../dsl/flow/FlowEvents.ts"
import { noteText } from "../src/app/run/Text.ts"
import * as Engines from "../src/runtime/engine/Engines.ts"
import { type GatewayEvent, GatewayEvents, type McpGateway } from "../dsl/ports/McpGateway.ts"
import { type PolicyEvent, PolicyEvents } from "../dsl/policy/PolicyEvents.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
import { drive } from "./support/drive.ts"

const Store = Tool.server("store", {
  get: Tool.define({
    description: "Read a key",
    input: Schema.Struct({ key: Schema.String }),
    output: Schema.Struct({ value: Schema.String }),
    annotations: { readOnly: true, idempotent: true }
  }),
  status: Tool.define({
    description: "Health probe",
    input: Schema.Struct({}),
    output: Schema.Struct({ ok: Schema.Boolean }),
    annotations: { readOnly: true, idempotent: true }
  })
})

type Seen = { readonly event: PolicyEvent | GatewayEvent }

/** `store` (fake) probed every second through its `status` tool, its calls under a config breaker. */
const run = <A, E>(faults: ReadonlyArray<Fault.Fault>, program: Effect.Effect<A, E, McpGateway>, openDuration = "30 seconds") =>
  Effect.gen(function*() {
    const injector = Injector.make(Fault.plan(1, faults))
    const store = yield* FakeServer.make("store", [
      FakeServer.handle(Store.get, ({ key }) => Effect.succeed({ value: `v:${key}` })),
      FakeServer.handle(Store.status, () => Effect.succeed({ ok: true }))
    ], { injector })
    const layer = GatewayLayer.layer({
      servers: { store: { ...store, health: { probe: { tool: "status" }, intervalMs: 1_000, timeoutMs: 500, unhealthyAfter: 2 } } },
      policies: { store: { breaker: { trip: { kind: "consecutive", failures: 2 }, openDuration } } }
    })
    const seen: Array<Seen> = []
    const fiber = yield* Effect.forkChild(Effect.exit(program.pipe(
      Effect.provide(layer),
      Effect.provideService(PolicyEvents, { emit: (event) => seen.push({ event }) }),
      Effect.provideService(GatewayEvents, { emit: (event) => seen.push({ event }) })
    )))
    const exit = yield* drive(fiber)
    return { exit, seen, injector }
  })

/** One call at `atMs` (absolute virtual time): its outcome as text. */
const getAt = (atMs: number, key: string) =>
  Effect.gen(function*() {
    const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    if (atMs > now) yield* Effect.sleep(atMs - now)
    return yield* Store.get({ key }).pipe(
      Effect.map((r) => r.value),
      Effect.catch((e) => Effect.succeed(`${e.reason._tag}: ${e.message}`))
    )
  })

const story = (seen: ReadonlyArray<Seen>) =>
  seen.flatMap(({ event: e }) => {
    switch (e._tag) {
      case "HealthChanged":
        return [`health ${e.from}→${e.to}`]
      case "BreakerTransition":
        return [`breaker ${e.from}→${e.to}${e.cause === undefined ? "" : ` (${e.cause})`}`]
      case "BreakerHeld":
        return [`${e.held ? "held" : "released"} → ${e.state}`]
      default:
        return []
    }
  })

describe("health feeds the breakers", () => {
  it.effect("failing probes hold the server's breaker open (calls rejected, never sent); passing probes let it go half-open and a trial closes it", () =>
    Effect.gen(function*() {
      // The probe tool fails from 1.5 s to 10 s: the server itself would still answer `get`.
      const faults = [Fault.toolError("store.status", "probe failed", { window: { fromMs: 1_500, toMs: 10_000 } })]
      const program = Effect.all([getAt(500, "a"), getAt(5_000, "b"), getAt(15_000, "c"), getAt(15_100, "d")])
      const r = yield* run(faults, program)
      assert.isTrue(Exit.isSuccess(r.exit), String(r.exit))
      const [before, during, after, next] = Exit.isSuccess(r.exit) ? r.exit.value : []
      assert.strictEqual(before, "v:a")
      assert.match(during ?? "", /^Rejected: .*held open \(health: store unhealthy\)/)
      assert.strictEqual(after, "v:c", "the half-open trial runs")
      assert.strictEqual(next, "v:d")
      const gets = r.injector.stats().find((s) => s.tool === "get")
      assert.strictEqual(gets?.executed, 3, "the held call never reached the server")
      assert.deepStrictEqual(story(r.seen), [
        "health unknown→healthy",
        "health healthy→unhealthy",
        "breaker closed→open (health: store unhealthy)",
        "held → open",
        "health unhealthy→healthy",
        "released → half-open",
        "breaker open→half-open (released (health: store unhealthy))",
        "breaker half-open→closed"
      ])
      const rejected = r.seen.find((s) => s.event._tag === "BreakerRejected")?.event
      assert.deepStrictEqual(rejected, { _tag: "BreakerRejected", policy: "breaker:store", key: "store", heldBy: "health: store unhealthy" })
    }))

  it.effect("a breaker tripped by real failures stays open for its own open duration after the probes recover", () =>
    Effect.gen(function*() {
      // Down from 0 to 5 s: two calls fail and trip the breaker (60 s open); the probes fail too.
      const faults = [Fault.serverDown("store", 0, 5_000)]
      const program = Effect.all([getAt(100, "a"), getAt(200, "b"), getAt(20_000, "c"), getAt(61_000, "d")])
      const r = yield* run(faults, program, "60 seconds")
      assert.isTrue(Exit.isSuccess(r.exit), String(r.exit))
      const [, , recovered, late] = Exit.isSuccess(r.exit) ? r.exit.value : []
      // Healthy again at ~5 s, but the opening from the failures lasts until ~60.2 s.
      assert.match(recovered ?? "", /^Rejected: .*circuit 'store' is open; retry after \d+ ms$/)
      assert.strictEqual(late, "v:d", "after its own open duration, a trial runs and closes it")
      assert.deepStrictEqual(story(r.seen), [
        "breaker closed→open",
        "health unknown→unhealthy",
        "held → open",
        "health unhealthy→healthy",
        "released → open",
        "breaker open→half-open",
        "breaker half-open→closed"
      ])
    }))

  it.effect("in a run: the call the hold rejected is in the step's events (journal and report), with why", () =>
    Effect.gen(function*() {
      const faults = [Fault.toolError("store.status", "probe failed", { window: { fromMs: 1_500, toMs: 60_000 } })]
      const flow = Flow.make({
        name: "reader",
        input: Schema.Struct({}),
        output: Schema.Unknown,
        uses: [Store.get],
        run: () =>
          Effect.gen(function*() {
            const first = yield* step("first", Store.get({ key: "a" }))
            yield* Flow.sleep("wait", "5 seconds")
            const second = yield* Effect.exit(step("second", Store.get({ key: "b" })))
            return { first: first.value, second: Exit.isSuccess(second) }
          })
      })
      const seen: Array<FlowEvent> = []
      const r = yield* run(faults, Flow.run(flow, {}).pipe(Effect.provide(Engines.memory), Effect.provideService(FlowEvents, { emit: (e) => seen.push(e) })))
      assert.deepStrictEqual(r.exit, Exit.succeed({ first: "v:a", second: false }))
      const notes = seen.flatMap((e) => (e._tag === "Policy" ? [`${e.path}: ${noteText(e)}`] : []))
      assert.deepStrictEqual(notes, ["second: breaker store held open (health: store unhealthy): call rejected"])
    }))

  it.effect("a circuit isolated by hand is left alone by health", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ name: "b", trip: CircuitBreaker.consecutive(2), openDuration: 1_000 })
      yield* breaker.isolate("k")
      yield* breaker.hold("health: x unhealthy", "k")
      yield* breaker.release("k")
      assert.strictEqual(yield* breaker.state("k"), "forced-open")
      yield* breaker.hold("health: x unhealthy", "j")
      assert.strictEqual(yield* breaker.state("j"), "open")
      const rejected = yield* Effect.flip(breaker.execute(Effect.succeed(1), { key: "j" }))
      assert.strictEqual(rejected.heldBy, "health: x unhealthy")
      assert.strictEqual((yield* breaker.metrics("j")).retryAfterMs, undefined, "no end time while held")
      yield* breaker.reset("j")
      assert.strictEqual(yield* breaker.state("j"), "closed", "a reset by hand lets go of the hold")
      assert.strictEqual(yield* breaker.execute(Effect.succeed(1), { key: "j" }), 1)
    }))
})
