/**
 * Policies as plain data: the JSON shape of every policy kind, as Schemas, so a policy can come
 * from `.mcp.json` (`"mcpflow": { "policies": { … } }`) or be written inline in code. Durations
 * are milliseconds or strings (`"500ms"`, `"5s"`, `"2m"`, `"200 millis"`, `"5 seconds"`);
 * decoding turns them into milliseconds. Unknown fields are errors (a typo must not silently
 * switch a policy off). `false` switches a kind off (it overrides a lower level, see `Policy.merge`).
 *
 * @example
 * ```ts
 * import { PolicySettings } from "mcpflow"
 *
 * const settings: PolicySettings.PolicySettings = {
 *   retry: { maxAttempts: 3, backoff: { kind: "exponential", initial: "200 millis", max: "5 seconds" }, jitter: "full" },
 *   timeout: "5 seconds",
 *   breaker: { trip: { kind: "consecutive", failures: 5 }, openDuration: "30 seconds" },
 *   bulkhead: { pool: "critical" }
 * }
 * const decoded = yield* PolicySettings.decode(settings) // durations in ms, or a PolicyConfigError naming the path
 * ```
 * @module
 */
import { Duration, Effect, Option, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { firstIssue } from "../SchemaIssues.ts"

/**
 * A policy setting was malformed: `path` is the dotted path inside the settings
 * (`retry.maxAttempts`), `detail` what is wrong.
 *
 * @example
 * ```ts
 * new PolicyConfigError({ path: "retry.maxAttempts", detail: "Expected a value greater than or equal to 1, got 0" }).message
 * // => "policy: retry.maxAttempts: Expected a value greater than or equal to 1, got 0"
 * ```
 */
export class PolicyConfigError extends Schema.TaggedError<PolicyConfigError>()("PolicyConfigError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `policy: ${this.path === "" ? "" : `${this.path}: `}${this.detail}`
  }
}

const EXCERPT_MAX = 40

/** A value or key as quoted in an error: its JSON, cut after {@link EXCERPT_MAX} characters. */
const excerpt = (value: unknown): string => {
  const text = typeof value === "string" ? JSON.stringify(value) : String(JSON.stringify(value))
  return text.length > EXCERPT_MAX ? `${text.slice(0, EXCERPT_MAX)}…` : text
}

/** A dotted path with every segment cut after {@link EXCERPT_MAX} characters. */
const shortPath = (path: string): string =>
  path.split(".").map((key) => (key.length > EXCERPT_MAX ? `${key.slice(0, EXCERPT_MAX)}…` : key)).join(".")

const shortUnits: ReadonlyMap<string, number> = new Map([
  ...["ms", "msec", "msecs", "milli", "millis", "millisecond", "milliseconds"].map((u) => [u, 1] as const),
  ...["s", "sec", "secs", "second", "seconds"].map((u) => [u, 1_000] as const),
  ...["m", "min", "mins", "minute", "minutes"].map((u) => [u, 60_000] as const),
  ...["h", "hr", "hrs", "hour", "hours"].map((u) => [u, 3_600_000] as const)
])

const parseMs = (input: number | string): number | undefined => {
  if (typeof input === "number") return Number.isFinite(input) && input >= 0 ? input : undefined
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]+)\s*$/.exec(input)
  const scale = match === null ? undefined : shortUnits.get((match[2] ?? "").toLowerCase())
  if (scale !== undefined) return Number(match?.[1]) * scale
  const decoded = Duration.fromInput(input as Duration.Input)
  if (Option.isNone(decoded)) return undefined
  const ms = Duration.toMillis(decoded.value)
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined
}

/**
 * A finite duration ≥ 0: milliseconds, or a string such as `"500ms"`, `"5s"`, `"200 millis"`;
 * decodes to milliseconds.
 *
 * @example
 * ```ts
 * Schema.decodeUnknownSync(DurationSetting)("5s") // => 5000
 * ```
 */
