/**
 * The errors a flow adds to its own: bad input, output that does not fit its Schema, a
 * definition mistake (duplicate step names, a DAG cycle), and compensations that failed.
 *
 * A flow's run fails with the flow's own typed error `E` (whatever its steps fail with) or with a
 * {@link FlowError}. The CLI maps `InvalidInput` and `Definition` to exit 2, the rest to exit 1.
 *
 * @module
 */
import { Schema } from "effect"

/**
 * One problem with a flow's input: where (a dotted path, empty at the root) and what.
 *
 * @example
 * ```ts
 * const issue: InputIssue = { path: "service.replicas", issue: "Expected number, got \"3\"" }
 * ```
 */
export const InputIssue = Schema.Struct({ path: Schema.String, issue: Schema.String })

/**
 * One problem with a flow's input (see {@link InputIssue}).
 *
 * @example
 * ```ts
 * const issue: InputIssue = { path: "", issue: "Missing key" }
 * ```
 */
export type InputIssue = typeof InputIssue.Type

const inputIssueText = (i: InputIssue): string => `${i.path === "" ? "" : `at ${i.path}: `}${i.issue}`

/**
 * The flow's input did not decode against its input Schema; nothing ran. `path` and `issue`
 * are the first problem; `issues` lists every one (the first included), and the message names
 * them all.
 *
 * @example
 * ```ts
 * new InvalidFlowInput({ path: "environment", issue: "Expected \"staging\" | \"production\", got \"prod\"" }).message
 * // => 'invalid input at environment: Expected "staging" | "production", got "prod"'
 * new InvalidFlowInput({ path: "a", issue: "Missing key", issues: [{ path: "a", issue: "Missing key" }, { path: "b", issue: "Missing key" }] }).message
 * // => "invalid input (2 problems): at a: Missing key; at b: Missing key"
 * ```
 */
export class InvalidFlowInput extends Schema.TaggedClass<InvalidFlowInput>()("InvalidFlowInput", {
  path: Schema.String,
  issue: Schema.String,
  issues: Schema.optional(Schema.Array(InputIssue))
}) {
  /** Every problem, the first one first (just `path`/`issue` when `issues` was not given). */
  get all(): ReadonlyArray<InputIssue> {
    return this.issues !== undefined && this.issues.length > 0 ? this.issues : [{ path: this.path, issue: this.issue }]
  }
  get message(): string {
    const all = this.all
    return all.length === 1
      ? `invalid input${this.path === "" ? "" : ` at ${this.path}`}: ${this.issue}`
      : `invalid input (${all.length} problems): ${all.map(inputIssueText).join("; ")}`
  }
}

/**
 * The flow's result did not encode against its output Schema (every step ran).
 *
 * @example
 * ```ts
 * new InvalidFlowOutput({ path: "url", issue: "Expected string, got undefined" }).message
 * ```
 */
export class InvalidFlowOutput extends Schema.TaggedClass<InvalidFlowOutput>()("InvalidFlowOutput", {
  path: Schema.String,
  issue: Schema.String
}) {
  get message(): string {
    return `the flow's result does not fit its output schema${this.path === "" ? "" : ` at ${this.path}`}: ${this.issue}`
  }
}

/**
 * The flow is not well defined: two steps with one name in a scope, a DAG with a cycle or a
 * missing dependency, a step name with a `/`. Found before the offending part runs.
 *
 * @example
 * ```ts
 * new FlowDefinition({ detail: "duplicate step name \"build\" in \"pipeline\"" }).message
 * ```
 */
export class FlowDefinition extends Schema.TaggedClass<FlowDefinition>()("FlowDefinition", {
  detail: Schema.String
}) {
  get message(): string {
    return `flow definition error: ${this.detail}`
  }
}

/**
 * One or more compensations failed while undoing a failed run. `original` is the failure that
 * started the rollback; nothing is swallowed.
 *
 * @example
 * ```ts
 * new CompensationsFailed({ original: "charge: card declined", failures: [{ step: "reserve", error: "inventory down" }] }).message
 * ```
 */
export class CompensationsFailed extends Schema.TaggedClass<CompensationsFailed>()("CompensationsFailed", {
  original: Schema.String,
  failures: Schema.Array(Schema.Struct({ step: Schema.String, error: Schema.String }))
}) {
  get message(): string {
    const list = this.failures.map((f) => `${f.step} (${f.error})`).join(", ")
    return `${this.original}; then ${this.failures.length} compensation(s) failed: ${list}`
  }
}

/**
 * A run cannot be resumed: it does not exist, it already finished, or the flow's structure
 * changed since it started (resume with `force` to accept that).
 *
 * @example
 * ```ts
 * new NotResumable({ runId: "r1", detail: "it already succeeded" }).message
 * ```
 */
export class NotResumable extends Schema.TaggedClass<NotResumable>()("NotResumable", {
  runId: Schema.String,
  detail: Schema.String
}) {
  get message(): string {
    return `run ${this.runId} cannot be resumed: ${this.detail}`
  }
}

/**
 * Why a flow failed on its own account (its steps' typed errors pass through unchanged).
 *
 * @example
 * ```ts
 * const r: FlowErrorReason = new FlowDefinition({ detail: "cycle a → b → a" })
 * ```
 */
export type FlowErrorReason = InvalidFlowInput | InvalidFlowOutput | FlowDefinition | CompensationsFailed | NotResumable

/**
 * The flow's own error: `flow` names the flow, `reason` says what went wrong.
 *
 * @example
 * ```ts
 * const e = new FlowError({ flow: "cicd", reason: new InvalidFlowInput({ path: "service", issue: "Missing key" }) })
 * e.message // => "cicd: invalid input at service: Missing key"
 * ```
 */
export class FlowError extends Schema.TaggedError<FlowError>()("FlowError", {
  flow: Schema.String,
  reason: Schema.Union([InvalidFlowInput, InvalidFlowOutput, FlowDefinition, CompensationsFailed, NotResumable])
}) {
  override get message(): string {
    return `${this.flow}: ${this.reason.message}`
  }
}
