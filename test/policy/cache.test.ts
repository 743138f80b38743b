import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { FakeServer } from "../../chaos/index.ts"
import * as Cache from "../../dsl/policy/Cache.ts"
import { canonicalJson } from "../../dsl/policy/internal/CanonicalJson.ts"
import { Tool } from "../../dsl/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { failureOf, recorder, settle } from "./support.ts"

/** A call that counts its runs and answers `<name>#<run>` after `ms` of Clock time. */
const counted = (name: string, ms = 0) => {
  const state = { calls: 0 }
  const effect = Effect.suspend(() => {
    const n = ++state.calls
    const value = `${name}#${n}`
    return ms > 0 ? Effect.as(Effect.sleep(ms), value) : Effect.succeed(value)
  })
  return { effect, state }
}

const readOnly = (cacheKey: string) => ({ readOnly: true, cacheKey })

describe("Cache: TTL and capacity", () => {
  it.effect("serves a success until its TTL has passed, then runs the call again", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const cache = yield* Cache.make({ ttl: "1 second", capacity: 10 })
      const call = counted("a")
      const get = cache.apply(call.effect, readOnly("k")).pipe(rec.provide)
      assert.strictEqual(yield* get, "a#1")
      yield* TestClock.adjust(999)
      assert.strictEqual(yield* get, "a#1")
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* get, "a#2")
      assert.strictEqual(call.state.calls, 2)
      assert.deepStrictEqual(rec.tags(), ["CacheMiss", "CacheHit", "CacheMiss"])
      assert.deepStrictEqual(rec.events[1], { _tag: "CacheHit", policy: "cache", key: "k" })
      assert.deepStrictEqual(cache.stats, { hits: 1, misses: 2, evictions: 0, size: 1 })
    }))

  it.effect("the TTL runs from when the result arrived, not from when the call started", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: 1000, capacity: 10 })
      const call = counted("slow", 300)
      const first = yield* Effect.forkChild(cache.apply(call.effect, readOnly("k")))
      yield* TestClock.adjust(300)
      assert.strictEqual(yield* Fiber.join(first), "slow#1")
      // arrived at 300: served until 1299
      yield* TestClock.adjust(999)
      assert.strictEqual(yield* cache.apply(call.effect, readOnly("k")), "slow#1")
      yield* TestClock.adjust(1)
      const second = yield* Effect.forkChild(cache.apply(call.effect, readOnly("k")))
      yield* TestClock.adjust(300)
      assert.strictEqual(yield* Fiber.join(second), "slow#2")
    }))

  it.effect("at capacity the least recently used entry is evicted", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: "1 hour", capacity: 2 })
      const calls = { a: counted("a"), b: counted("b"), c: counted("c") }
      const get = (k: "a" | "b" | "c") => cache.apply(calls[k].effect, readOnly(k))
      yield* get("a")
      yield* get("b")
      yield* get("a") // a is now the most recently used
      yield* get("c") // evicts b
      assert.deepStrictEqual(cache.stats, { hits: 1, misses: 3, evictions: 1, size: 2 })
      assert.strictEqual(yield* get("a"), "a#1")
      assert.strictEqual(yield* get("c"), "c#1")
      assert.strictEqual(yield* get("b"), "b#2") // evicts a (c was used after it)
      assert.strictEqual(yield* get("c"), "c#1")
      assert.strictEqual(yield* get("a"), "a#2")
      assert.deepStrictEqual(
        [calls.a.state.calls, calls.b.state.calls, calls.c.state.calls],
        [2, 2, 1]
      )
      assert.deepStrictEqual(cache.stats, { hits: 4, misses: 5, evictions: 3, size: 2 })
    }))

  it.effect("invalidate drops one entry, invalidateAll every entry", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: "1 hour", capacity: 10 })
      const a = counted("a")
      const b = counted("b")
      yield* cache.apply(a.effect, readOnly("a"))
      yield* cache.apply(b.effect, readOnly("b"))
      yield* cache.invalidate("a")
      assert.strictEqual(yield* cache.apply(a.effect, readOnly("a")), "a#2")
      assert.strictEqual(yield* cache.apply(b.effect, readOnly("b")), "b#1")
      yield* cache.invalidateAll
      assert.strictEqual(cache.stats.size, 0)
      assert.strictEqual(yield* cache.apply(b.effect, readOnly("b")), "b#2")
      // invalidation is not eviction
      assert.strictEqual(cache.stats.evictions, 0)
    }))

  it.effect("capacity is clamped to at least 1 and describes itself", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: "5 minutes", capacity: 0 })
      assert.strictEqual(cache.capacity, 1)
      assert.deepStrictEqual(cache.descriptor, { kind: "cache", settings: { ttl: "300s", capacity: 1 } })
      const forced = yield* Cache.make({ name: "docs", ttl: 250, capacity: 3, force: true })
      assert.deepStrictEqual(forced.descriptor, {
        kind: "cache",
        settings: { ttl: "250ms", capacity: 3, force: true, name: "docs" }
      })
    }))
})

