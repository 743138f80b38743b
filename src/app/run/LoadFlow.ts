/**
 * Loads a flow file for `mcpflow run` and `mcpflow plan`: imports it (its `main` does not run,
 * since the file is not the entry point), takes its default export as the flow, and its
 * exported `sandbox` — or the one it gave to `main` — as its sandbox.
 *
 * @example
 * ```ts
 * import { loadFlow } from "./LoadFlow.ts"
 * const { flow, sandbox } = yield* loadFlow("flows/cicd.ts")
 * ```
 * @module
 */
import { Effect, Schema } from "effect"
import * as FlowModule from "../../../dsl/flow/Flow.ts"
import type { AnyFlow, Flow } from "../../../dsl/flow/Flow.ts"
import type { FlowSource, RunServices, Sandbox } from "./RunFlow.ts"
import { registered } from "./Registry.ts"
import { fileUrl, importFile } from "../internal/ImportFile.ts"

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

/**
 * Imports `file` (relative to the working directory) and returns its flow and sandbox.
 *
 * @example
 * ```ts
 * const { flow } = yield* loadFlow("flows/cicd.ts")
 * ```
 */
export const loadFlow = (file: string): Effect.Effect<LoadedFlow, FlowFileError> =>
  Effect.gen(function*() {
    const url = fileUrl(file)
    const module = yield* Effect.tryPromise({
      try: () => importFile(file),
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
    const flow = module["default"]
    if (!isFlow(flow)) {
      return yield* new FlowFileError({ file, detail: "its default export is not a flow (`export default Flow.make({ … })`)" })
    }
    const exported = module["sandbox"]
    const sandbox = Effect.isEffect(exported) ? (exported as Sandbox) : registered(flow)?.sandbox
    return { file, flow: flow as unknown as LoadedFlow["flow"], sandbox, local: registered(flow)?.local }
  })
