/**
 * What a process that runs flows exports about them: Prometheus metrics on an address
 * (`--metrics` / `MCPFLOW_METRICS`), OTLP metrics where `--otlp` or `OTEL_EXPORTER_OTLP_ENDPOINT`
 * is set. With neither, the layer is empty and the runtime counts nothing. {@link metrics} is the
 * public layer (an app that embeds flows exposes the same metrics as the CLI); {@link layer} is
 * the CLI's (`run`, `worker`, `serve`: attach `Flags.metrics` and provide it around the work).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Observe } from "mcpflow"
 *
 * // GET http://127.0.0.1:9464/metrics while `app` runs its flows
 * const observed = (app: Effect.Effect<void>) => app.pipe(Effect.provide(Observe.metrics({ prometheus: ":9464" })))
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
 * Where an embedding app's metrics go: a Prometheus endpoint at `prometheus` (`"[host]:port"`
 * or an {@link Address}; loopback unless a host is given; default `MCPFLOW_METRICS`), OTLP
 * metrics pushed to `otlp` (default `OTEL_EXPORTER_OTLP_ENDPOINT`; a base URL gets
 * `/v1/metrics`). With neither, the layer is empty and nothing is counted. `onListening` is told
 * the endpoint's URL (with the port bound, for `:0`). A bad address, or one that cannot be bound,
 * fails with `MetricsEndpointError`. The metric names are `Metrics.names`.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { Observe } from "mcpflow"
 *
 * const layer = Observe.metrics({ prometheus: "127.0.0.1:0", onListening: (url) => Console.log(`scrape ${url}`) })
 * const serveFlows = (app: Effect.Effect<void>) => app.pipe(Effect.provide(layer))
 * ```
 */
export const metrics = (options?: {
  readonly prometheus?: Address | string | undefined
  readonly otlp?: string | undefined
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  readonly onListening?: ((url: string) => Effect.Effect<void>) | undefined
}): Layer.Layer<never, PrometheusEndpoint.MetricsEndpointError> =>
  Layer.unwrap(Effect.gen(function*() {
    const env = options?.env ?? process.env
    const parse = (text: string, from: string) => {
      const parsed = parseAddress(text)
      return Result.isFailure(parsed)
        ? Effect.fail(new PrometheusEndpoint.MetricsEndpointError({ address: text, detail: `${from}: expected ${parsed.failure}, got ${JSON.stringify(text)}` }))
        : Effect.succeed(Option.some(parsed.success))
    }
    const given = options?.prometheus
    const fromEnv = env["MCPFLOW_METRICS"]?.trim()
    const address: Option.Option<Address> = typeof given === "string"
      ? yield* parse(given, "prometheus")
      : given !== undefined
      ? Option.some(given)
      : fromEnv !== undefined && fromEnv !== ""
      ? yield* parse(fromEnv, "MCPFLOW_METRICS")
      : Option.none()
    const otlp = Tracing.endpointOf(Option.fromUndefinedOr(options?.otlp), env)
    if (Option.isNone(address) && Option.isNone(otlp)) return Layer.empty
    const endpoint = Option.match(address, {
      onNone: () => Layer.empty,
      onSome: (a) =>
        Layer.effectDiscard(
          Effect.gen(function*() {
            const { url } = yield* PrometheusEndpoint.MetricsEndpoint
            if (options?.onListening !== undefined) yield* options.onListening(url)
          })
        ).pipe(Layer.provide(PrometheusEndpoint.layer(a)))
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

/**
 * The CLI's metrics: {@link metrics} from the `--metrics` flag's address (else
 * `MCPFLOW_METRICS`) and the OTLP endpoint (`--otlp`, else `OTEL_EXPORTER_OTLP_ENDPOINT`); the
 * endpoint's URL is printed on stderr; a bad address or `MCPFLOW_TRACE_SAMPLE` is a usage error
 * (exit 2).
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
    return metrics({
      prometheus: Option.getOrUndefined(options.metrics),
      otlp: Option.getOrUndefined(options.otlp ?? Option.none()),
      env,
      onListening: (url) => Console.error(`metrics at ${url}`)
    }).pipe(
      Layer.catchTag("MetricsEndpointError", (e) =>
        Layer.effectDiscard(Effect.fail(usage(e.detail.startsWith("MCPFLOW_METRICS: ") ? e.detail : e.message))))
    )
  }))
