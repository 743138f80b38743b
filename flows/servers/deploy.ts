/**
 * Contracts of the seeds' build and deploy servers: `docker`, `kubernetes` and `azure-devops`.
 *
 * @example
 * ```ts
 * import { Docker, Kubernetes } from "./deploy.ts"
 * const built = Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: "app:latest" })
 * const applied = Kubernetes.kubectl_apply({ manifest_path: "k8s/staging/", namespace: "staging" })
 * ```
 * @module
 */
import { Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import { CommandResult, Count, NonNegative, Percent, Timestamp } from "./common.ts"

/**
 * A container as `docker ps` lists it.
 *
 * @example
 * ```ts
 * const c: typeof Container.Type = { id: "3f2a9c1b7d4e", image: "redis:7", status: "running", names: ["cache"], created_at: "2024-09-23T10:00:00.000Z" }
 * ```
 */
export const Container = Schema.Struct({
  id: Schema.String,
  image: Schema.String,
  status: Schema.Literals(["running", "exited", "restarting", "paused"]),
  names: Schema.Array(Schema.String),
  created_at: Timestamp
})

/**
 * Docker: build images, run commands in containers, list containers.
 *
 * @example
 * ```ts
 * const { image_id } = yield* Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: "app:1.2.3" })
 * const tests = yield* Docker.docker_run({ image: "app:1.2.3", command: "pytest tests/" })
 * const { containers } = yield* Docker.docker_ps({ all: false })
 * ```
 */
export const Docker = Tool.server("docker", {
  docker_build: Tool.define({
    description: "Build an image from a Dockerfile and tag it (rebuilding the same tag replaces it)",
    input: Schema.Struct({ dockerfile_path: Schema.String, image_tag: Schema.String }),
    output: Schema.Struct({ success: Schema.Boolean, image_id: Schema.String, size_mb: NonNegative }),
    annotations: { idempotent: true }
  }),
  docker_run: Tool.define({
    description: "Run a command in a new container of an image and wait for it to exit",
    input: Schema.Struct({
      image: Schema.String,
      command: Schema.String,
      volumes: Schema.optionalKey(Schema.Array(Schema.String))
    }),
    output: Schema.Struct({ ...CommandResult.fields, container_id: Schema.optionalKey(Schema.String) })
  }),
  docker_ps: Tool.define({
    description: "List containers (running ones unless `all`)",
    input: Schema.Struct({ all: Schema.Boolean }),
    output: Schema.Struct({ success: Schema.Boolean, containers: Schema.Array(Container) }),
    annotations: { readOnly: true, idempotent: true }
  })
})

/**
 * The resource kinds the seeds pass as `resource_type`.
 *
 * @example
 * ```ts
 * const r: typeof ResourceType.Type = "deployment"
 * ```
 */
export const ResourceType = Schema.Literals([
  "pod",
  "pods",
  "deployment",
  "deployments",
  "service",
  "services",
  "namespace",
  "namespaces"
])

/**
 * One item of `kubectl get` (a pod, deployment, service or namespace), flattened.
 *
 * @example
 * ```ts
 * const d: typeof K8sItem.Type = { kind: "Deployment", name: "app", namespace: "production", status: { replicas: 3, ready_replicas: 3 }, image: "app:1.4.2", revision: 7 }
 * ```
 */
export const K8sItem = Schema.Struct({
  kind: Schema.Literals(["Pod", "Deployment", "Service", "Namespace"]),
  name: Schema.String,
  namespace: Schema.optionalKey(Schema.String),
  status: Schema.Struct({
    phase: Schema.optionalKey(Schema.Literals(["Pending", "Running", "Succeeded", "Failed", "Active", "Terminating"])),
    replicas: Schema.optionalKey(Count),
    ready_replicas: Schema.optionalKey(Count)
  }),
  image: Schema.optionalKey(Schema.String),
  revision: Schema.optionalKey(Count)
})

const Target = {
  resource_type: ResourceType,
  name: Schema.String,
  namespace: Schema.optionalKey(Schema.String)
}

/**
 * Kubernetes: apply and delete manifests, read resources, scale, watch and undo rollouts, set a
 * deployment's image, and split traffic between the stable and canary versions of a service.
 *
 * @example
 * ```ts
 * yield* Kubernetes.kubectl_apply({ manifest_path: "k8s/production/", namespace: "production" })
 * const { status } = yield* Kubernetes.kubectl_rollout_status({ resource_type: "deployment", name: "app", namespace: "production", timeout: 600 })
 * if (status !== "success") yield* Kubernetes.kubectl_rollout_undo({ resource_type: "deployment", name: "app", namespace: "production" })
 * ```
 */
export const Kubernetes = Tool.server("kubernetes", {
  kubectl_apply: Tool.define({
    description: "Apply the manifests under a path to a namespace (creating it if needed); replaces what is running",
    input: Schema.Struct({ manifest_path: Schema.String, namespace: Schema.optionalKey(Schema.String) }),
    output: Schema.Struct({
      success: Schema.Boolean,
      resources: Schema.Array(Schema.String),
      status: Schema.Literals(["created", "configured", "unchanged"])
    }),
    annotations: { idempotent: true, destructive: true }
  }),
  kubectl_get: Tool.define({
    description: "List resources of a kind in a namespace (one, when `name` is given)",
    input: Schema.Struct({
      resource_type: ResourceType,
      namespace: Schema.optionalKey(Schema.String),
      name: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({ success: Schema.Boolean, items: Schema.Array(K8sItem) }),
    annotations: { readOnly: true, idempotent: true }
  }),
  kubectl_delete: Tool.define({
    description: "Delete a resource (a namespace deletes everything in it); deleting what is gone succeeds with nothing deleted",
    input: Schema.Struct({ ...Target, force: Schema.optionalKey(Schema.Boolean) }),
    output: Schema.Struct({ success: Schema.Boolean, deleted: Schema.Array(Schema.String) }),
    annotations: { destructive: true, idempotent: true }
  }),
  kubectl_scale: Tool.define({
    description: "Set the replica count of a deployment",
    input: Schema.Struct({ ...Target, replicas: Count }),
    output: Schema.Struct({ success: Schema.Boolean, replicas: Count, previous_replicas: Count }),
    annotations: { idempotent: true }
  }),
  kubectl_rollout_status: Tool.define({
    description: "Wait (up to `timeout` seconds) for a deployment's rollout to finish",
    input: Schema.Struct({ ...Target, timeout: Schema.optionalKey(NonNegative) }),
    output: Schema.Struct({
      status: Schema.Literals(["success", "progressing", "failed"]),
      revision: Count,
      ready_replicas: Count,
      replicas: Count,
      message: Schema.String
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  kubectl_rollout_undo: Tool.define({
    description: "Roll a deployment back to its previous revision (or `to_revision`)",
    input: Schema.Struct({ ...Target, to_revision: Schema.optionalKey(Count) }),
    output: Schema.Struct({ success: Schema.Boolean, revision: Count, image: Schema.String }),
    annotations: { destructive: true, idempotent: false }
  }),
  kubectl_set_image: Tool.define({
    description: "Set the image of a deployment's containers (kubectl set image); setting the image it already runs changes nothing",
    input: Schema.Struct({ ...Target, image: Schema.String, container: Schema.optionalKey(Schema.String) }),
    output: Schema.Struct({ success: Schema.Boolean, revision: Count, image: Schema.String, previous_image: Schema.String }),
    annotations: { destructive: true, idempotent: true }
  }),
  update_traffic_split: Tool.define({
    description: "Route `canary_percent` of a service's traffic to its canary deployment, the rest to stable",
    input: Schema.Struct({ service: Schema.String, namespace: Schema.String, canary_percent: Percent }),
    output: Schema.Struct({ success: Schema.Boolean, stable_percent: Percent, canary_percent: Percent }),
    annotations: { idempotent: true }
  })
})

/**
 * Azure DevOps: work items for follow-up tasks.
 *
 * @example
 * ```ts
 * const { id, url } = yield* AzureDevOps.create_work_item({ project: "Operations", work_item_type: "Task", title: "Post-deployment validation for app" })
 * ```
 */
export const AzureDevOps = Tool.server("azure-devops", {
  create_work_item: Tool.define({
    description: "Create a work item in a project; not idempotent (each call creates one)",
    input: Schema.Struct({
      project: Schema.String,
      work_item_type: Schema.Literals(["Task", "Bug", "User Story", "Feature", "Epic"]),
      title: Schema.String,
      description: Schema.optionalKey(Schema.String),
      assigned_to: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({
      id: Count,
      url: Schema.String,
      state: Schema.Literals(["New", "Active", "Resolved", "Closed"]),
      work_item_type: Schema.String,
      title: Schema.String
    }),
    annotations: { idempotent: false, openWorld: true }
  })
})
