/**
 * Named parallel branches with a concurrency limit, fail-fast or settle-all.
 *
 * @module
 */
import { Effect, type Result } from "effect"
import { group, runGroup } from "./Group.ts"
import { interpreterOf } from "./internal/Interpreter.ts"
import { claim } from "./RunScope.ts"

/**
 * How a parallel block ends when a branch fails:
 * - `"fail-fast"`: the block fails with the first failure and the other branches are
 *   interrupted (their in-flight MCP calls are cancelled on their servers);
 * - `"settle"`: every branch runs to its end and the block returns each branch's `Result`
 *   (like `asyncio.gather(..., return_exceptions=True)`).
 *
 * @example
 * ```ts
 * const mode: ParallelMode = "settle"
 * ```
 */
export type ParallelMode = "fail-fast" | "settle"

/**
 * Options of {@link parallel}.
 *
 * @example
 * ```ts
 * const options: ParallelOptions<"settle"> = { mode: "settle", concurrency: 2 }
 * ```
 */
export interface ParallelOptions<M extends ParallelMode> {
  readonly mode?: M | undefined
  /** At most this many branches at once (default: all). */
  readonly concurrency?: number | undefined
  readonly description?: string | undefined
}

type Branches = Record<string, Effect.Effect<unknown, unknown, unknown>>
type Success<T> = Effect.Success<T>
type Failure<T> = Effect.Error<T>
type Services<T> = Effect.Services<T>

/**
 * The value of a parallel block: each branch's value (fail-fast) or each branch's `Result`
 * (settle).
 *
 * @example
 * ```ts
 * type Scans = ParallelResult<{ lint: Effect.Effect<number>; audit: Effect.Effect<string, Error> }, "settle">
 * // { lint: Result<number, never>; audit: Result<string, Error> }
 * ```
 */
export type ParallelResult<B extends Branches, M extends ParallelMode> = M extends "settle"
  ? { -readonly [K in keyof B]: Result.Result<Success<B[K]>, Failure<B[K]>> }
  : { -readonly [K in keyof B]: Success<B[K]> }

/**
 * Runs named branches in parallel, each in its own scope (`name/branch`), reported as a group.
 *
 * @example
 * ```ts
 * const scans = yield* parallel("scans", {
 *   quality: step("code quality", Scanner.code_quality({ path: "." })),
 *   security: step("security", Scanner.security_scan({ target: "." }))
 * }, { mode: "settle" })
 * if (Result.isFailure(scans.security)) yield* step("alert", Hub.send_alert({ message: "scan failed", severity: "high" }))
 * ```
 */
export const parallel = <const B extends Branches, M extends ParallelMode = "fail-fast">(
  name: string,
  branches: B,
  options?: ParallelOptions<M>
): Effect.Effect<
  ParallelResult<B, M>,
  M extends "settle" ? never : Failure<B[keyof B]>,
  Services<B[keyof B]>
> =>
  group(name, "parallel", (_path, scope) =>
    Effect.gen(function*() {
      const keys = Object.keys(branches)
      const paths: Array<string> = []
      for (const key of keys) paths.push(yield* claim(scope, key))
      const settle = options?.mode === "settle"
      const runs = keys.map((key, i) => {
        const branch = runGroup(scope, paths[i]!, "branch", () => branches[key]!)
        return settle ? Effect.result(branch) : branch
      })
      const values = yield* interpreterOf(scope).branches(runs, { concurrency: options?.concurrency ?? "unbounded" })
      const out: Record<string, unknown> = {}
      keys.forEach((key, i) => {
        out[key] = values[i]
      })
      return out
    }), { description: options?.description }) as never
