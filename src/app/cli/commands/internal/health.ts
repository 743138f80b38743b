/**
 * `mcpflow health`: probes every configured server and replica and prints its state; with
 * `--watch`, probes on an interval and prints each change (see `../health.ts`).
 *
 * @example
 * ```sh
 * mcpflow health --json
 * ```
 * @module
 */
import { Effect, Option } from "effect"
import { McpGateway, type ServerHealth } from "../../../../../dsl/ports/McpGateway.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { defaultConfig } from "../../Flags.ts"
import { CliExit, columns, printJson, printLines } from "../../output.ts"
import { withGateway } from "./withGateway.ts"

/**
 * Probes every server of the gateway once, concurrently; never fails (a server that does not
 * answer has a failed probe, see {@link verdict}).
 *
 * @example
 * ```ts
 * const servers = yield* probeAll
 * servers.map((s) => s.state) // => ["healthy", "unknown"]
 * ```
 */
export const probeAll: Effect.Effect<ReadonlyArray<ServerHealth>, never, McpGateway> = McpGateway.use((gateway) =>
  gateway.health?.({ probe: true }) ?? Effect.succeed([])
)

/**
 * What one probe says of a server for the command: its state, or `unhealthy` when its last probe
 * failed (a single probe is all a one-shot command has; the thresholds are for background probes).
 *
 * @example
 * ```ts
 * verdict({ server: "fs", state: "unknown", successes: 0, failures: 1, detail: "down" }) // => "unhealthy"
 * ```
 */
export const verdict = (h: ServerHealth): "healthy" | "unhealthy" | "unknown" =>
  h.failures > 0 ? "unhealthy" : h.successes > 0 ? "healthy" : h.state

/**
 * The text form: one aligned row per server (key, state, probe latency, why it failed).
 *
 * @example
 * ```ts
 * formatHealth([{ server: "fs", state: "healthy", successes: 1, failures: 0, latencyMs: 3 }])
 * // => ["fs  healthy  3ms"]
 * ```
 */
export const formatHealth = (servers: ReadonlyArray<ServerHealth>): ReadonlyArray<string> =>
  columns(servers.map((h) => [h.server, verdict(h), h.latencyMs === undefined ? "" : `${Math.round(h.latencyMs)}ms`, h.detail ?? ""]))
    .map((row) => row.trimEnd())

/**
 * Probes every `intervalMs` forever, calling `emit` with each server whose verdict changed
 * (every server on the first round).
 *
 * @example
 * ```ts
 * yield* Effect.forkChild(watchHealth(5_000, (changed) => console.log(formatHealth(changed).join("\n"))))
 * ```
 */
export const watchHealth = (
  intervalMs: number,
  emit: (changed: ReadonlyArray<ServerHealth>) => Effect.Effect<void>
): Effect.Effect<never, never, McpGateway> => {
  const last = new Map<string, string>()
  return Effect.forever(
    Effect.gen(function*() {
      const servers = yield* probeAll
      const changed = servers.filter((h) => last.get(h.server) !== verdict(h))
      for (const h of changed) last.set(h.server, verdict(h))
      if (changed.length > 0) yield* emit(changed)
      yield* Effect.sleep(intervalMs)
    })
  )
}

/**
 * Runs `mcpflow health` (see `../health.ts` for its flags).
 *
 * @example
 * ```ts
 * health({ config: Option.none(), json: true, watch: false, interval: 10, verbose: false })
 * ```
 */
export const health = Effect.fn("mcpflow.health")(function*({ config, json, watch, interval, verbose }: {
  readonly config: Option.Option<string>
  readonly json: boolean
  readonly watch: boolean
  readonly interval: number
  readonly verbose: boolean
}) {
  const gateway = withGateway({ config: Option.getOrElse(config, () => defaultConfig), verbose })
  if (watch) {
    return yield* watchHealth(interval * 1_000, (changed) =>
      json
        ? printLines(changed.map((h) => JSON.stringify({ ...h, state: verdict(h) })))
        : printLines(formatHealth(changed))).pipe(gateway)
  }
  const servers = yield* probeAll.pipe(gateway)
  yield* json ? printJson({ servers: servers.map((h) => ({ ...h, state: verdict(h) })) }) : printLines(formatHealth(servers))
  const down = servers.filter((h) => verdict(h) !== "healthy").length
  if (down > 0) {
    // With --json the document above says it (as `mcpflow run --json` does): nothing more on stderr.
    return yield* new CliExit({
      code: ExitCode.Failure,
      reported: json,
      message: json ? "" : `${down} of ${servers.length} server${servers.length === 1 ? "" : "s"} not healthy`
    })
  }
})
