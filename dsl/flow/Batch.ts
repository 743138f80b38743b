/**
 * Batching: many single calls collected into one call of a batch tool, flushed by size, by time
 * or by priority, each caller handed its own typed result or error. Built on Effect's request
 * batching (`Request` / `RequestResolver`): callers anywhere in the run — parallel branches,
 * `forEach` items, DAG nodes — that ask while a batch is open join it.
 *
 * @example
 * ```ts
 * const score = yield* Flow.batch("scores", {
 *   tool: Ml.score_batch,
 *   args: (users) => ({ users }),
 *   result: (out, user) => {
 *     const hit = out.scores.find((s) => s.user === user)
 *     return hit === undefined ? undefined : Result.succeed(hit.score)
 *   },
 *   flush: { size: 50, after: "100 millis", priority: 10 }
 * })
 * const outcomes = yield* forEach("score users", users, (user) => step("score", score(user)), { concurrency: 20 })
 * ```
 * @module
 */
import { Duration, Effect, Exit, Request, RequestResolver, type Result, Schema } from "effect"
import type { NonEmptyArray } from "effect/Array"
import type { ContractSchema, ToolContract } from "../Contract.ts"
import { CallSites, type CallOptions, makeCallSites, type McpGateway } from "../ports/McpGateway.ts"
import type { McpflowToolError } from "../ToolError.ts"
import { interpreterOf } from "./internal/Interpreter.ts"
import { child, claim, CurrentScope } from "./RunScope.ts"

/**
 * The batch tool answered, but its answer holds nothing for this caller's item (the result
 * mapping returned `undefined`).
 *
 * @example
 * ```ts
 * new BatchItemMissing({ batch: "scores", tool: "ml.score_batch", index: 3, size: 10 }).message
 * // => "batch \"scores\": the answer of ml.score_batch has no result for item 4 of 10"
 * ```
 */
export class BatchItemMissing extends Schema.TaggedError<BatchItemMissing>()("BatchItemMissing", {
  batch: Schema.String,
  tool: Schema.String,
  index: Schema.Int,
  size: Schema.Int
}) {
  override get message(): string {
    return `batch ${JSON.stringify(this.batch)}: the answer of ${this.tool} has no result for item ${this.index + 1} of ${this.size}`
  }
}

/**
 * When a batch is sent: once it holds `size` items, once `after` has passed since its first
 * item, or at once when an item of priority `priority` or more joins it.
 *
 * @example
 * ```ts
 * const flush: BatchFlush = { size: 100, after: "10 seconds", priority: 10 }
 * ```
 */
export interface BatchFlush {
  /** The most items in one batch (default 100). */
  readonly size?: number | undefined
  /** How long a batch collects after its first item (default: until the callers of the moment have asked). */
  readonly after?: Duration.Input | undefined
  /** An item of this priority or more sends its batch at once (default: none does). */
  readonly priority?: number | undefined
}

/**
 * A batch: the batch tool, how items become its arguments, how its answer becomes each item's
 * result, when to flush, and the options of each batch call (timeout, policy).
 *
 * @example
 * ```ts
 * const options: BatchOptions<string, number, never, typeof In, typeof Out> = {
 *   tool: Ml.score_batch,
 *   args: (users) => ({ users }),
 *   result: (out, _user, index) => Result.succeed(out.scores[index]!.score)
 * }
 * ```
 */
export interface BatchOptions<I, A, E, In extends ContractSchema, Out extends ContractSchema> {
  readonly tool: ToolContract<In, Out>
  /** The batch tool's arguments for these items (in priority order, then arrival). */
  readonly args: (items: ReadonlyArray<I>) => In["Type"]
  /** The item at `index` of the batch: its value, its own error, or `undefined` (absent: {@link BatchItemMissing}). */
  readonly result: (output: Out["Type"], item: I, index: number) => Result.Result<A, E> | undefined
  readonly flush?: BatchFlush | undefined
  /** Options of each batch call (timeout, policy…). */
  readonly call?: CallOptions<Out["Type"]> | undefined
  /** One line for plans. */
  readonly description?: string | undefined
}

/**
 * Calls the batch for one item: the caller's own value or error. A failed batch call fails every
 * caller of that batch with its error.
 *
 * @example
 * ```ts
 * const value = yield* score("ana", { priority: 10 }) // sent at once, with whatever is waiting
 * ```
 */
export interface Batcher<I, A, E> {
  (item: I, options?: { readonly priority?: number | undefined }): Effect.Effect<A, E | McpflowToolError | BatchItemMissing, McpGateway>
  /** The batch's path in the run. */
  readonly path: string
}

interface Item<I, A, E> extends Request.Request<A, E | McpflowToolError | BatchItemMissing, McpGateway> {
  readonly item: I
  readonly priority: number
}

