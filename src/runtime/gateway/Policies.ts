/**
 * Resilience policies on the gateway's contract calls: which policy a call runs under, and how
 * a policy's own failures become {@link McpflowToolError} reasons ({@link toToolError}).
 *
 * Precedence, per policy kind (retry, timeout, breaker, …), highest first:
 * 1. the call site (`CallOptions.policy`),
 * 2. the gateway config's `server.tool` entry,
 * 3. the contract's own policy (`Tool.define({ policy })`, `Tool.withPolicy`),
 * 4. the gateway config's `server` entry.
 * The config's `server.tool` entry sits above the contract so an environment can retune a tool
 * without a code change; `false` at a higher level switches a kind off.
 *
 * A breaker keyed by a server (or by one of its tools) whose health is watched is held open
 * while the server's probes fail, and let go of (half-open) when they pass (`HealthGate`).
 *
 * Stateful layers (breakers, bulkheads, rate limiters, caches, hedges) built from data are made
 * once per gateway layer, in one registry, and shared per owner and settings; bulkhead pools by
 * name. Resolved policies are memoised per contract (and per call-site policy object), so a call
 * with no policy anywhere costs one check, and a policy built once costs a map lookup.
 *
 * @module
 */
import { Effect, Predicate } from "effect"
import type { ContractInfo, ContractSchema } from "../../../dsl/Contract.ts"
import { withService } from "../../../dsl/internal/WithService.ts"
import type { Bulkhead, PoolSettings } from "../../../dsl/policy/Bulkhead.ts"
import * as Cache from "../../../dsl/policy/Cache.ts"
import * as Policy from "../../../dsl/policy/Policy.ts"
import {
  FallbackFailed,
  InvalidInput,
  McpflowToolError,
  Rejected,
  Timeout,
  ToolFailed,
  toolError,
  type ToolErrorReason
} from "../../../dsl/ToolError.ts"
import { PolicyEvents } from "../../../dsl/policy/PolicyEvents.ts"
import { type CallOptions, McpGateway, RetryingStep } from "../../../dsl/ports/McpGateway.ts"
import type { HealthGate } from "./HealthGate.ts"

type AnyPolicy = Policy.Policy<unknown, unknown, McpGateway>

const message = (u: unknown): string =>
  Predicate.hasProperty(u, "message") && typeof u.message === "string" ? u.message : String(u)

const numberField = (u: unknown, field: string): number | undefined =>
  Predicate.hasProperty(u, field) && typeof u[field] === "number" ? u[field] : undefined

const stringField = (u: unknown, field: string): string | undefined =>
  Predicate.hasProperty(u, field) && typeof u[field] === "string" ? u[field] : undefined

/**
 * A policy's failure as a tool error of `server.tool`. Tool errors pass through; otherwise:
 *
 * | policy failure | reason |
 * | --- | --- |
 * | `PolicyTimeout` | `Timeout` (`phase` `"call"` per attempt, `"total"` overall) |
 * | `BreakerRejected` | `Rejected { by: "breaker", policy: <circuit key>, retryAfterMs }` |
 * | `BulkheadRejected` | `Rejected { by: "bulkhead", policy: <pool> }` |
 * | `RateLimitRejected` | `Rejected { by: "rate-limit", policy: <limiter key>, retryAfterMs }` |
 * | `PolicyFallbackFailed` | `FallbackFailed { primary, fallback }`, each mapped the same way |
 * | anything else | `ToolFailed` with its message |
 *
 * `RateLimited` stays the reason for a rate limit announced by the server.
 *
 * @example
 * ```ts
 * const e = toToolError("docker", "build", new BreakerRejected({ key: "docker", state: "open", retryAfterMs: 1000 }))
 * e.reason._tag // => "Rejected"
 * e.retryAfterMs // => 1000
 * ```
 */
export const toToolError = (server: string, tool: string, error: unknown): McpflowToolError =>
  error instanceof McpflowToolError ? error : toolError(toReason(server, tool, error))