export const DurationSetting = Schema.Union([Schema.Number, Schema.String]).pipe(
  Schema.decodeTo(
    Schema.Number,
    SchemaTransformation.transformEffect({
      decode: (input: number | string) => {
        const ms = parseMs(input)
        return ms !== undefined
          ? Effect.succeed(ms)
          : Effect.fail(
            new SchemaIssue.InvalidValue({
              message: `Expected a duration such as 500 (ms), "500ms", "5s" or "2 minutes", got ${excerpt(input)}`
            }, input)
          )
      },
      encode: (ms: number) => Effect.succeed(ms)
    })
  )
)

const Int1 = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const Int0 = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Rate = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const opt = Schema.optionalKey

/** Retry settings (see `Retry.make`). */
export const RetrySettings = Schema.Struct({
  maxAttempts: opt(Int1),
  backoff: opt(Schema.Struct({
    kind: Schema.Literals(["constant", "linear", "exponential", "fibonacci"]),
    initial: DurationSetting,
    max: opt(DurationSetting),
    factor: opt(Schema.Number.check(Schema.isGreaterThanOrEqualTo(1))),
    step: opt(DurationSetting)
  })),
  jitter: opt(Schema.Literals(["none", "full", "equal", "decorrelated"])),
  budget: opt(DurationSetting),
  retryNonIdempotent: opt(Schema.Boolean)
})

/**
 * Circuit breaker settings (see `CircuitBreaker.make`); `per` picks the circuit key (default
 * `"server"`): on a tool call the server or the tool; on a step, `"item"` gives each `forEach`
 * item its own circuit (the step's full path, item key included) where the default is one
 * circuit per step path shared by all items.
 */
export const BreakerSettings = Schema.Struct({
  name: opt(Schema.String.check(Schema.isMinLength(1))),
  per: opt(Schema.Literals(["server", "tool", "item"])),
  trip: opt(Schema.Union([
    Schema.Struct({ kind: Schema.Literal("consecutive"), failures: Int1 }),
    Schema.Struct({ kind: Schema.Literal("count"), size: Int1, failureRateThreshold: Rate, minimumCalls: opt(Int1) }),
    Schema.Struct({
      kind: Schema.Literal("time"),
      window: DurationSetting,
      buckets: opt(Int1),
      failureRateThreshold: Rate,
      minimumThroughput: opt(Int1)
    })
  ])),
  slowCall: opt(Schema.Struct({ duration: DurationSetting, rateThreshold: Rate })),
  openDuration: opt(Schema.Union([
    DurationSetting,
    Schema.Struct({ base: DurationSetting, factor: opt(Schema.Number.check(Schema.isGreaterThanOrEqualTo(1))), max: DurationSetting })
  ])),
  halfOpen: opt(Schema.Struct({ permittedCalls: Int1, successThreshold: opt(Int1) }))
})

/**
 * Bulkhead settings: a named `pool` is shared by everything that names it (the first settings
 * seen create it; a pool declared in the registry needs no numbers).
 */
export const BulkheadSettings = Schema.Struct({
  pool: opt(Schema.String.check(Schema.isMinLength(1))),
  maxConcurrent: opt(Int1),
  maxQueue: opt(Int0),
  maxWait: opt(DurationSetting)
})

/**
 * A declared bulkhead pool (see `Policy.registry`): bulkhead settings without the pool name.
 *
 * @example
 * ```ts
 * Schema.decodeUnknownSync(PoolSettings)({ maxConcurrent: 50, maxWait: "5s" }) // => { maxConcurrent: 50, maxWait: 5000 }
 * ```
 */
export const PoolSettings = Schema.Struct({
  maxConcurrent: Int1,
  maxQueue: opt(Int0),
  maxWait: opt(DurationSetting)
})

/** Rate-limit settings (see `RateLimit.make`); `per` picks the bucket key (default `"server"`). */
export const RateLimitSettings = Schema.Struct({
  algorithm: opt(Schema.Literals(["token-bucket", "fixed-window", "sliding-window"])),
  limit: Int1,
  window: DurationSetting,
  burst: opt(Int1),
  onExceeded: opt(Schema.Literals(["delay", "fail"])),
  maxDelay: opt(DurationSetting),
  per: opt(Schema.Literals(["server", "tool"]))
})

