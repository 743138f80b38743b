/**
 * A flow's definition: a named, typed Effect program made of steps, with an input and an output
 * Schema, and the workflow the engine runs it as.
 *
 * @module
 */
import { type Effect, Schema } from "effect"
import * as Workflow from "effect/workflow/Workflow"
import { createHash } from "node:crypto"
import type { ContractInfo } from "../Contract.ts"
import { StepFailure, StepValue } from "./JournalSchemas.ts"

const TypeId = "~mcpflow/Flow"

/**
 * A flow definition. `run` is the body: plain Effect code over steps, parallel blocks, DAGs,
 * sagas and tool contracts. `uses` lists the tool contracts (or whole servers) the flow may call,
 * for plans and reviews.
 *
 * @example
 * ```ts
 * declare const cicd: Flow<typeof Input, typeof Output, McpflowToolError, McpGateway>
 * cicd.name // => "cicd"
 * ```
 */
export interface Flow<I extends Schema.Top, O extends Schema.Top, E, R> {
  readonly [TypeId]: typeof TypeId
  readonly name: string
  readonly description?: string | undefined
  readonly input: I
  readonly output: O
  readonly uses: ReadonlyArray<ContractInfo>
  readonly run: (input: I["Type"]) => Effect.Effect<O["Type"], E, R>
  /** @internal the workflow the engine runs */
  readonly workflow: FlowWorkflow
}

/**
 * A flow of any type, for lists and registries.
 *
 * @example
 * ```ts
 * const flows: ReadonlyArray<AnyFlow> = [cicd, orderSaga]
 * ```
 */
export interface AnyFlow {
  readonly [TypeId]: typeof TypeId
  readonly name: string
  readonly description?: string | undefined
  readonly input: Schema.Top
  readonly output: Schema.Top
  readonly uses: ReadonlyArray<ContractInfo>
  readonly workflow: FlowWorkflow
}

const Payload = Schema.Struct({ runId: Schema.String, input: Schema.Unknown })

/** @internal the workflow a flow runs as */
export type FlowWorkflow = Workflow.Workflow<string, typeof Payload, typeof StepValue, typeof StepFailure>

/**
 * Defines a flow.
 *
 * @example
 * ```ts
 * const deploy = Flow.make({
 *   name: "deploy",
 *   input: Schema.Struct({ service: Schema.String, version: Schema.String }),
 *   output: Schema.Struct({ url: Schema.String }),
 *   uses: [Kubernetes],
 *   run: ({ service, version }) => Effect.gen(function*() {
 *     yield* step("apply", Kubernetes.kubectl_apply({ manifest_path: `k8s/${service}`, namespace: "staging" }))
 *     return { url: `https://${service}.staging.example` }
 *   })
 * })
 * ```
 */
export const make = <I extends Schema.Top, O extends Schema.Top, E, R>(options: {
  readonly name: string
  readonly description?: string | undefined
  readonly input: I
  readonly output: O
  readonly uses?: ReadonlyArray<ContractInfo | Readonly<Record<string, ContractInfo>>> | undefined
  readonly run: (input: I["Type"]) => Effect.Effect<O["Type"], E, R>
}): Flow<I, O, E, R> => {
  const uses: Array<ContractInfo> = []
  for (const u of options.uses ?? []) {
    if (isContractInfo(u)) uses.push(u)
    else for (const c of Object.values(u)) if (isContractInfo(c)) uses.push(c)
  }
  return {
    [TypeId]: TypeId,
    name: options.name,
    description: options.description,
    input: options.input,
    output: options.output,
    uses,
    run: options.run,
    workflow: Workflow.make(`mcpflow/${options.name}`, {
      payload: Payload,
      success: StepValue,
      error: StepFailure,
      idempotencyKey: (p) => p.runId
    }) as FlowWorkflow
  }
}

/**
 * Whether a value is a flow made with {@link make}.
 *
 * @example
 * ```ts
 * Flow.isFlow(cicd) // => true
 * Flow.isFlow({})   // => false
 * ```
 */
export const isFlow = (u: unknown): u is AnyFlow =>
  typeof u === "object" && u !== null && (u as Record<string, unknown>)[TypeId] === TypeId &&
  typeof (u as { run?: unknown }).run === "function"

const isContractInfo = (u: unknown): u is ContractInfo =>
  typeof u === "object" && u !== null || typeof u === "function"
    ? typeof (u as { name?: unknown }).name === "string" && typeof (u as { server?: unknown }).server === "string" &&
      typeof (u as { tool?: unknown }).tool === "string"
    : false

/**
 * A hash of the flow's code and Schemas, recorded with each journaled run: a resume compares it
 * to tell whether the flow changed since the run started.
 *
 * @internal
 * @example
 * ```ts
 * fingerprint(cicd) // => "3f1c9a0b2d4e5f60"
 * ```
 */
export const fingerprint = (flow: AnyFlow & { readonly run: Function }): string =>
  createHash("sha256").update(flow.name).update(String(flow.run)).digest("hex").slice(0, 16)
