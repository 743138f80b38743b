/**
 * The one flow loader of every command (`run`, `plan`, `resume`, `worker`, `chaos`): imports a
 * flow file (its `main` does not run, since the file is not the entry point), takes its default
 * export as the flow, and its exported `sandbox` — or the one it gave to `main` — as its
 * sandbox, and its `schedule` export (checked against the flow). For `mcpflow chaos`, {@link loadChaos} also finds the flow's chaos suite: the flow
 * file's `chaos` export, else the `chaos` export of its sibling `x.chaos.ts`; a suite file
 * (`x.chaos.ts`) may be named instead, its flow being its default export or the sibling `x.ts`.
 *
 * @example
 * ```ts
 * import { loadFlow } from "./LoadFlow.ts"
 * const { flow, sandbox } = yield* loadFlow("flows/cicd.ts")
 * ```
 * @module
 */
import { existsSync } from "node:fs"
import { pathToFileURL } from "node:url"
import { Effect, Schema } from "effect"
import * as FlowModule from "../../../dsl/flow/Flow.ts"
import type { AnyFlow, Flow } from "../../../dsl/flow/Flow.ts"
import { type CheckedSchedule, checkSchedule } from "../../../dsl/flow/FlowSchedule.ts"
import type { FlowSource, RunServices, Sandbox } from "./RunFlow.ts"
import { registered } from "./Registry.ts"

/**
 * A flow file could not be used: not found, it failed to load, or it has no flow as its
 * default export. A usage error (exit 2).
 *
 * @example
 * ```ts
 * new FlowFileError({ file: "flows/x.ts", detail: "its default export is not a flow (made with Flow.make)" }).message
 * // => "flows/x.ts: its default export is not a flow (made with Flow.make)"
 * ```
 */
