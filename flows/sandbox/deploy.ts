/**
 * Sandbox fakes of `docker`, `kubernetes` and `azure-devops`, sharing one cluster state: a
 * `docker_build` makes its tag the image the next `kubectl_apply` rolls out, and `kubectl_get`,
 * `kubectl_rollout_status` and monitoring then see the new version and revision.
 *
 * @example
 * ```ts
 * const cluster = yield* makeCluster
 * const { servers } = yield* makeDeploySandbox(cluster)
 * ```
 * @module
 */
import { Effect, Ref } from "effect"
import { FakeServer, FakeState } from "../../chaos/index.ts"
import type { InProcessServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { AzureDevOps, type Container, Docker, type K8sItem, Kubernetes } from "../servers/deploy.ts"
import { hash, Ids, latency, nowIso, refuse, sandboxServer } from "./support.ts"

/**
 * A deployment of the fake cluster; `history` lists the image of each revision, oldest first.
 *
 * @example
 * ```ts
 * const d: K8sDeployment = { name: "app", namespace: "production", image: "app:1.4.2", replicas: 3, revision: 7, history: [{ revision: 7, image: "app:1.4.2" }] }
 * ```
 */
export interface K8sDeployment {
  readonly name: string
  readonly namespace: string
  readonly image: string
  readonly replicas: number
  readonly revision: number
  readonly history: ReadonlyArray<{ readonly revision: number; readonly image: string }>
}

/**
 * The state the docker, kubernetes and monitoring fakes share.
 *
 * @example
 * ```ts
 * const { deployments } = yield* Ref.get(cluster)
 * deployments.get("production/app")?.image // => "app:1.4.2"
 * ```
 */
export interface ClusterState {
  /** Built images by tag. */
  readonly images: ReadonlyMap<string, { readonly image_id: string; readonly size_mb: number }>
  /** The tag of the last `docker_build`: what the next `kubectl_apply` rolls out. */
  readonly lastBuilt: string | undefined
  readonly containers: ReadonlyArray<typeof Container.Type>
  readonly namespaces: ReadonlySet<string>
  /** Deployments by `namespace/name`. */
  readonly deployments: ReadonlyMap<string, K8sDeployment>
  /** Canary traffic percent by `namespace/service`. */
  readonly traffic: ReadonlyMap<string, number>
  /** Work items created in azure-devops. */
  readonly workItems: ReadonlyArray<{ readonly id: number; readonly project: string; readonly title: string }>
}

const seedDeployment = (namespace: string, name: string, images: ReadonlyArray<string>, replicas: number, firstRevision: number): K8sDeployment => ({
  name,
  namespace,
  image: images[images.length - 1]!,
  replicas,
  revision: firstRevision + images.length - 1,
  history: images.map((image, i) => ({ revision: firstRevision + i, image }))
})

/**
 * A fresh cluster: `production/app` runs app:1.4.2 (revision 7), `staging/app` app:1.5.0-rc.1,
 * `app-blue/app` app:1.4.2; redis and postgres containers run next to the app.
 *
 * @example
 * ```ts
 * const cluster = yield* makeCluster
 * ```
 */
export const makeCluster: Effect.Effect<Ref.Ref<ClusterState>> = FakeState.ref<ClusterState>("cluster", {
  images: new Map([
    ["app:1.4.2", { image_id: "sha256:5d41402abc4b", size_mb: 179.8 }],
    ["redis:7", { image_id: "sha256:7c4a8d09ca37", size_mb: 41.2 }],
    ["postgres:16", { image_id: "sha256:e4da3b7fbbce", size_mb: 412.5 }]
  ]),
  lastBuilt: undefined,
  containers: [
    { id: "a1b2c3d4e5f6", image: "app:1.4.2", status: "running", names: ["app"], created_at: "2024-09-20T08:00:00.000Z" },
    { id: "0f9e8d7c6b5a", image: "redis:7", status: "running", names: ["cache"], created_at: "2024-09-01T08:00:00.000Z" },
    { id: "1a2b3c4d5e6f", image: "postgres:16", status: "running", names: ["db"], created_at: "2024-09-01T08:00:00.000Z" },
    { id: "9f8e7d6c5b4a", image: "app:1.4.2", status: "exited", names: ["migrate"], created_at: "2024-09-20T07:59:00.000Z" }
  ],
  namespaces: new Set(["default", "kube-system", "staging", "production", "app-blue"]),
  deployments: new Map([
    ["production/app", seedDeployment("production", "app", ["app:1.4.0", "app:1.4.1", "app:1.4.2"], 3, 5)],
    ["staging/app", seedDeployment("staging", "app", ["app:1.4.2", "app:1.5.0-rc.1"], 2, 2)],
    ["app-blue/app", seedDeployment("app-blue", "app", ["app:1.4.2"], 3, 2)]
  ]),
  traffic: new Map(),
  workItems: []
})

const ENVIRONMENT_DIRS = new Set(["k8s", "tests", "fixtures", "staging", "production", "prod", "dev", "backup-region"])

/** What a manifest path applies: a deployment (and its service) or, for `service-*.yaml`, a service switch. */
const parseManifest = (manifestPath: string): { readonly app: string; readonly deployment: string | undefined } => {
  const parts = manifestPath.replace(/^\.\//, "").split("/").filter((p) => p.length > 0)
  const last = parts[parts.length - 1]
  const file = last !== undefined && /\.ya?ml$/.test(last) ? parts.pop() : undefined
  const dirs = parts.filter((p) => !ENVIRONMENT_DIRS.has(p))
  const app = dirs[dirs.length - 1] ?? "app"
  if (file?.startsWith("service")) return { app, deployment: undefined }
  if (file?.startsWith("canary")) return { app, deployment: `${app}-canary` }
  return { app, deployment: app }
}

const plural = (t: typeof K8sItem.Type["kind"]) => `${t.toLowerCase()}s`
const kindOf = (resourceType: string): typeof K8sItem.Type["kind"] =>
  resourceType.startsWith("pod") ? "Pod" : resourceType.startsWith("deployment") ? "Deployment" : resourceType.startsWith("service") ? "Service" : "Namespace"

const serviceOf = (deployment: string) => deployment.replace(/-canary$/, "")

const itemsOf = (state: ClusterState, kind: typeof K8sItem.Type["kind"], namespace: string): ReadonlyArray<typeof K8sItem.Type> => {
  const inNs = [...state.deployments.values()].filter((d) => d.namespace === namespace)
  switch (kind) {
    case "Namespace":
      return [...state.namespaces].map((name) => ({ kind, name, status: { phase: "Active" as const } }))
    case "Deployment":
      return inNs.map((d) => ({
        kind,
        name: d.name,
        namespace,
        status: { replicas: d.replicas, ready_replicas: d.replicas },
        image: d.image,
        revision: d.revision
      }))
    case "Service":
      return [...new Set(inNs.map((d) => serviceOf(d.name)))].map((name) => ({ kind, name, namespace, status: {} }))
    case "Pod":
      return inNs.flatMap((d) =>
        Array.from({ length: d.replicas }, (_, i) => ({
          kind,
          name: `${d.name}-${hash(`${d.image}#${d.revision}`).toString(36).slice(0, 5)}-${i}`,
          namespace,
          status: { phase: "Running" as const },
          image: d.image
        }))
      )
  }
}

const notFound = (kind: string, name: string) => refuse(`Error from server (NotFound): ${kind} "${name}" not found`)

/**
 * The docker, kubernetes and azure-devops fakes over one cluster state.
 *
 * @example
 * ```ts
 * const { servers } = yield* makeDeploySandbox(yield* makeCluster)
 * GatewayLayer.layer({ servers })
 * ```
 */
export const makeDeploySandbox = (cluster: Ref.Ref<ClusterState>): Effect.Effect<Record<string, InProcessServerConfig>> =>
  Effect.gen(function*() {
    const containerIds = yield* Ids.make("c0ffee", 1)
    const workItemIds = yield* FakeState.ref("azure-devops work item ids", 1200)

    const docker = yield* sandboxServer("docker", [
      FakeServer.handle(Docker.docker_build, ({ image_tag }) =>
        Effect.gen(function*() {
          yield* latency(400)
          const built = { image_id: `sha256:${hash(image_tag).toString(16).padStart(12, "0")}`, size_mb: 182.4 }
          yield* Ref.update(cluster, (s) => ({ ...s, images: new Map(s.images).set(image_tag, built), lastBuilt: image_tag }))
          return { success: true, ...built }
        })),
      FakeServer.handle(Docker.docker_run, ({ image, command }) =>
        Effect.gen(function*() {
          yield* latency(600)
          const state = yield* Ref.get(cluster)
          if (!state.images.has(image)) return { success: false, exit_code: 125, output: `Unable to find image '${image}' locally` }
          const id = (yield* containerIds.next).padEnd(12, "0")
          const created_at = yield* nowIso
          yield* Ref.update(cluster, (s) => ({
            ...s,
            containers: [...s.containers, { id, image, status: "exited" as const, names: [`run-${id.slice(-4)}`], created_at }]
          }))
          const output = /pytest|npm test|vitest/.test(command)
            ? `$ ${command}\n========== 128 passed, 0 failed in 41.2s ==========`
            : `$ ${command}\ndone`
          return { success: true, exit_code: 0, output, container_id: id }
        })),
      FakeServer.handle(Docker.docker_ps, ({ all }) =>
        Effect.gen(function*() {
          yield* latency(60)
          const { containers } = yield* Ref.get(cluster)
          return { success: true, containers: all ? containers : containers.filter((c) => c.status === "running") }
        }))
    ])

    const kubernetes = yield* sandboxServer("kubernetes", [
      FakeServer.handle(Kubernetes.kubectl_apply, ({ manifest_path, namespace = "default" }) =>
        Effect.gen(function*() {
          yield* latency(350)
          const { app, deployment } = parseManifest(manifest_path)
          if (deployment === undefined) {
            return { success: true, resources: [`service/${app}`], status: "configured" as const }
          }
          const key = `${namespace}/${deployment}`
          return yield* Ref.modify(cluster, (s): readonly [typeof Kubernetes.kubectl_apply.output.Type, ClusterState] => {
            const current = s.deployments.get(key)
            const image = s.lastBuilt ?? current?.image ?? `${app}:latest`
            const resources = [`deployment.apps/${deployment}`, `service/${serviceOf(deployment)}`]
            if (current !== undefined && current.image === image) {
              return [{ success: true, resources, status: "unchanged" as const }, s]
            }
            const revision = (current?.revision ?? 0) + 1
            const next: K8sDeployment = {
              name: deployment,
              namespace,
              image,
              replicas: current?.replicas ?? (deployment.endsWith("-canary") ? 1 : namespace === "production" ? 3 : 2),
              revision,
              history: [...(current?.history ?? []), { revision, image }]
            }
            return [
              { success: true, resources, status: current === undefined ? "created" as const : "configured" as const },
              { ...s, namespaces: new Set(s.namespaces).add(namespace), deployments: new Map(s.deployments).set(key, next) }
            ]
          })
        })),
      FakeServer.handle(Kubernetes.kubectl_get, ({ resource_type, namespace = "default", name }) =>
        Effect.gen(function*() {
          yield* latency(120)
          const kind = kindOf(resource_type)
          const items = itemsOf(yield* Ref.get(cluster), kind, namespace)
          if (name === undefined) return { success: true, items }
          const found = items.filter((i) => i.name === name)
          if (found.length === 0) return yield* notFound(plural(kind), name)
          return { success: true, items: found }
        })),
      FakeServer.handle(Kubernetes.kubectl_delete, ({ resource_type, name, namespace = "default" }) =>
        Effect.gen(function*() {
          yield* latency(250)
          const kind = kindOf(resource_type)
          return yield* Ref.modify(cluster, (s): readonly [typeof Kubernetes.kubectl_delete.output.Type, ClusterState] => {
            if (kind === "Namespace") {
              if (!s.namespaces.has(name)) return [{ success: true, deleted: [] }, s]
              const namespaces = new Set(s.namespaces)
              namespaces.delete(name)
              const deployments = new Map([...s.deployments].filter(([, d]) => d.namespace !== name))
              return [{ success: true, deleted: [`namespace/${name}`] }, { ...s, namespaces, deployments }]
            }
            if (kind === "Deployment") {
              const key = `${namespace}/${name}`
              if (!s.deployments.has(key)) return [{ success: true, deleted: [] }, s]
              const deployments = new Map(s.deployments)
              deployments.delete(key)
              return [{ success: true, deleted: [`deployment.apps/${name}`] }, { ...s, deployments }]
            }
            // Pods are recreated by their deployment; services are implied by deployments.
            const exists = itemsOf(s, kind, namespace).some((i) => i.name === name)
            return [{ success: true, deleted: exists ? [`${kind.toLowerCase()}/${name}`] : [] }, s]
          })
        })),
      FakeServer.handle(Kubernetes.kubectl_scale, ({ name, namespace = "default", replicas }) =>
        Effect.gen(function*() {
          yield* latency(200)
          const key = `${namespace}/${name}`
          const current = (yield* Ref.get(cluster)).deployments.get(key)
          if (current === undefined) return yield* notFound("deployments.apps", name)
          yield* Ref.update(cluster, (s) => ({ ...s, deployments: new Map(s.deployments).set(key, { ...current, replicas }) }))
          return { success: true, replicas, previous_replicas: current.replicas }
        })),
      FakeServer.handle(Kubernetes.kubectl_rollout_status, ({ name, namespace = "default" }) =>
        Effect.gen(function*() {
          const d = (yield* Ref.get(cluster)).deployments.get(`${namespace}/${name}`)
          if (d === undefined) return yield* notFound("deployments.apps", name)
          yield* latency(300 + 150 * d.replicas)
          return {
            status: "success" as const,
            revision: d.revision,
            ready_replicas: d.replicas,
            replicas: d.replicas,
            message: `deployment "${name}" successfully rolled out`
          }
        })),
      FakeServer.handle(Kubernetes.kubectl_rollout_undo, ({ name, namespace = "default", to_revision }) =>
        Effect.gen(function*() {
          yield* latency(300)
          const key = `${namespace}/${name}`
          const d = (yield* Ref.get(cluster)).deployments.get(key)
          if (d === undefined) return yield* notFound("deployments.apps", name)
          const target = to_revision === undefined
            ? d.history.filter((h) => h.revision < d.revision).at(-1)
            : d.history.find((h) => h.revision === to_revision)
          if (target === undefined) {
            return yield* refuse(
              to_revision === undefined ? `error: no rollout history found for deployment "${name}"` : `error: unable to find specified revision ${to_revision} in history`
            )
          }
          const revision = d.revision + 1
          const next = { ...d, image: target.image, revision, history: [...d.history, { revision, image: target.image }] }
          yield* Ref.update(cluster, (s) => ({ ...s, deployments: new Map(s.deployments).set(key, next) }))
          return { success: true, revision, image: target.image }
        })),
      FakeServer.handle(Kubernetes.kubectl_set_image, ({ image, name, namespace = "default" }) =>
        Effect.gen(function*() {
          yield* latency(200)
          const key = `${namespace}/${name}`
          const d = (yield* Ref.get(cluster)).deployments.get(key)
          if (d === undefined) return yield* notFound("deployments.apps", name)
          if (d.image === image) return { success: true, revision: d.revision, image, previous_image: d.image }
          const revision = d.revision + 1
          const next = { ...d, image, revision, history: [...d.history, { revision, image }] }
          yield* Ref.update(cluster, (s) => ({ ...s, deployments: new Map(s.deployments).set(key, next) }))
          return { success: true, revision, image, previous_image: d.image }
        })),
      FakeServer.handle(Kubernetes.update_traffic_split, ({ service, namespace, canary_percent }) =>
        Effect.gen(function*() {
          yield* latency(150)
          const s = yield* Ref.get(cluster)
          if (!s.deployments.has(`${namespace}/${service}`) && !s.deployments.has(`${namespace}/${service}-canary`)) {
            return yield* notFound("services", service)
          }
          yield* Ref.update(cluster, (st) => ({ ...st, traffic: new Map(st.traffic).set(`${namespace}/${service}`, canary_percent) }))
          return { success: true, stable_percent: 100 - canary_percent, canary_percent }
        }))
    ])

    const azure = yield* sandboxServer("azure-devops", [
      FakeServer.handle(AzureDevOps.create_work_item, ({ project, work_item_type, title }) =>
        Effect.gen(function*() {
          yield* latency(220)
          const id = yield* Ref.updateAndGet(workItemIds, (n) => n + 1)
          yield* Ref.update(cluster, (s) => ({ ...s, workItems: [...s.workItems, { id, project, title }] }))
          return {
            id,
            url: `https://dev.azure.com/contoso/${encodeURIComponent(project)}/_workitems/edit/${id}`,
            state: "New" as const,
            work_item_type,
            title
          }
        }))
    ])

    return { docker, kubernetes, "azure-devops": azure }
  })
