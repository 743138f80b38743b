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
  Effect.sync(() => view(scope.run?.results.snapshot() ?? new Map()))
)

/** A result other than a success, as the log keeps it (a success is kept as its bare output). */
class NotSucceeded {
  constructor(readonly result: StepResult) {}
}

/**
 * Internal: a run's step results by path, in the order the steps ended. A success is kept as
 * its output alone (one map entry per step, no wrapper), so a long run keeps little per step.
 *
 * @internal
 * @example
 * ```ts
 * const log = new ResultLog()
 * log.succeeded("build", { image: "app:1" })
 * log.snapshot().get("build") // => { status: "succeeded", output: { image: "app:1" } }
 * ```
 */
export class ResultLog {
  private readonly byPath = new Map<string, unknown>()

  /** The step at `path` succeeded with `output`. */
  succeeded(path: string, output: unknown): void {
    this.byPath.set(path, output)
  }

  /** The step at `path` failed, or was skipped: its result. */
  ended(path: string, result: Exclude<StepResult, { readonly status: "succeeded" }>): void {
    this.byPath.set(path, new NotSucceeded(result))
  }

  /** How many steps have ended so far (a mark for {@link ResultLog.firstFailedSince}). */
  get size(): number {
    return this.byPath.size
  }

  /** The path of the first step that failed after the first `mark` results, if any. */
  firstFailedSince(mark: number): string | undefined {
    let i = 0
    for (const [path, kept] of this.byPath) {
      if (i++ >= mark && kept instanceof NotSucceeded && kept.result.status === "failed") return path
    }
    return undefined
  }

  /** Forgets every result (the engine plays the body again). */
  clear(): void {
    this.byPath.clear()
  }

  /** A copy of the results so far, in the order the steps ended. */
  snapshot(): Map<string, StepResult> {
    const out = new Map<string, StepResult>()
    for (const [path, kept] of this.byPath) {
      out.set(path, kept instanceof NotSucceeded ? kept.result : { status: "succeeded", output: kept })
    }
    return out
  }
}

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
