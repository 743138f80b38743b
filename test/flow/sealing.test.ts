/**
 * Sensitive values in the durable journal (issue 17, item 11): `Redacted` parts of flow inputs
 * and step values are sealed (AES-256-GCM, key from MCPFLOW_JOURNAL_KEY, bound to the run id),
 * opened again when the engine replays a step, and never written in clear. The end-to-end
 * crash-and-resume case through the CLI is in `test/e2e/secrets.test.ts`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Option, Redacted, Result, Schema } from "effect"
import { Flow, FlowEvents, step } from "../../dsl/flow/index.ts"
import * as Sealing from "../../dsl/flow/internal/Sealing.ts"
import * as Engines from "../../src/runtime/engine/Engines.ts"

const key = Option.some(Redacted.make("unit-test-journal-key-0001"))
const otherKey = Option.some(Redacted.make("unit-test-journal-key-0002"))

const opened = <A>(result: Result.Result<A, string>): A => {
  if (Result.isFailure(result)) throw new Error(result.failure)
  return result.success
}
const failure = (result: Result.Result<unknown, string>): string => (Result.isFailure(result) ? result.failure : "no failure")

describe("Sealing", () => {
  it("a step value's Redacted parts round-trip, bare or wrapped, with their labels; nothing else changes", () => {
    const sealer = Sealing.make("run-1", key)
    const value = { id: "k1", apiKey: Redacted.make("sk-123456"), list: [Redacted.make(42, { label: "pin" })], n: 1 }
    for (const wrap of [false, true]) {
      const sealed = sealer.sealValue(value, wrap) as typeof value
      assert.strictEqual(sealed.id, "k1")
      assert.notInclude(JSON.stringify(sealed) + String(wrap ? Redacted.value(sealed.apiKey) : sealed.apiKey), "sk-123456")
      const back = opened(sealer.openValue(sealed)) as typeof value
      assert.strictEqual(Redacted.value(back.apiKey), "sk-123456")
      assert.strictEqual(Redacted.value(back.list[0]!), 42)
      assert.strictEqual(back.list[0]!.label, "pin")
      assert.strictEqual(back.n, 1)
    }
    const plain = { a: [1, "x"] }
    assert.strictEqual(sealer.sealValue(plain, false), plain, "nothing to seal: the same value")
  })

  it("an input's JSON form is sealed where its decoded form is Redacted (also when given typed)", () => {
    const sealer = Sealing.make("run-1", key)
    const typed = { user: "ana", password: Redacted.make("pw-1234"), nested: [{ pin: Redacted.make("9876") }] }
    const encoded = { user: "ana", password: "pw-1234", nested: [{ pin: "9876" }] }
    const sealed = sealer.sealEncoded(encoded, typed)
    assert.notInclude(JSON.stringify(sealed), "pw-1234")
    assert.notInclude(JSON.stringify(sealed), "9876")
    assert.deepStrictEqual(Sealing.redactEnvelopes(sealed), { user: "ana", password: "<redacted>", nested: [{ pin: "<redacted>" }] })
    assert.deepStrictEqual(opened(sealer.openEncoded(sealed)), encoded)
    // An app passing the typed input in: the Redacted values are sealed where they are.
    const fromTyped = sealer.sealEncoded(typed, typed)
    assert.deepStrictEqual(opened(sealer.openEncoded(fromTyped)), encoded)
    assert.deepStrictEqual([...Sealing.keyIdsIn(sealed)], [sealer.keyId])
  })

  it("refuses another key, no key, another run, an altered envelope, and values dropped without a key", () => {
    const sealed = Sealing.make("run-1", key).sealEncoded({ pw: "pw-1234" }, { pw: Redacted.make("pw-1234") })
    assert.include(failure(Sealing.make("run-1", otherKey).openEncoded(sealed)), "MCPFLOW_JOURNAL_KEY is not the key it was started with")
    assert.include(failure(Sealing.make("run-1", Option.none()).openEncoded(sealed)), "set MCPFLOW_JOURNAL_KEY")
    assert.include(failure(Sealing.make("run-2", key).openEncoded(sealed)), "does not decrypt")
    const envelope = (sealed as { pw: string }).pw
    const altered = { pw: envelope.slice(0, -2) + (envelope.endsWith("A") ? "BB" : "AA") }
    assert.include(failure(Sealing.make("run-1", key).openEncoded(altered)), "does not decrypt")
    const dropped = Sealing.make("run-1", Option.none()).sealEncoded({ pw: "pw-1234" }, { pw: Redacted.make("pw-1234") })
    assert.deepStrictEqual(dropped, { pw: "mcpflow:sealed:v1:-" })
    assert.include(failure(Sealing.make("run-1", key).openEncoded(dropped)), "MCPFLOW_JOURNAL_KEY was not set when it ran")
  })
})

const Approval = Flow.signal("approval", Schema.Struct({ by: Schema.String }))

/** A flow whose steps return Redacted values, then waits for a signal: the engine replays the body after it. */
const sensitive = Flow.make({
  name: "sealing-replay",
  input: Schema.Struct({ password: Schema.Redacted(Schema.String) }),
  output: Schema.Struct({ password: Schema.String, token: Schema.String, apiKey: Schema.String }),
  run: ({ password }) =>
    Effect.gen(function*() {
      // A step with its own success Schema (a Schema.Redacted field) and one journaled as plain JSON.
      const { token } = yield* step("token", Effect.succeed({ token: Redacted.make("tok-planted-0001") }), {
        success: Schema.Struct({ token: Schema.Redacted(Schema.String) })
      })
      const apiKey = yield* step("apiKey", Effect.succeed(Redacted.make("key-planted-0002")))
      yield* Flow.waitFor(Approval)
      return yield* step("reveal", Effect.sync(() => ({
        password: Redacted.value(password).length === 17 ? "intact" : "lost",
        token: Redacted.isRedacted(token) && Redacted.value(token) === "tok-planted-0001" ? "intact" : "lost",
        apiKey: Redacted.isRedacted(apiKey) && Redacted.value(apiKey) === "key-planted-0002" ? "intact" : "lost"
      })))
    })
})

