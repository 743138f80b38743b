/**
 * Batches: run a body for each item, in batches of a size and with a concurrency limit, each
 * item in its own scope (`name/[key]`), reporting per-item outcomes.
 *
 * @module
 */
import { Effect, Result } from "effect"
import { group, runGroup } from "./Group.ts"
import { claim } from "./RunScope.ts"

/**
 * Options of {@link forEach}.
 *
 * @example
 * ```ts
 * const options: ForEachOptions<{ id: string }> = { batchSize: 10, concurrency: 3, key: (item) => item.id }
 * ```
 */
export interface ForEachOptions<I> {
  /** Items per batch; batches run one after the other (default: all items in one batch). */
  readonly batchSize?: number | undefined
  /** Items at once within a batch (default 1). */
  readonly concurrency?: number | undefined
  /** A stable, unique key per item for its scope name (default: its index). */
  readonly key?: ((item: I, index: number) => string) | undefined
  readonly description?: string | undefined
}

/**
 * Each item's outcome, in input order.
 *
 * @example
 * ```ts
 * const o: ItemOutcome<string, number, Error> = { key: "0", item: "a", result: Result.succeed(1) }
 * ```
 */
export interface ItemOutcome<I, A, E> {
  readonly key: string
  readonly item: I
  readonly result: Result.Result<A, E>
}

/**
 * Runs `body` for every item and settles: a failed item does not stop the others; the result
 * lists every item's outcome (use `Result.isFailure` to find the failed ones).
 *
 * @example
 * ```ts
 * const outcomes = yield* forEach("notify teams", teams, (team) =>
 *   step("send", Hub.send_message({ channel: team.channel, text })), { batchSize: 10, concurrency: 3, key: (t) => t.name })
 * const failed = outcomes.filter((o) => Result.isFailure(o.result))
 * ```
 */
export const forEach = <I, A, E, R>(
  name: string,
  items: Iterable<I>,
  body: (item: I, index: number) => Effect.Effect<A, E, R>,
  options?: ForEachOptions<I>
): Effect.Effect<Array<ItemOutcome<I, A, E>>, never, R> =>
  group(name, "forEach", (_path, scope) =>
    Effect.gen(function*() {
      const list = Array.from(items)
      const keyOf = options?.key ?? ((_: I, i: number) => String(i))
      const paths: Array<string> = []
      for (let i = 0; i < list.length; i++) paths.push(yield* claim(scope, `[${keyOf(list[i]!, i)}]`))
      const size = Math.max(1, options?.batchSize ?? Math.max(1, list.length))
      const concurrency = Math.max(1, options?.concurrency ?? 1)
      const outcomes: Array<ItemOutcome<I, A, E>> = []
      for (let start = 0; start < list.length; start += size) {
        const batch = list.slice(start, start + size).map((item, j) => ({ item, index: start + j }))
        const results = yield* Effect.forEach(
          batch,
          ({ index, item }) => Effect.result(runGroup(scope, paths[index]!, "item", () => body(item, index))),
          { concurrency }
        )
        results.forEach((result, j) => {
          const { index, item } = batch[j]!
          outcomes.push({ key: keyOf(item, index), item, result })
        })
      }
      return outcomes
    }), { description: options?.description })
