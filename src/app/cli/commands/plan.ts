/**
 * `mcpflow plan flows/x.ts`: prints a flow's structure for reviews — steps, parallel groups, DAG
 * edges and conditions, compensations, policies, and every `server.tool` it may call — built by
 * `Flow.plan` without calling any tool. Exits 0, or 2 for a file, input or definition problem.
 * The work is in `internal/plan.ts`, loaded when the command runs.
 *
 * @example
 * ```sh
 * mcpflow plan flows/cicd.ts
 * mcpflow plan flows/cicd.ts --format mermaid > cicd.mmd
 * mcpflow plan flows/cicd.ts --format json | jq '.tools[].name'
 * ```
 * @module
 */
import { Command } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

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
  { file: Flags.flowFile, format: Flags.format, input: Flags.input, json: Flags.json, config: Flags.config },
  lazyHandler(() => import("./internal/plan.ts").then((m) => m.plan))
).pipe(
  Command.withShortDescription("Print a flow's plan without calling any tool"),
  Command.withDescription(
    "Print the structure of the flow a file exports by default, without calling any tool: steps, parallel groups, DAG edges and conditions, saga compensations, the policies on each step, and every server.tool the flow may call with its input and output types. Parts of the flow that are opaque code are named as such rather than guessed. Exits 0, or 2 when the file, the input or the flow's definition is wrong (a duplicate step name, a DAG cycle: one line saying which). With --config, the replica groups of .mcp.json that the flow's tools call are listed too (text and json). --json is --format json; with either, an error is printed as {\"error\":{…}} on stdout."
  ),
  Command.withExamples([
    { command: "mcpflow plan flows/cicd.ts", description: "The plan as text" },
    { command: "mcpflow plan flows/cicd.ts --format mermaid", description: "A Mermaid flowchart" },
    { command: "mcpflow plan flows/cicd.ts --format json", description: "Everything, as JSON" }
  ])
)