describe("Cache: keys", () => {
  it("a key is the tool plus canonical JSON of the arguments: key order is irrelevant", () => {
    const a = Cache.key("fs.read_file", { path: "a", options: { encoding: "utf8", flags: ["r", "s"] } })
    const b = Cache.key("fs.read_file", { options: { flags: ["r", "s"], encoding: "utf8" }, path: "a" })
    assert.strictEqual(a, b)
    assert.strictEqual(a, `fs.read_file {"options":{"encoding":"utf8","flags":["r","s"]},"path":"a"}`)
    // array order, values and the tool all matter
    assert.notStrictEqual(a, Cache.key("fs.read_file", { path: "a", options: { encoding: "utf8", flags: ["s", "r"] } }))
    assert.notStrictEqual(a, Cache.key("fs.read_file", { path: "b", options: { encoding: "utf8", flags: ["r", "s"] } }))
    assert.notStrictEqual(a, Cache.key("fs.stat", { path: "a", options: { encoding: "utf8", flags: ["r", "s"] } }))
    // a string argument is not confused with its JSON text
    assert.notStrictEqual(Cache.key("t", { a: 1 }), Cache.key("t", "{\"a\":1}"))
  })

  it("canonical JSON follows JSON.stringify and never throws", () => {
    const circular: Record<string, unknown> = { b: 1 }
    circular.self = circular
    assert.strictEqual(canonicalJson({ z: undefined, y: 1n, x: NaN, w: [undefined, () => 1] }), `{"w":[null,null],"x":null,"y":"1"}`)
    assert.strictEqual(canonicalJson(circular), `{"b":1,"self":"[Circular]"}`)
    assert.strictEqual(canonicalJson({ d: new Date(0) }), `{"d":"1970-01-01T00:00:00.000Z"}`)
    assert.strictEqual(canonicalJson(undefined), "null")
    // a shared (non-circular) reference is encoded at every place it appears
    const shared = { k: 1 }
    assert.strictEqual(canonicalJson({ a: shared, b: shared }), `{"a":{"k":1},"b":{"k":1}}`)
  })

  it.effect("equal arguments in a different key order hit the same entry", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: "1 minute", capacity: 10 })
      const call = counted("search")
      const first = yield* cache.apply(call.effect, readOnly(Cache.key("gh.search", { q: "x", page: 1 })))
      const second = yield* cache.apply(call.effect, readOnly(Cache.key("gh.search", { page: 1, q: "x" })))
      const other = yield* cache.apply(call.effect, readOnly(Cache.key("gh.search", { page: 2, q: "x" })))
      assert.deepStrictEqual([first, second, other], ["search#1", "search#1", "search#2"])
    }))
})

