/**
 * Contracts of the ML pipeline's six servers (seed 004): `data`, `compute`, `storage`,
 * `integration`, `security` and `notification`. Training is a long-running job: `train_model`
 * answers a `job_id` at once, `gpu_status({ job_id })` reports its progress, and
 * `model_export` succeeds once it completed.
 *
 * @example
 * ```ts
 * import { Compute } from "./ml.ts"
 * const job = Compute.train_model({ algorithm: "collaborative_filtering", dataset: "processed_customer_data", parameters: { epochs: 100, lr: 0.001, batch_size: 1024 } })
 * ```
 * @module
 */
import { Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import { Count, Details, NonNegative, Percent, PositiveInt, Ratio, Timestamp } from "./common.ts"

// ---------------------------------------------------------------------------------------------
// data
// ---------------------------------------------------------------------------------------------

/**
 * The data server: SQL queries, schemas, exports and analytics.
 *
 * @example
 * ```ts
 * const { row_count } = yield* Data.sql_query({ query: "SELECT * FROM customer_transactions WHERE date >= '2024-01-01'" })
 * ```
 */
export const Data = Tool.server("data", {
  sql_query: Tool.define({
    description: "Run a read-only SQL query; answers the row count, the columns and up to `limit` sample rows (default 5)",
    input: Schema.Struct({ query: Schema.String, limit: Schema.optionalKey(Count) }),
    output: Schema.Struct({
      success: Schema.Boolean,
      row_count: Count,
      columns: Schema.Array(Schema.String),
      rows: Schema.Array(Details),
      size_mb: NonNegative,
      execution_ms: NonNegative
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  table_schema: Tool.define({
    description: "Describe a table's columns",
    input: Schema.Struct({ table: Schema.String }),
    output: Schema.Struct({
      table: Schema.String,
      columns: Schema.Array(Schema.Struct({ name: Schema.String, type: Schema.String, nullable: Schema.Boolean }))
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  data_export: Tool.define({
    description: "Export a query's result to a file (overwrites the destination)",
    input: Schema.Struct({
      query: Schema.String,
      format: Schema.Literals(["parquet", "csv", "json"]),
      destination: Schema.String
    }),
    output: Schema.Struct({ success: Schema.Boolean, path: Schema.String, row_count: Count, size_mb: NonNegative }),
    annotations: { idempotent: true }
  }),
  analytics_query: Tool.define({
    description: "Aggregate a metric over a time range, optionally grouped",
    input: Schema.Struct({
      metric: Schema.String,
      group_by: Schema.optionalKey(Schema.String),
      time_range: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({
      metric: Schema.String,
      series: Schema.Array(Schema.Struct({ key: Schema.String, value: Schema.Finite }))
    }),
    annotations: { readOnly: true, idempotent: true }
  })
})

// ---------------------------------------------------------------------------------------------
// compute
// ---------------------------------------------------------------------------------------------

/**
 * A training job's state as `gpu_status` reports it.
 *
 * @example
 * ```ts
 * const j: typeof TrainingJob.Type = { job_id: "train_job_892341", status: "running", progress_percent: 45, eta_seconds: 480 }
 * ```
 */
export const TrainingJob = Schema.Struct({
  job_id: Schema.String,
  status: Schema.Literals(["queued", "running", "completed", "failed"]),
  progress_percent: Percent,
  eta_seconds: NonNegative,
  accuracy: Schema.optionalKey(Ratio),
  model_size_mb: Schema.optionalKey(NonNegative)
})

/**
 * The compute server: preprocessing, long-running training jobs, GPU status, export, inference.
 *
 * @example
 * ```ts
 * const { job_id } = yield* Compute.train_model({ algorithm: "collaborative_filtering", dataset: "processed_customer_data", parameters: { epochs: 100, lr: 0.001, batch_size: 1024 } })
 * const { job } = yield* Compute.gpu_status({ job_id }) // poll until job.status === "completed"
 * const model = yield* Compute.model_export({ job_id, format: "onnx" })
 * ```
 */
export const Compute = Tool.server("compute", {
  data_processing: Tool.define({
    description: "Run preprocessing operations over an input dataset; writes a new processed dataset",
    input: Schema.Struct({
      input: Schema.String,
      operations: Schema.Array(Schema.Literals(["clean", "normalize", "feature_engineering", "deduplicate"]))
    }),
    output: Schema.Struct({
      success: Schema.Boolean,
      output: Schema.String,
      rows: Count,
      size_mb: NonNegative,
      gpu_utilization_percent: Percent
    }),
    annotations: { idempotent: true }
  }),
  train_model: Tool.define({
    description: "Start a training job and answer at once with its id; not idempotent (each call starts a job), unless calls share an `idempotency_key`: those answer the first call's job",
    input: Schema.Struct({
      algorithm: Schema.String,
      dataset: Schema.String,
      parameters: Schema.Struct({ epochs: PositiveInt, lr: Schema.Finite, batch_size: PositiveInt }),
      /** Calls with the same key start one job and all answer it (e.g. `Flow.idempotencyKey`). */
      idempotency_key: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({
      job_id: Schema.String,
      status: Schema.Literals(["queued", "running"]),
      estimated_seconds: NonNegative
    }),
    annotations: { idempotent: false }
  }),
  gpu_status: Tool.define({
    description: "GPU usage of the cluster, and the progress of one training job when `job_id` is given",
    input: Schema.Struct({ job_id: Schema.optionalKey(Schema.String) }),
    output: Schema.Struct({
      gpus_total: Count,
      gpus_busy: Count,
      memory_used_gb: NonNegative,
      memory_total_gb: NonNegative,
      running_jobs: Count,
      job: Schema.optionalKey(TrainingJob)
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  model_export: Tool.define({
    description: "Export a completed training job's model to a portable format; fails while the job is running",
    input: Schema.Struct({ job_id: Schema.String, format: Schema.Literals(["onnx", "torchscript", "savedmodel", "pickle"]) }),
    output: Schema.Struct({
      success: Schema.Boolean,
      path: Schema.String,
      format: Schema.String,
      size_mb: NonNegative,
      accuracy: Ratio
    }),
    annotations: { idempotent: true }
  }),
  predict: Tool.define({
    description: "Score inputs with an exported model",
    input: Schema.Struct({ model: Schema.String, inputs: Schema.Array(Details) }),
    output: Schema.Struct({ predictions: Schema.Array(Schema.Finite), latency_ms: NonNegative }),
    annotations: { readOnly: true, idempotent: true }
  })
})

// ---------------------------------------------------------------------------------------------
// storage
// ---------------------------------------------------------------------------------------------

/**
 * A stored file's entry.
 *
 * @example
 * ```ts
 * const f: typeof StoredFile.Type = { path: "/data/customer_data_20240923.parquet", size_mb: 85, version: 1, modified_at: "2024-09-23T10:00:00.000Z" }
 * ```
 */
export const StoredFile = Schema.Struct({
  path: Schema.String,
  size_mb: NonNegative,
  version: PositiveInt,
  modified_at: Timestamp
})

/**
 * The ML storage server: replicated files with versions, and backups.
 *
 * @example
 * ```ts
 * yield* Storage.upload_file({ path: "/models/recommendation_v2.1/model.onnx", source: "/exports/train_job_1.onnx", metadata: { accuracy: 0.943 } })
 * const { files } = yield* Storage.list_files({ prefix: "/models/" })
 * ```
 */
export const Storage = Tool.server("storage", {
  upload_file: Tool.define({
    description: "Store a file at a path (a new version if it exists), replicated 3× across zones",
    input: Schema.Struct({
      path: Schema.String,
      source: Schema.optionalKey(Schema.String),
      size_mb: Schema.optionalKey(NonNegative),
      metadata: Schema.optionalKey(Details)
    }),
    output: Schema.Struct({ success: Schema.Boolean, path: Schema.String, size_mb: NonNegative, version: PositiveInt, replicas: Count }),
    annotations: { idempotent: false }
  }),
  download_file: Tool.define({
    description: "Copy a stored file to a local destination",
    input: Schema.Struct({ path: Schema.String, destination: Schema.String }),
    output: Schema.Struct({ success: Schema.Boolean, destination: Schema.String, size_mb: NonNegative, version: PositiveInt }),
    annotations: { readOnly: true, idempotent: true }
  }),
  list_files: Tool.define({
    description: "List stored files under a prefix",
    input: Schema.Struct({ prefix: Schema.String }),
    output: Schema.Struct({ files: Schema.Array(StoredFile) }),
    annotations: { readOnly: true, idempotent: true }
  }),
  backup_data: Tool.define({
    description: "Back up a dataset or directory to a destination and tag the version",
    input: Schema.Struct({ source: Schema.String, destination: Schema.String }),
    output: Schema.Struct({ success: Schema.Boolean, backup_id: Schema.String, destination: Schema.String, version_tag: Schema.String }),
    annotations: { idempotent: false }
  })
})

// ---------------------------------------------------------------------------------------------
// integration
// ---------------------------------------------------------------------------------------------

/**
 * The integration server: outbound REST calls, webhooks, API keys and rate limits.
 *
 * @example
 * ```ts
 * yield* Integration.webhook_setup({ endpoint: "/model/training/status", events: ["training.completed"] })
 * const { status_code } = yield* Integration.rest_call({ method: "POST", url: "https://ml-serving.internal/deployments", body: { model: "recommendation_v2.1" } })
 * ```
 */
export const Integration = Tool.server("integration", {
  rest_call: Tool.define({
    description: "Call an external REST endpoint; GET is safe to repeat, other methods may not be",
    input: Schema.Struct({
      method: Schema.Literals(["GET", "POST", "PUT", "PATCH", "DELETE"]),
      url: Schema.String,
      body: Schema.optionalKey(Details),
      headers: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
    }),
    output: Schema.Struct({ status_code: Count, body: Schema.Json, latency_ms: NonNegative }),
    annotations: { idempotent: false, openWorld: true }
  }),
  webhook_setup: Tool.define({
    description: "Register (or update) a webhook endpoint for events",
    input: Schema.Struct({ endpoint: Schema.String, events: Schema.Array(Schema.String) }),
    output: Schema.Struct({ webhook_id: Schema.String, endpoint: Schema.String, active: Schema.Boolean }),
    annotations: { idempotent: true }
  }),
  api_key_mgmt: Tool.define({
    description: "Create, rotate or revoke API keys per environment; answers key ids, never secrets",
    input: Schema.Struct({
      action: Schema.Literals(["create", "rotate", "revoke"]),
      environments: Schema.Array(Schema.String),
      purpose: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({
      keys: Schema.Array(Schema.Struct({
        environment: Schema.String,
        key_id: Schema.String,
        status: Schema.Literals(["active", "revoked"])
      }))
    }),
    annotations: { idempotent: false, destructive: true }
  }),
  rate_limit: Tool.define({
    description: "Read (or set, with `requests_per_minute`) the rate limit of an external API",
    input: Schema.Struct({ api: Schema.String, requests_per_minute: Schema.optionalKey(PositiveInt) }),
    output: Schema.Struct({ api: Schema.String, limit_per_minute: PositiveInt, remaining: Count }),
    annotations: { idempotent: true }
  })
})

// ---------------------------------------------------------------------------------------------
// security
// ---------------------------------------------------------------------------------------------

/**
 * The ML security server: authentication, authorization, encryption and the audit trail.
 *
 * @example
 * ```ts
 * yield* Security.audit_log({ action: "data_access", resource: "customer_transactions", actor: "ml-pipeline" })
 * const { authorized } = yield* Security.authorize({ resource: "ml_model_training_job_892341", permissions: ["read_training_data", "write_model_artifacts"] })
 * ```
 */
export const Security = Tool.server("security", {
  authenticate: Tool.define({
    description: "Authenticate a principal and issue a short-lived token (its id only)",
    input: Schema.Struct({ principal: Schema.String, method: Schema.optionalKey(Schema.Literals(["oauth2", "mtls", "api_key"])) }),
    output: Schema.Struct({ authenticated: Schema.Boolean, token_id: Schema.String, expires_at: Timestamp }),
    annotations: { idempotent: false }
  }),
  authorize: Tool.define({
    description: "Check permissions on a resource; every decision is logged for compliance",
    input: Schema.Struct({
      resource: Schema.String,
      permissions: Schema.Array(Schema.String),
      principal: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({
      authorized: Schema.Boolean,
      granted: Schema.Array(Schema.String),
      denied: Schema.Array(Schema.String),
      audit_id: Schema.String
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  encrypt: Tool.define({
    description: "Encrypt a file at rest with a managed key",
    input: Schema.Struct({ target: Schema.String, algorithm: Schema.Literals(["AES-256", "AES-128", "ChaCha20"]) }),
    output: Schema.Struct({ success: Schema.Boolean, encrypted_path: Schema.String, key_id: Schema.String, algorithm: Schema.String }),
    annotations: { idempotent: true }
  }),
  audit_log: Tool.define({
    description: "Append an entry to the audit trail (append-only: each call adds one)",
    input: Schema.Struct({
      action: Schema.String,
      resource: Schema.String,
      actor: Schema.optionalKey(Schema.String),
      details: Schema.optionalKey(Details)
    }),
    output: Schema.Struct({ audit_id: Schema.String, recorded_at: Timestamp, sensitive_data_flags: Schema.Array(Schema.String) }),
    annotations: { idempotent: false, destructive: false }
  })
})

// ---------------------------------------------------------------------------------------------
// notification
// ---------------------------------------------------------------------------------------------

/**
 * The ML notification server: email, Slack, alerts and dashboards.
 *
 * @example
 * ```ts
 * yield* Notification.send_slack({ channel: "#ml-team", message: "Recommendation model v2.1 deployed" })
 * yield* Notification.create_alert({ alert: "model_training_completion", channels: ["email", "slack_channel_ml_team"] })
 * ```
 */
export const Notification = Tool.server("notification", {
  send_email: Tool.define({
    description: "Send an email to recipients (people or lists), with attachment names",
    input: Schema.Struct({
      recipients: Schema.Array(Schema.String),
      subject: Schema.String,
      body: Schema.optionalKey(Schema.String),
      attachments: Schema.optionalKey(Schema.Array(Schema.String))
    }),
    output: Schema.Struct({ message_id: Schema.String, accepted: Count }),
    annotations: { idempotent: false, openWorld: true }
  }),
  send_slack: Tool.define({
    description: "Post a message to a Slack channel",
    input: Schema.Struct({ channel: Schema.String, message: Schema.String }),
    output: Schema.Struct({ ok: Schema.Boolean, ts: Schema.String }),
    annotations: { idempotent: false, openWorld: true }
  }),
  create_alert: Tool.define({
    description: "Create (or update) a named alert routed to channels",
    input: Schema.Struct({
      alert: Schema.String,
      channels: Schema.Array(Schema.String),
      condition: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({ alert_id: Schema.String, active: Schema.Boolean }),
    annotations: { idempotent: true }
  }),
  dashboard_update: Tool.define({
    description: "Update a metric panel of a dashboard, optionally on a refresh interval",
    input: Schema.Struct({
      dashboard: Schema.String,
      metric: Schema.String,
      value: Schema.optionalKey(Schema.Finite),
      update_frequency_seconds: Schema.optionalKey(PositiveInt)
    }),
    output: Schema.Struct({ success: Schema.Boolean, dashboard: Schema.String, updated_at: Timestamp }),
    annotations: { idempotent: true }
  })
})
