/**
 * Internal: sensitive values in a durable journal. A value is sensitive when it is `Redacted` —
 * a field of a flow's input or of a tool's output declared `Schema.Redacted(Schema.String)`, or
 * any `Redacted` a step returns. Such a value is never written in clear: it is sealed, with
 * AES-256-GCM under a key derived from `MCPFLOW_JOURNAL_KEY` (bound to the run id), into one
 * string, its *envelope*: `mcpflow:sealed:v1:<key id>:<base64url iv‖tag‖ciphertext>`. Without a
 * key the value is dropped (`mcpflow:sealed:v1:-`): still never in clear, but the run cannot be
 * resumed. A resume opens the envelopes again with the same key; the journal's readers
 * (`mcpflow show`, `runs`) show each envelope as `<redacted>`.
 *
 * @internal
 * @module
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto"
import { Config, Effect, Option, Redacted, Result } from "effect"

/**
 * The environment variable the journal key is read from.
 *
 * @internal
 */
export const journalKeyVariable = "MCPFLOW_JOURNAL_KEY"

/**
 * The journal key from the environment (through Effect's `ConfigProvider`), if set.
 *
 * @internal
 */
export const journalKey: Effect.Effect<Option.Option<Redacted.Redacted<string>>> = Effect.orElseSucceed(
  Effect.map(Config.option(Config.Redacted(journalKeyVariable)), Option.filter((key) => Redacted.value(key) !== "")),
  () => Option.none()
)

const prefix = "mcpflow:sealed:v1:"
const dropped = `${prefix}-`

/** An envelope: a string this module wrote in place of a sensitive value. */
export const isEnvelope = (u: unknown): u is string => typeof u === "string" && u.startsWith(prefix)

/** The key id an envelope was sealed with (`-`: dropped, no key). */
const keyIdOf = (envelope: string): string => {
  const rest = envelope.slice(prefix.length)
  const colon = rest.indexOf(":")
  return colon === -1 ? rest : rest.slice(0, colon)
}

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/** Maps every leaf of a JSON-like value (plain objects and arrays walked); a copy only where something changed. */
const mapLeaves = (value: unknown, f: (leaf: unknown) => unknown): unknown => {
  if (Array.isArray(value)) {
    let out: Array<unknown> | undefined
    value.forEach((item, i) => {
      const mapped = mapLeaves(item, f)
      if (mapped !== item) (out ??= value.slice())[i] = mapped
    })
    return out ?? value
  }
  if (isPlainObject(value)) {
    let out: Record<string, unknown> | undefined
    for (const key of Object.keys(value)) {
      const mapped = mapLeaves(value[key], f)
      if (mapped !== value[key]) (out ??= { ...value })[key] = mapped
    }
    return out ?? value
  }
  return f(value)
}

/**
 * Every key id a journaled value was sealed with (`-` for values dropped without a key).
 *
 * @internal
 */
export const keyIdsIn = (value: unknown): ReadonlySet<string> => {
  const ids = new Set<string>()
  mapLeaves(value, (leaf) => {
    if (isEnvelope(leaf)) ids.add(keyIdOf(leaf))
    else if (Redacted.isRedacted(leaf) && isEnvelope(Redacted.value(leaf))) ids.add(keyIdOf(Redacted.value(leaf) as string))
    return leaf
  })
  return ids
}

/**
 * A journaled JSON value as it may be shown: every envelope as `<redacted>`.
 *
 * @internal
 */
export const redactEnvelopes = (value: unknown): unknown => mapLeaves(value, (leaf) => (isEnvelope(leaf) ? "<redacted>" : leaf))

/**
 * Whether a value holds a `Redacted` (in plain objects and arrays).
 *
 * @internal
 */
export const hasRedacted = (value: unknown): boolean => {
  let found = false
  mapLeaves(value, (leaf) => {
    if (Redacted.isRedacted(leaf)) found = true
    return leaf
  })
  return found
}

/**
 * Seals and opens one run's sensitive values.
 *
 * @internal
 */
export interface Sealer {
  /** The id of the key (`undefined`: no key, sensitive values are dropped). */
  readonly keyId: string | undefined
  /**
   * The JSON form of a flow input to journal: wherever its decoded form `typed` holds a
   * `Redacted`, the JSON value there is sealed. The same object when there is nothing to seal.
   */
  readonly sealEncoded: (encoded: unknown, typed: unknown) => unknown
  /** A journaled JSON form with its envelopes opened back into their JSON values. */
  readonly openEncoded: (encoded: unknown) => Result.Result<unknown, string>
  /**
   * A step's value to journal: each `Redacted` becomes its envelope — bare (`wrap: false`, a
   * value journaled as plain JSON) or as a `Redacted` of the envelope (`wrap: true`, a value
   * journaled with its own Schema, whose `Schema.Redacted(Schema.String)` fields write the string).
   */
  readonly sealValue: (value: unknown, wrap: boolean) => unknown
  /** A journaled step value with its envelopes (bare or wrapped) opened back into `Redacted` values. */
  readonly openValue: (value: unknown) => Result.Result<unknown, string>
}

/**
 * Why values sealed with the key ids `ids` cannot be opened with the key `keyId` (undefined: no
 * key), or undefined when they can. Reads as the end of "run … cannot be resumed: …".
 *
 * @internal
 */
