/**
 * The contract call's shortcut for plain schemas (`dsl/internal/PlainCodec.ts`) never disagrees
 * with the JSON codec it stands in for: on arbitrary values (valid, near-valid and wrong), when
 * it answers, the codec succeeds with the same value (same keys in the same order); schemas it
 * must not shortcut (checks, transformations, classes, records) get no shortcut.
 *
 * Replay a failure with the printed seed: `FC_SEED=<seed> npx vitest run test/contracts/plainCodec.test.ts`.
 */
import * as fc from "fast-check"
import { Exit, Schema } from "effect"
import { assert, describe, it } from "vitest"
import * as PlainCodec from "../../dsl/internal/PlainCodec.ts"

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31)
console.log(`plain codec properties: seed ${seed}; replay with FC_SEED=${seed}`)

const Inner = Schema.Struct({ id: Schema.Number, tag: Schema.optionalKey(Schema.Literals(["a", "b"])) })
const plainSchemas = {
  flat: Schema.Struct({ message: Schema.String, count: Schema.Number, ok: Schema.Boolean }),
  optional: Schema.Struct({ a: Schema.optional(Schema.String), b: Schema.optionalKey(Schema.Number), c: Schema.Literal(1) }),
  nested: Schema.Struct({ items: Schema.Array(Inner), inner: Inner, names: Schema.Array(Schema.String) })
}

/** Values near the schemas' shapes: right and wrong types, missing and extra keys, undefined, NaN. */
const leaf = fc.oneof(
  fc.string({ maxLength: 3 }),
  fc.constantFrom(0, 1, -2.5, Number.NaN, Number.POSITIVE_INFINITY, "NaN", true, false, null, undefined, "a", "b", "c")
)
const keys = ["message", "count", "ok", "a", "b", "c", "items", "inner", "names", "id", "tag", "extra"]
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    leaf,
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...keys), tie("v"), { maxKeys: 6 })
  )
})).v
/** A valid value of each schema (finite numbers), then sometimes some of its keys changed. */
const finite = fc.double({ noNaN: true, noDefaultInfinity: true })
const valid = {
  flat: fc.record({ message: fc.string(), count: finite, ok: fc.boolean() }),
  optional: fc.record({ a: fc.option(fc.string(), { nil: undefined }), b: finite, c: fc.constant(1) }, { requiredKeys: ["c"] }),
  nested: fc.record({
    items: fc.array(fc.record({ id: finite, tag: fc.constantFrom("a", "b") }, { requiredKeys: ["id"] })),
    inner: fc.record({ id: fc.integer(), tag: fc.constantFrom("a", "b") }, { requiredKeys: ["id"] }),
    names: fc.array(fc.string())
  })
}
const mutated = (base: fc.Arbitrary<Record<string, unknown>>) =>
  fc.tuple(base, fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 2 }), fc.boolean()).map(([v, extra, apply]) =>
    apply ? { ...v, ...extra } : v
  )

describe("PlainCodec", () => {
  for (const [name, schema, compile] of Object.entries(plainSchemas).flatMap(([n, s]) => [[n, s, true], [n, s, false]] as const)) {
    const copy = PlainCodec.make(schema.ast, compile)
    const codec = Schema.toCodecJson(schema)
    const decode = Schema.decodeUnknownExit(codec as Schema.Codec<unknown, unknown>)
    const encode = Schema.encodeUnknownExit(codec as Schema.Codec<unknown, unknown>)

    it(`${name} (${compile ? "compiled" : "loop"}): has a shortcut that agrees with the JSON codec both ways`, () => {
      assert.isDefined(copy)
      let answered = 0
      fc.assert(
        fc.property(fc.oneof(mutated(valid[name as keyof typeof valid] as fc.Arbitrary<Record<string, unknown>>), value), (v) => {
          const fast = copy!(v)
          if (fast === PlainCodec.NotPlain) return
          answered++
          for (const full of [decode(v), encode(v)]) {
            assert.isTrue(Exit.isSuccess(full), `the shortcut accepted ${JSON.stringify(v)} but the codec refused it`)
            if (Exit.isSuccess(full)) {
              assert.deepStrictEqual(fast, full.value)
              assert.strictEqual(JSON.stringify(fast), JSON.stringify(full.value))
            }
          }
        }),
        { seed, numRuns: 400 }
      )
      // The shortcut is not vacuous: it answers for most valid values.
      assert.isAbove(answered, 20)
    })
  }

  it("gives no shortcut to schemas with checks, transformations, classes or records", () => {
    class Person extends Schema.Class<Person>("Person")({ name: Schema.String }) {}
    for (const schema of [
      Schema.Struct({ n: Schema.Int }),
      Schema.Struct({ n: Schema.NumberFromString }),
      Schema.Struct({ s: Schema.String.check(Schema.isMinLength(1)) }),
      Schema.Struct({ p: Person }),
      Schema.Record(Schema.String, Schema.Number),
      Schema.Struct({ d: Schema.Date }),
      Schema.Struct({ u: Schema.Union([Schema.String, Schema.Number]) }),
      Schema.Struct({ l: Schema.Literals([1n, 2n]) }),
      Schema.Struct({ r: Schema.Redacted(Schema.String) })
    ]) {
      assert.isUndefined(PlainCodec.make(schema.ast), String(schema.ast._tag))
    }
  })
})
