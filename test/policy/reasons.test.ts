import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Backoff from "../../dsl/policy/Backoff.ts"
import { BulkheadRejected } from "../../dsl/policy/Bulkhead.ts"
import * as CircuitBreaker from "../../dsl/policy/CircuitBreaker.ts"
import { PolicyFallbackFailed } from "../../dsl/policy/Fallback.ts"
import { RateLimitRejected } from "../../dsl/policy/RateLimit.ts"
import * as Retry from "../../dsl/policy/Retry.ts"
import { PolicyTimeout } from "../../dsl/policy/Timeout.ts"
import {
  ConnectionLost,
  FallbackFailed,
  isTransient,
  McpflowToolError,
  mayHaveReachedServer,
  RateLimited,
  Rejected,
  retryAfterMsOf,
  ServerUnavailable,
  Timeout,
  ToolErrorReason,
  ToolFailed,
  toolError
} from "../../dsl/ToolError.ts"
import { toToolError } from "../../src/runtime/gateway/Policies.ts"
import { recorder, scripted } from "./support.ts"

const at = { server: "svc", tool: "read" } as const

describe("ToolError: Rejected and FallbackFailed", () => {
  it("Rejected is transient, was never sent, and carries its Retry-After", () => {
    const breaker = new Rejected({ ...at, by: "breaker", policy: "svc", retryAfterMs: 30_000, detail: "circuit 'svc' is open" })
    assert.isTrue(isTransient(breaker))
    assert.isFalse(mayHaveReachedServer(breaker))
    assert.strictEqual(retryAfterMsOf(breaker), 30_000)
    assert.strictEqual(
      breaker.message,
      "svc.read: rejected by the circuit breaker 'svc' (nothing was sent; retry after 30000 ms): circuit 'svc' is open"
    )
    const bulkhead = toolError(new Rejected({ ...at, by: "bulkhead", policy: "critical", detail: "full" }))
    assert.isTrue(bulkhead.transient)
    assert.isFalse(bulkhead.mayHaveReachedServer)
    assert.isUndefined(bulkhead.retryAfterMs)
    assert.include(bulkhead.message, "bulkhead 'critical'")
  })

  it("FallbackFailed is transient iff its fallback's failure is, and may have reached a server if either did", () => {
    const primary = new Timeout({ ...at, phase: "call", afterMs: 1000 })
    const permanent = new ToolFailed({ server: "mirror", tool: "read", text: "no" })
    const limited = new RateLimited({ server: "mirror", tool: "read", retryAfterMs: 700, detail: "slow down" })
    const both = new FallbackFailed({ ...at, policy: "mirror", primary, fallback: permanent })
    assert.isFalse(isTransient(both))
    assert.isTrue(mayHaveReachedServer(both), "the primary timed out mid-call")
    const retryable = toolError(new FallbackFailed({ ...at, policy: "mirror", primary: permanent, fallback: limited }))
    assert.isTrue(retryable.transient)
    assert.isFalse(retryable.mayHaveReachedServer)
    assert.strictEqual(retryable.retryAfterMs, 700)
    assert.strictEqual(retryable.server, "svc")
    assert.include(both.message, primary.message)
    assert.include(both.message, permanent.message)
  })

  it("nested FallbackFailed reasons round-trip through JSON with their classes", () => {
    const inner = new FallbackFailed({
      server: "mirror",
      tool: "read",
      policy: "cold",
      primary: new ConnectionLost({ server: "mirror", tool: "read", detail: "closed" }),
      fallback: new ServerUnavailable({ server: "cold", tool: "read", detail: "down" })
    })
    const error = toolError(
      new FallbackFailed({
        ...at,
        policy: "mirror",
        primary: new Rejected({ ...at, by: "rate-limit", policy: "svc", retryAfterMs: 5, detail: "limit" }),
        fallback: inner
      })
    )
    const json = JSON.parse(JSON.stringify(Schema.encodeSync(McpflowToolError)(error)))
    assert.strictEqual(json.reason.fallback.fallback._tag, "ServerUnavailable")
    const decoded = Schema.decodeUnknownSync(McpflowToolError)(json)
    assert.deepStrictEqual(decoded, error)
    assert.instanceOf(decoded.reason._tag === "FallbackFailed" ? decoded.reason.fallback : undefined, FallbackFailed)
    assert.strictEqual(decoded.message, error.message)
    assert.isTrue(decoded.transient)
    assert.isTrue(Schema.is(ToolErrorReason)(decoded.reason))
  })

  it("a breaker's default classifier ignores Rejected and counts FallbackFailed", () => {
    const rejected = toolError(new Rejected({ ...at, by: "bulkhead", policy: "p", detail: "full" }))
    assert.strictEqual(CircuitBreaker.defaultClassify(Exit.fail(rejected), 1), "ignored")
    const both = toolError(
      new FallbackFailed({ ...at, policy: "f", primary: new ServerUnavailable({ ...at, detail: "x" }), fallback: new ServerUnavailable({ ...at, detail: "y" }) })
    )
    assert.strictEqual(CircuitBreaker.defaultClassify(Exit.fail(both), 1), "failure")
  })

  it.effect("Retry waits at least a Rejected reason's retryAfterMs", () =>
    Effect.gen(function*() {
      const rejected = toolError(new Rejected({ ...at, by: "breaker", policy: "svc", retryAfterMs: 4000, detail: "open" }))
      const rec = recorder()
      const s = scripted<number, McpflowToolError>([{ fail: rejected }, { succeed: 1 }])
      const retry = Retry.make({ backoff: Backoff.constant(100), jitter: "none" })
      const fiber = yield* Effect.forkChild(retry.apply(s.effect, { idempotent: false }).pipe(rec.provide))
      yield* TestClock.adjust(3999)
      assert.strictEqual(s.state.calls, 1)
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed(1))
      assert.strictEqual(rec.of("RetryScheduled")[0]?.delayMs, 4000)
    }))
})

