/**
 * The circuit breaker's errors (re-exported by `CircuitBreaker`).
 *
 * @example
 * ```ts
 * import { BreakerRejected } from "./BreakerErrors.ts"
 *
 * new BreakerRejected({ key: "docker", state: "forced-open" }).transient // => false
 * ```
 * @module
 */
import { Schema } from "effect"

/**
 * A call the breaker did not run: the circuit of `key` is `open` (`retryAfterMs` says how much
 * of the open time is left), `half-open` with all its trial permits taken, or `forced-open`.
 * It carries the traits retry policies read (see `ErrorTraits`): `transient` (false only when
 * forced open), `mayHaveReachedServer` (false) and `retryAfterMs` (a lower bound for the next try).
 *
 * @example
 * ```ts
 * new BreakerRejected({ key: "docker", state: "open", retryAfterMs: 28000 }).message
 * // => "circuit 'docker' is open; retry after 28000 ms"
 * ```
 */
export class BreakerRejected extends Schema.TaggedError<BreakerRejected>()("BreakerRejected", {
  key: Schema.String,
  state: Schema.Literals(["open", "half-open", "forced-open"]),
  retryAfterMs: Schema.optional(Schema.Number),
  /** Why the circuit is held open from outside (e.g. `"health: fs unhealthy"`), when it is. */
  heldBy: Schema.optional(Schema.String)
}) {
  override get message(): string {
    switch (this.state) {
      case "open":
        if (this.heldBy !== undefined) return `circuit '${this.key}' is held open (${this.heldBy})`
        return `circuit '${this.key}' is open${this.retryAfterMs !== undefined ? `; retry after ${this.retryAfterMs} ms` : ""}`
      case "half-open":
        return `circuit '${this.key}' is half-open and all its trial calls are in flight; retry later`
      case "forced-open":
        return `circuit '${this.key}' is isolated (forced open) until it is reset`
    }
  }
  /** Whether retrying can help: yes unless the circuit was isolated by hand. */
  get transient(): boolean {
    return this.state !== "forced-open"
  }
  /** Always false: a rejected call was never sent. */
  get mayHaveReachedServer(): boolean {
    return false
  }
}

/**
 * Settings `make` refused: `setting` names the option, `issue` says what is wrong with it.
 *
 * @example
 * ```ts
 * new BreakerSettingsError({ breaker: "docker", setting: "halfOpen.successThreshold", issue: "must be an integer in [1, permittedCalls]" }).message
 * // => "breaker 'docker': halfOpen.successThreshold must be an integer in [1, permittedCalls]"
 * ```
 */
export class BreakerSettingsError extends Schema.TaggedError<BreakerSettingsError>()("BreakerSettingsError", {
  breaker: Schema.String,
  setting: Schema.String,
  issue: Schema.String
}) {
  override get message(): string {
    return `breaker '${this.breaker}': ${this.setting} ${this.issue}`
  }
}