/**
 * The flush settings in words, for plans.
 *
 * @example
 * ```ts
 * flushText({ size: 50, after: "100 millis", priority: 10 }) // => "up to 50 items, after 100ms, at once for priority ≥ 10"
 * ```
 */
export const flushText = (flush: BatchFlush | undefined): string =>
  [
    `up to ${sizeOf(flush)} items`,
    flush?.after === undefined ? "when the waiting callers have asked" : `after ${Duration.format(Duration.fromInputUnsafe(flush.after))}`,
    ...(flush?.priority === undefined ? [] : [`at once for priority ≥ ${flush.priority}`])
  ].join(", ")

const sizeOf = (flush: BatchFlush | undefined): number => Math.max(1, Math.floor(flush?.size ?? 100))

/**
 * Opens the batch `name` in the current scope (a `batch` node in plans, with its tool and flush
 * settings) and returns its {@link Batcher}. Each flush is one call of `tool`, made as the
 * batch's own (its path, not a caller's step); callers usually wrap their call in a `step`, so
 * each item's result is journaled on its own.
 *
 * @example
 * ```ts
 * const notify = yield* Flow.batch("notify", {
 *   tool: Hub.send_many,
 *   args: (messages) => ({ messages }),
 *   result: (out, _m, i) => out.delivered[i] === true ? Result.succeed(true) : Result.fail(new NotDelivered({ index: i })),
 *   flush: { size: 20, after: "1 second", priority: 1 }
 * })
 * yield* step("page on-call", notify({ to: "oncall", text: "db down" }, { priority: 1 }))
 * ```
 */
export const batch = <I, A, E, In extends ContractSchema, Out extends ContractSchema>(
  name: string,
  options: BatchOptions<I, A, E, In, Out>
): Effect.Effect<Batcher<I, A, E>> =>
  CurrentScope.use((scope) =>
    // Outside a run there is no scope to name it in (and a batcher may be opened again).
    Effect.map(scope.run === undefined ? Effect.succeed(name) : claim(scope, name), (path) => {
      interpreterOf(scope).meet(path, "batch", {
        // Its tool shows on the node even when the sample data gives it no item to send.
        tools: [options.tool.name],
        description: `${options.tool.name}: ${flushText(options.flush)}${options.description === undefined ? "" : ` — ${options.description}`}`
      })
      const own = child(scope, path)
      const sites = makeCallSites(path)
      const size = sizeOf(options.flush)
      const urgent = options.flush?.priority
      const resolver = RequestResolver.makeWith<Item<I, A, E>>({
        batchKey: () => path,
        delay: options.flush?.after === undefined ? Effect.yieldNow : Effect.sleep(options.flush.after),
        collectWhile: (entries) => {
          if (entries.size >= size) return false
          if (urgent === undefined) return true
          for (const entry of entries) if (entry.request.priority >= urgent) return false
          return true
        },
        // The batch's own scope and call sites inside the caller's services (its gateway).
        runAll: (entries) => send(path, options, entries).pipe(
          Effect.provideService(CurrentScope, own),
          Effect.provideService(CallSites, sites),
          Effect.provideContext(entries[0].context)
        )
      })
      const make = Request.of<Item<I, A, E>>()
      const batcher = (item: I, call?: { readonly priority?: number | undefined }) =>
        Effect.request(make({ item, priority: call?.priority ?? 0 }), resolver)
      return Object.assign(batcher, { path }) as Batcher<I, A, E>
    })
  )

/** One flush: the batch call, then each entry completed with its own outcome. */
const send = <I, A, E, In extends ContractSchema, Out extends ContractSchema>(
  name: string,
  options: BatchOptions<I, A, E, In, Out>,
  unordered: NonEmptyArray<Request.Entry<Item<I, A, E>>>
): Effect.Effect<void, never, McpGateway> =>
  Effect.suspend(() => {
    // Higher priority first; the sort is stable, so arrival order otherwise.
    const entries = [...unordered].sort((a, b) => b.request.priority - a.request.priority)
    const items = entries.map((e) => e.request.item)
    return Effect.flatMap(Effect.exit(Effect.suspend(() => options.tool(options.args(items), options.call))), (exit) =>
      Effect.sync(() => {
        if (Exit.isFailure(exit)) {
          for (const entry of entries) entry.completeUnsafe(Exit.failCause(exit.cause))
          return
        }
        entries.forEach((entry, index) => {
          const outcome = options.result(exit.value, entry.request.item, index)
          entry.completeUnsafe(
            outcome === undefined
              ? Exit.fail(new BatchItemMissing({ batch: name, tool: options.tool.name, index, size: entries.length }))
              : outcome._tag === "Success"
              ? Exit.succeed(outcome.success)
              : Exit.fail(outcome.failure)
          )
        })
      }))
  })