export const keyProblem = (ids: Iterable<string>, keyId: string | undefined): string | undefined => {
  const all = [...ids]
  if (all.length === 0) return undefined
  if (all.includes("-")) {
    return `its sensitive values (Schema.Redacted fields) were not journaled, as ${journalKeyVariable} was not set when it ran; start it again`
  }
  if (keyId === undefined) {
    return `its sensitive values (Schema.Redacted fields) are journaled encrypted: set ${journalKeyVariable} to the key it was started with`
  }
  if (all.some((id) => id !== keyId)) {
    return `${journalKeyVariable} is not the key it was started with (its sensitive values do not decrypt)`
  }
  return undefined
}

const deriveKey = (key: Redacted.Redacted<string>): Buffer =>
  Buffer.from(hkdfSync("sha256", Redacted.value(key), "mcpflow journal", "aes-256-gcm v1", 32))

const keyIdFor = (derived: Buffer): string => createHmac("sha256", derived).update("mcpflow journal key id").digest("hex").slice(0, 12)

/**
 * The sealer of the run `runId` with `key` (or none).
 *
 * @internal
 */
export const make = (runId: string, key: Option.Option<Redacted.Redacted<string>>): Sealer => {
  const derived = Option.isSome(key) ? deriveKey(key.value) : undefined
  const keyId = derived === undefined ? undefined : keyIdFor(derived)
  const aad = Buffer.from(`mcpflow run ${runId}`, "utf8")

  /** Seals the JSON form of one value, `[value]` or `[value, label]`. */
  const seal = (plain: ReadonlyArray<unknown>): string => {
    if (derived === undefined) return dropped
    const iv = randomBytes(12)
    const cipher = createCipheriv("aes-256-gcm", derived, iv)
    cipher.setAAD(aad)
    const body = Buffer.concat([cipher.update(JSON.stringify(plain), "utf8"), cipher.final()])
    return `${prefix}${keyId}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`
  }

  const open = (envelope: string): Result.Result<ReadonlyArray<unknown>, string> => {
    const id = keyIdOf(envelope)
    const problem = keyProblem([id], keyId)
    if (problem !== undefined || derived === undefined) return Result.fail(problem ?? "no key")
    try {
      const bytes = Buffer.from(envelope.slice(prefix.length + id.length + 1), "base64url")
      const decipher = createDecipheriv("aes-256-gcm", derived, bytes.subarray(0, 12))
      decipher.setAAD(aad)
      decipher.setAuthTag(bytes.subarray(12, 28))
      const text = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString("utf8")
      const plain: unknown = JSON.parse(text)
      if (Array.isArray(plain)) return Result.succeed(plain)
    } catch {
      // below
    }
    return Result.fail("a sensitive value in its journal does not decrypt (the journal was altered, or belongs to another run)")
  }

  /** Maps leaves with `f`, stopping at the first failure. */
  const tryLeaves = (value: unknown, f: (leaf: unknown) => Result.Result<unknown, string>): Result.Result<unknown, string> => {
    let failure: string | undefined
    const out = mapLeaves(value, (leaf) => {
      if (failure !== undefined) return leaf
      const mapped = f(leaf)
      if (Result.isFailure(mapped)) {
        failure = mapped.failure
        return leaf
      }
      return mapped.success
    })
    return failure === undefined ? Result.succeed(out) : Result.fail(failure)
  }

  /** `[value, label?]` as a Redacted. */
  const redactedOf = (plain: ReadonlyArray<unknown>): Redacted.Redacted<unknown> =>
    Redacted.make(plain[0], typeof plain[1] === "string" ? { label: plain[1] } : undefined)

  const sealEncoded = (encoded: unknown, typed: unknown): unknown => {
    if (Redacted.isRedacted(typed)) {
      if (encoded === undefined) return encoded
      return seal([Redacted.isRedacted(encoded) ? Redacted.value(encoded) : encoded])
    }
    if (Array.isArray(typed) && Array.isArray(encoded)) {
      let out: Array<unknown> | undefined
      typed.forEach((item, i) => {
        const sealed = sealEncoded(encoded[i], item)
        if (sealed !== encoded[i]) (out ??= encoded.slice())[i] = sealed
      })
      return out ?? encoded
    }
    if (isPlainObject(typed) && isPlainObject(encoded)) {
      let out: Record<string, unknown> | undefined
      for (const key of Object.keys(typed)) {
        if (!Object.hasOwn(encoded, key)) continue
        const sealed = sealEncoded(encoded[key], typed[key])
        if (sealed !== encoded[key]) (out ??= { ...encoded })[key] = sealed
      }
      return out ?? encoded
    }
    // An input given already typed (an app passing Redacted values in) is sealed where it holds them.
    return mapLeaves(encoded, (leaf) => (Redacted.isRedacted(leaf) ? seal([Redacted.value(leaf)]) : leaf))
  }

  return {
    keyId,
    sealEncoded,
    openEncoded: (encoded) => tryLeaves(encoded, (leaf) => (isEnvelope(leaf) ? Result.map(open(leaf), (plain) => plain[0]) : Result.succeed(leaf))),
    sealValue: (value, wrap) =>
      mapLeaves(value, (leaf) => {
        if (!Redacted.isRedacted(leaf)) return leaf
        const envelope = seal(leaf.label === undefined ? [Redacted.value(leaf)] : [Redacted.value(leaf), leaf.label])
        return wrap ? Redacted.make(envelope, leaf.label === undefined ? undefined : { label: leaf.label }) : envelope
      }),
    openValue: (value) =>
      tryLeaves(value, (leaf) => {
        if (isEnvelope(leaf)) return Result.map(open(leaf), redactedOf)
        if (Redacted.isRedacted(leaf)) {
          const inner = Redacted.value(leaf)
          if (isEnvelope(inner)) return Result.map(open(inner), redactedOf)
        }
        return Result.succeed(leaf)
      })
  }
}
