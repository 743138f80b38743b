/**
 * A durable run's output is its typed value, whatever its Schema's JSON form: a `Schema.Date`
 * and a `Schema.Redacted(Schema.String)` come back as a `Date` and a `Redacted` from the SQLite
 * engine as from the memory engine (the engine hands back the JSON form it journaled: it is
 * decoded with the output Schema, not checked as if it were typed). A value that does not fit
 * the Schema is still `InvalidFlowOutput`.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Option, Redacted, Schema } from "effect"
import { Flow, FlowEngine, step } from "../../dsl/flow/index.ts"
import * as Sealing from "../../dsl/flow/internal/Sealing.ts"
import { settle } from "../../dsl/flow/internal/Settle.ts"
import type { RunState } from "../../dsl/flow/RunScope.ts"
import * as Engines from "../../src/runtime/engine/Engines.ts"

const at = new Date("2026-12-05T10:00:00.000Z")

const Output = Schema.Struct({ at: Schema.Date, token: Schema.Redacted(Schema.String), n: Schema.Number })

const dated = Flow.make({
  name: "dated-output",
  input: Schema.Struct({}),
  output: Output,
  run: () =>
    Effect.gen(function*() {
      const n = yield* step("count", Effect.succeed(3))
      return { at, token: Redacted.make("tok-output-0001"), n }
    })
})

const wrong = Flow.make({
  name: "wrong-output",
  input: Schema.Struct({}),
  output: Output,
  run: () => Effect.succeed({ at: "not a date", token: Redacted.make("x"), n: 1 } as unknown as typeof Output.Type)
})

const dir = mkdtempSync(join(tmpdir(), "mcpflow-durable-output-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const keyed = Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: { MCPFLOW_JOURNAL_KEY: "unit-test-journal-key-0003" } }))

describe("a durable run's typed output", () => {
  it.live("a Date and a Redacted in the output: the same typed value from the SQLite engine as from memory", () =>
    Effect.gen(function*() {
      const memory = yield* Flow.run(dated, {}).pipe(Effect.provide(FlowEngine.layerMemory))
      const durable = yield* Flow.run(dated, {}, { runId: "dated-1" }).pipe(Effect.provide(Engines.durable(join(dir, "a"))), keyed)
      for (const out of [memory, durable]) {
        assert.instanceOf(out.at, Date)
        assert.strictEqual(out.at.toISOString(), at.toISOString())
        assert.isTrue(Redacted.isRedacted(out.token))
        assert.strictEqual(Redacted.value(out.token), "tok-output-0001")
        assert.strictEqual(out.n, 3)
      }
    }), 30_000)

  it.live("without a journal key too (the output is not read back from the journal)", () =>
    Effect.gen(function*() {
      const out = yield* Flow.run(dated, {}, { runId: "dated-2" }).pipe(Effect.provide(Engines.durable(join(dir, "b"))))
      assert.instanceOf(out.at, Date)
      assert.strictEqual(Redacted.value(out.token), "tok-output-0001")
    }), 30_000)

  it.live("an output that does not fit its Schema is InvalidFlowOutput on both engines", () =>
    Effect.gen(function*() {
      for (const engine of [FlowEngine.layerMemory, Engines.durable(join(dir, "c"))]) {
        const error = yield* Flow.run(wrong, {}).pipe(Effect.provide(engine), Effect.flip)
        assert.strictEqual(error._tag, "FlowError")
        assert.strictEqual((error as { reason: { _tag: string; path?: string } }).reason._tag, "InvalidFlowOutput")
        assert.strictEqual((error as { reason: { path?: string } }).reason.path, "at")
      }
    }), 30_000)

  it.effect("a result only the engine had (its JSON form, sealed parts) is decoded with the output Schema", () =>
    Effect.gen(function*() {
      const sealer = Sealing.make("r-json", Option.some(Redacted.make("unit-test-journal-key-0003")))
      const json = sealer.sealEncoded({ at: at.toISOString(), token: "tok-json-0002", n: 4 }, { token: Redacted.make("tok-json-0002") })
      assert.notInclude(JSON.stringify(json), "tok-json-0002")
      const state = { journalSealer: sealer } as unknown as RunState
      const result = yield* settle(dated, Exit.succeed(json), state)
      assert.isTrue(Exit.isSuccess(result))
      const out = (result as Exit.Success<typeof Output.Type>).value
      assert.instanceOf(out.at, Date)
      assert.strictEqual(out.at.toISOString(), at.toISOString())
      assert.strictEqual(Redacted.value(out.token), "tok-json-0002")
      const bad = yield* settle(dated, Exit.succeed({ ...(json as object), at: "yesterday" }), state)
      assert.isTrue(Exit.isFailure(bad))
      const noKey = yield* settle(dated, Exit.succeed(json), { journalSealer: Sealing.make("r-json", Option.none()) } as unknown as RunState)
      assert.isTrue(Exit.isFailure(noKey), "sealed parts that cannot be opened are no output")
    }))
})
