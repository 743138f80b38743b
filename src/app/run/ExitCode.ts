/**
 * The exit codes of a flow run: 0 success, 1 the flow failed, 2 bad input, config or usage
 * (nothing ran), 130 interrupted (Ctrl-C; compensations ran first).
 *
 * @example
 * ```ts
 * import { Exit } from "effect"
 * import { exitCodeOfExit } from "./ExitCode.ts"
 * exitCodeOfExit(Exit.succeed(42)) // => 0
 * ```
 * @module
 */
import { Cause, Exit } from "effect"

/**
 * The exit codes, by name.
 *
 * @example
 * ```ts
 * RunExitCode.Interrupted // => 130
 * ```
 */
export const RunExitCode = {
  Success: 0,
  Failure: 1,
  Usage: 2,
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
      ? RunExitCode.Usage
      : RunExitCode.Failure
  }
  return tag !== undefined && usageTags.has(tag) ? RunExitCode.Usage : RunExitCode.Failure
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
  if (Exit.isSuccess(exit)) return RunExitCode.Success
  if (Cause.hasInterruptsOnly(exit.cause)) return RunExitCode.Interrupted
  return exitCodeOfError(Cause.squash(exit.cause))
}
