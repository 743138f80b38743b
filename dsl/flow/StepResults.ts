/**
 * A run's step results so far: each step that completed (its output), failed (its error) or was
 * skipped (why), and each gate that was passed or closed, by path. What a failure hook reads
 * instead of re-recording what the run already knows.
 *
 * @module
 */
import { Effect, type Schema } from "effect"
import { CurrentScope } from "./RunScope.ts"

/**
 * One step's result.
 *
 * @example
 * ```ts
 * const r: StepResult = { status: "failed", error: "connection refused" }
 * ```
 */
export type StepResult =
  | { readonly status: "succeeded"; readonly output: unknown }
  | { readonly status: "failed"; readonly error: string }
  | { readonly status: "skipped"; readonly why: string }

/**
 * The results of a run's steps, by path, in the order they ended.
 *
 * @example
 * ```ts
 * const results = yield* Flow.results
 * results.get("checks/image/build")?.status // => "succeeded"
 * ```
 */
export interface StepResults {
  /** The result of the step (or gate, or skipped group) at `path`. */
  readonly get: (path: string) => StepResult | undefined
  /** Every result, in the order the steps ended. */
  readonly entries: ReadonlyArray<readonly [path: string, result: StepResult]>
  /** The results as JSON (for an alert or a report): `{ [path]: { status, output | error | why } }`. */
  readonly toJson: () => Schema.JsonObject
}

/**
 * The current run's step results so far (empty outside a run).
 *
 * @example
 * ```ts
 * const failed = (yield* Flow.results).entries.filter(([, r]) => r.status === "failed")
 * ```
 */
export const results: Effect.Effect<StepResults> = CurrentScope.use((scope) =>
  Effect.sync(() => view(new Map(scope.run?.results ?? [])))
)

/**
 * A read-only view of a snapshot of a run's results.
 *
 * @internal
 * @example
 * ```ts
 * view(new Map([["build", { status: "succeeded", output: { image: "app:1" } }]])).get("build")?.status // => "succeeded"
 * ```
 */
export const view = (snapshot: ReadonlyMap<string, StepResult>): StepResults => ({
  get: (path) => snapshot.get(path),
  entries: [...snapshot.entries()],
  toJson: () => Object.fromEntries([...snapshot].map(([path, result]) => [path, toJson(result)]))
})

const toJson = (result: StepResult): Schema.Json => {
  try {
    return JSON.parse(JSON.stringify(result) ?? "null") as Schema.Json
  } catch {
    return { status: result.status }
  }
}