/** Hedge settings (see `Hedge.make`). */
export const HedgeSettings = Schema.Struct({
  delay: DurationSetting,
  maxHedges: opt(Int0),
  force: opt(Schema.Boolean),
  adaptive: opt(Schema.Struct({
    percentile: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true })),
    window: opt(Int1),
    minSamples: opt(Int1),
    min: opt(DurationSetting),
    max: opt(DurationSetting)
  }))
})

/** Cache settings (see `Cache.make`). */
export const CacheSettings = Schema.Struct({
  ttl: DurationSetting,
  capacity: Int1,
  force: opt(Schema.Boolean)
})

const orOff = <S extends Schema.Top>(schema: S) => Schema.Union([schema, Schema.Literal(false)])

/**
 * Every policy kind as data. `timeout` is per attempt, `totalTimeout` covers all attempts.
 *
 * @example
 * ```ts
 * Schema.decodeUnknownSync(PolicySettingsSchema)({ timeout: "5s", retry: false })
 * // => { timeout: 5000, retry: false }
 * ```
 */
export const PolicySettingsSchema = Schema.Struct({
  cache: opt(orOff(CacheSettings)),
  breaker: opt(orOff(BreakerSettings)),
  bulkhead: opt(orOff(BulkheadSettings)),
  rateLimit: opt(orOff(RateLimitSettings)),
  totalTimeout: opt(orOff(DurationSetting)),
  retry: opt(orOff(RetrySettings)),
  hedge: opt(orOff(HedgeSettings)),
  timeout: opt(orOff(DurationSetting))
})

/**
 * Policy settings as written (JSON, or inline in code).
 *
 * @example
 * ```ts
 * const s: PolicySettings = { timeout: "2s", retry: { maxAttempts: 2 } }
 * ```
 */
export type PolicySettings = typeof PolicySettingsSchema.Encoded

/**
 * Policy settings after decoding: durations in milliseconds.
 *
 * @example
 * ```ts
 * const d: DecodedSettings = { timeout: 2000 }
 * ```
 */
export type DecodedSettings = typeof PolicySettingsSchema.Type

/** The written form of each kind, for `Policy.PolicySpec`. */
export type RetrySettings = typeof RetrySettings.Encoded
/** The written form of breaker settings. */
export type BreakerSettings = typeof BreakerSettings.Encoded
/** The written form of bulkhead settings. */
export type BulkheadSettings = typeof BulkheadSettings.Encoded
/** The written form of rate-limit settings. */
export type RateLimitSettings = typeof RateLimitSettings.Encoded
/** The written form of hedge settings. */
export type HedgeSettings = typeof HedgeSettings.Encoded
/** The written form of cache settings. */
export type CacheSettings = typeof CacheSettings.Encoded
/** A written duration: ms, or `"500ms"`, `"5s"`, `"5 seconds"`. */
export type DurationSetting = typeof DurationSetting.Encoded

const decodeSchema = Schema.decodeUnknownEffect(PolicySettingsSchema)

/**
 * Decodes policy settings (unknown fields are errors); a failure names the first bad path.
 *
 * @example
 * ```ts
 * const settings = yield* PolicySettings.decode({ retry: { maxAttempts: 3 }, timeout: "5s" })
 * settings.timeout // => 5000
 * ```
 */
export const decode = (input: unknown): Effect.Effect<DecodedSettings, PolicyConfigError> =>
  Effect.mapError(decodeSchema(input, { onExcessProperty: "error" }), (error) => {
    const located = firstIssue(error.issue)
    const path = shortPath(located.path)
    if (located.unknownField === undefined) return new PolicyConfigError({ path, detail: located.message })
    const meant = located.unknownField.meant
    const detail = path === "fallback"
      ? "A fallback cannot be written as data: build one with Fallback.make in code"
      : `Unknown setting ${excerpt(located.path.slice(located.path.lastIndexOf(".") + 1))}${meant === undefined ? "" : `; did you mean "${meant}"?`}`
    return new PolicyConfigError({ path, detail })
  })
