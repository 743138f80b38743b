/**
 * The sandbox: in-process fake servers for every server the seed flows call, answering their
 * contracts (`flows/servers/`) with realistic data and latencies on Effect's clock (so
 * `TestClock` drives them), and lightly stateful where the flows need it. Nothing here touches
 * the machine or the network.
 *
 * | fakes | state |
 * | --- | --- |
 * | docker, kubernetes, azure-devops (`deploy.ts`) | `cluster`: images, containers, namespaces, deployments with revision history, canary traffic, work items |
 * | prometheus-monitoring (`monitoring.ts`) | reads `cluster`; keeps alert rules and recorded deployment statuses |
 * | security-scanner, desktop-commander (`security.ts`) | none (deterministic) |
 * | s3-storage (`storage.ts`) | `objects` |
 * | communication-hub, slack-notifications (`notifications.ts`) | `sent`: every message, in order |
 * | inventory/payment/logistics/crm servers (`commerce.ts`) | `commerce` |
 * | compliance/finance/ops/communication servers (`onboarding.ts`) | `onboarding` |
 * | data, compute, storage, integration, security, notification (`ml.ts`) | `ml`: jobs on the clock, files, audit trail |
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
 * import { sandboxServers } from "./sandbox/index.ts"
 *
 * const Gateway = Layer.unwrap(Effect.map(sandboxServers(), (servers) => GatewayLayer.layer({ servers })))
 * ```
 * @module
 */
import { Effect, type Ref } from "effect"
import type { InProcessServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { type CommerceState, makeCommerceSandbox } from "./commerce.ts"
import { type ClusterState, makeCluster, makeDeploySandbox } from "./deploy.ts"
import { makeMlSandbox, type MlState } from "./ml.ts"
import { makeMonitoringSandbox } from "./monitoring.ts"
import { makeNotificationsSandbox, type SentMessage } from "./notifications.ts"
import { makeOnboardingSandbox, type OnboardingState } from "./onboarding.ts"
import type { SandboxOptions } from "./options.ts"
import { makeSecuritySandbox } from "./security.ts"
import { makeStorageSandbox, type StoredObject } from "./storage.ts"

export type { CommerceState } from "./commerce.ts"
export type { ClusterState, K8sDeployment } from "./deploy.ts"
export type { MlState } from "./ml.ts"
export type { SentMessage } from "./notifications.ts"
export type { OnboardingState } from "./onboarding.ts"
export type { SandboxOptions } from "./options.ts"
export type { StoredObject } from "./storage.ts"

/**
 * A running sandbox: the server configs by key, and its state (read it to check invariants
 * after a run; writing it changes what the fakes answer next).
 *
 * @example
 * ```ts
 * const sandbox = yield* makeSandbox()
 * const alerts = (yield* Ref.get(sandbox.state.sent)).filter((m) => m.tool === "send_alert")
 * ```
 */
export interface Sandbox {
  readonly servers: Readonly<Record<string, InProcessServerConfig>>
  readonly state: {
    readonly cluster: Ref.Ref<ClusterState>
    readonly objects: Ref.Ref<ReadonlyMap<string, StoredObject>>
    readonly sent: Ref.Ref<ReadonlyArray<SentMessage>>
    readonly commerce: Ref.Ref<CommerceState>
    readonly onboarding: Ref.Ref<OnboardingState>
    readonly ml: Ref.Ref<MlState>
  }
}

/**
 * Makes every sandbox fake, with fresh state.
 *
 * @example
 * ```ts
 * const { servers, state } = yield* makeSandbox({ vulnerableImages: ["app:latest"] })
 * ```
 */
export const makeSandbox = (options: SandboxOptions = {}): Effect.Effect<Sandbox> =>
  Effect.gen(function*() {
    const cluster = yield* makeCluster
    const deploy = yield* makeDeploySandbox(cluster)
    const monitoring = yield* makeMonitoringSandbox(cluster, options)
    const security = yield* makeSecuritySandbox(options)
    const storage = yield* makeStorageSandbox(cluster)
    const notifications = yield* makeNotificationsSandbox
    const commerce = yield* makeCommerceSandbox
    const onboarding = yield* makeOnboardingSandbox
    const ml = yield* makeMlSandbox(options)
    return {
      servers: {
        ...security,
        ...deploy,
        ...monitoring,
        ...storage.servers,
        ...notifications.servers,
        ...ml.servers,
        ...commerce.servers,
        ...onboarding.servers
      },
      state: {
        cluster,
        objects: storage.objects,
        sent: notifications.sent,
        commerce: commerce.state,
        onboarding: onboarding.state,
        ml: ml.state
      }
    }
  })

/**
 * Every sandbox server config by key, ready for `GatewayLayer.layer({ servers })`.
 *
 * @example
 * ```ts
 * const Gateway = Layer.unwrap(Effect.map(sandboxServers(), (servers) => GatewayLayer.layer({ servers })))
 * ```
 */
export const sandboxServers = (options: SandboxOptions = {}): Effect.Effect<Readonly<Record<string, InProcessServerConfig>>> =>
  Effect.map(makeSandbox(options), (sandbox) => sandbox.servers)
