/**
 * An object store with backups (e.g. `s3-storage`): buckets of versioned objects, and named
 * backups of a bucket prefix that can be restored.
 *
 * @example
 * ```ts
 * const s3 = yield* ObjectStore.make()
 * yield* s3.put({ bucket: "deploys", key: "k8s/app.yaml", content: "…" })
 * yield* s3.backup({ bucket: "deploys", prefix: "k8s/", name: "deployment_1.2" })
 * ```
 * @module
 */
import { Clock, Effect, Ref } from "effect"
import type { ToolRefusal } from "../FakeServer.ts"
import { ok, refuse, type Step, transact } from "./Model.ts"

/**
 * One stored object.
 *
 * @example
 * ```ts
 * const o: StoredObject = { content: "hi", version: 1, atMs: 0 }
 * ```
 */
export interface StoredObject {
  readonly content: string
  readonly version: number
  readonly atMs: number
}

/**
 * One backup: a copy of a bucket prefix at a moment.
 *
 * @example
 * ```ts
 * const b: Backup = { name: "nightly", bucket: "data", prefix: "", objects: { "a.txt": "hi" }, atMs: 0 }
 * ```
 */
export interface Backup {
  readonly name: string
  readonly bucket: string
  readonly prefix: string
  readonly objects: Readonly<Record<string, string>>
  readonly atMs: number
}

/**
 * The store's state.
 *
 * @example
 * ```ts
 * const s: ObjectStoreSnapshot = { buckets: { data: {} }, backups: {} }
 * ```
 */
export interface ObjectStoreSnapshot {
  readonly buckets: Readonly<Record<string, Readonly<Record<string, StoredObject>>>>
  readonly backups: Readonly<Record<string, Backup>>
}

/**
 * The object store model.
 *
 * @example
 * ```ts
 * const { content } = yield* s3.get({ bucket: "data", key: "a.txt" })
 * ```
 */
export interface ObjectStore {
  readonly put: (input: { readonly bucket: string; readonly key: string; readonly content: string }) => Effect.Effect<{ readonly version: number }>
  readonly get: (input: { readonly bucket: string; readonly key: string }) => Effect.Effect<{ readonly content: string; readonly version: number }, ToolRefusal>
  readonly remove: (input: { readonly bucket: string; readonly key: string }) => Effect.Effect<{ readonly deleted: boolean }>
  readonly list: (input: { readonly bucket: string; readonly prefix?: string | undefined }) => Effect.Effect<{ readonly keys: ReadonlyArray<string> }>
  /** Copies a prefix under a name; the same name twice is refused unless the contents agree. */
  readonly backup: (input: { readonly bucket: string; readonly prefix?: string | undefined; readonly name: string }) => Effect.Effect<{ readonly name: string; readonly objects: number }, ToolRefusal>
  /** Writes a backup's objects back to its bucket. */
  readonly restore: (input: { readonly name: string }) => Effect.Effect<{ readonly restored: number }, ToolRefusal>
  readonly snapshot: Effect.Effect<ObjectStoreSnapshot>
}

const objectsUnder = (bucket: Readonly<Record<string, StoredObject>>, prefix: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const key of Object.keys(bucket).sort()) if (key.startsWith(prefix)) out[key] = bucket[key]!.content
  return out
}

/**
 * Makes a store with the given buckets (bucket → key → content).
 *
 * @example
 * ```ts
 * const s3 = yield* ObjectStore.make({ deploys: { "k8s/app.yaml": "kind: Deployment" } })
 * ```
 */