describe("Cache: what is cached", () => {
  it.effect("only read-only or idempotent calls, unless forced; calls without a key pass through", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const cache = yield* Cache.make({ ttl: "1 minute", capacity: 10 })
      const twice = <A, E>(self: Effect.Effect<A, E>, ctx: Parameters<typeof cache.apply>[1]) =>
        Effect.andThen(cache.apply(self, ctx), cache.apply(self, ctx))
      const runs = (ctx: Parameters<typeof cache.apply>[1]) =>
        Effect.gen(function*() {
          const call = counted("c")
          yield* twice(call.effect, ctx)
          return call.state.calls
        })
      assert.strictEqual(yield* runs({ cacheKey: "k1" }).pipe(rec.provide), 2)
      assert.strictEqual(yield* runs({ cacheKey: "k2", idempotent: false, readOnly: false }).pipe(rec.provide), 2)
      assert.strictEqual(yield* runs({ readOnly: true }).pipe(rec.provide), 2) // no cacheKey
      assert.strictEqual(yield* runs(undefined).pipe(rec.provide), 2)
      // nothing was recorded for calls that passed through
      assert.deepStrictEqual(rec.events, [])
      assert.deepStrictEqual(cache.stats, { hits: 0, misses: 0, evictions: 0, size: 0 })
      assert.strictEqual(yield* runs({ cacheKey: "k3", readOnly: true }), 1)
      assert.strictEqual(yield* runs({ cacheKey: "k4", idempotent: true }), 1)

      const forced = yield* Cache.make({ ttl: "1 minute", capacity: 10, force: true })
      const call = counted("f")
      yield* Effect.andThen(forced.apply(call.effect, { cacheKey: "k" }), forced.apply(call.effect, { cacheKey: "k" }))
      assert.strictEqual(call.state.calls, 1)
      // even forced, a call without a key is not cached
      const keyless = counted("n")
      yield* Effect.andThen(forced.apply(keyless.effect, {}), forced.apply(keyless.effect))
      assert.strictEqual(keyless.state.calls, 2)
    }))

  it.effect("a failure is not cached: the next call runs again", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: "1 minute", capacity: 10 })
      let calls = 0
      const flaky = Effect.suspend(() => (++calls === 1 ? Effect.fail("down" as const) : Effect.succeed(`up#${calls}`)))
      const exit = yield* Effect.exit(cache.apply(flaky, readOnly("k")))
      assert.strictEqual(failureOf(exit), "down")
      assert.strictEqual(cache.stats.size, 0)
      assert.strictEqual(yield* cache.apply(flaky, readOnly("k")), "up#2")
      assert.strictEqual(yield* cache.apply(flaky, readOnly("k")), "up#2")
      assert.strictEqual(calls, 2)
      assert.deepStrictEqual(cache.stats, { hits: 1, misses: 2, evictions: 0, size: 1 })
    }))

  it.effect("a defect is not cached either", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: "1 minute", capacity: 10 })
      let calls = 0
      const boom = Effect.suspend(() => (++calls === 1 ? Effect.die("boom") : Effect.succeed("ok")))
      const exit = yield* Effect.exit(cache.apply(boom, readOnly("k")))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(yield* cache.apply(boom, readOnly("k")), "ok")
      assert.strictEqual(calls, 2)
    }))

  it.effect("a miss at full capacity makes room first, and the evictions say exactly what was dropped", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: "1 minute", capacity: 1 })
      const good = counted("good")
      yield* cache.apply(good.effect, readOnly("good"))
      // a failed call held the only slot while it ran (Effect's cache trims on insertion), so the
      // good entry is gone — and counted, whether the failure came at once or later
      yield* Effect.exit(cache.apply(Effect.fail("bad"), readOnly("bad")))
      assert.deepStrictEqual(cache.stats, { hits: 0, misses: 2, evictions: 1, size: 0 })
      assert.strictEqual(yield* cache.apply(good.effect, readOnly("good")), "good#2")
      const late = yield* Effect.forkChild(Effect.exit(cache.apply(Effect.andThen(Effect.sleep(10), Effect.fail("bad")), readOnly("bad"))))
      yield* settle
      assert.strictEqual(cache.stats.size, 1) // the in-flight call
      yield* TestClock.adjust(10)
      yield* Fiber.join(late)
      assert.deepStrictEqual(cache.stats, { hits: 0, misses: 4, evictions: 2, size: 0 })
      assert.strictEqual(yield* cache.apply(good.effect, readOnly("good")), "good#3")
      assert.strictEqual(good.state.calls, 3)
    }))

  it.effect("making room drops expired entries without counting them as evictions", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: 100, capacity: 2 })
      yield* cache.apply(Effect.succeed(1), readOnly("old"))
      yield* TestClock.adjust(50)
      yield* cache.apply(Effect.succeed(2), readOnly("young"))
      yield* TestClock.adjust(50) // "old" has expired, "young" has not
      yield* cache.apply(Effect.succeed(3), readOnly("a"))
      assert.deepStrictEqual(cache.stats, { hits: 0, misses: 3, evictions: 0, size: 2 })
      yield* cache.apply(Effect.succeed(4), readOnly("b")) // "young" is live and the oldest
      assert.deepStrictEqual(cache.stats, { hits: 0, misses: 4, evictions: 1, size: 2 })
      assert.strictEqual(yield* cache.apply(Effect.succeed(99), readOnly("a")), 3)
    }))

  it.effect("an expired entry that is replaced is not an eviction", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: 100, capacity: 1 })
      const a = counted("a")
      yield* cache.apply(a.effect, readOnly("a"))
      yield* TestClock.adjust(100)
      assert.strictEqual(yield* cache.apply(a.effect, readOnly("a")), "a#2")
      assert.deepStrictEqual(cache.stats, { hits: 0, misses: 2, evictions: 0, size: 1 })
    }))
})

