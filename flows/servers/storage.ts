/**
 * Contract of the seeds' `s3-storage` server: deployment, config and emergency backups, and
 * plain object upload/download.
 *
 * @example
 * ```ts
 * import { S3Storage } from "./storage.ts"
 * const backup = S3Storage.backup_deployment({ environment: "production", service: "app" })
 * ```
 * @module
 */
import { Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import { Count, Details, Timestamp } from "./common.ts"

/**
 * What every backup tool answers.
 *
 * @example
 * ```ts
 * const b: typeof BackupResult.Type = { success: true, backup_id: "bk-000001", location: "s3://backups/production/app/bk-000001.tar.gz", size_bytes: 48213, created_at: "2024-09-23T10:00:00.000Z" }
 * ```
 */
export const BackupResult = Schema.Struct({
  success: Schema.Boolean,
  backup_id: Schema.String,
  location: Schema.String,
  size_bytes: Count,
  created_at: Timestamp
})

/**
 * S3 storage. Backups create a new object each time (not idempotent, never destructive);
 * `s3_upload_file` overwrites its key (idempotent); downloads are read-only.
 *
 * @example
 * ```ts
 * const { backup_id } = yield* S3Storage.backup_deployment({ environment: "production", service: "app" })
 * yield* S3Storage.s3_upload_file({ file_path: "/tmp/d.json", bucket: "deployments", key: "deployments/d1.json" })
 * ```
 */
export const S3Storage = Tool.server("s3-storage", {
  backup_deployment: Tool.define({
    description: "Snapshot the manifests and config of a service's current deployment",
    input: Schema.Struct({ environment: Schema.String, service: Schema.String }),
    output: Schema.Struct({ ...BackupResult.fields, version: Schema.optionalKey(Schema.String) }),
    annotations: { idempotent: false, destructive: false }
  }),
  backup_config: Tool.define({
    description: "Archive a config directory under a backup name",
    input: Schema.Struct({ source: Schema.String, backup_name: Schema.String }),
    output: BackupResult,
    annotations: { idempotent: false, destructive: false }
  }),
  emergency_backup: Tool.define({
    description: "Back up a data source now, ahead of the queue when `priority` is high",
    input: Schema.Struct({ source: Schema.String, priority: Schema.Literals(["low", "normal", "high"]) }),
    output: BackupResult,
    annotations: { idempotent: false, destructive: false }
  }),
  s3_upload_file: Tool.define({
    description: "Upload a local file to bucket/key (overwrites the key), with optional metadata",
    input: Schema.Struct({
      file_path: Schema.String,
      bucket: Schema.String,
      key: Schema.String,
      metadata: Schema.optionalKey(Details)
    }),
    output: Schema.Struct({
      success: Schema.Boolean,
      bucket: Schema.String,
      key: Schema.String,
      etag: Schema.String,
      size_bytes: Count,
      version_id: Schema.String
    }),
    annotations: { idempotent: true, destructive: true }
  }),
  s3_download_file: Tool.define({
    description: "Download bucket/key to a local path; fails with NoSuchKey when absent",
    input: Schema.Struct({ bucket: Schema.String, key: Schema.String, local_path: Schema.String }),
    output: Schema.Struct({
      success: Schema.Boolean,
      local_path: Schema.String,
      size_bytes: Count,
      metadata: Schema.optionalKey(Details)
    }),
    annotations: { readOnly: true, idempotent: true }
  })
})
