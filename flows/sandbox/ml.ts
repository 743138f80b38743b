/**
 * Sandbox fakes of the ML pipeline's servers: `data`, `compute`, `storage`, `integration`,
 * `security` and `notification`. Training runs on the clock: `train_model` starts a job that
 * completes `trainingMs` later (default 3 s), `gpu_status({ job_id })` reports its progress,
 * and `model_export` refuses until it completed (with `trainingFailsAt`, jobs fail at that
 * progress instead). Files, jobs, the audit trail and the REST calls that change something
 * (`requests`: a model deployment is a POST to the serving API) are kept. `train_model` calls
 * sharing an `idempotency_key`, and REST calls sharing an `Idempotency-Key` header, start one
 * job / make one request and answer the first one.
 *
 * @example
 * ```ts
 * const { servers, state } = yield* makeMlSandbox({ trainingMs: 1_000 })
 * ```
 * @module
 */
import { Clock, Effect, Ref, type Schema } from "effect"
import { FakeServer, FakeState } from "../../chaos/index.ts"
import type { InProcessServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { Compute, Data, Integration, Notification, Security, Storage, type StoredFile, type TrainingJob } from "../servers/ml.ts"
import type { SandboxOptions } from "./options.ts"
import { hash, Ids, isoIn, latency, nowIso, refuse, sandboxServer } from "./support.ts"

/**
 * What the ML fakes keep.
 *
 * @example
 * ```ts
 * const { jobs, files, audit } = yield* Ref.get(state)
 * ```
 */
export interface MlState {
  /** Training jobs by id, with their clock start and duration in ms. */
  readonly jobs: ReadonlyMap<string, { readonly started_at: number; readonly duration_ms: number; readonly dataset: string }>
  /** Stored files by path. */
  readonly files: ReadonlyMap<string, typeof StoredFile.Type>
  /** The audit trail, oldest first. */
  readonly audit: ReadonlyArray<{ readonly audit_id: string; readonly action: string; readonly resource: string }>
  /** The integration server's `rest_call`s that change something (every method but GET), oldest first, with their clock time. */
  readonly requests?: ReadonlyArray<{ readonly method: string; readonly url: string; readonly body: Schema.Json | undefined; readonly at: number }>
}

const TABLES: Readonly<Record<string, ReadonlyArray<readonly [string, string, boolean]>>> = {
  customer_transactions: [
    ["transaction_id", "bigint", false],
    ["customer_id", "text", false],
    ["sku", "text", false],
    ["amount_cents", "integer", false],
    ["date", "date", false],
    ["channel", "text", true]
  ],
  customers: [["customer_id", "text", false], ["segment", "text", true], ["created_at", "timestamptz", false]]
}

const SAMPLE_ROWS = Array.from({ length: 20 }, (_, i) => ({
  transaction_id: 90_000_000 + i,
  customer_id: `cus-${(i % 3) + 1}`,
  sku: `SKU-${(i % 4) + 1}`,
  amount_cents: 999 + 250 * i,
  date: `2024-01-${String((i % 28) + 1).padStart(2, "0")}`,
  channel: i % 2 === 0 ? "web" : "app"
}))

const restBody = (method: string, url: string): Schema.Json =>
  method === "GET" ? { status: "ok", url } : { id: `res_${hash(url).toString(16)}`, accepted: true }

const tableOf = (query: string) => /\bfrom\s+([A-Za-z_][\w.]*)/i.exec(query)?.[1]

/**
 * The six ML fakes and their state.
 *
 * @example
 * ```ts
 * const { servers } = yield* makeMlSandbox({})
 * ```
 */
export const makeMlSandbox = (options: SandboxOptions): Effect.Effect<{
  readonly servers: Record<string, InProcessServerConfig>
  readonly state: Ref.Ref<MlState>
}> =>
  Effect.gen(function*() {
    const trainingMs = options.trainingMs ?? 3_000
    const failsAt = options.trainingFailsAt
    const state = yield* FakeState.ref<MlState>("ml", { jobs: new Map(), files: new Map(), audit: [], requests: [] })
    const jobIds = yield* Ids.make("train_job_", 892_341)
    const backupIds = yield* Ids.make("bkp_")
    const keyIds = yield* Ids.make("key_")
    const tokenIds = yield* Ids.make("tok_")
    const auditIds = yield* Ids.make("aud_")
    const messageIds = yield* Ids.make("eml_")
    const slackSeq = yield* FakeState.ref("ml slack seq", 0)
    const limits = yield* FakeState.ref("ml rate limits", new Map<string, number>())
    /** `train_model` idempotency keys → job ids; `rest_call` `Idempotency-Key` headers → answers. */
    const trainingKeys = yield* FakeState.ref("ml training keys", new Map<string, string>())
    const restKeys = yield* FakeState.ref("ml rest keys", new Map<string, { readonly status_code: number; readonly body: Schema.Json; readonly latency_ms: number }>())

    const jobView = (job_id: string, now: number): Effect.Effect<typeof TrainingJob.Type | undefined> =>
      Effect.map(Ref.get(state), (s) => {
        const job = s.jobs.get(job_id)
        if (job === undefined) return undefined
        const elapsed = Math.max(0, now - job.started_at)
        const progress = Math.floor((Math.min(elapsed, job.duration_ms) / job.duration_ms) * 100)
        if (failsAt !== undefined && progress >= failsAt) {
          return { job_id, status: "failed" as const, progress_percent: Math.min(100, Math.max(0, failsAt)), eta_seconds: 0 }
        }
        if (elapsed >= job.duration_ms) {
          return { job_id, status: "completed" as const, progress_percent: 100, eta_seconds: 0, accuracy: 0.943, model_size_mb: 125 }
        }
        return {
          job_id,
          status: "running" as const,
          progress_percent: Math.floor((elapsed / job.duration_ms) * 100),
          eta_seconds: (job.duration_ms - elapsed) / 1000
        }
      })

    const data = yield* sandboxServer("data", [
      FakeServer.handle(Data.sql_query, ({ query, limit = 5 }) =>
        Effect.gen(function*() {
          const table = tableOf(query)
          if (table === undefined || TABLES[table] === undefined) return yield* refuse(`ERROR: relation "${table ?? "?"}" does not exist`)
          yield* latency(2300)
          const big = table === "customer_transactions"
          return {
            success: true,
            row_count: big ? 1_200_000 : 48_210,
            columns: TABLES[table].map(([name]) => name),
            rows: big ? SAMPLE_ROWS.slice(0, limit) : [],
            size_mb: big ? 85 : 3.4,
            execution_ms: 2300
          }
        })),
      FakeServer.handle(Data.table_schema, ({ table }) =>
        Effect.gen(function*() {
          yield* latency(45)
          const columns = TABLES[table]
          if (columns === undefined) return yield* refuse(`ERROR: relation "${table}" does not exist`)
          return { table, columns: columns.map(([name, type, nullable]) => ({ name, type, nullable })) }
        })),
      FakeServer.handle(Data.data_export, ({ destination }) =>
        latency(1800).pipe(Effect.as({ success: true, path: destination, row_count: 1_200_000, size_mb: 85 }))),
      FakeServer.handle(Data.analytics_query, ({ metric, group_by }) =>
        latency(600).pipe(Effect.as({
          metric,
          series: (group_by === undefined ? ["total"] : ["web", "app", "store"]).map((key) => ({ key, value: (hash(`${metric}|${key}`) % 10_000) / 10 }))
        })))
    ])

    const compute = yield* sandboxServer("compute", [
      FakeServer.handle(Compute.data_processing, ({ input }) =>
        latency(3200).pipe(Effect.as({
          success: true,
          output: `processed_${input.split("/").pop() ?? input}`,
          rows: 1_180_000,
          size_mb: 45,
          gpu_utilization_percent: 60
        }))),
      FakeServer.handle(Compute.train_model, ({ dataset, idempotency_key }) =>
        Effect.gen(function*() {
          yield* latency(500)
          const earlier = idempotency_key === undefined ? undefined : (yield* Ref.get(trainingKeys)).get(idempotency_key)
          if (earlier !== undefined) return { job_id: earlier, status: "running" as const, estimated_seconds: trainingMs / 1000 }
          const job_id = yield* jobIds.next
          const started_at = yield* Clock.currentTimeMillis
          yield* Ref.update(state, (s) => ({ ...s, jobs: new Map(s.jobs).set(job_id, { started_at, duration_ms: trainingMs, dataset }) }))
          if (idempotency_key !== undefined) yield* Ref.update(trainingKeys, (m) => new Map(m).set(idempotency_key, job_id))
          return { job_id, status: "running" as const, estimated_seconds: trainingMs / 1000 }
        })),
      FakeServer.handle(Compute.gpu_status, ({ job_id }) =>
        Effect.gen(function*() {
          yield* latency(120)
          const now = yield* Clock.currentTimeMillis
          const s = yield* Ref.get(state)
          const running = [...s.jobs.values()].filter((j) =>
            now - j.started_at < j.duration_ms && (failsAt === undefined || ((now - j.started_at) / j.duration_ms) * 100 < failsAt)
          ).length
          const job = job_id === undefined ? undefined : yield* jobView(job_id, now)
          if (job_id !== undefined && job === undefined) return yield* refuse(`unknown job '${job_id}'`)
          return {
            gpus_total: 4,
            gpus_busy: Math.min(4, 2 * running),
            memory_used_gb: 6 + 26 * running,
            memory_total_gb: 64,
            running_jobs: running,
            ...(job !== undefined ? { job } : {})
          }
        })),
      FakeServer.handle(Compute.model_export, ({ job_id, format }) =>
        Effect.gen(function*() {
          yield* latency(900)
          const job = yield* jobView(job_id, yield* Clock.currentTimeMillis)
          if (job === undefined) return yield* refuse(`unknown job '${job_id}'`)
          if (job.status !== "completed") return yield* refuse(`training job ${job_id} is still ${job.status} (${job.progress_percent}%)`)
          const ext = format === "savedmodel" ? "tar.gz" : format === "torchscript" ? "pt" : format === "pickle" ? "pkl" : "onnx"
          return { success: true, path: `/exports/${job_id}/model.${ext}`, format, size_mb: 125, accuracy: 0.943 }
        })),
      FakeServer.handle(Compute.predict, ({ inputs }) =>
        latency(40).pipe(Effect.as({ predictions: inputs.map((i) => (hash(JSON.stringify(i)) % 1000) / 1000), latency_ms: 40 })))
    ])

    const storage = yield* sandboxServer("storage", [
      FakeServer.handle(Storage.upload_file, ({ path, source, size_mb }) =>
        Effect.gen(function*() {
          const size = size_mb ?? (source === undefined ? 1 : 20 + (hash(source) % 180))
          yield* latency(Math.min(4000, 300 + 18 * size))
          const modified_at = yield* nowIso
          const file = yield* Ref.modify(state, (s): readonly [typeof StoredFile.Type, MlState] => {
            const f = { path, size_mb: size, version: (s.files.get(path)?.version ?? 0) + 1, modified_at }
            return [f, { ...s, files: new Map(s.files).set(path, f) }]
          })
          return { success: true, path, size_mb: file.size_mb, version: file.version, replicas: 3 }
        })),
      FakeServer.handle(Storage.download_file, ({ path, destination }) =>
        Effect.gen(function*() {
          yield* latency(250)
          const f = (yield* Ref.get(state)).files.get(path)
          if (f === undefined) return yield* refuse(`file not found: ${path}`)
          return { success: true, destination, size_mb: f.size_mb, version: f.version }
        })),
      FakeServer.handle(Storage.list_files, ({ prefix }) =>
        Effect.gen(function*() {
          yield* latency(80)
          return { files: [...(yield* Ref.get(state)).files.values()].filter((f) => f.path.startsWith(prefix)) }
        })),
      FakeServer.handle(Storage.backup_data, ({ source, destination }) =>
        Effect.gen(function*() {
          yield* latency(1600)
          const backup_id = yield* backupIds.next
          return { success: true, backup_id, destination, version_tag: `${source}@${backup_id}` }
        }))
    ])

    const integration = yield* sandboxServer("integration", [
      FakeServer.handle(Integration.rest_call, ({ body, headers, method, url }) =>
        Effect.gen(function*() {
          yield* latency(60)
          // Like most APIs, a request repeated with the same Idempotency-Key header answers the first one.
          const key = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === "idempotency-key")?.[1]
          const earlier = key === undefined || method === "GET" ? undefined : (yield* Ref.get(restKeys)).get(`${method} ${url} ${key}`)
          if (earlier !== undefined) return earlier
          const answer = { status_code: method === "GET" ? 200 : method === "POST" ? 201 : 200, body: restBody(method, url), latency_ms: 60 }
          if (method !== "GET") {
            const at = yield* Clock.currentTimeMillis
            yield* Ref.update(state, (s) => ({ ...s, requests: [...(s.requests ?? []), { method, url, body, at }] }))
            if (key !== undefined) yield* Ref.update(restKeys, (m) => new Map(m).set(`${method} ${url} ${key}`, answer))
          }
          return answer
        })),
      FakeServer.handle(Integration.webhook_setup, ({ endpoint }) =>
        latency(120).pipe(Effect.as({ webhook_id: `wh_${hash(endpoint).toString(16)}`, endpoint, active: true }))),
      FakeServer.handle(Integration.api_key_mgmt, ({ action, environments }) =>
        Effect.gen(function*() {
          yield* latency(200)
          const keys = yield* Effect.forEach(environments, (environment) =>
            Effect.map(keyIds.next, (id) => ({ environment, key_id: `${id}_${environment}`, status: action === "revoke" ? "revoked" as const : "active" as const })))
          return { keys }
        })),
      FakeServer.handle(Integration.rate_limit, ({ api, requests_per_minute }) =>
        Effect.gen(function*() {
          yield* latency(40)
          const m = yield* Ref.updateAndGet(limits, (l) => (requests_per_minute === undefined ? l : new Map(l).set(api, requests_per_minute)))
          const limit_per_minute = m.get(api) ?? 100
          return { api, limit_per_minute, remaining: limit_per_minute - 1 }
        }))
    ])

    const security = yield* sandboxServer("security", [
      FakeServer.handle(Security.authenticate, () =>
        Effect.gen(function*() {
          yield* latency(35)
          return { authenticated: true, token_id: yield* tokenIds.next, expires_at: yield* isoIn(3_600_000) }
        })),
      FakeServer.handle(Security.authorize, ({ resource, permissions }) =>
        Effect.gen(function*() {
          yield* latency(35)
          const denied = permissions.filter((p) => p.startsWith("admin") || p.startsWith("delete"))
          const audit_id = yield* auditIds.next
          yield* Ref.update(state, (s) => ({ ...s, audit: [...s.audit, { audit_id, action: "authorize", resource }] }))
          return { authorized: denied.length === 0, granted: permissions.filter((p) => !denied.includes(p)), denied, audit_id }
        })),
      FakeServer.handle(Security.encrypt, ({ target, algorithm }) =>
        latency(700).pipe(Effect.as({ success: true, encrypted_path: `${target}.enc`, key_id: `kms-${hash(target).toString(16).slice(0, 8)}`, algorithm }))),
      FakeServer.handle(Security.audit_log, ({ action, resource }) =>
        Effect.gen(function*() {
          yield* latency(400)
          const audit_id = yield* auditIds.next
          yield* Ref.update(state, (s) => ({ ...s, audit: [...s.audit, { audit_id, action, resource }] }))
          return { audit_id, recorded_at: yield* nowIso, sensitive_data_flags: /ssn|card|password/i.test(resource) ? ["pii"] : [] }
        }))
    ])

    const notification = yield* sandboxServer("notification", [
      FakeServer.handle(Notification.send_email, ({ recipients }) =>
        Effect.gen(function*() {
          yield* latency(300)
          return { message_id: yield* messageIds.next, accepted: recipients.length }
        })),
      FakeServer.handle(Notification.send_slack, () =>
        Effect.gen(function*() {
          yield* latency(90)
          const n = yield* Ref.updateAndGet(slackSeq, (k) => k + 1)
          return { ok: true, ts: `${Math.floor((yield* Clock.currentTimeMillis) / 1000)}.${String(n).padStart(6, "0")}` }
        })),
      FakeServer.handle(Notification.create_alert, ({ alert }) =>
        latency(150).pipe(Effect.as({ alert_id: `alrt_${hash(alert).toString(16)}`, active: true }))),
      FakeServer.handle(Notification.dashboard_update, ({ dashboard }) =>
        Effect.gen(function*() {
          yield* latency(90)
          return { success: true, dashboard, updated_at: yield* nowIso }
        }))
    ])

    return { servers: { data, compute, storage, integration, security, notification }, state }
  })