describe("Cache: concurrent identical calls", () => {
  it.effect("share one request; every caller gets its result", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const cache = yield* Cache.make({ ttl: "1 minute", capacity: 10 })
      const call = counted("shared", 100)
      const fibers = yield* Effect.forEach(
        Array.from({ length: 5 }),
        () => Effect.forkChild(cache.apply(call.effect, readOnly("k")).pipe(rec.provide)),
      )
      yield* settle
      assert.strictEqual(call.state.calls, 1)
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(yield* Fiber.joinAll(fibers), Array.from({ length: 5 }, () => "shared#1"))
      assert.strictEqual(call.state.calls, 1)
      assert.deepStrictEqual(rec.tags(), ["CacheMiss", "CacheHit", "CacheHit", "CacheHit", "CacheHit"])
      assert.deepStrictEqual(cache.stats, { hits: 4, misses: 1, evictions: 0, size: 1 })
      // different keys do not share
      const other = counted("other", 100)
      const f1 = yield* Effect.forkChild(cache.apply(other.effect, readOnly("x")))
      const f2 = yield* Effect.forkChild(cache.apply(other.effect, readOnly("y")))
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(yield* Fiber.joinAll([f1, f2]), ["other#1", "other#2"])
    }))

  it.effect("share a failure too (one request), and the next call runs again", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: "1 minute", capacity: 10 })
      let calls = 0
      const failing = Effect.suspend(() => {
        calls++
        return Effect.andThen(Effect.sleep(50), Effect.fail(`down#${calls}`))
      })
      const fibers = yield* Effect.forEach([1, 2, 3], () => Effect.forkChild(Effect.exit(cache.apply(failing, readOnly("k")))))
      yield* TestClock.adjust(50)
      const exits = yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(exits.map(failureOf), ["down#1", "down#1", "down#1"])
      assert.strictEqual(calls, 1)
      const again = yield* Effect.forkChild(Effect.exit(cache.apply(failing, readOnly("k"))))
      yield* TestClock.adjust(50)
      assert.strictEqual(failureOf(yield* Fiber.join(again)), "down#2")
    }))

  it.effect("a caller that gives up does not cancel the request for the others; the last one does", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: "1 minute", capacity: 10 })
      let interrupted = 0
      let calls = 0
      const slow = Effect.suspend(() => {
        calls++
        return Effect.as(Effect.sleep(100), `v#${calls}`)
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++)))
      const a = yield* Effect.forkChild(cache.apply(slow, readOnly("k")))
      const b = yield* Effect.forkChild(cache.apply(slow, readOnly("k")))
      yield* settle
      yield* Fiber.interrupt(a)
      assert.strictEqual(interrupted, 0)
      yield* TestClock.adjust(100)
      assert.strictEqual(yield* Fiber.join(b), "v#1")
      // the only caller of a new request gives up: the request is interrupted and not cached
      yield* cache.invalidate("k")
      const c = yield* Effect.forkChild(cache.apply(slow, readOnly("k")))
      yield* settle
      yield* Fiber.interrupt(c)
      assert.strictEqual(interrupted, 1)
      const d = yield* Effect.forkChild(cache.apply(slow, readOnly("k")))
      yield* TestClock.adjust(100)
      assert.strictEqual(yield* Fiber.join(d), "v#3")
    }))

  it.effect("the shared request runs with the services of the call", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: "1 minute", capacity: 10 })
      const gate = yield* Deferred.make<string>()
      const fiber = yield* Effect.forkChild(cache.apply(Deferred.await(gate), readOnly("k")))
      yield* settle
      yield* Deferred.succeed(gate, "released")
      assert.strictEqual(yield* Fiber.join(fiber), "released")
    }))
})

