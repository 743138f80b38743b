/**
 * The one flow loader as `mcpflow chaos` uses it: a flow file finds its chaos suite in itself or
 * in its sibling `x.chaos.ts`; a suite file finds its flow in itself or in its sibling `x.ts`;
 * and `mcpflow chaos` runs either (in process, a few fault plans).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { chaos } from "../../src/app/cli/commands/internal/chaos.ts"
import { loadChaos } from "../../src/app/run/LoadFlow.ts"

const pair = "test/run/fixtures/order.ts"
const suiteFile = "test/run/fixtures/order.chaos.ts"
const single = "test/chaos/fixtures/order.ts"

const chaosArgs = (file: string) => ({
  file,
  runs: Option.some(3),
  seed: Option.some(7),
  faults: Option.none(),
  rate: Option.none(),
  json: true,
  junit: Option.none(),
  replay: Option.none(),
  input: Option.none()
})

describe("loadChaos", () => {
  it.effect("a flow file without a chaos export takes the suite of its sibling x.chaos.ts", () =>
    Effect.gen(function*() {
      const loaded = yield* loadChaos(pair)
      assert.strictEqual(loaded.flow.name, "order")
      assert.strictEqual(loaded.suiteFile, suiteFile)
      assert.deepStrictEqual((loaded.suite as { readonly input: unknown }).input, { orderId: "o1", amount: 25 })
    }))

  it.effect("a suite file without a default export takes the flow of its sibling x.ts", () =>
    Effect.gen(function*() {
      const loaded = yield* loadChaos(suiteFile)
      assert.strictEqual(loaded.flow.name, "order")
      assert.strictEqual(loaded.suiteFile, suiteFile)
      assert.strictEqual((loaded.suite as { readonly runs: number }).runs, 5)
    }))

  it.effect("a flow file with its own chaos export keeps it", () =>
    Effect.gen(function*() {
      const loaded = yield* loadChaos(single)
      assert.strictEqual(loaded.suiteFile, single)
      assert.isDefined(loaded.suite)
    }))

  it.effect("a suite file with no chaos export, or a missing file, is a FlowFileError naming it", () =>
    Effect.gen(function*() {
      const notSuite = yield* Effect.flip(loadChaos("test/run/fixtures/missing.chaos.ts"))
      assert.strictEqual(notSuite._tag, "FlowFileError")
      assert.strictEqual(notSuite.message, "test/run/fixtures/missing.chaos.ts: file not found")
    }))
})

describe("mcpflow chaos on a flow file and on its suite file", () => {
  it.live("both run the sibling pair and hold", () =>
    Effect.gen(function*() {
      yield* chaos(chaosArgs(pair))
      yield* chaos(chaosArgs(suiteFile))
    }), 60_000)
})
