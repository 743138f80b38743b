/**
 * Internal: where a chaos worker finds the flow spec it runs (a module and the name of its export:
 * a `FlowSpec`, or a function of `args` returning one), and a run made portable between threads.
 *
 * @internal
 * @module
 */
import type * as FlowCheck from "../FlowCheck.ts"
import type * as RunSpec from "../RunSpec.ts"

/**
 * A module that exports the spec a worker runs.
 *
 * @example
 * ```ts
 * const source: SpecSource = { module: new URL("./chaosSpec.ts", import.meta.url).href, export: "spec" }
 * ```
 */
export interface SpecSource {
  /** A file URL or path (resolved against the working directory) of the module. */
  readonly module: string
  /**
   * The export: a `FlowSpec` (for `Chaos.checkFlow`) or a program's `Spec` (for `Chaos.check`), or
   * a function of `args` that returns one (or a promise of one). Default `"spec"`.
   */
  readonly export?: string | undefined
  /** Plain data given to an export that is a function. */
  readonly args?: unknown
}

/**
 * Loads the spec named by a {@link SpecSource}.
 *
 * @example
 * ```ts
 * const spec = await specOf({ module: "file:///…/bench/chaosSpec.ts" })
 * ```
 */
export const specOf = async (
  source: SpecSource
): Promise<FlowCheck.FlowSpec<never, never, unknown, never> | RunSpec.Spec<unknown, unknown>> => {
  const { pathToFileURL } = await import("node:url")
  const url = /^[a-z]+:/i.test(source.module) ? source.module : pathToFileURL(source.module).href
  const mod = (await import(url)) as Record<string, unknown>
  const value = mod[source.export ?? "spec"]
  const spec = typeof value === "function" ? await (value as (args: unknown) => unknown)(source.args) : value
  if (typeof spec !== "object" || spec === null || !("flow" in spec || "program" in spec)) {
    throw new Error(`chaos worker: ${source.module} exports no spec (with a flow or a program) as ${JSON.stringify(source.export ?? "spec")}`)
  }
  return spec as FlowCheck.FlowSpec<never, never, unknown, never> | RunSpec.Spec<unknown, unknown>
}

/**
 * A flow run as it crosses threads: everything but the servers' snapshots; the outcome keeps its
 * tag, and a failure its error's tags (what `outcomeKind` reads), not the error object itself.
 *
 * @example
 * ```ts
 * port.postMessage(portable(run))
 * ```
 */
export const portable = <R extends RunSpec.RunResult<unknown, unknown>>(run: R): R => {
  const o = run.outcome
  const outcome = o._tag === "Success"
    ? { _tag: "Success" as const, value: undefined }
    : o._tag === "Failure"
    ? { _tag: "Failure" as const, error: errorTags(o.error) }
    : o
  return { ...run, outcome, snapshots: {} }
}

const errorTags = (error: unknown): unknown => {
  const e = error as { readonly _tag?: unknown; readonly reason?: { readonly _tag?: unknown } } | undefined
  const tag = typeof e?._tag === "string" ? e._tag : undefined
  const reason = typeof e?.reason?._tag === "string" ? { _tag: e.reason._tag } : undefined
  return { ...(tag === undefined ? {} : { _tag: tag }), ...(reason === undefined ? {} : { reason }) }
}
