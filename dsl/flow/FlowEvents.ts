/**
 * What a flow run reports while it runs: one typed event per thing that happened, in order.
 *
 * The interpreter emits {@link FlowEvent}s into the {@link FlowEvents} reference of the fiber that
 * started the run; the run report (`src/app/run/`) renders them live, as plain lines or as JSON lines.
 * Events carry the step's `path` (`"deploy/staging"`), the run id and the time on the run's
 * `Clock`, so a TestClock run reports virtual time.
 *
 * @module
 */
import { Context } from "effect"
import type { GatewayEvent } from "../ports/McpGateway.ts"
import type { PolicyEvent } from "../policy/PolicyEvents.ts"

/**
 * What kind of node a path names: a plain step, a group of parallel branches (and each branch),
 * a DAG (and each node), a saga block, a batch (and each item), or a compensation.
 *
 * @example
 * ```ts
 * const k: StepKind = "branch"
 * ```
 */
export type StepKind =
  | "step"
  | "parallel"
  | "branch"
  | "dag"
  | "node"
  | "saga"
  | "forEach"
  | "item"
  | "when"
  | "handler"
  | "wait"
  | "gate"
  | "poll"
  | "batch"

/**
 * One thing that happened in a run. Every event has `runId` and `at` (epoch ms on the run's Clock).
 *
 * @example
 * ```ts
 * const e: FlowEvent = { _tag: "StepSucceeded", runId: "r1", at: 0, path: "build", kind: "step", durationMs: 120, replayed: false }
 * ```
 */
export type FlowEvent =
  | FlowEvent.FlowStarted
  | FlowEvent.FlowFinished
  | FlowEvent.StepStarted
  | FlowEvent.StepSucceeded
  | FlowEvent.StepFailed
  | FlowEvent.StepSkipped
  | FlowEvent.StepWaiting
  | FlowEvent.StepRetried
  | FlowEvent.CompensationStarted
  | FlowEvent.Compensated
  | FlowEvent.CompensationFailed
  | FlowEvent.Policy
  | FlowEvent.Gateway
  | FlowEvent.Published
  | FlowEvent.FaultFired

/**
 * The event shapes, one interface per `_tag`.
 *
 * @example
 * ```ts
 * const started: FlowEvent.StepStarted = { _tag: "StepStarted", runId: "r1", at: 0, path: "build", kind: "step" }
 * ```
 */
