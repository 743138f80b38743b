/**
 * `mcpflow contracts generate`: asks the configured servers for their tools and writes their
 * contracts (see `src/runtime/contracts/Generate.ts`).
 *
 * @example
 * ```sh
 * mcpflow contracts generate --config .mcp.json --out contracts.ts
 * ```
 * @module
 */
import * as NodeFs from "node:fs/promises"
import { Effect, Option } from "effect"
import { McpGateway } from "../../../../../dsl/ports/McpGateway.ts"
import { generateContracts } from "../../../../runtime/contracts/Generate.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { defaultConfig } from "../../Flags.ts"
import { CliExit, printLines } from "../../output.ts"
import { withGateway } from "./withGateway.ts"

/**
 * Runs `mcpflow contracts generate` (see `../contracts.ts` for its flags).
 *
 * @example
 * ```ts
 * generate({ config: Option.none(), server: Option.some("memory"), out: "memory.ts", verbose: false })
 * ```
 */
export const generate = Effect.fn("mcpflow.contracts.generate")(function*({ config, server, out, verbose }: {
  readonly config: Option.Option<string>
  readonly server: Option.Option<string>
  readonly out: string
  readonly verbose: boolean
}) {
  const source = yield* Effect.gen(function*() {
    const gateway = yield* McpGateway
    const keys = Option.match(server, { onNone: () => gateway.servers, onSome: (key) => [key] })
    const unknown = keys.filter((key) => !gateway.servers.includes(key))
    if (unknown.length > 0) {
      return yield* new CliExit({
        code: ExitCode.Usage,
        message: `unknown server '${unknown[0]}' (the config has: ${gateway.servers.join(", ") || "none"})`
      })
    }
    const servers = yield* Effect.forEach(keys, (key) =>
      gateway.listTools(key).pipe(
        Effect.map((tools) => ({ key, tools })),
        Effect.mapError((error) => new CliExit({ code: ExitCode.Failure, message: error.message }))
      ))
    return yield* generateContracts(servers).pipe(
      Effect.mapError((error) => new CliExit({ code: ExitCode.Failure, message: error.message }))
    )
  }).pipe(withGateway({ config: Option.getOrElse(config, () => defaultConfig), verbose }))
  yield* Effect.tryPromise({
    try: () => NodeFs.writeFile(out, source),
    catch: (e) => new CliExit({ code: ExitCode.Usage, message: `cannot write ${out}: ${String(e)}` })
  })
  const count = (source.match(/: Tool\.define\(/g) ?? []).length
  yield* printLines([`wrote ${count} contract${count === 1 ? "" : "s"} to ${out}`])
})
