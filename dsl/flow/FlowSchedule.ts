/**
 * A flow's cron schedule: a flow file declares `export const schedule = Flow.schedule(flow, {
 * cron, input, timeZone? })`, and `mcpflow serve` / `mcpflow worker` start a run of the flow at
 * each tick. The expression is Effect's `Cron` (five fields, or six with seconds first); the
 * input is the flow's input in its JSON form, checked against the flow's Schema when the file
 * is loaded ({@link checkSchedule}).
 *
 * @module
 */
import { Clock, Cron, Effect, Result, Schema } from "effect"
import type { Flow } from "./FlowDefinition.ts"
import { decodeInput } from "./FlowInput.ts"

/**
 * When and with what a flow runs on its own: a cron expression (`"0 3 * * *"`, or with
 * seconds first `"30 0 3 * * *"`; steps like every-5-minutes work too), the input of each run (the flow's input in its JSON form), and
 * the time zone the expression is read in (an IANA name; default UTC).
 *
 * @example
 * ```ts
 * const nightly: FlowSchedule<{ readonly env: string }> = { cron: "0 3 * * *", input: { env: "prod" }, timeZone: "Europe/Lisbon" }
 * ```
 */
export interface FlowSchedule<In = unknown> {
  /** Five fields (minute hour day month weekday) or six (second first). */
  readonly cron: string
  /** Each run's input (default `{}`). */
  readonly input?: In | undefined
  /** IANA time zone the expression is read in (default UTC). */
  readonly timeZone?: string | undefined
}

/**
 * Declares `flow`'s schedule, its input typed by the flow's input Schema. Export it from the
 * flow file as `schedule`; the file's loader checks the expression and the input.
 *
 * @example
 * ```ts
 * export default report
 * export const schedule = Flow.schedule(report, { cron: "0 7 * * 1-5", input: { team: "platform" }, timeZone: "Europe/Lisbon" })
 * ```
 */
export const schedule = <I extends Schema.Top, O extends Schema.Top, E, R>(
  _flow: Flow<I, O, E, R>,
  spec: FlowSchedule<I["Encoded"]>
): FlowSchedule<I["Encoded"]> => spec

/**
 * A schedule that did not pass the checks: its expression or time zone does not parse, or its
 * input does not fit the flow's input Schema (`path` and `issue` say where).
 *
 * @example
 * ```ts
 * new InvalidSchedule({ flow: "report", detail: "cron \"0 3 *\": Invalid number of segments in cron expression" }).message
 * ```
 */
export class InvalidSchedule extends Schema.TaggedError<InvalidSchedule>()("InvalidSchedule", {
  flow: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `the schedule of flow ${this.flow}: ${this.detail}`
  }
}

/**
 * A checked schedule: the parsed `Cron` (in its time zone), the expression as written and the
 * input as given (it fits the flow's input Schema).
 *
 * @example
 * ```ts
 * const checked: CheckedSchedule = yield* checkSchedule(report, schedule)
 * checked.label // => "schedule 0 7 * * 1-5 (Europe/Lisbon)"
 * ```
 */
export interface CheckedSchedule {
  readonly flow: string
  readonly expression: string
  readonly cron: Cron.Cron
  readonly input: unknown
  readonly timeZone: string | undefined
  /** How a run it starts records its trigger: `schedule <expression>` (and the time zone). */
  readonly label: string
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Checks a flow file's `schedule` export against its flow: an object with a `cron` string that
 * parses (in `timeZone`, when given) and names some date, and an `input` that fits the flow's
 * input Schema.
 *
 * @example
 * ```ts
 * const checked = yield* checkSchedule(report, { cron: "0 7 * * 1-5", input: { team: "platform" } })
 * ```
 */
export const checkSchedule = (
  flow: { readonly name: string; readonly input: Schema.Top },
  value: unknown
): Effect.Effect<CheckedSchedule, InvalidSchedule> =>
  Effect.gen(function*() {
    const invalid = (detail: string) => new InvalidSchedule({ flow: flow.name, detail })
    if (!isRecord(value) || typeof value["cron"] !== "string") {
      return yield* invalid("`schedule` must be an object with a `cron` expression (Flow.schedule(flow, { cron, input }))")
    }
    const expression = value["cron"]
    const timeZone = value["timeZone"]
    if (timeZone !== undefined && typeof timeZone !== "string") return yield* invalid("`timeZone` must be an IANA time zone name")
    const parsed = Cron.parse(expression, timeZone)
    if (Result.isFailure(parsed)) {
      const detail = parsed.failure.message.includes("time zone")
        ? `time zone ${JSON.stringify(timeZone)} is not an IANA time zone`
        : `cron ${JSON.stringify(expression)}: ${parsed.failure.message}`
      return yield* invalid(detail)
    }
    // An expression that parses may still name no date at all (`0 0 30 2 *`: February 30th).
    const at = yield* Clock.currentTimeMillis
    const fires = yield* Effect.match(Effect.try(() => Cron.next(parsed.success, at)), {
      onFailure: () => false,
      onSuccess: () => true
    })
    if (!fires) return yield* invalid(`cron ${JSON.stringify(expression)} never fires (no date matches it)`)
    const input = value["input"] ?? {}
    yield* decodeInput(flow.name, flow.input, input).pipe(Effect.mapError((e) => invalid(`input: ${e.message}`)))
    return {
      flow: flow.name,
      expression,
      cron: parsed.success,
      input,
      timeZone,
      label: `schedule ${expression}${timeZone === undefined ? "" : ` (${timeZone})`}`
    }
  })
