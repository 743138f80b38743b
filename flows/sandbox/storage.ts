/**
 * Sandbox fake of `s3-storage`: an object store in a `Ref`. Backups become objects of the
 * `backups` bucket; an uploaded key can be downloaded, a missing one fails with NoSuchKey.
 * `backup_deployment` records the version the cluster runs.
 *
 * @example
 * ```ts
 * const servers = yield* makeStorageSandbox(yield* makeCluster)
 * ```
 * @module
 */
import { Effect, Ref, type Schema } from "effect"
import { FakeServer, FakeState } from "../../chaos/index.ts"
import type { InProcessServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { S3Storage } from "../servers/storage.ts"
import type { ClusterState } from "./deploy.ts"
import { hash, Ids, latency, nowIso, refuse, sandboxServer } from "./support.ts"

/**
 * One stored object.
 *
 * @example
 * ```ts
 * const o: StoredObject = { size_bytes: 48213, version: 1, created_at: "2024-09-23T10:00:00.000Z" }
 * ```
 */
export interface StoredObject {
  readonly size_bytes: number
  readonly version: number
  readonly created_at: string
  readonly metadata?: Schema.JsonObject | undefined
}

/**
 * The s3-storage fake and its objects by `bucket/key`.
 *
 * @example
 * ```ts
 * const { servers, objects } = yield* makeStorageSandbox(cluster)
 * ```
 */
export const makeStorageSandbox = (cluster: Ref.Ref<ClusterState>): Effect.Effect<{
  readonly servers: Record<string, InProcessServerConfig>
  readonly objects: Ref.Ref<ReadonlyMap<string, StoredObject>>
}> =>
  Effect.gen(function*() {
    const objects = yield* FakeState.ref<ReadonlyMap<string, StoredObject>>("objects", new Map())
    const backupIds = yield* Ids.make("bk-")

    const put = (key: string, size_bytes: number, metadata?: Schema.JsonObject) =>
      Effect.gen(function*() {
        const created_at = yield* nowIso
        return yield* Ref.modify(objects, (m): readonly [StoredObject, ReadonlyMap<string, StoredObject>] => {
          const object: StoredObject = { size_bytes, version: (m.get(key)?.version ?? 0) + 1, created_at, metadata }
          return [object, new Map(m).set(key, object)]
        })
      })

    const backup = (prefix: string, ms: number, size: number) =>
      Effect.gen(function*() {
        yield* latency(ms)
        const backup_id = yield* backupIds.next
        const key = `${prefix}/${backup_id}.tar.gz`
        const object = yield* put(`backups/${key}`, size)
        return { success: true, backup_id, location: `s3://backups/${key}`, size_bytes: object.size_bytes, created_at: object.created_at }
      })

    const s3 = yield* sandboxServer("s3-storage", [
      FakeServer.handle(S3Storage.backup_deployment, ({ environment, service }) =>
        Effect.gen(function*() {
          const d = (yield* Ref.get(cluster)).deployments.get(`${environment}/${service}`)
          const result = yield* backup(`deployments/${environment}/${service}`, 700, 48_213 + (hash(service) % 4096))
          return d === undefined ? result : { ...result, version: d.image.slice(d.image.lastIndexOf(":") + 1) }
        })),
      FakeServer.handle(S3Storage.backup_config, ({ source, backup_name }) =>
        backup(`config/${backup_name}`, 400, 12_288 + (hash(source) % 2048))),
      FakeServer.handle(S3Storage.emergency_backup, ({ source, priority }) =>
        backup(`emergency/${source}`, priority === "high" ? 1200 : 2400, 734_003_200 + (hash(source) % 1_000_000))),
      FakeServer.handle(S3Storage.s3_upload_file, ({ file_path, bucket, key, metadata }) =>
        Effect.gen(function*() {
          yield* latency(250)
          const object = yield* put(`${bucket}/${key}`, 1024 + (hash(file_path) % 65_536), metadata)
          return {
            success: true,
            bucket,
            key,
            etag: `"${hash(`${bucket}/${key}#${object.version}`).toString(16).padStart(8, "0")}"`,
            size_bytes: object.size_bytes,
            version_id: `v${object.version}`
          }
        })),
      FakeServer.handle(S3Storage.s3_download_file, ({ bucket, key, local_path }) =>
        Effect.gen(function*() {
          yield* latency(200)
          const object = (yield* Ref.get(objects)).get(`${bucket}/${key}`)
          if (object === undefined) return yield* refuse(`NoSuchKey: The specified key does not exist (s3://${bucket}/${key})`)
          return {
            success: true,
            local_path,
            size_bytes: object.size_bytes,
            ...(object.metadata !== undefined ? { metadata: object.metadata } : {})
          }
        }))
    ])
    return { servers: { "s3-storage": s3 }, objects }
  })
