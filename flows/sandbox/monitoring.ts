/**
 * Sandbox fake of `prometheus-monitoring`. It reads the shared cluster (the services running,
 * their versions, canary traffic) and keeps alert rules and recorded deployment statuses, so
 * `update_deployment_status` then `prometheus_query('deployment_info{…}')` sees the version.
 * Services listed in `unhealthyServices` are degraded: health checks and canary metrics fail.
 *
 * @example
 * ```ts
 * const servers = yield* makeMonitoringSandbox(yield* makeCluster, { unhealthyServices: ["app"] })
 * ```
 * @module
 */
import { Clock, Effect, Ref } from "effect"
import { FakeServer, FakeState } from "../../chaos/index.ts"
import type { InProcessServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { PrometheusMonitoring } from "../servers/monitoring.ts"
import type { ClusterState } from "./deploy.ts"
import type { SandboxOptions } from "./options.ts"
import { hash, latency, nowIso, sandboxServer } from "./support.ts"

const tagOf = (image: string) => image.slice(image.lastIndexOf(":") + 1)

const parseSelector = (query: string): { readonly metric: string; readonly labels: Readonly<Record<string, string>> } => {
  const metric = query.trim().split(/[{\s(]/)[0] ?? query
  const labels: Record<string, string> = {}
  for (const m of query.matchAll(/(\w+)\s*=\s*"([^"]*)"/g)) labels[m[1]!] = m[2]!
  return { metric, labels }
}

/**
 * The prometheus-monitoring fake.
 *
 * @example
 * ```ts
 * const { "prometheus-monitoring": prometheus } = yield* makeMonitoringSandbox(cluster, {})
 * ```
 */
export const makeMonitoringSandbox = (
  cluster: Ref.Ref<ClusterState>,
  options: SandboxOptions
): Effect.Effect<Record<string, InProcessServerConfig>> =>
  Effect.gen(function*() {
    const unhealthy = new Set(options.unhealthyServices ?? [])
    const statuses = yield* FakeState.ref("monitoring statuses", new Map<string, { readonly status: string; readonly version: string }>())
    const rules = yield* FakeState.ref("monitoring alert rules", new Map<string, ReadonlyArray<string>>())

    const health = (service: string) =>
      unhealthy.has(service)
        ? { status: "degraded" as const, error_rate: 0.087, latency_p95_ms: 1840 }
        : { status: "healthy" as const, error_rate: 0.002 + (hash(service) % 5) / 1000, latency_p95_ms: 120 + (hash(service) % 90) }

    const prometheus = yield* sandboxServer("prometheus-monitoring", [
      FakeServer.handle(PrometheusMonitoring.get_system_health, ({ include_metrics }) =>
        Effect.gen(function*() {
          yield* latency(450)
          const { deployments } = yield* Ref.get(cluster)
          const names = [...new Set([...deployments.values()].filter((d) => d.namespace === "production").map((d) => d.name))]
          const services = [...names, "api-gateway", "postgres", "redis"].map((name) => ({ name, ...health(name) }))
          const degraded = services.filter((s) => s.status !== "healthy").length
          return {
            status: degraded === 0 ? "healthy" as const : degraded > 2 ? "critical" as const : "degraded" as const,
            services,
            ...(include_metrics
              ? { metrics: { cpu_percent: 41.5, memory_percent: 63.2, error_rate: degraded === 0 ? 0.003 : 0.052, requests_per_second: 1840 } }
              : {}),
            checked_at: yield* nowIso
          }
        })),
      FakeServer.handle(PrometheusMonitoring.verify_service_health, ({ service, environment }) =>
        Effect.gen(function*() {
          yield* latency(800)
          const d = (yield* Ref.get(cluster)).deployments.get(`${environment}/${service}`)
          const h = health(service)
          const ok = h.status === "healthy" && d !== undefined && d.replicas > 0
          return {
            success: true,
            healthy: ok,
            checks_passed: ok ? 5 : 3,
            checks_total: 5,
            error_rate: h.error_rate,
            ...(d !== undefined ? { version: tagOf(d.image) } : {})
          }
        })),
      FakeServer.handle(PrometheusMonitoring.setup_alerts, ({ service, environment }) =>
        Effect.gen(function*() {
          yield* latency(300)
          const alert_rules = ["HighErrorRate", "HighLatencyP95", "PodCrashLooping", "CPUSaturation"].map(
            (r) => `${service}-${environment}-${r}`
          )
          yield* Ref.update(rules, (m) => new Map(m).set(`${environment}/${service}`, alert_rules))
          return { success: true, alert_rules }
        })),
      FakeServer.handle(PrometheusMonitoring.update_deployment_status, ({ status, version, service = "app", environment = "production" }) =>
        Effect.gen(function*() {
          yield* latency(120)
          const key = `${environment}/${service}`
          const previous = (yield* Ref.get(statuses)).get(key)
          yield* Ref.update(statuses, (m) => new Map(m).set(key, { status, version }))
          return { success: true, ...(previous !== undefined ? { previous_version: previous.version } : {}) }
        })),
      FakeServer.handle(PrometheusMonitoring.prometheus_query, ({ query }) =>
        Effect.gen(function*() {
          yield* latency(90)
          const now = (yield* Clock.currentTimeMillis) / 1000
          const { metric, labels } = parseSelector(query)
          const matches = (sample: Readonly<Record<string, string>>) =>
            Object.entries(labels).every(([k, v]) => sample[k] === v)
          if (metric === "deployment_info") {
            const recorded = [...(yield* Ref.get(statuses))].map(([key, s]) => {
              const [environment = "", app = ""] = key.split("/")
              return { app, environment, version: s.version, status: s.status }
            })
            const running = [...(yield* Ref.get(cluster)).deployments.values()].map((d) => ({
              app: d.name,
              environment: d.namespace,
              version: tagOf(d.image),
              status: "running"
            }))
            const result = [...recorded, ...running].filter(matches).map((m) => ({ metric: { __name__: metric, ...m }, value: [now, "1"] as const }))
            return { status: "success" as const, data: { resultType: "vector" as const, result } }
          }
          const value = metric === "up" ? "1" : ((hash(query) % 1000) / 10).toFixed(1)
          return {
            status: "success" as const,
            data: { resultType: "vector" as const, result: [{ metric: { __name__: metric, ...labels }, value: [now, value] as const }] }
          }
        })),
      FakeServer.handle(PrometheusMonitoring.check_metrics, ({ service, namespace, max_error_rate = 0.01 }) =>
        Effect.gen(function*() {
          yield* latency(500)
          const pct = (yield* Ref.get(cluster)).traffic.get(`${namespace}/${service}`) ?? 100
          const underLoad = options.canaryUnhealthyFrom !== undefined && pct >= options.canaryUnhealthyFrom
          const h = underLoad ? { status: "degraded" as const, error_rate: 0.087, latency_p95_ms: 1840 } : health(service)
          return {
            healthy: h.error_rate <= max_error_rate,
            error_rate: h.error_rate,
            latency_p95_ms: h.latency_p95_ms,
            request_count: Math.round(18_000 * (pct / 100)) + 40
          }
        }))
    ])
    return { "prometheus-monitoring": prometheus }
  })