const toReason = (server: string, tool: string, error: unknown): ToolErrorReason => {
  if (error instanceof McpflowToolError) return error.reason
  if (Predicate.isTagged(error, "PolicyTimeout") && Predicate.hasProperty(error, "afterMs")) {
    const scope = Predicate.hasProperty(error, "scope") ? error.scope : "attempt"
    const name = Predicate.hasProperty(error, "policy") ? String(error.policy) : "timeout"
    return new Timeout({ server, tool, phase: scope === "overall" ? "total" : "call", afterMs: Number(error.afterMs), policy: `policy '${name}'` })
  }
  const by = Predicate.isTagged(error, "BreakerRejected")
    ? "breaker"
    : Predicate.isTagged(error, "BulkheadRejected")
    ? "bulkhead"
    : Predicate.isTagged(error, "RateLimitRejected")
    ? "rate-limit"
    : undefined
  if (by !== undefined) {
    const policy = (by === "bulkhead" ? stringField(error, "pool") : stringField(error, "key")) ?? by
    const retryAfterMs = numberField(error, "retryAfterMs")
    return new Rejected({ server, tool, by, policy, ...(retryAfterMs === undefined ? {} : { retryAfterMs }), detail: message(error) })
  }
  if (Predicate.isTagged(error, "PolicyFallbackFailed") && Predicate.hasProperty(error, "fallback") && Predicate.hasProperty(error, "primary")) {
    return new FallbackFailed({
      server,
      tool,
      policy: stringField(error, "policy") ?? "fallback",
      primary: toReason(server, tool, error.primary),
      fallback: toReason(server, tool, error.fallback)
    })
  }
  return new ToolFailed({ server, tool, text: message(error) })
}

/**
 * Resolves and runs the policy of each contract call.
 *
 * @example
 * ```ts
 * const policies = yield* makePolicies(config.policies)
 * policies.needed(contract, callOptions) // false when no level sets a policy
 * ```
 */
export interface GatewayPolicies {
  /** Whether any level may set a policy for this call (cheap; false → the plain path). */
  readonly needed: (contract: ContractInfo, callOptions: CallOptions | undefined) => boolean
  /** Runs `attempt` (one call of the tool with encoded `args`) under the call's resolved policy. */
  readonly run: <In extends ContractSchema, Out extends ContractSchema>(
    contract: ContractInfo<In, Out>,
    args: Readonly<Record<string, unknown>>,
    callOptions: CallOptions<Out["Type"]> | undefined,
    attempt: Effect.Effect<Out["Type"], McpflowToolError>,
    gateway: McpGateway["Service"]
  ) => Effect.Effect<Out["Type"], McpflowToolError>  /** The bulkhead pools of the config's policies, by name (for the in-use and queue gauges). */
  readonly pools: ReadonlyMap<string, Bulkhead>
}

/**
 * Builds the config's policies (once per gateway layer) and the resolver. Fails with the
 * {@link Policy.PolicyConfigError} of the first malformed entry, its path prefixed with the key.
 *
 * @example
 * ```ts
 * const policies = yield* makePolicies({ docker: { timeout: "30s" }, "docker.build": { timeout: "10m" } })
 * ```
 */
