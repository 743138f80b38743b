/**
 * `mcpflow check flows/x.ts`: compares the contracts a flow `uses` with the live servers
 * (`gateway.checkContracts`). Exit 0 when they match, 1 on drift, 2 for a bad file or config.
 *
 * @example
 * ```sh
 * mcpflow check --config .mcp.json flows/cicd.ts
 * ```
 * @module
 */
import { Effect, Option } from "effect"
import type { ContractMismatch } from "../../../../../dsl/ports/McpGateway.ts"
import { McpGateway } from "../../../../../dsl/ports/McpGateway.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { defaultConfig } from "../../Flags.ts"
import { CliExit, printLines } from "../../output.ts"
import { load } from "./run.ts"
import { withGateway } from "./withGateway.ts"

/**
 * The text of a drift report: one line per mismatch, `- server.tool [field]: detail`.
 *
 * @example
 * ```ts
 * formatDrift([{ kind: "MissingTool", server: "fs", tool: "read", detail: "the server does not publish 'read'" }])
 * // => ["- fs.read (MissingTool): the server does not publish 'read'"]
 * ```
 */
export const formatDrift = (mismatches: ReadonlyArray<ContractMismatch>): ReadonlyArray<string> =>
  mismatches.map((m) => `- ${m.server}.${m.tool}${m.field === undefined ? "" : ` [${m.field}]`} (${m.kind}): ${m.detail}`)

/**
 * Runs `mcpflow check <file>` (see `../check.ts` for its flags).
 *
 * @example
 * ```ts
 * check({ file: "flows/cicd.ts", config: Option.none(), verbose: false })
 * ```
 */
export const check = Effect.fn("mcpflow.check")(function*({ file, config, verbose }: {
  readonly file: string
  readonly config: Option.Option<string>
  readonly verbose: boolean
}) {
  const { flow } = yield* load(file)
  const uses = flow.uses
  const mismatches = yield* McpGateway.use((gateway) => gateway.checkContracts(uses)).pipe(
    withGateway({ config: Option.getOrElse(config, () => defaultConfig), verbose })
  )
  if (mismatches.length === 0) {
    yield* printLines([`${uses.length} contract${uses.length === 1 ? "" : "s"} of ${file} match the servers`])
    return
  }
  yield* printLines([`${file}: ${mismatches.length} contract difference(s) with the servers:`, ...formatDrift(mismatches)])
  return yield* new CliExit({ code: ExitCode.Failure, message: `contracts drifted: ${mismatches.length} difference(s)` })
})
