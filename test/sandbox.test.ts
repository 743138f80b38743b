import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import type { ContractInfo, ContractSchema } from "../dsl/Contract.ts"
import { makeSandbox, type Sandbox } from "../flows/sandbox/index.ts"
import { Compute, Docker, Kubernetes, Payment, PrometheusMonitoring, seedContracts, seedServers } from "../flows/servers/index.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
import { McpGateway } from "../dsl/ports/McpGateway.ts"

type InputOf<C> = C extends ContractInfo<infer In, ContractSchema> ? In["Type"] : never
type Seed = typeof seedServers
type Samples = { readonly [K in keyof Seed]: { readonly [T in keyof Seed[K]]: InputOf<Seed[K][T]> } }

/** One valid input per tool, in an order where each stateful call finds what it needs. */
const samples: Samples = {
  "security-scanner": {
    comprehensive_scan: { scope: "full", severity: "medium" },
    bandit_scan: { path: "src/", format: "json" },
    python_safety_check: { requirements_path: "requirements.txt" },
    npm_audit: { package_json_path: "package.json" },
    container_scan: { image: "app:latest", format: "json" },
    docker_security_scan: { image: "app:latest", severity: "high" },
    static_analysis: { config: "auto", path: "." },
    consolidate_reports: { reports: { bandit: { findings: [{ id: "B101", severity: "low" }] } }, output: "comprehensive_security_report.json" }
  },
  "desktop-commander": { execute_command: { command: "mypy src/" } },
  docker: {
    docker_build: { dockerfile_path: "Dockerfile", image_tag: "app:1.5.0" },
    docker_run: { image: "app:1.5.0", command: "pytest tests/ --cov=src/", volumes: ["/work:/app"] },
    docker_ps: { all: false }
  },
  kubernetes: {
    kubectl_apply: { manifest_path: "k8s/production/", namespace: "production" },
    kubectl_get: { resource_type: "deployment", name: "app", namespace: "production" },
    kubectl_scale: { resource_type: "deployment", name: "app", namespace: "production", replicas: 4 },
    kubectl_rollout_status: { resource_type: "deployment", name: "app", namespace: "production", timeout: 600 },
    kubectl_rollout_undo: { resource_type: "deployment", name: "app", namespace: "production" },
    kubectl_set_image: { resource_type: "deployment", name: "app", namespace: "production", image: "app:1.4.2" },
    update_traffic_split: { service: "app", namespace: "production", canary_percent: 10 },
    kubectl_delete: { resource_type: "namespace", name: "app-blue" }
  },
  "azure-devops": { create_work_item: { project: "Operations", work_item_type: "Task", title: "Post-deployment validation for app" } },
  "prometheus-monitoring": {
    get_system_health: { include_metrics: true, time_range: "1h" },
    verify_service_health: { service: "app", environment: "production", timeout: 300 },
    setup_alerts: { service: "app", environment: "production" },
    update_deployment_status: { status: "active", version: "1.5.0" },
    prometheus_query: { query: 'deployment_info{app="app",version="1.5.0"}' },
    check_metrics: { service: "app", namespace: "production", window: "5m" }
  },
  "s3-storage": {
    backup_deployment: { environment: "production", service: "app" },
    backup_config: { source: "k8s/", backup_name: "deployment_1.5.0" },
    emergency_backup: { source: "production-data", priority: "high" },
    s3_upload_file: { file_path: "/tmp/d1.json", bucket: "deployments", key: "deployments/d1.json", metadata: { app: "app", version: "1.5.0" } },
    s3_download_file: { bucket: "deployments", key: "deployments/d1.json", local_path: "/tmp/d1.json" }
  },
  "communication-hub": {
    broadcast_deployment: { environment: "production", service: "app", version: "1.5.0", status: "completed", details: { pipeline_steps: 9 } },
    send_alert: { message: "CI/CD pipeline failed", severity: "high", metadata: { partial_results: {} } },
    send_notification: { message: "Pipeline step 1 completed", channels: ["dashboard"], priority: "normal" }
  },
  "slack-notifications": {
    send_notification: { channel: "#deployments", notification_type: "deployment_success", title: "Deployed app v1.5.0", details: { app: "app" } },
    post_message: { channel: "#deployments", text: "🚀 Deployment started: app v1.5.0" }
  },
  data: {
    sql_query: { query: "SELECT * FROM customer_transactions WHERE date >= '2024-01-01'" },
    table_schema: { table: "customer_transactions" },
    data_export: { query: "SELECT * FROM customer_transactions", format: "parquet", destination: "/data/customer_data_20240923.parquet" },
    analytics_query: { metric: "revenue", group_by: "channel", time_range: "30d" }
  },
  compute: {
    train_model: { algorithm: "collaborative_filtering", dataset: "processed_customer_data", parameters: { epochs: 100, lr: 0.001, batch_size: 1024 } },
    data_processing: { input: "customer_data_20240923.parquet", operations: ["clean", "normalize", "feature_engineering"] },
    gpu_status: { job_id: "train_job_892341" },
    model_export: { job_id: "train_job_892341", format: "onnx" },
    predict: { model: "/exports/train_job_892341/model.onnx", inputs: [{ customer_id: "cus-1" }] }
  },
  storage: {
    upload_file: { path: "/models/recommendation_v2.1/model.onnx", source: "/exports/train_job_892341/model.onnx", metadata: { accuracy: 0.943 } },
    download_file: { path: "/models/recommendation_v2.1/model.onnx", destination: "/tmp/model.onnx" },
    list_files: { prefix: "/models/" },
    backup_data: { source: "training_data_v1.2", destination: "s3://ml-models/backups/2024-09-23/" }
  },
  integration: {
    rest_call: { method: "POST", url: "https://ml-serving.internal/deployments", body: { model: "recommendation_v2.1" } },
    webhook_setup: { endpoint: "/model/training/status", events: ["training.completed"] },
    api_key_mgmt: { action: "create", environments: ["prod", "staging"] },
    rate_limit: { api: "ml-serving", requests_per_minute: 600 }
  },
  security: {
    authenticate: { principal: "ml-pipeline", method: "oauth2" },
    authorize: { resource: "ml_model_training_job_892341", permissions: ["read_training_data", "write_model_artifacts"] },
    encrypt: { target: "/models/recommendation_v2.1/model.onnx", algorithm: "AES-256" },
    audit_log: { action: "data_access", resource: "customer_transactions", actor: "ml-pipeline" }
  },
  notification: {
    send_email: { recipients: ["data_science_team", "product_managers"], subject: "Model Training Complete", attachments: ["training_report.pdf"] },
    send_slack: { channel: "#ml-team", message: "Recommendation model v2.1 deployed successfully." },
    create_alert: { alert: "model_training_completion", channels: ["email", "slack_channel_ml_team"] },
    dashboard_update: { dashboard: "ML Operations Dashboard", metric: "training_progress", update_frequency_seconds: 30 }
  },
  inventory_server: {
    reserve_items: { order_id: "ord-1", items: [{ sku: "SKU-1", quantity: 2 }] },
    release_reservation: { reservation_id: "rsv_000001" },
    find_reservation: { order_id: "ord-1" },
    check_stock: { sku: "SKU-1" }
  },
  payment_server: {
    charge_card: { order_id: "ord-1", amount_cents: 4999, currency: "USD", card_token: "tok_visa", idempotency_key: "ord-1" },
    refund_charge: { charge_id: "ch_000001", reason: "order_failed" },
    find_charge: { idempotency_key: "ord-1" },
    get_charge: { charge_id: "ch_000001" }
  },
  logistics_server: {
    schedule_delivery: { order_id: "ord-1", address: { line1: "1 Main St", city: "Springfield", postal_code: "12345", country: "US" } },
    cancel_shipment: { shipment_id: "shp_000001" },
    find_shipment: { order_id: "ord-1" },
    get_shipment: { shipment_id: "shp_000001" }
  },
  crm_server: {
    record_purchase: { customer_id: "cus-1", order_id: "ord-1", amount_cents: 4999 },
    revert_purchase_record: { record_id: "pur_000001" },
    find_purchase: { order_id: "ord-1" },
    get_customer: { id: "cus-1" }
  },
  compliance_server: {
    kyc_check: { customer_id: "cus-42", full_name: "Grace Hopper", country: "US" },
    sanctions_screening: { customer_id: "cus-42", full_name: "Grace Hopper", country: "US" },
    validate_transaction: { from_account: "acc-1", to_account: "acc-2", amount_cents: 125_000, currency: "EUR" }
  },
  finance_server: {
    create_billing_account: { customer_id: "cus-42", plan: "growth", currency: "USD" },
    setup_payment_method: { billing_account_id: "ba_000001", type: "card", token: "tok_visa" },
    find_billing_account: { customer_id: "cus-42" },
    close_billing_account: { billing_account_id: "ba_000001" }
  },
  ops_server: {
    create_tenant: { customer_id: "cus-42", tenant_name: "hopper-labs", region: "eu-west-1" },
    setup_monitoring: { tenant_id: "tnt_000001" },
    find_tenant: { tenant_name: "hopper-labs" },
    delete_tenant: { tenant_id: "tnt_000001" }
  },
  communication_server: {
    send_email: { to: "grace@example.com", template: "welcome", variables: { name: "Grace" } },
    create_support_ticket: { customer_id: "cus-42", subject: "Onboarding call", priority: "normal" }
  }
}

