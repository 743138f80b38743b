/**
 * Trace sampling: the share of runs whose spans are exported, from `MCPFLOW_TRACE_SAMPLE`
 * (a number from 0 to 1; default 1, every run). The decision is taken once per run, on its root
 * span; every span under it (steps, tool calls) follows it, and the `traceparent` sent to
 * servers carries it (flags `01` sampled, `00` not).
 *
 * @module
 */
import { Result } from "effect"

/**
 * The sampling ratio of `MCPFLOW_TRACE_SAMPLE`: absent or empty is 1; anything but a number from
 * 0 to 1 fails with what was expected.
 *
 * @example
 * ```ts
 * sampleRate({ MCPFLOW_TRACE_SAMPLE: "0.25" }) // => Result.succeed(0.25)
 * sampleRate({})                               // => Result.succeed(1)
 * sampleRate({ MCPFLOW_TRACE_SAMPLE: "all" })  // => Result.fail("MCPFLOW_TRACE_SAMPLE: a number from 0 to 1, got \"all\"")
 * ```
 */
export const sampleRate = (env: Readonly<Record<string, string | undefined>>): Result.Result<number, string> => {
  const text = env["MCPFLOW_TRACE_SAMPLE"]?.trim()
  if (text === undefined || text === "") return Result.succeed(1)
  const n = Number(text)
  return Number.isFinite(n) && n >= 0 && n <= 1
    ? Result.succeed(n)
    : Result.fail(`MCPFLOW_TRACE_SAMPLE: a number from 0 to 1, got ${JSON.stringify(text)}`)
}

/**
 * Whether a new root span is sampled at `rate` (`random` defaults to `Math.random`).
 *
 * @example
 * ```ts
 * sampled(1)   // => true
 * sampled(0)   // => false
 * ```
 */
export const sampled = (rate: number, random: () => number = Math.random): boolean =>
  rate >= 1 ? true : rate <= 0 ? false : random() < rate
