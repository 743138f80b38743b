/**
 * What the gateway does around one request to a server when someone watches: a client span
 * `tool <server>.<tool>` under the current (step) span, its W3C `traceparent` sent in the
 * request's `_meta`, and the call counted in the metrics (outcome and latency). The gateway
 * only comes here when a tracer is installed or metrics are exported ({@link isWatched}).
 *
 * Span attributes name the call (server, tool, attempt, outcome), never its arguments, except
 * the fields a contract marks safe (`Tool.traceSafe`).
 *
 * @module
 */
import { Cause, Clock, Effect, Exit, Fiber, Tracer } from "effect"
import type { McpflowToolError } from "../../../dsl/ToolError.ts"
import type { Telemetry } from "./Telemetry.ts"

/**
 * Whether the current fiber (the caller's, inside an `Effect.callback` registration) has a
 * tracer installed, or metrics are exported: one reference read.
 *
 * @example
 * ```ts
 * Effect.callback((resume) => { if (isWatched(telemetry)) … })
 * ```
 */
export const isWatched = (telemetry: Telemetry | undefined, fiber = Fiber.getCurrent()): boolean => {
  if (telemetry !== undefined) return true
  return fiber !== undefined && fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer
}

/**
 * The W3C trace context header of a span: `00-<trace id>-<span id>-<flags>`.
 *
 * @example
 * ```ts
 * traceparent(span) // => "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
 * ```
 */
export const traceparent = (span: Tracer.AnySpan): string =>
  `00-${span.traceId.padStart(32, "0").slice(-32)}-${span.spanId.padStart(16, "0").slice(-16)}-${span.sampled ? "01" : "00"}`

/**
 * A call's outcome label: `ok`, the failure's reason tag (`Timeout`, `ToolFailed`, …),
 * `interrupted` or `defect`.
 *
 * @example
 * ```ts
 * outcomeOf(Exit.succeed(1)) // => "ok"
 * ```
 */
export const outcomeOf = (exit: Exit.Exit<unknown, McpflowToolError>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "Some") return error.value.reason._tag
  return Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "defect"
}

/**
 * Runs one request (`send`, given the `_meta` entries to add) watched: in a client span when a
 * tracer is installed, counted when `telemetry` is given.
 *
 * @example
 * ```ts
 * observe(telemetry, "fs", "read_file", 1, undefined, (meta) => sendWith(meta))
 * ```
 */
export const observe = <A>(
  telemetry: Telemetry | undefined,
  server: string,
  tool: string,
  attempt: number,
  attributes: Readonly<Record<string, unknown>> | undefined,
  send: (meta: Readonly<Record<string, unknown>> | undefined) => Effect.Effect<A, McpflowToolError>
): Effect.Effect<A, McpflowToolError> =>
  Effect.withFiber((fiber) => {
    const traced = fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer
    const body = traced
      ? Effect.useSpan(`tool ${server}.${tool}`, {
        kind: "client",
        attributes: {
          "mcp.method.name": "tools/call",
          "mcpflow.server": server,
          "mcpflow.tool": tool,
          "mcpflow.attempt": attempt,
          ...attributes
        }
      }, (span) =>
        Effect.onExit(
          send({ traceparent: traceparent(span) }),
          (exit) => Effect.sync(() => span.attribute("mcpflow.outcome", outcomeOf(exit)))
        ))
      : send(undefined)
    if (telemetry === undefined) return body
    const clock = fiber.getRef(Clock.Clock)
    const start = clock.currentTimeMillisUnsafe()
    return Effect.onExit(body, (exit) =>
      Effect.sync(() =>
        telemetry.toolCall(server, tool, outcomeOf(exit), (clock.currentTimeMillisUnsafe() - start) / 1000)
      ))
  })
