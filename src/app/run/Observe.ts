/**
 * What a command that runs flows exports about them: Prometheus metrics on `--metrics` /
 * `MCPFLOW_METRICS`, OTLP metrics where `--otlp` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set. With
 * neither, the layer is empty and the runtime counts nothing. Reusable by any command: attach
 * `Flags.metrics` and provide {@link layer} around the command's work (`run`, `worker`, `serve`).
 *
 * @example
 * ```ts
 * work.pipe(Effect.provide(Observe.layer({ metrics: Option.some({ host: "127.0.0.1", port: 9464 }) })))
 * ```
 * @module
 */
import { Console, Effect, Layer, Option, Result } from "effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as OtlpMetrics from "effect/observability/OtlpMetrics"
import * as OtlpSerialization from "effect/observability/OtlpSerialization"
import { type Address, parseAddress } from "../../runtime/observe/Address.ts"
import * as Metrics from "../../runtime/observe/Metrics.ts"
import * as PrometheusEndpoint from "../../runtime/observe/PrometheusEndpoint.ts"
import { sampleRate } from "../../runtime/observe/Sampling.ts"
import { CliExit } from "../cli/output.ts"
import { ExitCode } from "./ExitCode.ts"
import * as Tracing from "./Tracing.ts"

/**
 * The metrics URL for an OTLP endpoint: a base URL gets `/v1/metrics`; a traces URL
 * (`…/v1/traces`) becomes its metrics sibling.
 *
 * @example
 * ```ts
 * metricsUrl("http://127.0.0.1:4318") // => "http://127.0.0.1:4318/v1/metrics"
 * ```
 */
export const metricsUrl = (endpoint: string): string => {
  const trimmed = endpoint.replace(/\/+$/, "").replace(/\/v1\/(traces|metrics)$/, "")
  return `${trimmed}/v1/metrics`
}

/**
 * Where metrics go: the flag's address, else `MCPFLOW_METRICS`'s (a bad value is a usage error,
 * exit 2); and the OTLP endpoint (`--otlp`, else `OTEL_EXPORTER_OTLP_ENDPOINT`).
 *
 * @example
 * ```ts
 * const layer = Observe.layer({ metrics: Option.none(), otlp: Option.none() })
 * ```
 */
export const layer = (options: {
  readonly metrics: Option.Option<Address>
  readonly otlp?: Option.Option<string> | undefined
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}): Layer.Layer<never, CliExit> =>
  Layer.unwrap(Effect.gen(function*() {
    const env = options.env ?? process.env
    const usage = (message: string) => new CliExit({ code: ExitCode.Usage, message })
    const rate = sampleRate(env)
    if (Result.isFailure(rate)) return yield* usage(rate.failure)
    let address = options.metrics
    const fromEnv = env["MCPFLOW_METRICS"]?.trim()
    if (Option.isNone(address) && fromEnv !== undefined && fromEnv !== "") {
      const parsed = parseAddress(fromEnv)
      if (Result.isFailure(parsed)) return yield* usage(`MCPFLOW_METRICS: expected ${parsed.failure}, got ${JSON.stringify(fromEnv)}`)
      address = Option.some(parsed.success)
    }
    const otlp = Tracing.endpointOf(options.otlp ?? Option.none(), env)
    if (Option.isNone(address) && Option.isNone(otlp)) return Layer.empty
    const endpoint = Option.match(address, {
      onNone: () => Layer.empty,
      onSome: (a) =>
        Layer.effectDiscard(
          Effect.gen(function*() {
            const { url } = yield* PrometheusEndpoint.MetricsEndpoint
            yield* Console.error(`metrics at ${url}`)
          })
        ).pipe(
          Layer.provide(PrometheusEndpoint.layer(a)),
          Layer.catchTag("MetricsEndpointError", (e) => Layer.effectDiscard(Effect.fail(usage(e.message))))
        )
    })
    const push = Option.match(otlp, {
      onNone: () => Layer.empty,
      onSome: (url) =>
        Layer.effectDiscard(Effect.void).pipe(
          Layer.provide(
            OtlpMetrics.layer({ url: metricsUrl(url), resource: { serviceName: "mcpflow" }, exportInterval: "10 seconds", shutdownTimeout: "3 seconds" })
              .pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))
          )
        )
    })
    return Layer.mergeAll(endpoint, push).pipe(Layer.provideMerge(Metrics.layer))
  }))