export class FlowFileError extends Schema.TaggedError<FlowFileError>()("FlowFileError", {
  file: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.detail}`
  }
}

/**
 * A flow as loaded from a file: any input and output, run against the gateway.
 *
 * @example
 * ```ts
 * const loaded: LoadedFlow = { file: "flows/cicd.ts", flow, sandbox: cicdSandbox }
 * ```
 */
export interface LoadedFlow {
  readonly file: string
  readonly flow: Flow<Schema.Top, Schema.Top, unknown, RunServices>
  readonly sandbox: Sandbox | undefined
  /** Real servers the flow starts itself by default (see `FlowSource.local`). */
  readonly local?: FlowSource["local"]
  /** The file's `schedule` export, checked against the flow (`mcpflow serve` and `worker` run it). */
  readonly schedule?: CheckedSchedule | undefined
}

/**
 * Whether a value is a flow made with `Flow.make`.
 *
 * @example
 * ```ts
 * isFlow(cicd) // => true
 * isFlow({})   // => false
 * ```
 */
export const isFlow: (u: unknown) => u is AnyFlow = FlowModule.isFlow

/** A TypeScript flow file, which Node cannot load on its own (parameter properties, …). */
const typeScriptFile = /\.[cm]?ts$/

/**
 * When mcpflow itself runs from compiled JavaScript (`dist/`), tsx is registered the first time
 * a TypeScript flow file is loaded — not before, so `--help` and `--version` never load it.
 * Running from sources (this module is `.ts`), tsx is already there.
 */
let tsxRegistered = import.meta.url.endsWith(".ts")

const ensureTypeScript = async (file: string): Promise<void> => {
  if (tsxRegistered || !typeScriptFile.test(file)) return
  const { register } = await import("tsx/esm/api")
  register()
  tsxRegistered = true
}

const importModule = (file: string): Effect.Effect<Readonly<Record<string, unknown>>, FlowFileError> => {
  const url = pathToFileURL(file).href
  return Effect.tryPromise({
    try: () => ensureTypeScript(file).then(() => import(url) as Promise<Record<string, unknown>>),
    catch: (cause) => {
      const code = typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined
      return new FlowFileError({
        file,
        detail: code === "ERR_MODULE_NOT_FOUND" && String(cause).includes(url)
          ? "file not found"
          : `could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`
      })
    }
  })
}

const flowOf = (file: string, module: Readonly<Record<string, unknown>>): Effect.Effect<LoadedFlow, FlowFileError> => {
  const flow = module["default"]
  if (!isFlow(flow)) {
    return Effect.fail(new FlowFileError({ file, detail: "its default export is not a flow (`export default Flow.make({ … })`)" }))
  }
  const exported = module["sandbox"]
  const sandbox = Effect.isEffect(exported) ? (exported as Sandbox) : registered(flow)?.sandbox
  const loaded: LoadedFlow = { file, flow: flow as unknown as LoadedFlow["flow"], sandbox, local: registered(flow)?.local }
  // A schedule is checked when its file is loaded: a bad expression or input is this file's error.
  return module["schedule"] === undefined ? Effect.succeed(loaded) : checkSchedule(flow, module["schedule"]).pipe(
    Effect.map((schedule) => ({ ...loaded, schedule })),
    Effect.mapError((e) => new FlowFileError({ file, detail: e.message }))
  )
}

/**
 * Imports `file` (relative to the working directory) and returns its flow and sandbox.
 *
 * @example
 * ```ts
 * const { flow } = yield* loadFlow("flows/cicd.ts")
 * ```
 */
export const loadFlow = (file: string): Effect.Effect<LoadedFlow, FlowFileError> =>
  Effect.flatMap(importModule(file), (module) => flowOf(file, module))

const suitePattern = /\.chaos(\.[cm]?[jt]s)$/
const scriptPattern = /(\.[cm]?[jt]s)$/

/**
 * A flow with its chaos suite, as `mcpflow chaos` loads it. `suite` is the `chaos` export as
 * found (`undefined` when there is none); the chaos kit checks its shape.
 *
 * @example
 * ```ts
 * const loaded: LoadedChaos = { file: "flows/cicd.ts", flow, sandbox, suite: cicdChaos, suiteFile: "flows/cicd.chaos.ts" }
 * ```
 */
export interface LoadedChaos extends LoadedFlow {
  readonly suite: unknown
  /** Where the suite came from (the flow file itself or its sibling `x.chaos.ts`). */
  readonly suiteFile: string | undefined
}

/**
 * Loads a flow and its chaos suite from a flow file (`flows/cicd.ts`: its `chaos` export, else
 * the `chaos` export of `flows/cicd.chaos.ts` when that file exists) or from a suite file
 * (`flows/cicd.chaos.ts`: its `chaos` export; the flow is its default export, else the default
 * export of `flows/cicd.ts`).
 *
 * @example
 * ```ts
 * const { flow, suite } = yield* loadChaos("flows/cicd.chaos.ts")
 * ```
 */
export const loadChaos = (file: string): Effect.Effect<LoadedChaos, FlowFileError> =>
  Effect.gen(function*() {
    if (suitePattern.test(file)) {
      const module = yield* importModule(file)
      if (module["chaos"] === undefined) {
        return yield* new FlowFileError({ file, detail: "a chaos suite file must export `chaos` (a ChaosSuite)" })
      }
      const flowFile = file.replace(suitePattern, "$1")
      const loaded = isFlow(module["default"])
        ? yield* flowOf(file, module)
        : yield* loadFlow(flowFile).pipe(
          Effect.mapError((error) =>
            new FlowFileError({ file, detail: `its default export is not a flow, and its flow file ${flowFile}: ${error.detail}` })
          )
        )
      return { ...loaded, suite: module["chaos"], suiteFile: file }
    }
    const module = yield* importModule(file)
    const loaded = yield* flowOf(file, module)
    if (module["chaos"] !== undefined) return { ...loaded, suite: module["chaos"], suiteFile: file }
    const sibling = file.replace(scriptPattern, ".chaos$1")
    if (sibling === file || !existsSync(sibling)) return { ...loaded, suite: undefined, suiteFile: undefined }
    const suiteModule = yield* importModule(sibling)
    return { ...loaded, suite: suiteModule["chaos"], suiteFile: suiteModule["chaos"] === undefined ? undefined : sibling }
  })
