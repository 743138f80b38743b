/**
 * A small keyed PRNG for fault decisions: every draw is a pure function of
 * `(seed, key parts)`, e.g. `(seed, fault index, server, tool, call index, salt)`. Decisions do
 * not depend on the order in which calls of different tools interleave, only on each tool's own
 * call count, so the same seed, plan and program give the same faults.
 *
 * @example
 * ```ts
 * import { Prng } from "mcpflow/chaos"
 * Prng.uniform(42, 0, "payment", "charge", 3) // => a number in [0, 1), the same every time
 * ```
 * @module
 */

const fnv1a = (text: string, hash: number): number => {
  let h = hash
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** murmur3's 32-bit finalizer: spreads every input bit over the output. */
const fmix = (input: number): number => {
  let h = input
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * An unsigned 32-bit hash of a seed and key parts.
 *
 * @example
 * ```ts
 * Prng.hash(1, "docker", "build", 0) === Prng.hash(1, "docker", "build", 0) // => true
 * ```
 */
export const hash = (seed: number, ...parts: ReadonlyArray<string | number>): number => {
  let h = fmix((seed >>> 0) ^ 0x9e3779b9)
  for (const part of parts) h = fmix(fnv1a(`${typeof part === "number" ? "#" : "$"}${part}|`, h))
  return h
}

/**
 * A uniform draw in `[0, 1)` keyed by a seed and key parts.
 *
 * @example
 * ```ts
 * Prng.uniform(7, "inventory", "reserve", 0) < 0.2 // does call 0 of inventory.reserve fire a 20 % fault?
 * ```
 */
export const uniform = (seed: number, ...parts: ReadonlyArray<string | number>): number => hash(seed, ...parts) / 4294967296

/**
 * A standard normal draw (Box–Muller over two keyed uniforms).
 *
 * @example
 * ```ts
 * const z = Prng.normal(7, "latency", 3) // mean 0, standard deviation 1
 * ```
 */
export const normal = (seed: number, ...parts: ReadonlyArray<string | number>): number => {
  const u1 = Math.max(uniform(seed, ...parts, "n1"), 1e-12)
  const u2 = uniform(seed, ...parts, "n2")
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
}