export declare namespace FlowEvent {
  interface Base {
    readonly runId: string
    readonly at: number
  }
  /** The run began; its input was decoded. */
  interface FlowStarted extends Base {
    readonly _tag: "FlowStarted"
    readonly flow: string
    readonly engine: string
    readonly sandbox?: boolean | undefined
    /** A resumed run: `inFlight` lists the steps the crash interrupted (they run again). */
    readonly resumed?: boolean | undefined
    readonly inFlight?: ReadonlyArray<string> | undefined
  }
  /** The run ended: `failure` carries the rendered cause and, when known, the failing step. */
  interface FlowFinished extends Base {
    readonly _tag: "FlowFinished"
    readonly flow: string
    readonly outcome: "success" | "failure" | "interrupted"
    readonly durationMs: number
    readonly failedStep?: string | undefined
    readonly error?: string | undefined
    readonly errorTag?: string | undefined
  }
  interface StepStarted extends Base {
    readonly _tag: "StepStarted"
    readonly path: string
    readonly kind: StepKind
    /** The step was in flight when the process running the run crashed: it runs again. */
    readonly rerunAfterCrash?: boolean | undefined
  }
  /** `replayed`: the journal already held this step's result, so its body did not run again. */
  interface StepSucceeded extends Base {
    readonly _tag: "StepSucceeded"
    readonly path: string
    readonly kind: StepKind
    readonly durationMs: number
    readonly replayed: boolean
    readonly attempts?: number | undefined
    /**
     * The step's value held sensitive (`Redacted`) values, journaled sealed with this key id
     * (`"-"`: dropped, no `MCPFLOW_JOURNAL_KEY` was set): a resume needs the same key.
     */
    readonly sealedWith?: string | undefined
  }
  interface StepFailed extends Base {
    readonly _tag: "StepFailed"
    readonly path: string
    readonly kind: StepKind
    readonly durationMs: number
    readonly error: string
    readonly errorTag?: string | undefined
    readonly interrupted: boolean
    readonly attempts?: number | undefined
  }
  /**
   * A durable wait parked the run: for the signal `signal` (`Flow.waitFor`) or until `until`
   * (`Flow.sleep`, epoch ms). The run continues when it arrives; the process may exit meanwhile.
   */
  interface StepWaiting extends Base {
    readonly _tag: "StepWaiting"
    readonly path: string
    readonly kind: StepKind
    readonly signal?: string | undefined
    readonly until?: number | undefined
    /** The shape of the signal's JSON payload (see `SignalCheck.ts`): what a sender is checked against. */
    readonly payloadSchema?: unknown
  }
  /** A step that did not run: its condition was false, or a node it needs did not succeed. */
  interface StepSkipped extends Base {
    readonly _tag: "StepSkipped"
    readonly path: string
    readonly kind: StepKind
    readonly why: string
  }
  /** The step's retry policy scheduled another attempt. */
  interface StepRetried extends Base {
    readonly _tag: "StepRetried"
    readonly path: string
    readonly attempt: number
    readonly delayMs: number
    readonly reason: string
  }
  interface CompensationStarted extends Base {
    readonly _tag: "CompensationStarted"
    readonly path: string
  }
  /** `replayed`: a resumed run found this compensation done in its journal; it did not run again. */
  interface Compensated extends Base {
    readonly _tag: "Compensated"
    readonly path: string
    readonly durationMs: number
    readonly replayed?: boolean | undefined
  }
  /** A compensation failed; the run's failure keeps both this and the original cause. */
  interface CompensationFailed extends Base {
    readonly _tag: "CompensationFailed"
    readonly path: string
    readonly error: string
  }
  /** A resilience policy inside a step did something (breaker opened, fallback used, …). */
  interface Policy extends Base {
    readonly _tag: "Policy"
    readonly path: string
    readonly event: PolicyEvent
  }
  /** The gateway reported progress or a server log line during a step's tool call. */
  interface Gateway extends Base {
    readonly _tag: "Gateway"
    readonly path: string
    readonly event: GatewayEvent
  }
  /**
   * A fault a chaos harness injected (`mcpflow run --chaos`) hit a tool call of the step at
   * `path`: its kind (`ToolError`, `LostResponse`, …), the `server.tool` it hit, that tool's call
   * number (1-based) and a short detail. `at` is when it fired.
   */
  interface FaultFired extends Base {
    readonly _tag: "FaultFired"
    readonly path: string
    readonly kind: string
    readonly server: string
    readonly tool: string
    readonly call: number
    readonly detail?: string | undefined
  }
  /** A typed event was published on a flow's event bus. */
  interface Published extends Base {
    readonly _tag: "Published"
    readonly path: string
    readonly topic: string
    readonly handlers: number
  }
}

/**
 * Where a run's events go: a no-op by default; the run report and tests provide their own.
 *
 * @example
 * ```ts
 * const seen: Array<FlowEvent> = []
 * Flow.run(myFlow, input).pipe(Effect.provideService(FlowEvents, { emit: (e) => seen.push(e) }))
 * ```
 */
export const FlowEvents = Context.Reference<{ readonly emit: (event: FlowEvent) => void }>(
  "mcpflow/dsl/flow/FlowEvents",
  { defaultValue: () => ({ emit: () => {} }) }
)

/**
 * A sink that keeps every event, for tests and embedding apps that render their own report.
 *
 * @example
 * ```ts
 * const sink = FlowEvents.collect()
 * yield* Flow.run(myFlow, input).pipe(Effect.provideService(FlowEvents, sink))
 * sink.events.filter((e) => e._tag === "StepFailed")
 * ```
 */
export const collect = (): { readonly emit: (event: FlowEvent) => void; readonly events: Array<FlowEvent> } => {
  const events: Array<FlowEvent> = []
  return { emit: (event) => events.push(event), events }
}