/** Runs an effect that sleeps on the clock, advancing the TestClock until it is done (no real sleeps). */
const onTestClock = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    for (let i = 0; i < 2_000 && fiber.pollUnsafe() === undefined; i++) {
      // Let the in-memory transport's promises run, then move virtual time on.
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      yield* TestClock.adjust("50 millis")
    }
    return yield* Fiber.join(fiber)
  })

const withSandbox = <A, E>(body: (sandbox: Sandbox) => Effect.Effect<A, E, McpGateway>) =>
  Effect.gen(function*() {
    const sandbox = yield* makeSandbox({ trainingMs: 3_000 })
    return yield* body(sandbox).pipe(Effect.provide(GatewayLayer.layer({ servers: sandbox.servers })))
  })

const contractsByName = new Map(seedContracts.map((c) => [c.name, c]))

describe("the sandbox", () => {
  it.effect("serves every seed server and every contract, and discovery finds no mismatch", () =>
    withSandbox((sandbox) =>
      Effect.gen(function*() {
        assert.deepStrictEqual(Object.keys(sandbox.servers).sort(), Object.keys(seedServers).sort())
        const gateway = yield* McpGateway
        const mismatches = yield* onTestClock(gateway.checkContracts(seedContracts))
        assert.deepStrictEqual(mismatches, [])
        for (const [key, group] of Object.entries(seedServers)) {
          const published = yield* onTestClock(gateway.listTools(key))
          assert.deepStrictEqual(
            published.map((t) => t.name).sort(),
            Object.values(group).map((c: ContractInfo) => c.tool).sort(),
            key
          )
        }
      })))

  it.effect("answers every tool with output its contract decodes, on virtual time", () =>
    withSandbox(() =>
      Effect.gen(function*() {
        const gateway = yield* McpGateway
        const wallStart = performance.now()
        let calls = 0
        for (const [server, tools] of Object.entries(samples)) {
          for (const [tool, input] of Object.entries(tools as Record<string, unknown>)) {
            const contract = contractsByName.get(`${server}.${tool}`)
            assert.isDefined(contract, `${server}.${tool} has a contract`)
            const args = yield* contract!.encodeInput(input)
            const result = yield* onTestClock(gateway.callRaw(server, tool, args)).pipe(
              Effect.mapError((e) => new Error(`${server}.${tool}: ${e.message}`))
            )
            assert.isUndefined(result.isError, `${server}.${tool} answered an error`)
            yield* contract!.decodeResult(result).pipe(Effect.mapError((e) => new Error(`${server}.${tool}: ${e.message}`)))
            calls++
          }
        }
        assert.strictEqual(calls, seedContracts.length)
        // Latencies ran on the TestClock: tens of virtual seconds passed in little wall time.
        const virtualMs = yield* TestClock.testClockWith((clock) => Effect.sync(() => clock.currentTimeMillisUnsafe()))
        assert.isAbove(virtualMs, 20_000)
        assert.isBelow(performance.now() - wallStart, virtualMs / 2)
      })))

  it.effect("is stateful where flows need it: builds, rollouts, monitoring, payments, training", () =>
    withSandbox((sandbox) =>
      Effect.gen(function*() {
        yield* onTestClock(Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: "app:1.5.0" }))
        const applied = yield* onTestClock(Kubernetes.kubectl_apply({ manifest_path: "k8s/production/", namespace: "production" }))
        assert.strictEqual(applied.status, "configured")
        const { items } = yield* onTestClock(Kubernetes.kubectl_get({ resource_type: "deployment", name: "app", namespace: "production" }))
        assert.strictEqual(items[0]?.image, "app:1.5.0")
        assert.strictEqual(items[0]?.revision, 8)
        const health = yield* onTestClock(PrometheusMonitoring.verify_service_health({ service: "app", environment: "production" }))
        assert.strictEqual(health.version, "1.5.0")
        const undone = yield* onTestClock(Kubernetes.kubectl_rollout_undo({ resource_type: "deployment", name: "app", namespace: "production" }))
        assert.deepStrictEqual([undone.image, undone.revision], ["app:1.4.2", 9])

        yield* onTestClock(PrometheusMonitoring.update_deployment_status({ status: "active", version: "1.5.0" }))
        const q = yield* onTestClock(PrometheusMonitoring.prometheus_query({ query: 'deployment_info{app="app",version="1.5.0",status="active"}' }))
        assert.strictEqual(q.data.result.length, 1)

        const charge = { order_id: "ord-9", amount_cents: 1500, currency: "EUR" as const, card_token: "tok_visa", idempotency_key: "k-9" }
        const first = yield* onTestClock(Payment.charge_card(charge))
        const again = yield* onTestClock(Payment.charge_card(charge))
        assert.strictEqual(again.charge_id, first.charge_id)
        const refund = yield* onTestClock(Payment.refund_charge({ charge_id: first.charge_id }))
        const refundAgain = yield* onTestClock(Payment.refund_charge({ charge_id: first.charge_id }))
        assert.strictEqual(refundAgain.refund_id, refund.refund_id)
        const status = yield* onTestClock(Payment.get_charge({ charge_id: first.charge_id }))
        assert.deepStrictEqual([status.status, status.refunded_cents], ["refunded", 1500])
        const declined = yield* onTestClock(Effect.exit(Payment.charge_card({ ...charge, card_token: "tok_declined", idempotency_key: "k-10" })))
        assert.isTrue(declined._tag === "Failure")
        assert.strictEqual((yield* Ref.get(sandbox.state.commerce)).charges.size, 1)

        const { job_id } = yield* onTestClock(
          Compute.train_model({ algorithm: "als", dataset: "d", parameters: { epochs: 10, lr: 0.01, batch_size: 256 } })
        )
        const early = yield* onTestClock(Compute.gpu_status({ job_id }))
        assert.strictEqual(early.job?.status, "running")
        const tooSoon = yield* onTestClock(Effect.exit(Compute.model_export({ job_id, format: "onnx" })))
        assert.isTrue(tooSoon._tag === "Failure")
        yield* TestClock.adjust("3 seconds")
        const done = yield* onTestClock(Compute.gpu_status({ job_id }))
        assert.deepStrictEqual([done.job?.status, done.job?.progress_percent], ["completed", 100])
        const exported = yield* onTestClock(Compute.model_export({ job_id, format: "onnx" }))
        assert.strictEqual(exported.accuracy, 0.943)
      })))

  it.effect("options steer the unhappy paths: vulnerable images, failing commands, unhealthy services", () =>
    Effect.gen(function*() {
      const sandbox = yield* makeSandbox({ vulnerableImages: ["app:latest"], failingCommands: ["pytest tests/integration"], unhealthyServices: ["app"] })
      const program = Effect.gen(function*() {
        const scan = yield* onTestClock(seedServers["security-scanner"].container_scan({ image: "app:latest", format: "json" }))
        assert.strictEqual(scan.vulnerabilities[0]?.severity, "critical")
        const tests = yield* onTestClock(seedServers["desktop-commander"].execute_command({ command: "pytest tests/integration/ --env=staging" }))
        assert.deepStrictEqual([tests.success, tests.exit_code], [false, 1])
        const canary = yield* onTestClock(PrometheusMonitoring.check_metrics({ service: "app", namespace: "production" }))
        assert.isFalse(canary.healthy)
      })
      yield* program.pipe(Effect.provide(Layer.fresh(GatewayLayer.layer({ servers: sandbox.servers }))))
    }))
})
