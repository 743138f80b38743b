/**
 * `mcpflow plan flows/x.ts`: prints a flow's structure for reviews — steps, parallel groups, DAG
 * edges and conditions, compensations, policies, and every `server.tool` it may call — built by
 * `Flow.plan` without calling any tool. Exits 0, or 2 for a file, input or definition problem.
 *
 * @example
 * ```sh
 * mcpflow plan flows/cicd.ts
 * mcpflow plan flows/cicd.ts --format mermaid > cicd.mmd
 * mcpflow plan flows/cicd.ts --format json | jq '.tools[].name'
 * ```
 * @module
 */
import { Effect, Option } from "effect"
import * as Flow from "../../../../../dsl/flow/Flow.ts"
import * as Plan from "../../../../../dsl/flow/Plan.ts"
import { exitCodeOfError } from "../../../run/ExitCode.ts"
import { safeJson } from "../../../run/Text.ts"
import { CliExit, printLines } from "../../output.ts"
import { load } from "./run.ts"

/**
 * The formats of a plan.
 *
 * @example
 * ```ts
 * const f: PlanFormat = "mermaid"
 * ```
 */
export type PlanFormat = "text" | "mermaid" | "json"

/**
 * A plan in one of the {@link PlanFormat}s.
 *
 * @example
 * ```ts
 * renderPlan(plan, "json") // => "{\n  \"flow\": \"cicd\", …"
 * ```
 */
export const renderPlan = (plan: Plan.FlowPlan, format: PlanFormat): string => {
  switch (format) {
    case "text":
      return Plan.toText(plan)
    case "mermaid":
      return Plan.toMermaid(plan)
    case "json":
      return safeJson(plan, 2)
  }
}

/**
 * Runs `mcpflow plan <file>` (see `../plan.ts` for its flags).
 *
 * @example
 * ```ts
 * plan({ file: "flows/cicd.ts", format: "mermaid", input: Option.none() })
 * ```
 */
export const plan = Effect.fn("mcpflow.plan")(function*({ file, format, input, json }: {
  readonly file: string
  readonly format: PlanFormat
  readonly input: Option.Option<unknown>
  readonly json?: boolean | undefined
}) {
  const { flow } = yield* load(file)
  const planned = yield* Flow.plan(flow, Option.getOrUndefined(input)).pipe(
    Effect.mapError((error) => new CliExit({ code: exitCodeOfError(error), message: error.message }))
  )
  yield* printLines([renderPlan(planned, json === true ? "json" : format)])
})
