/**
 * Exports the spans of a run (one per flow, one per step) over OTLP/HTTP with
 * `effect/observability`: `--otlp <url>`, else `OTEL_EXPORTER_OTLP_ENDPOINT`.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import * as Tracing from "./Tracing.ts"
 * program.pipe(Effect.provide(Tracing.layer(Option.some("http://127.0.0.1:4318"), { serviceName: "mcpflow" })))
 * ```
 * @module
 */
import { Layer, Option } from "effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as OtlpSerialization from "effect/observability/OtlpSerialization"
import * as OtlpTracer from "effect/observability/OtlpTracer"

/**
 * The traces URL for an OTLP endpoint: a base URL (`http://host:4318`) gets `/v1/traces`; a URL
 * that already ends with it is kept.
 *
 * @example
 * ```ts
 * tracesUrl("http://127.0.0.1:4318")            // => "http://127.0.0.1:4318/v1/traces"
 * tracesUrl("http://127.0.0.1:4318/v1/traces")  // => "http://127.0.0.1:4318/v1/traces"
 * ```
 */
export const tracesUrl = (endpoint: string): string => {
  const trimmed = endpoint.replace(/\/+$/, "")
  return trimmed.endsWith("/v1/traces") ? trimmed : `${trimmed}/v1/traces`
}

/**
 * The endpoint to export to: the flag's value, else `OTEL_EXPORTER_OTLP_ENDPOINT`, else none.
 *
 * @example
 * ```ts
 * endpointOf(Option.none(), { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }) // => Option.some("http://collector:4318")
 * ```
 */
export const endpointOf = (
  flag: Option.Option<string>,
  env: Readonly<Record<string, string | undefined>>
): Option.Option<string> =>
  Option.orElse(flag, () => Option.filter(Option.fromUndefinedOr(env["OTEL_EXPORTER_OTLP_ENDPOINT"]), (url) => url.trim() !== ""))

/**
 * A layer that installs the OTLP tracer (JSON over HTTP, `fetch`) when an endpoint is given,
 * else nothing. Spans are batched every second and flushed when the layer's scope closes.
 *
 * @example
 * ```ts
 * Flow.run(flow, input).pipe(Effect.provide(Tracing.layer(Option.some("http://127.0.0.1:4318"), { serviceName: "mcpflow" })))
 * ```
 */
export const layer = (
  endpoint: Option.Option<string>,
  resource: { readonly serviceName: string; readonly serviceVersion?: string | undefined; readonly attributes?: Record<string, unknown> }
): Layer.Layer<never> =>
  Option.match(endpoint, {
    onNone: () => Layer.empty,
    onSome: (url) =>
      OtlpTracer.layer({ url: tracesUrl(url), resource, exportInterval: "1 second", shutdownTimeout: "3 seconds" }).pipe(
        Layer.provide(OtlpSerialization.layerJson),
        Layer.provide(FetchHttpClient.layer)
      )
  })
