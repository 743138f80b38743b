/**
 * A Prometheus scrape endpoint: `GET /metrics` on `[host]:port` (loopback unless a host is
 * given) answers the metrics of the layer's registry in the text exposition format
 * (`effect/observability` `PrometheusMetrics`). Other paths answer 404.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(PrometheusEndpoint.layer({ host: "127.0.0.1", port: 9464 })))
 * ```
 * @module
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Context, Effect, Layer, Schema } from "effect"
import * as PrometheusMetrics from "effect/observability/PrometheusMetrics"
import type { Address } from "./Address.ts"
import { CurrentTelemetry } from "./Telemetry.ts"

/**
 * A bad `--metrics` / `MCPFLOW_METRICS` value, or an address that could not be bound.
 *
 * @example
 * ```ts
 * new MetricsEndpointError({ address: "127.0.0.1:9464", detail: "EADDRINUSE" })
 * ```
 */
export class MetricsEndpointError extends Schema.TaggedError<MetricsEndpointError>()("MetricsEndpointError", {
  address: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `metrics endpoint ${this.address}: ${this.detail}`
  }
}

/**
 * The running endpoint: its URL (with the port actually bound, for `:0`).
 *
 * @example
 * ```ts
 * const { url } = yield* MetricsEndpoint // "http://127.0.0.1:9464/metrics"
 * ```
 */
export class MetricsEndpoint extends Context.Service<MetricsEndpoint, { readonly url: string }>()(
  "mcpflow/runtime/observe/MetricsEndpoint"
) {}

/**
 * Serves `/metrics` at `address` for the layer's lifetime; the registry is the one in the
 * layer's context (`Metric.MetricRegistry`), the gauges read from live state are refreshed
 * before each scrape.
 *
 * @example
 * ```ts
 * Layer.provide(PrometheusEndpoint.layer({ host: "127.0.0.1", port: 0 }), Metrics.layer)
 * ```
 */
export const layer = (address: Address): Layer.Layer<MetricsEndpoint, MetricsEndpointError> =>
  Layer.effect(
    MetricsEndpoint,
    Effect.gen(function*() {
      const context = yield* Effect.context<never>()
      const telemetry = Context.get(context, CurrentTelemetry)
      const server = createServer((req, res) => {
        if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
          res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n")
          return
        }
        telemetry?.refresh()
        const body = PrometheusMetrics.formatUnsafe(context)
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(body)
      })
      const shown = address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
      const port = yield* Effect.acquireRelease(
        Effect.callback<number, MetricsEndpointError>((resume) => {
          const onError = (error: Error) =>
            resume(Effect.fail(new MetricsEndpointError({ address: shown, detail: error.message })))
          server.once("error", onError)
          server.listen(address.port, address.host, () => {
            server.off("error", onError)
            resume(Effect.succeed((server.address() as AddressInfo).port))
          })
        }),
        () =>
          Effect.callback<void>((resume) => {
            server.closeAllConnections()
            server.close(() => resume(Effect.void))
          })
      )
      const host = address.host.includes(":") ? `[${address.host}]` : address.host
      return MetricsEndpoint.of({ url: `http://${host}:${port}/metrics` })
    })
  )
