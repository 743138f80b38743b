/**
 * Server alternatives: a declarative, typed table from a capability to its ordered
 * alternatives — each a `server.tool` with a mapping of the capability's input to the tool's
 * arguments and of the tool's answer back to the capability's result. Serving a capability
 * tries them in order (each move to the next is a `FallbackUsed` policy event); which one served
 * (or that none could) is a `CapabilityDegraded` policy event, so the run's report says "scan served by trivy instead of snyk" or "sast lost".
 *
 * @example
 * ```ts
 * const Audit = Alternatives.table({
 *   scan: [
 *     Alternatives.tool(Snyk.test, { args: (image: string) => ({ image }), result: (out) => Effect.succeed(out.issues) }),
 *     Alternatives.tool(Trivy.image, { args: (image: string) => ({ target: image }), result: (out) => Effect.succeed(out.vulns) })
 *   ]
 * })
 * const { value, servedBy, degraded } = yield* step("scan", Alternatives.serve(Audit.scan, "api:1.4.2"))
 * ```
 * @module
 */
import { Effect, Schema } from "effect"
import type { ContractSchema, ToolContract } from "../Contract.ts"
import type { CallOptions, McpGateway } from "../ports/McpGateway.ts"
import { label } from "../policy/internal/ErrorTraits.ts"
import { PolicyEvents } from "../policy/PolicyEvents.ts"
import type { McpflowToolError } from "../ToolError.ts"
import { interpreterOf } from "./internal/Interpreter.ts"
import { CurrentScope } from "./RunScope.ts"

/**
 * One way to serve a capability: its name (`server.tool` for a tool) and how it serves an input.
 *
 * @example
 * ```ts
 * const cached: Alternative<string, number, never> = Alternatives.local("cache", () => Effect.succeed(0))
 * ```
 */
export interface Alternative<in I, out A, out E> {
  readonly name: string
  readonly serve: (input: I) => Effect.Effect<A, E, McpGateway>
}

/**
 * A capability: its name, its alternatives in order of preference, and which failures move on
 * to the next one.
 *
 * @example
 * ```ts
 * const scan: Capability<string, ReadonlyArray<Issue>, McpflowToolError> = Alternatives.capability("scan", [viaSnyk, viaTrivy])
 * ```
 */
export interface Capability<in I, out A, out E> {
  readonly name: string
  readonly alternatives: ReadonlyArray<Alternative<I, A, E>>
  readonly when: (error: unknown) => boolean
}

/**
 * A served capability: the value, which alternative served it, the preferred one, and why the
 * ones before failed.
 *
 * @example
 * ```ts
 * const s: Served<number> = { value: 1, capability: "scan", servedBy: "trivy.image", preferred: "snyk.test", degraded: true, failures: [{ by: "snyk.test", error: "timed out" }] }
 * ```
 */
export interface Served<A> {
  readonly value: A
  readonly capability: string
  readonly servedBy: string
  readonly preferred: string
  /** Served by another alternative than the first. */
  readonly degraded: boolean
  readonly failures: ReadonlyArray<{ readonly by: string; readonly error: string }>
}

/**
 * Every alternative of a capability failed (or one failed in a way that must not be worked
 * around): the capability is lost. `errors` are the alternatives' own errors, in order.
 *
 * @example
 * ```ts
 * new CapabilityLost({ capability: "sast", tried: [{ by: "semgrep.scan", error: "down" }], errors: [] }).message
 * // => "sast lost: semgrep.scan failed (down)"
 * ```
 */
export class CapabilityLost extends Schema.TaggedError<CapabilityLost>()("CapabilityLost", {
  capability: Schema.String,
  tried: Schema.Array(Schema.Struct({ by: Schema.String, error: Schema.String })),
  errors: Schema.Array(Schema.Unknown)
}) {
  override get message(): string {
    return `${this.capability} lost: ${this.tried.map((t) => `${t.by} failed (${t.error})`).join("; ")}`
  }
}

