/**
 * How steps and runs are journaled when their own Schemas are not given: values as JSON, and
 * errors as mcpflow's typed errors where they are one (so a replayed failure is the same class,
 * with its `reason` and `message`), else as JSON.
 *
 * @module
 */
import { Schema } from "effect"
import { BulkheadRejected } from "../policy/Bulkhead.ts"
import { BreakerRejected } from "../policy/CircuitBreaker.ts"
import { PolicyConfigError } from "../policy/PolicySettings.ts"
import { RateLimitRejected } from "../policy/RateLimit.ts"
import { RetryExhausted } from "../policy/Retry.ts"
import { PolicyTimeout } from "../policy/Timeout.ts"
import { McpflowToolError } from "../ToolError.ts"
import { FlowError } from "./FlowError.ts"
import { AmbiguousStep } from "./AmbiguousStep.ts"

/**
 * A step's value: kept as it is in memory, JSON in a durable journal.
 *
 * @example
 * ```ts
 * Activity.make({ name, success: StepValue, error: StepFailure, execute })
 * ```
 */
export const StepValue = Schema.Any

/**
 * A step's failure: mcpflow's typed errors round-trip as themselves; anything else as JSON.
 *
 * @example
 * ```ts
 * Schema.encodeUnknownSync(Schema.toCodecJson(StepFailure))(new McpflowToolError({ … }))
 * ```
 */
export const StepFailure = Schema.Union([
  McpflowToolError,
  FlowError,
  PolicyTimeout,
  BreakerRejected,
  BulkheadRejected,
  RateLimitRejected,
  RetryExhausted,
  PolicyConfigError,
  AmbiguousStep,
  Schema.Any
])
