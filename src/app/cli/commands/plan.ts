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
import { Command, Flag } from "effect/cli"
import * as Flow from "../../../../dsl/flow/Flow.ts"
import * as Plan from "../../../../dsl/flow/Plan.ts"
import { exitCodeOfError } from "../../run/ExitCode.ts"
import { readInput } from "../../run/Flags.ts"
import { safeJson } from "../../run/Model.ts"
import { CliExit, printLines } from "../output.ts"
import { flowFile, load } from "./run.ts"

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

const format = Flag.Literals("format", ["text", "mermaid", "json"]).pipe(
  Flag.withAlias("f"),
  Flag.withDescription("text (for people), mermaid (a flowchart for docs and reviews) or json (everything, with the tools' JSON Schemas)"),
  Flag.withDefault("text")
)

const input = Flag.String("input").pipe(
  Flag.withAlias("i"),
  Flag.withMetavar("json|@file"),
  Flag.withDescription("Plan for this input (JSON or @file.json); default: a sample input generated from the input Schema"),
  Flag.optional,
  Flag.mapEffect(Option.match({ onNone: () => Effect.succeedNone, onSome: (text) => Effect.map(readInput(text), Option.some) }))
)

/**
 * `mcpflow plan <flow.ts> [--format text|mermaid|json] [--input json|@file]`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([plan]))
 * ```
 */
export const plan = Command.make(
  "plan",
  { file: flowFile, format, input },
  Effect.fn("mcpflow.plan")(function*({ file, format, input }) {
    const { flow } = yield* load(file)
    const planned = yield* Flow.plan(flow, Option.getOrUndefined(input)).pipe(
      Effect.mapError((error) => new CliExit({ code: exitCodeOfError(error), message: error.message }))
    )
    yield* printLines([renderPlan(planned, format)])
  })
).pipe(
  Command.withShortDescription("Print a flow's plan without calling any tool"),
  Command.withDescription(
    "Print the structure of the flow a file exports by default, without calling any tool: steps, parallel groups, DAG edges and conditions, saga compensations, the policies on each step, and every server.tool the flow may call with its input and output types. Parts of the flow that are opaque code are named as such rather than guessed. Exits 0, or 2 when the file, the input or the flow's definition is wrong."
  ),
  Command.withExamples([
    { command: "mcpflow plan flows/cicd.ts", description: "The plan as text" },
    { command: "mcpflow plan flows/cicd.ts --format mermaid", description: "A Mermaid flowchart" },
    { command: "mcpflow plan flows/cicd.ts --format json", description: "Everything, as JSON" }
  ])
)