// -----------------------------------------------------------------------------
// through the gateway: identical tool calls reach the server once
// -----------------------------------------------------------------------------

const Docs = Tool.server("docs", {
  lookup: Tool.define({
    description: "Look up a document",
    input: Schema.Struct({ id: Schema.String, fields: Schema.Struct({ title: Schema.Boolean, body: Schema.Boolean }) }),
    output: Schema.Struct({ id: Schema.String, served: Schema.Number }),
    annotations: { readOnly: true }
  }),
  touch: Tool.define({
    description: "Mark a document as read",
    input: Schema.Struct({ id: Schema.String }),
    output: Schema.Struct({ served: Schema.Number }),
    annotations: { readOnly: false, idempotent: false }
  })
})

describe("Cache: tool calls through the gateway", () => {
  it.effect("identical calls (any key order) reach the server once; a non-repeatable tool every time", () => {
    const served: Array<string> = []
    const server = FakeServer.make("docs", [
      FakeServer.handle(Docs.lookup, ({ id }) =>
        Effect.sync(() => {
          served.push(`lookup ${id}`)
          return { id, served: served.length }
        }).pipe(Effect.delay(20))),
      FakeServer.handle(Docs.touch, ({ id }) =>
        Effect.sync(() => {
          served.push(`touch ${id}`)
          return { served: served.length }
        }))
    ])
    const layer = Layer.unwrap(Effect.map(server, (docs) => GatewayLayer.layer({ servers: { docs } })))
    return Effect.gen(function*() {
      const cache = yield* Cache.make({ ttl: "1 minute", capacity: 10 })
      const lookup = (input: typeof Docs.lookup.input.Type) =>
        cache.apply(Docs.lookup(input), { ...Docs.lookup.annotations, cacheKey: Cache.key(Docs.lookup.name, input) })
      const a = yield* Effect.forkChild(lookup({ id: "1", fields: { title: true, body: false } }))
      const b = yield* Effect.forkChild(lookup({ fields: { body: false, title: true }, id: "1" }))
      yield* TestClock.adjust(20)
      const [ra, rb] = yield* Fiber.joinAll([a, b])
      assert.deepStrictEqual(ra, { id: "1", served: 1 })
      assert.deepStrictEqual(rb, ra)
      assert.deepStrictEqual(yield* lookup({ id: "1", fields: { title: true, body: false } }), ra)
      const touch = (id: string) => cache.apply(Docs.touch({ id }), { ...Docs.touch.annotations, cacheKey: Cache.key(Docs.touch.name, { id }) })
      yield* touch("1")
      yield* touch("1")
      assert.deepStrictEqual(served, ["lookup 1", "touch 1", "touch 1"])
    }).pipe(Effect.provide(layer))
  })
})