export const make = (initial: Readonly<Record<string, Readonly<Record<string, string>>>> = {}): Effect.Effect<ObjectStore> => {
  const buckets: Record<string, Record<string, StoredObject>> = {}
  for (const [b, objects] of Object.entries(initial)) {
    buckets[b] = {}
    for (const [k, content] of Object.entries(objects)) buckets[b][k] = { content, version: 1, atMs: 0 }
  }
  return Effect.map(Ref.make<ObjectStoreSnapshot>({ buckets, backups: {} }), (state) => ({
    put: ({ bucket, content, key }) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.modify(state, (s): [{ version: number }, ObjectStoreSnapshot] => {
          const b = s.buckets[bucket] ?? {}
          const version = (b[key]?.version ?? 0) + 1
          return [{ version }, { ...s, buckets: { ...s.buckets, [bucket]: { ...b, [key]: { content, version, atMs: now } } } }]
        })),
    get: ({ bucket, key }) =>
      transact(state, (s): Step<{ content: string; version: number }, ObjectStoreSnapshot> => {
        const o = s.buckets[bucket]?.[key]
        return o === undefined ? refuse(`NoSuchKey: ${bucket}/${key}`) : ok({ content: o.content, version: o.version }, s)
      }),
    remove: ({ bucket, key }) =>
      Ref.modify(state, (s): [{ deleted: boolean }, ObjectStoreSnapshot] => {
        const b = s.buckets[bucket]
        if (b === undefined || !(key in b)) return [{ deleted: false }, s]
        const rest = { ...b }
        delete rest[key]
        return [{ deleted: true }, { ...s, buckets: { ...s.buckets, [bucket]: rest } }]
      }),
    list: ({ bucket, prefix }) =>
      Effect.map(Ref.get(state), (s) => ({ keys: Object.keys(s.buckets[bucket] ?? {}).filter((k) => k.startsWith(prefix ?? "")).sort() })),
    backup: ({ bucket, name, prefix }) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        transact(state, (s): Step<{ name: string; objects: number }, ObjectStoreSnapshot> => {
          const b = s.buckets[bucket]
          if (b === undefined) return refuse(`NoSuchBucket: ${bucket}`)
          const objects = objectsUnder(b, prefix ?? "")
          const prior = s.backups[name]
          if (prior !== undefined) {
            return JSON.stringify(prior.objects) === JSON.stringify(objects)
              ? ok({ name, objects: Object.keys(objects).length }, s)
              : refuse(`backup ${name} already exists with other contents`)
          }
          const backup: Backup = { name, bucket, prefix: prefix ?? "", objects, atMs: now }
          return ok({ name, objects: Object.keys(objects).length }, { ...s, backups: { ...s.backups, [name]: backup } })
        })),
    restore: ({ name }) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        transact(state, (s): Step<{ restored: number }, ObjectStoreSnapshot> => {
          const backup = s.backups[name]
          if (backup === undefined) return refuse(`no backup ${name}`)
          const b = { ...s.buckets[backup.bucket] }
          for (const [key, content] of Object.entries(backup.objects)) b[key] = { content, version: (b[key]?.version ?? 0) + 1, atMs: now }
          return ok({ restored: Object.keys(backup.objects).length }, { ...s, buckets: { ...s.buckets, [backup.bucket]: b } })
        })),
    snapshot: Ref.get(state)
  }))
}

/**
 * Consistency: each backup names an existing bucket, and object versions are positive.
 *
 * @example
 * ```ts
 * ObjectStore.check(yield* s3.snapshot) // => []
 * ```
 */
export const check = (s: ObjectStoreSnapshot): ReadonlyArray<string> => {
  const problems: Array<string> = []
  for (const b of Object.values(s.backups)) if (!(b.bucket in s.buckets)) problems.push(`backup ${b.name}: bucket ${b.bucket} is gone`)
  for (const [bucket, objects] of Object.entries(s.buckets)) {
    for (const [key, o] of Object.entries(objects)) if (o.version < 1) problems.push(`${bucket}/${key}: version ${o.version}`)
  }
  return problems
}

/**
 * Whether a backup holds exactly the given objects (e.g. "the backup taken before the deploy
 * has the old manifests").
 *
 * @example
 * ```ts
 * ObjectStore.backupHas(snapshot, "deployment_1.2", { "k8s/app.yaml": "v1" }) // => true
 * ```
 */
export const backupHas = (s: ObjectStoreSnapshot, name: string, objects: Readonly<Record<string, string>>): boolean => {
  const b = s.backups[name]
  const sorted = (r: Readonly<Record<string, string>>) => JSON.stringify(Object.entries(r).sort(([x], [y]) => (x < y ? -1 : 1)))
  return b !== undefined && sorted(b.objects) === sorted(objects)
}
