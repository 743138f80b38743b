/**
 * Options of the sandbox: knobs that make a fake answer differently, so flows and chaos suites
 * can exercise their unhappy paths without faults.
 *
 * @example
 * ```ts
 * const servers = yield* sandboxServers({ vulnerableImages: ["app:latest"] })
 * ```
 * @module
 */

/**
 * What the sandbox can be told.
 *
 * @example
 * ```ts
 * const options: SandboxOptions = { failingCommands: ["pytest tests/integration"], trainingMs: 1_000 }
 * ```
 */
export interface SandboxOptions {
  /** Images whose container scans report a critical vulnerability (default: none). */
  readonly vulnerableImages?: ReadonlyArray<string> | undefined
  /** desktop-commander commands (matched by substring) that exit 1 (default: none). */
  readonly failingCommands?: ReadonlyArray<string> | undefined
  /** How long a training job of the compute server runs, in clock milliseconds (default 3000). */
  readonly trainingMs?: number | undefined
  /** Services `prometheus-monitoring` reports as degraded, failing their health and canary checks (default: none). */
  readonly unhealthyServices?: ReadonlyArray<string> | undefined
  /**
   * `check_metrics` reports a canary unhealthy once its traffic reaches this percent (a canary
   * that degrades under load; default: never).
   */
  readonly canaryUnhealthyFrom?: number | undefined
  /** Training jobs of the compute server fail once their progress reaches this percent (default: never). */
  readonly trainingFailsAt?: number | undefined
}