/**
 * The typed mapping of one tool alternative: the tool's arguments for the capability's input,
 * the capability's result from the tool's answer (an Effect: reading it may fail), and the call's
 * options (timeout, policy).
 *
 * @example
 * ```ts
 * const m: ToolMapping<string, number, never, typeof In, typeof Out> = { args: (image) => ({ image }), result: (out) => Effect.succeed(out.count) }
 * ```
 */
export interface ToolMapping<I, A, E, In extends ContractSchema, Out extends ContractSchema> {
  readonly args: (input: I) => In["Type"]
  readonly result: (output: Out["Type"], input: I) => Effect.Effect<A, E>
  readonly call?: CallOptions<Out["Type"]> | undefined
  /** The alternative's name in reports (default `server.tool`). */
  readonly name?: string | undefined
}

/**
 * An alternative served by `contract`, with its argument and result mapping.
 *
 * @example
 * ```ts
 * const viaTrivy = Alternatives.tool(Trivy.image, { args: (image: string) => ({ target: image }), result: (out) => Effect.succeed(out.vulns) })
 * ```
 */
export const tool = <I, A, E, In extends ContractSchema, Out extends ContractSchema>(
  contract: ToolContract<In, Out>,
  mapping: ToolMapping<I, A, E, In, Out>
): Alternative<I, A, E | McpflowToolError> => ({
  name: mapping.name ?? contract.name,
  serve: (input) => Effect.flatMap(Effect.suspend(() => contract(mapping.args(input), mapping.call)), (output) => mapping.result(output, input))
})

/**
 * An alternative served in the flow itself (a cached answer, totals computed locally).
 *
 * @example
 * ```ts
 * const locally = Alternatives.local("local", (issues: ReadonlyArray<Issue>) => Effect.succeed(count(issues)))
 * ```
 */
export const local = <I, A, E = never>(name: string, serve: (input: I) => Effect.Effect<A, E, McpGateway>): Alternative<I, A, E> => ({
  name,
  serve
})

/**
 * Which failures move on to the next alternative (default: every typed failure).
 *
 * @example
 * ```ts
 * const options: CapabilityOptions = { when: (e) => !(e instanceof McpflowToolError && e.reason._tag === "NotAllowed") }
 * ```
 */
export interface CapabilityOptions {
  readonly when?: ((error: unknown) => boolean) | undefined
}

/**
 * A capability from its alternatives, most preferred first.
 *
 * @example
 * ```ts
 * const scan = Alternatives.capability("scan", [viaSnyk, viaTrivy], { when: (e) => e instanceof McpflowToolError })
 * ```
 */
export const capability = <I, A, E>(
  name: string,
  alternatives: readonly [Alternative<I, A, E>, ...Array<Alternative<I, A, E>>],
  options?: CapabilityOptions
): Capability<I, A, E> => ({ name, alternatives, when: options?.when ?? (() => true) })

/**
 * A table of capabilities, each named by its key: `{ scan: [snyk, trivy], sast: [semgrep] }`.
 *
 * @example
 * ```ts
 * const Audit = Alternatives.table({ scan: [viaSnyk, viaTrivy], sast: [viaSemgrep] }, { when: degradable })
 * Audit.scan.name // => "scan"
 * ```
 */
export const table = <const T extends Record<string, readonly [Alternative<any, any, any>, ...Array<Alternative<any, any, any>>]>>(
  alternatives: T,
  options?: CapabilityOptions
): { readonly [K in keyof T]: Capability<InputOf<T[K][number]>, ValueOf<T[K][number]>, ErrorOf<T[K][number]>> } =>
  Object.fromEntries(Object.entries(alternatives).map(([name, list]) => [name, capability(name, list, options)])) as never

