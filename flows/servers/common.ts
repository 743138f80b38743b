/**
 * Schemas shared by the seed servers' contracts: severities, counts, percentages, free-form
 * JSON details, and the result of a shell command.
 *
 * @example
 * ```ts
 * import { Severity } from "./common.ts"
 * const s: typeof Severity.Type = "high"
 * ```
 * @module
 */
import { Schema } from "effect"

/**
 * The four severities the seeds use for findings and alerts.
 *
 * @example
 * ```ts
 * const s: typeof Severity.Type = "critical"
 * ```
 */
export const Severity = Schema.Literals(["low", "medium", "high", "critical"])

/**
 * A non-negative integer (counts, sizes in bytes, exit codes ≥ 0).
 *
 * @example
 * ```ts
 * const n: typeof Count.Type = 3
 * ```
 */
export const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * A positive integer (quantities, replicas to run, amounts in minor units).
 *
 * @example
 * ```ts
 * const n: typeof PositiveInt.Type = 1
 * ```
 */
export const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/**
 * A non-negative finite number (megabytes, milliseconds, rates).
 *
 * @example
 * ```ts
 * const mb: typeof NonNegative.Type = 182.4
 * ```
 */
export const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * A percentage, 0 to 100.
 *
 * @example
 * ```ts
 * const p: typeof Percent.Type = 45
 * ```
 */
export const Percent = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 100 }))

/**
 * A ratio, 0 to 1 (error rates, accuracy).
 *
 * @example
 * ```ts
 * const r: typeof Ratio.Type = 0.943
 * ```
 */
export const Ratio = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/**
 * An ISO-8601 instant (`2024-09-23T10:15:00.000Z`).
 *
 * @example
 * ```ts
 * const t: typeof Timestamp.Type = "2024-09-23T10:15:00.000Z"
 * ```
 */
export const Timestamp = Schema.String.annotate({ description: "ISO-8601 instant" })

/**
 * Free-form JSON details (the seeds' `details`, `metadata`, `reports` dictionaries).
 *
 * @example
 * ```ts
 * const d: typeof Details.Type = { pipeline_steps: 7, deploy_ready: true }
 * ```
 */
export const Details = Schema.JsonObject

/**
 * What running a shell command answers (`desktop-commander.execute_command`, `docker.docker_run`).
 *
 * @example
 * ```ts
 * const r: typeof CommandResult.Type = { success: true, exit_code: 0, output: "42 passed" }
 * ```
 */
export const CommandResult = Schema.Struct({
  success: Schema.Boolean,
  exit_code: Count,
  output: Schema.String
})
