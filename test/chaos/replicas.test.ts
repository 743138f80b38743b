import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Fault } from "../../chaos/index.ts"
import { queries, run, Search, served } from "../support/replicaGroup.ts"

/**
 * A replica group under connection faults on some replicas: `a` down the whole run, `b`
 * flapping (down 1 s, up 2 s), `c` healthy. Every call is served, none is lost or run twice,
 * and a call only ever skips replicas ahead of the one that served it, in priority order.
 */
describe("chaos: a replica group under ServerDown and Flapping", () => {
  const faults = [Fault.serverDown("search-a", 0, 3_600_000), Fault.flapping("search-b", 2_000, 1_000)]
  const calls = 24
  const order = ["a", "b", "c"]

  it.effect("priority: every call served by a healthy replica, nothing lost, failover order holds", () =>
    Effect.gen(function*() {
      const r = yield* run(faults, "priority", queries(calls, 250), { extra: { breaker: { failures: 1_000 } } })
      assert.isTrue(Exit.isSuccess(r.exit), String(r.exit))
      const by = served(r.events)
      assert.strictEqual(by.length, calls, "one ReplicaServed per call")
      assert.notInclude(by, "a", "the down replica serves nothing")
      assert.include(by, "b", "the flapping replica serves while it is up")
      assert.include(by, "c", "the last replica takes over while the others are down")
      for (const e of r.events) {
        if (e._tag !== "ReplicaServed") continue
        // Skipped replicas are exactly those before the one that served, in priority order.
        assert.deepStrictEqual(e.skipped.map((s) => s.replica), order.slice(0, order.indexOf(e.replica)))
      }
      const executed = r.injector.stats().reduce((n, s) => n + s.executed, 0)
      assert.strictEqual(executed, calls, "each call ran exactly once")
    }))

  it.effect("round-robin: calls spread over the replicas that are up; a non-idempotent call moves on when it was never sent", () =>
    Effect.gen(function*() {
      const program = Effect.all([
        queries(calls, 250),
        Effect.forEach([1, 2, 3], (i) => Effect.map(Search.index({ doc: `d${i}` }), (r) => r.by))
      ])
      const r = yield* run([Fault.serverDown("search-a", 0, 3_600_000)], "round-robin", program)
      assert.isTrue(Exit.isSuccess(r.exit), String(r.exit))
      const by = served(r.events)
      assert.strictEqual(by.length, calls + 3)
      assert.notInclude(by, "a")
      const executed = r.injector.stats().reduce((n, s) => n + s.executed, 0)
      assert.strictEqual(executed, calls + 3, "nothing lost, nothing twice")
    }))
})
