/**
 * Internal: `globalThis.crypto` with `subtle.digest` computed by `node:crypto` in the calling
 * turn, as a `WebCrypto` layer. `effect/workflow` hashes execution ids and idempotency keys (and
 * `effect/cluster`'s SQL storage long message keys) with WebCrypto, whose digest otherwise
 * resolves later on libuv's thread pool: real time, outside any fiber. A virtual-time driver (the
 * chaos harness's `VirtualTime.run`) cannot see it; worse, it lets the order of a run's fibers
 * depend on how busy the machine is (a resumed run's `execute` raced the runner's start-up, and
 * the run ended 130 virtual ms later when it lost). Same SHA digests, no thread-pool round trip.
 *
 * @internal
 * @module
 */
import { createHash, type webcrypto } from "node:crypto"
import { Layer } from "effect"
import * as Digest from "effect/crypto/Digest"
import * as WebCrypto from "effect/crypto/WebCrypto"

type Crypto = Parameters<typeof WebCrypto.layer>[0]

const synchronousCrypto = (): Crypto => {
  const subtle = Object.create(globalThis.crypto.subtle, {
    digest: {
      value: (algorithm: webcrypto.AlgorithmIdentifier, data: webcrypto.BufferSource): Promise<ArrayBuffer> => {
        const name = (typeof algorithm === "string" ? algorithm : algorithm.name).replace("-", "").toLowerCase()
        const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)
        const digest = createHash(name).update(bytes).digest()
        return Promise.resolve(digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength) as ArrayBuffer)
      }
    }
  }) as webcrypto.SubtleCrypto
  return Object.create(globalThis.crypto, { subtle: { value: subtle } }) as Crypto
}

/**
 * The `WebCrypto` reference with synchronous digests.
 *
 * @example
 * ```ts
 * FlowEngine.layer("sqlite").pipe(Layer.merge(SynchronousDigest.webCrypto))
 * ```
 */
export const webCrypto: Layer.Layer<never> = WebCrypto.layer(synchronousCrypto())

/**
 * `Digest` over {@link webCrypto}.
 *
 * @example
 * ```ts
 * SingleRunner.layer(options).pipe(Layer.provide(SynchronousDigest.digest))
 * ```
 */
export const digest: Layer.Layer<Digest.Digest> = Digest.layerWebCrypto.pipe(Layer.provide(webCrypto))
