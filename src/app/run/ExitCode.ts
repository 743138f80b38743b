/**
 * The one table of `mcpflow`'s exit codes, used by every command and by flow files run on
 * their own (`npx tsx flows/x.ts`):
 *
 * | code | name          | meaning                                                                  |
 * | ---- | ------------- | ------------------------------------------------------------------------ |
 * | 0    | `Success`     | everything worked (also `--help` and `--version`)                        |
 * | 1    | `Failure`     | a flow, a tool call or a server failed; a chaos invariant was violated   |
 * | 2    | `Usage`       | bad command line, input, config, flow file or journal: nothing was tried |
 * | 130  | `Interrupted` | interrupted (Ctrl-C); the compensations of completed steps ran first     |
 *
 * @example
 * ```ts
 * import { Exit } from "effect"
 * import { exitCodeOfExit } from "./ExitCode.ts"
 * exitCodeOfExit(Exit.succeed(42)) // => 0
 * ```
 * @module
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"

/**
 * The exit codes, by name (see the table above).
 *
 * @example
 * ```ts
 * ExitCode.Interrupted // => 130
 * ```
 */
export const ExitCode = {
  /** Everything worked. */
  Success: 0,
  /** A flow, a tool call or a server failed, or a chaos invariant was violated. */
  Failure: 1,
  /** The command line, the input, the config, the flow file or the journal is wrong: nothing was attempted. */
  Usage: 2,
  /** Interrupted (Ctrl-C); compensations ran first. */
  Interrupted: 130
} as const

/** Failures that mean "nothing was attempted: fix the input, the flow or the config". */
const usageTags = new Set([
  "McpflowConfigError",
  "FlowFileError",
  "InvalidValue",
  "MissingOption",
  "ShowHelp",
  // The journal is unusable (corrupt, newer format, locked by another process, a missing run).
  "JournalError",
  "SqlError"
])

const tagOf = (u: unknown): string | undefined =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" ? u._tag : undefined

/**
 * The exit code for a run's failure value: a `FlowError` whose reason is `InvalidFlowInput` or
 * `FlowDefinition`, or a config/usage error, is 2; anything else is 1.
 *
 * @example
 * ```ts
 * exitCodeOfError(new FlowError({ flow: "f", reason: new InvalidFlowInput({ path: "", issue: "x" }) })) // => 2
 * exitCodeOfError(new Error("boom")) // => 1
 * ```
 */
export const exitCodeOfError = (error: unknown): number => {
  const tag = tagOf(error)
  if (tag === "FlowError" && typeof error === "object" && error !== null && "reason" in error) {
    const reason = tagOf(error.reason)
    return reason === "InvalidFlowInput" || reason === "FlowDefinition" || reason === "NotResumable"
      ? ExitCode.Usage
      : ExitCode.Failure
  }
  return tag !== undefined && usageTags.has(tag) ? ExitCode.Usage : ExitCode.Failure
}

/**
 * The exit code for a run's exit: 0 success, 130 interrupted only, else {@link exitCodeOfError}
 * of the squashed cause.
 *
 * @example
 * ```ts
 * exitCodeOfExit(Exit.interrupt(1)) // => 130
 * ```
 */
export const exitCodeOfExit = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return ExitCode.Success
  if (Cause.hasInterruptsOnly(exit.cause)) return ExitCode.Interrupted
  return exitCodeOfError(Cause.squash(exit.cause))
}
