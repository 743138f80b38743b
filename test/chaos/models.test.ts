import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Models } from "../../chaos/index.ts"

const { Deployments, Inventory, Ledger, ObjectStore, Outbox } = Models

describe("stateful models keep their invariants", () => {
  it.effect("inventory: reservations conserve stock; release is idempotent; overselling is refused", () =>
    Effect.gen(function*() {
      const inv = yield* Inventory.make({ widget: 3 })
      const a = yield* inv.reserve({ sku: "widget", quantity: 2, orderId: "o1" })
      assert.isTrue(Exit.isFailure(yield* Effect.exit(inv.reserve({ sku: "widget", quantity: 2 }))))
      yield* inv.release({ reservationId: a.reservationId })
      assert.deepStrictEqual(yield* inv.release({ reservationId: a.reservationId }), { released: false })
      const s = yield* inv.snapshot
      assert.deepStrictEqual([Inventory.check(s), Inventory.heldFor(s, "o1"), s.available.widget], [[], [], 3])
    }))

  it.effect("ledger: idempotency keys dedupe charges; refunds never exceed the charge", () =>
    Effect.gen(function*() {
      const ledger = yield* Ledger.make({ limit: 100 })
      const first = yield* ledger.charge({ amount: 25, orderId: "o1", idempotencyKey: "k" })
      const again = yield* ledger.charge({ amount: 25, orderId: "o1", idempotencyKey: "k" })
      assert.deepStrictEqual([first.chargeId, again.replayed], ["ch-1", true])
      assert.isTrue(Exit.isFailure(yield* Effect.exit(ledger.charge({ amount: 500 }))))
      yield* ledger.refund({ chargeId: first.chargeId })
      assert.isTrue(Exit.isFailure(yield* Effect.exit(ledger.refund({ chargeId: first.chargeId }))))
      const s = yield* ledger.snapshot
      assert.deepStrictEqual([Ledger.check(s), Ledger.netFor(s, "o1"), Ledger.chargesFor(s, "o1").length], [[], 0, 1])
    }))

  it.effect("outbox: a dedupe key sends once; repeats are counted", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox.make({ channels: ["#ops"] })
      yield* outbox.send({ channel: "#ops", body: "deployed", dedupeKey: "d1" })
      assert.isTrue((yield* outbox.send({ channel: "#ops", body: "deployed", dedupeKey: "d1" })).duplicate)
      yield* outbox.send({ channel: "#ops", body: "deployed" })
      assert.isTrue(Exit.isFailure(yield* Effect.exit(outbox.send({ channel: "#nope", body: "x" }))))
      const s = yield* outbox.snapshot
      assert.deepStrictEqual([Outbox.check(s), Outbox.repeats(s), s.messages.length], [[], 1, 2])
    }))

  it.effect("deployments: traffic always sums to 100 over deployed versions; rollback restores", () =>
    Effect.gen(function*() {
      const cluster = yield* Deployments.make({ production: "1.1.0" })
      yield* cluster.apply({ namespace: "production", version: "1.2.0" })
      yield* cluster.setTraffic({ namespace: "production", split: { "1.1.0": 90, "1.2.0": 10 } })
      assert.isTrue(Exit.isFailure(yield* Effect.exit(cluster.setTraffic({ namespace: "production", split: { "1.2.0": 50 } }))))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(cluster.setTraffic({ namespace: "production", split: { "9.9.9": 100 } }))))
      assert.deepStrictEqual(yield* cluster.rollback({ namespace: "production" }), { version: "1.1.0" })
      const s = yield* cluster.snapshot
      assert.deepStrictEqual([Deployments.check(s), s.namespaces.production?.traffic], [[], { "1.1.0": 100 }])
    }))

  it.effect("object store: backups copy a prefix and restore it", () =>
    Effect.gen(function*() {
      const s3 = yield* ObjectStore.make({ deploys: { "k8s/app.yaml": "v1", "other.txt": "x" } })
      yield* s3.backup({ bucket: "deploys", prefix: "k8s/", name: "before-1.2" })
      yield* s3.put({ bucket: "deploys", key: "k8s/app.yaml", content: "v2" })
      assert.isTrue(Exit.isFailure(yield* Effect.exit(s3.backup({ bucket: "deploys", prefix: "k8s/", name: "before-1.2" }))))
      yield* s3.restore({ name: "before-1.2" })
      const s = yield* s3.snapshot
      assert.deepStrictEqual((yield* s3.get({ bucket: "deploys", key: "k8s/app.yaml" })).content, "v1")
      assert.isTrue(ObjectStore.backupHas(s, "before-1.2", { "k8s/app.yaml": "v1" }))
      assert.deepStrictEqual(ObjectStore.check(s), [])
    }))
})
