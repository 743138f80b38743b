import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { OutcomeUnknown, resolveByLookup, verifiedUndo } from "../../dsl/flow/index.ts"
import { ConnectionLost, McpflowToolError, ToolFailed } from "../../dsl/ToolError.ts"

const lost = new McpflowToolError({ reason: new ConnectionLost({ server: "pay", tool: "charge", detail: "closed" }) })
const refused = new McpflowToolError({ reason: new ToolFailed({ server: "pay", tool: "charge", text: "card declined" }) })
const what = { action: "charge", key: "order:1" }

const failureOf = <A, E>(exit: Exit.Exit<A, E>) => (Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined)

describe("ambiguous failures", () => {
  it.effect("resolveByLookup: a refusal needs no lookup; an ambiguous failure asks the server", () =>
    Effect.gen(function*() {
      let lookups = 0
      const lookup = (found: string | undefined) => Effect.sync(() => (lookups++, found))
      const refusedExit = yield* Effect.exit(resolveByLookup(Effect.fail(refused), lookup("ch_1"), what))
      assert.strictEqual((failureOf(refusedExit) as { error: unknown } | undefined)?.error, refused)
      assert.strictEqual(lookups, 0, "a refusal means it did not happen")
      assert.strictEqual(yield* resolveByLookup(Effect.fail(lost), lookup("ch_1"), what), "ch_1", "found: it happened")
      const notFound = yield* Effect.exit(resolveByLookup(Effect.fail(lost), lookup(undefined), what))
      assert.strictEqual((failureOf(notFound) as { error: unknown } | undefined)?.error, lost, "not found: the original failure")
      const unknown = yield* Effect.exit(resolveByLookup(Effect.fail(lost), Effect.fail(lost), what))
      assert.instanceOf((failureOf(unknown) as { error: unknown } | undefined)?.error, OutcomeUnknown)
    }))

  it.effect("resolveByLookup with lookupAfter: \"any-failure\": a retried action refused at its last attempt may still have happened", () =>
    Effect.gen(function*() {
      // The first attempt's answer was lost (it happened), the retry was refused: only a lookup tells.
      const found = yield* resolveByLookup(Effect.fail(refused), Effect.succeed("ch_1"), { ...what, lookupAfter: "any-failure" })
      assert.strictEqual(found, "ch_1")
      const notFound = yield* Effect.exit(resolveByLookup(Effect.fail(refused), Effect.succeed(undefined), { ...what, lookupAfter: "any-failure" }))
      assert.strictEqual((failureOf(notFound) as { error: unknown } | undefined)?.error, refused)
    }))

  it.effect("verifiedUndo: an ambiguous undo counts when the state reads back as undone", () =>
    Effect.gen(function*() {
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(verifiedUndo(Effect.fail(lost), Effect.succeed(true)))))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(verifiedUndo(Effect.fail(lost), Effect.succeed(false)))))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(verifiedUndo(Effect.fail(refused), Effect.succeed(true)))), "a refused undo stands")
    }))
})
