/**
 * Signals are checked at the door. When a run starts waiting for a signal it records the shape
 * of the signal's JSON payload (the Schema's representation, `effect/SchemaRepresentation`) in
 * its `StepWaiting` event; whoever delivers the signal — `Flow.sendSignal` in this process or
 * another, `mcpflow signal`, `mcpflow serve` — checks the payload against that shape first and
 * refuses a mismatch with the issue's path, instead of recording it and letting the waiting run
 * die on a `SchemaError`.
 *
 * @module
 */
import { Result, Schema, SchemaRepresentation } from "effect"
import { nearMiss } from "../internal/Typos.ts"
import { firstIssue } from "../SchemaIssues.ts"
import type { FlowEvent } from "./FlowEvents.ts"

/**
 * A signal payload that does not fit the Schema of the signal the run waits for. Nothing was
 * delivered or recorded; the run still waits.
 *
 * @example
 * ```ts
 * new SignalRejected({ signal: "approval", path: "approvedBy", issue: "Expected string, got 42" }).message
 * // => "signal approval: approvedBy: Expected string, got 42"
 * ```
 */
export class SignalRejected extends Schema.TaggedError<SignalRejected>()("SignalRejected", {
  signal: Schema.String,
  /** Dotted path of the first issue in the payload (empty at the root). */
  path: Schema.String,
  issue: Schema.String
}) {
  override get message(): string {
    return `signal ${this.signal}: ${this.path === "" ? "" : `${this.path}: `}${this.issue}`
  }
}

/**
 * The recordable shape of a signal payload Schema: the representation (as JSON) of the JSON
 * form the signal travels in. Undefined when the Schema has no representation (a custom
 * declaration): such a signal is not checked at the door.
 *
 * @example
 * ```ts
 * payloadShape(Schema.Struct({ approvedBy: Schema.String })) // => { representation: { _tag: "Objects", … }, references: {} }
 * ```
 */
export const payloadShape = (payload: Schema.Top): unknown => {
  try {
    return SchemaRepresentation.toJson(SchemaRepresentation.toRepresentation(Schema.toCodecJson(payload).ast))
  } catch {
    return undefined
  }
}

/**
 * The payload shape the run recorded when it last started waiting for `signal` (undefined: it
 * has not waited for it yet, or recorded none).
 *
 * @example
 * ```ts
 * recordedShape(yield* journal.events(runId), "approval")
 * ```
 */
export const recordedShape = (events: ReadonlyArray<FlowEvent>, signal: string): unknown => {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!
    if (e._tag === "StepWaiting" && e.signal === signal && e.payloadSchema !== undefined) return e.payloadSchema
  }
  return undefined
}

const revivers: ReadonlyArray<SchemaRepresentation.AnyReviver> = Object.entries(SchemaRepresentation)
  .filter(([name, value]) => name.endsWith("Reviver") && typeof value === "object" && value !== null)
  .map(([, value]) => value as SchemaRepresentation.AnyReviver)

const revived = new Map<string, Schema.Top | undefined>()

/** The Schema a recorded shape stands for (cached by its JSON text); undefined if it cannot be revived. */
const reviveShape = (shape: unknown): Schema.Top | undefined => {
  const key = JSON.stringify(shape)
  if (revived.has(key)) return revived.get(key)
  let schema: Schema.Top | undefined
  try {
    schema = SchemaRepresentation.fromRepresentation(SchemaRepresentation.fromJson(shape as Schema.Json), { revivers })
  } catch {
    schema = undefined
  }
  if (revived.size > 500) revived.clear()
  revived.set(key, schema)
  return schema
}

/**
 * Checks a signal's JSON payload against a recorded shape: a `SignalRejected` naming the first
 * issue's path, or `undefined` when it fits (or there is no shape to check against). A field the
 * payload's structs do not have is rejected too, naming the one it most likely meant (a misspelled
 * optional field would otherwise be dropped on the way to the run).
 *
 * @example
 * ```ts
 * checkPayload("approval", shape, { approvedBy: 42 })?.message // => "signal approval: approvedBy: Expected string, got 42"
 * ```
 */
export const checkPayload = (signal: string, shape: unknown, payload: unknown): SignalRejected | undefined => {
  if (shape === undefined) return undefined
  const schema = reviveShape(shape)
  if (schema === undefined) return undefined
  const result = Schema.decodeUnknownResult(schema as Schema.Codec<unknown, unknown>)(payload, { reportInput: true, onExcessProperty: "error" })
  if (Result.isSuccess(result)) return undefined
  const { message, path } = firstIssue(result.failure.issue)
  return new SignalRejected({ signal, path, issue: message })
}

/**
 * Checks a signal sent by name to a running run, from the run's events: a name within a typo of
 * one the run has waited for (`aproval` when it waits for `approval`) is refused — recorded, it
 * would wait in the journal for a name nothing asks for while the run goes on waiting — and the
 * payload is checked against the shape the run recorded for that name (see {@link checkPayload}).
 * A name far from every awaited one is accepted: a flow may wait for it later, and a signal sent
 * early is kept until then.
 *
 * @example
 * ```ts
 * checkSignal(events, "aproval", { approvedBy: "ana" })?.message
 * // => 'signal aproval: not a signal this run waits for; did you mean "approval"?'
 * ```
 */
export const checkSignal = (events: ReadonlyArray<FlowEvent>, signal: string, payload: unknown): SignalRejected | undefined => {
  const awaited = new Set<string>()
  for (const e of events) if (e._tag === "StepWaiting" && e.signal !== undefined) awaited.add(e.signal)
  if (!awaited.has(signal)) {
    const meant = nearMiss(signal, [...awaited])
    if (meant !== undefined) return new SignalRejected({ signal, path: "", issue: `not a signal this run waits for; did you mean "${meant}"?` })
  }
  return checkPayload(signal, recordedShape(events, signal), payload)
}
