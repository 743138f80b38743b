/**
 * Typed contracts of the servers the CI/CD pipeline calls (shapes follow the seeds' arguments
 * and results): docker, security-scanner, kubernetes, communication-hub.
 *
 * @example
 * ```ts
 * import { Docker } from "./servers/cicd.ts"
 * const built = Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: "app:latest" })
 * ```
 * @module
 */
import { Schema } from "effect"
import { Tool } from "../../dsl/index.ts"

const CommandResult = Schema.Struct({
  success: Schema.Boolean,
  exit_code: Schema.Int,
  output: Schema.String
})

/**
 * The docker server: build images and run containers.
 *
 * @example
 * ```ts
 * Docker.docker_run({ image: "app:latest", command: "npm test" })
 * ```
 */
export const Docker = Tool.server("docker", {
  docker_build: Tool.define({
    description: "Build an image from a Dockerfile",
    input: Schema.Struct({ dockerfile_path: Schema.String, image_tag: Schema.String }),
    output: Schema.Struct({ success: Schema.Boolean, image_id: Schema.String, size_mb: Schema.Number }),
    annotations: { idempotent: true }
  }),
  docker_run: Tool.define({
    description: "Run a command in a container",
    input: Schema.Struct({
      image: Schema.String,
      command: Schema.String,
      volumes: Schema.optionalKey(Schema.Array(Schema.String))
    }),
    output: CommandResult
  })
})

/**
 * A vulnerability reported by a scanner.
 *
 * @example
 * ```ts
 * const v: typeof Vulnerability.Type = { id: "CVE-2024-1", severity: "high", package: "openssl" }
 * ```
 */
export const Vulnerability = Schema.Struct({
  id: Schema.String,
  severity: Schema.Literals(["low", "medium", "high", "critical"]),
  package: Schema.String
})

/**
 * The security scanner: container image scans.
 *
 * @example
 * ```ts
 * SecurityScanner.container_scan({ image: "app:latest", format: "json" })
 * ```
 */
export const SecurityScanner = Tool.server("security-scanner", {
  container_scan: Tool.define({
    description: "Scan a container image for known vulnerabilities",
    input: Schema.Struct({ image: Schema.String, format: Schema.Literals(["json", "table"]) }),
    output: Schema.Struct({ vulnerabilities: Schema.Array(Vulnerability) }),
    annotations: { readOnly: true, idempotent: true }
  })
})

/**
 * Kubernetes: apply manifests.
 *
 * @example
 * ```ts
 * Kubernetes.kubectl_apply({ manifest_path: "k8s/staging/", namespace: "staging" })
 * ```
 */
export const Kubernetes = Tool.server("kubernetes", {
  kubectl_apply: Tool.define({
    description: "Apply manifests to a namespace",
    input: Schema.Struct({ manifest_path: Schema.String, namespace: Schema.String }),
    output: Schema.Struct({ success: Schema.Boolean, resources: Schema.Array(Schema.String) }),
    annotations: { idempotent: true, destructive: true }
  })
})

/**
 * The communication hub: deployment broadcasts and alerts.
 *
 * @example
 * ```ts
 * CommunicationHub.send_alert({ message: "pipeline failed", severity: "high" })
 * ```
 */
export const CommunicationHub = Tool.server("communication-hub", {
  broadcast_deployment: Tool.define({
    description: "Announce a deployment's outcome",
    input: Schema.Struct({
      environment: Schema.String,
      service: Schema.String,
      version: Schema.String,
      status: Schema.Literals(["completed", "failed"]),
      details: Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Number, Schema.Boolean]))
    }),
    output: Schema.Struct({ delivered: Schema.Int })
  }),
  send_alert: Tool.define({
    description: "Send an alert",
    input: Schema.Struct({ message: Schema.String, severity: Schema.Literals(["low", "medium", "high", "critical"]) }),
    output: Schema.Struct({ delivered: Schema.Int })
  })
})