describe("toToolError: policy failures as reasons", () => {
  it("maps breaker, bulkhead and rate-limit rejections to Rejected, keeping who refused and when to retry", () => {
    const breaker = toToolError("svc", "read", new CircuitBreaker.BreakerRejected({ key: "svc.read", state: "open", retryAfterMs: 1234 }))
    assert.deepStrictEqual(
      breaker.reason,
      new Rejected({ ...at, by: "breaker", policy: "svc.read", retryAfterMs: 1234, detail: "circuit 'svc.read' is open; retry after 1234 ms" })
    )
    assert.strictEqual(breaker.retryAfterMs, 1234)

    const bulkhead = toToolError("svc", "read", new BulkheadRejected({ pool: "batch", why: "wait-expired" }))
    assert.deepStrictEqual(
      bulkhead.reason,
      new Rejected({ ...at, by: "bulkhead", policy: "batch", detail: "bulkhead 'batch' rejected the call: the wait for a slot expired" })
    )

    const limited = toToolError("svc", "read", new RateLimitRejected({ policy: "rate-limit:svc", key: "svc", why: "limit-exceeded", retryAfterMs: 900 }))
    assert.strictEqual(limited.reason._tag, "Rejected")
    if (limited.reason._tag === "Rejected") {
      assert.strictEqual(limited.reason.by, "rate-limit")
      assert.strictEqual(limited.reason.policy, "svc")
      assert.strictEqual(limited.reason.retryAfterMs, 900)
    }
  })

  it("maps a fallback's double failure to FallbackFailed with both reasons, each mapped", () => {
    const other = toolError(new ToolFailed({ server: "mirror", tool: "read", text: "mirror down" }))
    const error = toToolError(
      "svc",
      "read",
      new PolicyFallbackFailed({ policy: "mirror", primary: new PolicyTimeout({ policy: "totalTimeout", afterMs: 2500, scope: "overall" }), fallback: other })
    )
    assert.deepStrictEqual(
      error.reason,
      new FallbackFailed({
        ...at,
        policy: "mirror",
        primary: new Timeout({ ...at, phase: "total", afterMs: 2500, policy: "policy 'totalTimeout'" }),
        fallback: other.reason
      })
    )
    assert.isFalse(error.transient)
  })

  it.effect("the policy's PolicyFallbackFailed and the tool reason FallbackFailed have distinct tags", () =>
    Effect.gen(function*() {
      assert.notStrictEqual(new PolicyFallbackFailed({ policy: "m", primary: 1, fallback: 2 })._tag, "FallbackFailed")
      const fromPolicy = yield* Effect.fail(new PolicyFallbackFailed({ policy: "m", primary: "a", fallback: "b" })).pipe(
        Effect.catchTag("PolicyFallbackFailed", (e) => Effect.succeed(`policy:${e.policy}`))
      )
      assert.strictEqual(fromPolicy, "policy:m")
      const both = new FallbackFailed({
        ...at,
        policy: "mirror",
        primary: new ServerUnavailable({ ...at, detail: "x" }),
        fallback: new ServerUnavailable({ ...at, detail: "y" })
      })
      const fromTool = yield* Effect.fail(toolError(both)).pipe(
        Effect.catchReason("McpflowToolError", "FallbackFailed", (reason) => Effect.succeed(`tool:${reason.policy}`))
      )
      assert.strictEqual(fromTool, "tool:mirror")
    }))

  it("passes tool errors through and wraps anything else as ToolFailed", () => {
    const own = toolError(new RateLimited({ ...at, retryAfterMs: 10, detail: "server says slow down" }))
    assert.strictEqual(toToolError("svc", "read", own), own)
    assert.deepStrictEqual(toToolError("svc", "read", new Error("boom")).reason, new ToolFailed({ ...at, text: "boom" }))
  })
})
