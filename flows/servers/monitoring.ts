/**
 * Contract of the seeds' `prometheus-monitoring` server: system health, PromQL queries, alert
 * rules, deployment status and the canary metrics check.
 *
 * @example
 * ```ts
 * import { PrometheusMonitoring } from "./monitoring.ts"
 * const health = PrometheusMonitoring.get_system_health({ include_metrics: true, time_range: "1h" })
 * ```
 * @module
 */
import { Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import { Count, NonNegative, Percent, Ratio, Timestamp } from "./common.ts"

/**
 * The health of one service as monitoring sees it.
 *
 * @example
 * ```ts
 * const s: typeof ServiceHealth.Type = { name: "app", status: "healthy", error_rate: 0.002, latency_p95_ms: 180 }
 * ```
 */
export const ServiceHealth = Schema.Struct({
  name: Schema.String,
  status: Schema.Literals(["healthy", "degraded", "down"]),
  error_rate: Ratio,
  latency_p95_ms: NonNegative
})

/**
 * One sample of a Prometheus instant vector: labels and `[unix seconds, "value"]`.
 *
 * @example
 * ```ts
 * const s: typeof PromSample.Type = { metric: { app: "app", version: "1.2.3" }, value: [1727086500, "1"] }
 * ```
 */
export const PromSample = Schema.Struct({
  metric: Schema.Record(Schema.String, Schema.String),
  value: Schema.Tuple([Schema.Finite, Schema.String])
})

const TimeRange = Schema.Literals(["5m", "15m", "1h", "6h", "24h", "7d"])

/**
 * Prometheus monitoring. Queries are read-only; `setup_alerts` and `update_deployment_status`
 * write (idempotently: the same call twice leaves the same rules and status).
 *
 * @example
 * ```ts
 * yield* PrometheusMonitoring.setup_alerts({ service: "app", environment: "production" })
 * const { healthy } = yield* PrometheusMonitoring.verify_service_health({ service: "app", environment: "production", timeout: 300 })
 * const { data } = yield* PrometheusMonitoring.prometheus_query({ query: 'deployment_info{app="app"}' })
 * ```
 */
export const PrometheusMonitoring = Tool.server("prometheus-monitoring", {
  get_system_health: Tool.define({
    description: "Overall health of the system and of each service over a time range",
    input: Schema.Struct({ include_metrics: Schema.Boolean, time_range: TimeRange }),
    output: Schema.Struct({
      status: Schema.Literals(["healthy", "degraded", "critical"]),
      services: Schema.Array(ServiceHealth),
      metrics: Schema.optionalKey(Schema.Struct({
        cpu_percent: Percent,
        memory_percent: Percent,
        error_rate: Ratio,
        requests_per_second: NonNegative
      })),
      checked_at: Timestamp
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  verify_service_health: Tool.define({
    description: "Run a service's health checks until they pass or `timeout` seconds pass",
    input: Schema.Struct({ service: Schema.String, environment: Schema.String, timeout: Schema.optionalKey(NonNegative) }),
    output: Schema.Struct({
      success: Schema.Boolean,
      healthy: Schema.Boolean,
      checks_passed: Count,
      checks_total: Count,
      error_rate: Ratio,
      version: Schema.optionalKey(Schema.String)
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  setup_alerts: Tool.define({
    description: "Install the standard alert rules (error rate, latency, saturation) for a service",
    input: Schema.Struct({ service: Schema.String, environment: Schema.String }),
    output: Schema.Struct({ success: Schema.Boolean, alert_rules: Schema.Array(Schema.String) }),
    annotations: { idempotent: true }
  }),
  update_deployment_status: Tool.define({
    description: "Record which version of a service is deployed (the deployment_info metric)",
    input: Schema.Struct({
      status: Schema.Literals(["active", "inactive", "failed", "rolled_back"]),
      version: Schema.String,
      service: Schema.optionalKey(Schema.String),
      environment: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({ success: Schema.Boolean, previous_version: Schema.optionalKey(Schema.String) }),
    annotations: { idempotent: true }
  }),
  prometheus_query: Tool.define({
    description: "Evaluate a PromQL instant query",
    input: Schema.Struct({ query: Schema.String, time: Schema.optionalKey(Timestamp) }),
    output: Schema.Struct({
      status: Schema.Literals(["success", "error"]),
      data: Schema.Struct({ resultType: Schema.Literals(["vector", "scalar"]), result: Schema.Array(PromSample) })
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  check_metrics: Tool.define({
    description: "Compare a service's canary with its stable version over a window; `healthy` when error rate and latency stay within bounds",
    input: Schema.Struct({
      service: Schema.String,
      namespace: Schema.String,
      window: Schema.optionalKey(TimeRange),
      max_error_rate: Schema.optionalKey(Ratio)
    }),
    output: Schema.Struct({
      healthy: Schema.Boolean,
      error_rate: Ratio,
      latency_p95_ms: NonNegative,
      request_count: Count
    }),
    annotations: { readOnly: true, idempotent: true }
  })
})
