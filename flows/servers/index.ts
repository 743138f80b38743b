/**
 * Typed contracts of every server the seed flows call, by domain, and `seedContracts`: all of
 * them, for `gateway.checkContracts` / `requireContracts`.
 *
 * | file | server keys |
 * | --- | --- |
 * | `security.ts` | `security-scanner`, `desktop-commander` |
 * | `deploy.ts` | `docker`, `kubernetes`, `azure-devops` |
 * | `monitoring.ts` | `prometheus-monitoring` |
 * | `storage.ts` | `s3-storage` |
 * | `notifications.ts` | `communication-hub`, `slack-notifications` |
 * | `ml.ts` | `data`, `compute`, `storage`, `integration`, `security`, `notification` |
 * | `commerce.ts` | `inventory_server`, `payment_server`, `logistics_server`, `crm_server` |
 * | `onboarding.ts` | `compliance_server`, `finance_server`, `ops_server`, `communication_server` |
 *
 * @example
 * ```ts
 * import { requireContracts } from "../../src/runtime/gateway/Discovery.ts"
 * import { seedContracts } from "./servers/index.ts"
 * yield* requireContracts(seedContracts)
 * ```
 * @module
 */
import { Tool } from "../../dsl/index.ts"
import { Crm, Inventory, Logistics, Payment } from "./commerce.ts"
import { AzureDevOps, Docker, Kubernetes } from "./deploy.ts"
import { Compute, Data, Integration, Notification, Security, Storage } from "./ml.ts"
import { PrometheusMonitoring } from "./monitoring.ts"
import { CommunicationHub, SlackNotifications } from "./notifications.ts"
import { CommunicationServer, Compliance, Finance, Ops } from "./onboarding.ts"
import { DesktopCommander, SecurityScanner } from "./security.ts"
import { S3Storage } from "./storage.ts"

export * from "./commerce.ts"
export * from "./common.ts"
export * from "./deploy.ts"
export * from "./ml.ts"
export * from "./monitoring.ts"
export * from "./notifications.ts"
export * from "./onboarding.ts"
export * from "./security.ts"
export * from "./storage.ts"

/**
 * Every seed server's contracts, grouped by server key.
 *
 * @example
 * ```ts
 * Object.keys(seedServers) // => ["security-scanner", "desktop-commander", "docker", …]
 * ```
 */
export const seedServers = {
  "security-scanner": SecurityScanner,
  "desktop-commander": DesktopCommander,
  docker: Docker,
  kubernetes: Kubernetes,
  "azure-devops": AzureDevOps,
  "prometheus-monitoring": PrometheusMonitoring,
  "s3-storage": S3Storage,
  "communication-hub": CommunicationHub,
  "slack-notifications": SlackNotifications,
  data: Data,
  compute: Compute,
  storage: Storage,
  integration: Integration,
  security: Security,
  notification: Notification,
  inventory_server: Inventory,
  payment_server: Payment,
  logistics_server: Logistics,
  crm_server: Crm,
  compliance_server: Compliance,
  finance_server: Finance,
  ops_server: Ops,
  communication_server: CommunicationServer
} as const

/**
 * Every contract of every seed server, for discovery checks and plans.
 *
 * @example
 * ```ts
 * const mismatches = yield* gateway.checkContracts(seedContracts) // => [] on the sandbox
 * ```
 */
export const seedContracts = Tool.contractsOf(...Object.values(seedServers))
