/**
 * The engine that runs flows: an `effect/workflow` `WorkflowEngine` plus the registry that maps
 * each run to the services of the fiber that started it. Swap the layer to change engines:
 * {@link layerMemory} (tests, scripts, embedding; not durable) or a durable engine over the
 * same `WorkflowEngine` interface.
 *
 * @module
 */
import { createHash, type webcrypto } from "node:crypto"
import { Context, Effect, type Fiber, Layer, type Scope } from "effect"
import * as WebCrypto from "effect/crypto/WebCrypto"
import * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import { type PolicyRegistry, registry } from "../policy/Policy.ts"
import type { RunState } from "../flow/RunScope.ts"

/** What a run's body needs from the caller: its services and its shared state. */
export interface RunEntry {
  readonly context: Context.Context<never>
  readonly state: RunState
  /** The decoded input. */
  readonly input: unknown
  /** The fiber running the body (set when it starts), interrupted on Ctrl-C. */
  fiber?: Fiber.Fiber<unknown, unknown> | undefined
}

/**
 * The flow registry of one engine: which flows are registered (once each, for the engine's
 * lifetime) and the live runs' caller contexts, by execution id.
 *
 * @example
 * ```ts
 * const program = Flow.run(cicd, input).pipe(Effect.provide(FlowEngine.layerMemory))
 * ```
 */
export class FlowEngine extends Context.Service<FlowEngine, {
  /** A name for reports: `"memory"`, `"sqlite"`, … */
  readonly kind: string
  readonly scope: Scope.Scope
  readonly registered: Set<string>
  readonly runs: Map<string, RunEntry>
  /** Steps' stateful policy layers (breakers, bulkheads, …), shared by every run on this engine. */
  readonly policies: PolicyRegistry
}>()("mcpflow/dsl/flow/FlowEngine") {}

/**
 * A `FlowEngine` over the `WorkflowEngine` in context, named `kind`.
 *
 * @example
 * ```ts
 * const durable = FlowEngine.layer("sqlite").pipe(Layer.provideMerge(SqliteWorkflowEngine.layer({ filename })))
 * ```
 */
export const layer = (kind: string): Layer.Layer<FlowEngine, never, WorkflowEngine.WorkflowEngine> =>
  Layer.effect(FlowEngine)(
    Effect.gen(function*() {
      yield* WorkflowEngine.WorkflowEngine
      return FlowEngine.of({ kind, scope: yield* Effect.scope, registered: new Set(), runs: new Map(), policies: registry() })
    })
  )

/**
 * Flows on `effect/workflow`'s in-memory engine: steps are Activities, compensations run from
 * the workflow's finalizers, nothing survives the process. Works on the TestClock.
 *
 * @example
 * ```ts
 * yield* Flow.run(orderSaga, { sku: "A-1", qty: 2 }).pipe(Effect.provide(FlowEngine.layerMemory))
 * ```
 */
export const layerMemory: Layer.Layer<FlowEngine | WorkflowEngine.WorkflowEngine> = layer("memory").pipe(
  Layer.provideMerge(WorkflowEngine.layerMemory),
  Layer.merge(WebCrypto.layer(synchronousDigest()))
)

/**
 * `globalThis.crypto` with `subtle.digest` computed by `node:crypto` in the calling turn. The
 * workflow engine hashes every execution and activity id with WebCrypto, whose digest otherwise
 * resolves later on libuv's thread pool: real time that a virtual-time driver (the chaos
 * harness's `VirtualTime.run`, which waits for the program to go quiet between clock steps)
 * mistakes for a hang. Same SHA digests, no thread-pool round trip per step.
 */
function synchronousDigest(): Parameters<typeof WebCrypto.layer>[0] {
  const subtle = Object.create(globalThis.crypto.subtle, {
    digest: {
      value: (algorithm: webcrypto.AlgorithmIdentifier, data: webcrypto.BufferSource): Promise<ArrayBuffer> => {
        const name = (typeof algorithm === "string" ? algorithm : algorithm.name).replace("-", "").toLowerCase()
        const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)
        const digest = createHash(name).update(bytes).digest()
        return Promise.resolve(digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength) as ArrayBuffer)
      }
    }
  }) as webcrypto.SubtleCrypto
  return Object.create(globalThis.crypto, { subtle: { value: subtle } }) as Parameters<typeof WebCrypto.layer>[0]
}