export const makePolicies = Effect.fnUntraced(function*(
  config: Readonly<Record<string, Policy.PolicyInput>> | undefined,
  pools?: Readonly<Record<string, PoolSettings>> | undefined,
  gate?: HealthGate | undefined
): Effect.fn.Return<GatewayPolicies, Policy.PolicyConfigError> {
  // Breakers and rate limits shared across processes when the caller provides stores (a cluster runner).
  const registry = Policy.registry({ pools, ...(yield* Policy.SharedState) })
  const byKey = new Map<string, AnyPolicy>()
  for (const [key, input] of Object.entries(config ?? {})) {
    const built = yield* Effect.mapError(
      Policy.make(input, { registry, owner: key }),
      (e) => new Policy.PolicyConfigError({ path: `policies.${key}${e.path === "" ? "" : `.${e.path}`}`, detail: e.detail })
    )
    byKey.set(key, built as AnyPolicy)
  }
  const servers = new Set([...byKey.keys()].map((k) => k.split(".")[0]!))

  /** Resolved policies without a call-site policy, per contract object. */
  const perContract = new WeakMap<ContractInfo, AnyPolicy>()
  /** Resolved policies with a call-site policy, per call-site policy object and contract. */
  const perCallSite = new WeakMap<object, WeakMap<ContractInfo, AnyPolicy>>()

  const resolve = (
    contract: ContractInfo,
    callPolicy: Policy.PolicyInput<unknown, unknown, McpGateway> | undefined
  ): Effect.Effect<AnyPolicy, McpflowToolError> => {
    const memo = callPolicy === undefined ? perContract : perCallSite.get(callPolicy)
    const found = memo?.get(contract)
    if (found !== undefined) return Effect.succeed(found)
    const spec = Policy.merge<unknown, unknown, McpGateway>(
      byKey.get(contract.server),
      contract.policy,
      byKey.get(contract.name),
      callPolicy
    )
    return Effect.mapBoth(Policy.make(spec, { registry, owner: contract.name }), {
      onFailure: (e) =>
        toolError(new InvalidInput({ server: contract.server, tool: contract.tool, path: `policy.${e.path}`, issue: e.detail })),
      onSuccess: (policy) => {
        if (callPolicy === undefined) {
          perContract.set(contract, policy)
        } else {
          let inner = perCallSite.get(callPolicy)
          if (inner === undefined) perCallSite.set(callPolicy, inner = new WeakMap())
          inner.set(contract, policy)
        }
        return policy
      }
    })
  }

  const needed = (contract: ContractInfo, callOptions: CallOptions | undefined): boolean =>
    callOptions?.policy !== undefined || contract.policy !== undefined ||
    (servers.size > 0 && servers.has(contract.server))

  const run = <In extends ContractSchema, Out extends ContractSchema>(
    contract: ContractInfo<In, Out>,
    args: Readonly<Record<string, unknown>>,
    callOptions: CallOptions<Out["Type"]> | undefined,
    attempt: Effect.Effect<Out["Type"], McpflowToolError>,
    gateway: McpGateway["Service"]
  ): Effect.Effect<Out["Type"], McpflowToolError> =>
    Effect.flatMap(resolve(contract as ContractInfo, callOptions?.policy), (policy) => {
      if (policy.isEmpty) return attempt
      const a = contract.annotations
      const ctx: Policy.CallContext = {
        idempotent: callOptions?.idempotent ?? a.idempotent,
        readOnly: a.readOnly,
        key: contract.name,
        server: contract.server,
        cacheKey: policy.cache === undefined ? undefined : Cache.key(contract.name, args)
      }
      const applied = Policy.apply(attempt, policy, ctx) as Effect.Effect<Out["Type"], unknown, McpGateway>
      // A breaker whose circuit is this server's (or one of its tools') is held open while the
      // server's health probes fail (see HealthGate).
      const b = policy.breaker
      const guarded = gate === undefined || b === undefined || b.per === "breaker" || !gate.watches(contract.server)
        ? applied
        : gate.guard(contract.server, b.breaker, b.per === "server" ? contract.server : contract.name, applied)
      const mapped = Effect.mapError(guarded, (e) => toToolError(contract.server, contract.tool, e))
      const call = policy.fallback === undefined
        ? (mapped as Effect.Effect<Out["Type"], McpflowToolError>)
        : withService(mapped, McpGateway, gateway)
      return policy.breaker === undefined ? call : Effect.andThen(reportOrder(contract.name), call)
    })

  /**
   * Where a step's retry meets this call's breaker: the retry runs outside the circuit, against
   * the fixed order. Reported once per (step, tool) in a run, as a `PolicyOrder` policy event.
   */
  const reportOrder = (tool: string): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      const retrying = fiber.getRef(RetryingStep)
      if (retrying === undefined) return Effect.void
      const key = `${retrying.path}\u0000${tool}`
      if (retrying.warned.has(key)) return Effect.void
      retrying.warned.add(key)
      fiber.getRef(PolicyEvents).emit({ _tag: "PolicyOrder", policy: "retry", step: retrying.path, tool })
      return Effect.void
    })

  return { needed, run, pools: registry.pools }
})
