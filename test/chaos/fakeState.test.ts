/**
 * Fake-server state that outlives its process (`FakeState`): refs registered with a store are
 * saved after every call a fake answers, restored by a new store made from what was saved; the
 * JSON keeps Maps, Sets and undefined; a state file that cannot be read is a typed error.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Ref, Schema } from "effect"
import { FakeServer, FakeState } from "../../chaos/index.ts"
import { Tool } from "../../dsl/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { makeSandbox } from "../../flows/sandbox/index.ts"

const Counter = Tool.server("counter", {
  bump: Tool.define({ description: "Bump", input: Schema.Struct({ by: Schema.Int }), output: Schema.Struct({ n: Schema.Int }), annotations: { idempotent: false } })
})

/** A counter fake whose count and history live in FakeState refs; bumps it `times` times; returns the last count. */
const bumps = (times: number) =>
  Effect.gen(function*() {
    const count = yield* FakeState.ref("count", 0)
    const history = yield* FakeState.ref("history", new Map<number, Set<string>>())
    const counter = yield* FakeServer.make("counter", [
      FakeServer.handle(Counter.bump, ({ by }) =>
        Effect.gen(function*() {
          const n = yield* Ref.updateAndGet(count, (c) => c + by)
          yield* Ref.update(history, (h) => new Map(h).set(n, new Set([`+${by}`])))
          return { n }
        }))
    ])
    let last = 0
    for (let i = 0; i < times; i++) last = (yield* Counter.bump({ by: 1 }).pipe(Effect.provide(GatewayLayer.layer({ servers: { counter } })))).n
    return last
  })

describe("FakeState", () => {
  it.effect("a store saves after each answered call; a new store from it resumes the state", () =>
    Effect.gen(function*() {
      const first = FakeState.memoryStore()
      assert.strictEqual(yield* bumps(2).pipe(Effect.provideService(FakeState.CurrentStore, first)), 2)
      const saved = FakeState.decode(first.saved()!) as { count: number; history: ReadonlyMap<number, ReadonlySet<string>> }
      assert.strictEqual(saved.count, 2)
      assert.deepStrictEqual([...saved.history.keys()], [1, 2])
      assert.instanceOf(saved.history.get(2), Set)
      const again = FakeState.memoryStore(first.saved())
      assert.strictEqual(yield* bumps(1).pipe(Effect.provideService(FakeState.CurrentStore, again)), 3, "the count went on from 2")
      assert.strictEqual(yield* bumps(1), 1, "without a store, state starts fresh")
    }))

  it("encode/decode keep Maps, Sets and undefined; repeated names get #2", () => {
    const value = { m: new Map([["a", { s: new Set([1, 2]) }]]), u: undefined, list: [1, undefined], n: null }
    const back = FakeState.decode(FakeState.encode(value)) as typeof value
    assert.deepStrictEqual(back.m, value.m)
    assert.isUndefined(back.u)
    assert.deepStrictEqual([back.list[0], back.list[1]], [1, undefined])
    assert.isNull(back.n)
    const store = FakeState.memoryStore(FakeState.encode({ ids: 5, "ids#2": 9 }))
    assert.deepStrictEqual(store.register("ids", () => 0), { saved: true, value: 5 })
    assert.deepStrictEqual(store.register("ids", () => 0), { saved: true, value: 9 })
    assert.deepStrictEqual(store.register("other", () => 0), { saved: false, value: undefined })
  })

  it.effect("the sandbox's state (cluster, charges, id counters) round-trips through a store", () =>
    Effect.gen(function*() {
      const store = FakeState.memoryStore()
      const first = yield* makeSandbox().pipe(Effect.provideService(FakeState.CurrentStore, store))
      yield* Ref.update(first.state.cluster, (c) => ({ ...c, lastBuilt: "app:9.9.9", images: new Map(c.images).set("app:9.9.9", { image_id: "sha256:9", size_mb: 1 }) }))
      store.save()
      const restored = yield* makeSandbox().pipe(Effect.provideService(FakeState.CurrentStore, FakeState.memoryStore(store.saved())))
      const cluster = yield* Ref.get(restored.state.cluster)
      assert.strictEqual(cluster.lastBuilt, "app:9.9.9")
      assert.deepStrictEqual(cluster.images.get("app:9.9.9"), { image_id: "sha256:9", size_mb: 1 })
      assert.deepStrictEqual(cluster.deployments, (yield* Ref.get(first.state.cluster)).deployments)
    }))

  it.effect("a file store writes its file whole; a corrupt file is a StateFileError naming it", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "mcpflow-fakestate-"))
      try {
        const file = join(dir, "sandbox", "r1.json")
        const store = yield* FakeState.fileStore(file)
        yield* bumps(2).pipe(Effect.provideService(FakeState.CurrentStore, store))
        const restored = yield* FakeState.fileStore(file, { restore: true })
        assert.strictEqual(yield* bumps(1).pipe(Effect.provideService(FakeState.CurrentStore, restored)), 3)
        writeFileSync(file, "{ not json")
        const exit = yield* Effect.exit(FakeState.fileStore(file, { restore: true }))
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
        assert.match(error?._tag === "Fail" ? error.error.message : "", /cannot restore the fake servers' state from .*r1\.json: /)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))
})
