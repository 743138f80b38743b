/**
 * A flow's input at the door reports every Schema issue, not just the first: `InvalidFlowInput`
 * keeps the first as `path`/`issue`, carries all in `issues`, and its message (what the CLI
 * prints) names them all.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { decodeInput } from "../../dsl/flow/FlowInput.ts"
import { InvalidFlowInput } from "../../dsl/flow/FlowError.ts"

const Input = Schema.Struct({
  service: Schema.String,
  replicas: Schema.Number,
  environment: Schema.Literals(["staging", "production"])
})

describe("decodeInput", () => {
  it.effect("every issue of a bad input, the first as path/issue", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decodeInput("deploy", Input, { service: 1, replicas: "3", environment: "prod" }))
      const reason = error.reason
      assert.strictEqual(reason._tag, "InvalidFlowInput")
      if (reason._tag !== "InvalidFlowInput") return
      assert.strictEqual(reason.path, "service")
      assert.deepStrictEqual(reason.all.map((i) => i.path), ["service", "replicas", "environment"])
      assert.strictEqual(reason.issue, reason.all[0]?.issue)
      assert.match(reason.message, /^invalid input \(3 problems\): at service: Expected string.*; at replicas: .*; at environment: /)
      assert.include(error.message, "3 problems")
    }))

  it.effect("one issue reads as before", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decodeInput("deploy", Input, { service: "api", replicas: 2 }))
      const reason = error.reason as InvalidFlowInput
      assert.strictEqual(reason.all.length, 1)
      assert.strictEqual(reason.message, `invalid input at environment: ${reason.issue}`)
    }))

  it("an InvalidFlowInput made with path and issue only has that one issue", () => {
    const reason = new InvalidFlowInput({ path: "a", issue: "Missing key" })
    assert.deepStrictEqual(reason.all, [{ path: "a", issue: "Missing key" }])
    assert.strictEqual(reason.message, "invalid input at a: Missing key")
  })

  it.effect("a good input decodes", () =>
    Effect.gen(function*() {
      const input = yield* decodeInput("deploy", Input, { service: "api", replicas: 2, environment: "staging" })
      assert.deepStrictEqual(input, { service: "api", replicas: 2, environment: "staging" })
    }))
})
