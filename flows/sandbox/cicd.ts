/**
 * The sandbox servers the CI/CD flow uses (docker, security-scanner, desktop-commander,
 * kubernetes, prometheus-monitoring, s3-storage, communication-hub), taken from the full
 * sandbox (`./index.ts`). Nothing here touches the machine.
 *
 * @example
 * ```ts
 * const gateway = Layer.unwrap(Effect.map(cicdSandbox, (servers) => GatewayLayer.layer({ servers })))
 * ```
 * @module
 */
import { Effect } from "effect"
import type { ServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { sandboxServers } from "./index.ts"
import type { SandboxOptions } from "./options.ts"

const CICD_SERVERS = [
  "docker",
  "security-scanner",
  "desktop-commander",
  "kubernetes",
  "prometheus-monitoring",
  "s3-storage",
  "communication-hub"
] as const

/**
 * The CI/CD sandbox servers by key, for given options.
 *
 * @example
 * ```ts
 * const servers = yield* cicdSandboxWith({ vulnerableImages: ["app:latest"] })
 * ```
 */
export const cicdSandboxWith = (options: SandboxOptions = {}): Effect.Effect<Record<string, ServerConfig>> =>
  Effect.map(sandboxServers(options), (all) => Object.fromEntries(CICD_SERVERS.map((key) => [key, all[key]!])))

/**
 * The CI/CD sandbox servers by key, with default options.
 *
 * @example
 * ```ts
 * const servers = yield* cicdSandbox
 * ```
 */
export const cicdSandbox: Effect.Effect<Record<string, ServerConfig>> = cicdSandboxWith()
