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
import { loadMcpJson } from "../../../../runtime/gateway/McpJson.ts"
import type { ReplicaGroupConfig } from "../../../../runtime/gateway/ServerConfig.ts"
import { exitCodeOfError, ExitCode } from "../../../run/ExitCode.ts"
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
 * A replica group a plan's tools call, as `mcpflow plan --config` lists it.
 *
 * @example
 * ```ts
 * const g: PlannedGroup = { server: "search", strategy: "priority", sticky: false, replicas: ["primary", "backup"] }
 * ```
 */
export interface PlannedGroup {
  readonly server: string
  readonly strategy: string
  readonly sticky: boolean
  readonly replicas: ReadonlyArray<string>
}

/**
 * The replica groups of `groups` that the plan's tools call, in the order the tools name them.
 *
 * @example
 * ```ts
 * plannedGroups(plan, config.groups) // => [{ server: "search", strategy: "round-robin", sticky: false, replicas: ["a", "b"] }]
 * ```
 */
export const plannedGroups = (
  planned: Plan.FlowPlan,
  groups: Readonly<Record<string, ReplicaGroupConfig>> | undefined
): ReadonlyArray<PlannedGroup> =>
  [...new Set(planned.tools.map((t) => t.server))].flatMap((server) => {
    const group = groups !== undefined && Object.hasOwn(groups, server) ? groups[server] : undefined
    if (group === undefined) return []
    const replicas = Object.entries(group.replicas)
      .map(([name, r], i) => ({ name, priority: r.priority ?? i }))
      .sort((a, b) => a.priority - b.priority)
      .map((r) => r.name)
    return [{ server, strategy: group.strategy ?? "round-robin", sticky: group.sticky === true, replicas }]
  })

/**
 * The text lines of the replica groups (after the plan's tools).
 *
 * @example
 * ```ts
 * groupLines([{ server: "search", strategy: "priority", sticky: false, replicas: ["a", "b"] }])
 * // => ["", "replica groups:", "  search: priority over a → b"]
 * ```
 */
export const groupLines = (groups: ReadonlyArray<PlannedGroup>): ReadonlyArray<string> =>
  groups.length === 0 ? [] : [
    "",
    "replica groups:",
    ...groups.map((g) =>
      `  ${g.server}: ${g.strategy} over ${g.replicas.join(g.strategy === "priority" ? " → " : ", ")}${g.sticky ? " (sticky per run)" : ""}`
    )
  ]

/**
 * The replica groups as Mermaid comments (after the chart: a diagram shows servers only as its
 * nodes' tools).
 *
 * @example
 * ```ts
 * groupComments([{ server: "search", strategy: "priority", sticky: false, replicas: ["a", "b"] }])
 * // => ["  %% replica group search: priority over a → b"]
 * ```
 */
export const groupComments = (groups: ReadonlyArray<PlannedGroup>): ReadonlyArray<string> =>
  groupLines(groups).slice(2).map((line) => `  %% replica group ${line.trimStart()}`)

/**
 * Runs `mcpflow plan <file>` (see `../plan.ts` for its flags).
 *
 * @example
 * ```ts
 * plan({ file: "flows/cicd.ts", format: "mermaid", input: Option.none() })
 * ```
 */
export const plan = Effect.fn("mcpflow.plan")(function*({ file, format, input, json, config }: {
  readonly file: string
  readonly format: PlanFormat
  readonly input: Option.Option<unknown>
  readonly json?: boolean | undefined
  readonly config?: Option.Option<string> | undefined
}) {
  const { flow } = yield* load(file)
  const planned = yield* Flow.plan(flow, Option.getOrUndefined(input)).pipe(
    Effect.mapError((error) => new CliExit({ code: exitCodeOfError(error), message: error.message }))
  )
  const chosen = json === true ? "json" : format
  if (config === undefined || Option.isNone(config)) return yield* printLines([renderPlan(planned, chosen)])
  const loaded = yield* loadMcpJson(config.value).pipe(
    Effect.mapError((error) => new CliExit({ code: ExitCode.Usage, message: error.message }))
  )
  const groups = plannedGroups(planned, loaded.groups)
  if (chosen === "json") return yield* printLines([safeJson({ ...planned, replicaGroups: groups }, 2)])
  yield* printLines([renderPlan(planned, chosen), ...(chosen === "text" ? groupLines(groups) : groupComments(groups))])
})