/** The input an alternative takes. */
export type InputOf<T> = T extends Alternative<infer I, infer _A, infer _E> ? I : never
/** The value an alternative serves. */
export type ValueOf<T> = T extends Alternative<infer _I, infer A, infer _E> ? A : never
/** The error an alternative may fail with. */
export type ErrorOf<T> = T extends Alternative<infer _I, infer _A, infer E> ? E : never

const text = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" && error.message !== ""
    ? error.message
    : String(error)

/**
 * Serves `capability` for `input`: its alternatives in order until one succeeds. A failure that
 * `when` does not accept stops there (with that error); when every alternative failed it is
 * {@link CapabilityLost}. Emits `CapabilityDegraded` when the preferred alternative did not serve.
 * A plan walks every alternative, so it lists every tool the capability may call.
 *
 * @example
 * ```ts
 * const scanned = yield* step("scan", Alternatives.serve(Audit.scan, input.image))
 * if (scanned.degraded) console.log(`${scanned.capability} served by ${scanned.servedBy} instead of ${scanned.preferred}`)
 * ```
 */
export const serve = <I, A, E>(capability: Capability<I, A, E>, input: I): Effect.Effect<Served<A>, E | CapabilityLost, McpGateway> =>
  CurrentScope.use((scope) =>
    Effect.gen(function*() {
      const interpreter = interpreterOf(scope)
      const names = capability.alternatives.map((a) => a.name)
      const preferred = names[0] ?? capability.name
      interpreter.policies(scope.path, [{ kind: "fallback", settings: { capability: capability.name, alternatives: names } }])
      const planning = interpreter.enters(() => false)
      const events = yield* PolicyEvents
      const tried: Array<{ by: string; error: string }> = []
      const errors: Array<unknown> = []
      let served: Served<A> | undefined
      for (const [index, alternative] of capability.alternatives.entries()) {
        const exit = yield* Effect.exit(alternative.serve(input))
        if (exit._tag === "Success") {
          served ??= {
            value: exit.value,
            capability: capability.name,
            servedBy: alternative.name,
            preferred,
            degraded: alternative.name !== preferred,
            failures: [...tried]
          }
          // A plan walks every alternative, to show every tool the capability may call.
          if (planning) continue
          break
        }
        const error = exit.cause.reasons.find((r) => r._tag === "Fail")
        if (error === undefined) return yield* Effect.failCause(exit.cause) // a defect or an interruption is not worked around
        tried.push({ by: alternative.name, error: text(error.error) })
        errors.push(error.error)
        if (!capability.when(error.error) && served === undefined) {
          events.emit({ _tag: "CapabilityDegraded", policy: capability.name, capability: capability.name, preferred, servedBy: undefined, failures: tried })
          return yield* Effect.fail(error.error as E)
        }
        const next = capability.alternatives[index + 1]
        if (next !== undefined && served === undefined) {
          events.emit({ _tag: "FallbackUsed", policy: capability.name, served: next.name, primaryFailure: label(error.error) })
        }
      }
      if (served === undefined) {
        events.emit({ _tag: "CapabilityDegraded", policy: capability.name, capability: capability.name, preferred, servedBy: undefined, failures: tried })
        return yield* new CapabilityLost({ capability: capability.name, tried, errors })
      }
      if (served.degraded) {
        events.emit({ _tag: "CapabilityDegraded", policy: capability.name, capability: capability.name, preferred, servedBy: served.servedBy, failures: tried })
      }
      return served
    })
  )

/**
 * The degradation in words: "scan served by trivy.image instead of snyk.test", "sast lost".
 *
 * @example
 * ```ts
 * degradedText({ capability: "sast", preferred: "semgrep.scan", servedBy: undefined }) // => "sast lost"
 * ```
 */
export const degradedText = (d: { readonly capability: string; readonly preferred: string; readonly servedBy: string | undefined }): string =>
  d.servedBy === undefined ? `${d.capability} lost` : `${d.capability} served by ${d.servedBy} instead of ${d.preferred}`