const dir = mkdtempSync(join(tmpdir(), "mcpflow-sealing-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("a durable run with sensitive values", () => {
  it.live("seals them in runs.db and opens them when the engine replays the steps", () =>
    Effect.gen(function*() {
      const sink = FlowEvents.collect()
      const state = join(dir, "keyed")
      const output = yield* Effect.gen(function*() {
        const fiber = yield* Flow.run(sensitive, { password: Redacted.make("pw-planted-00003x") }, { runId: "sealed-1" }).pipe(
          Effect.provideService(FlowEvents.FlowEvents, sink),
          Effect.forkChild
        )
        while (!sink.events.some((e) => e._tag === "StepStarted" && e.path === "wait:approval")) yield* Effect.sleep("20 millis")
        yield* Flow.sendSignal(sensitive, "sealed-1", Approval, { by: "ana" })
        return yield* Fiber.join(fiber)
      }).pipe(
        Effect.provide(Engines.durable(state)),
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: { MCPFLOW_JOURNAL_KEY: "unit-test-journal-key-0001" } }))
      )
      assert.deepStrictEqual(output, { password: "intact", token: "intact", apiKey: "intact" })
      const replayed = sink.events.filter((e) => e._tag === "StepSucceeded" && e.replayed).map((e) => e._tag === "StepSucceeded" && e.path)
      assert.includeMembers(replayed, ["token", "apiKey"], "the body was replayed after the wait: the values came from the journal")
      const sealed = sink.events.filter((e) => e._tag === "StepSucceeded" && e.sealedWith !== undefined && !e.replayed)
      assert.deepStrictEqual(sealed.map((e) => e._tag === "StepSucceeded" && e.path), ["token", "apiKey"])
      for (const file of readdirSync(state)) {
        const bytes = readFileSync(join(state, file))
        for (const secret of ["pw-planted-00003x", "tok-planted-0001", "key-planted-0002"]) {
          assert.isFalse(bytes.includes(Buffer.from(secret)), `${secret} in ${file}`)
        }
      }
    }), 60_000)
})
