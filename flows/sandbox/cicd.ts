/**
 * The built-in sandbox for the CI/CD flow: in-process fake servers answering the contracts in
 * `flows/servers/cicd.ts` with realistic latencies. Nothing here touches the machine.
 *
 * @example
 * ```ts
 * const gateway = Layer.unwrap(Effect.map(cicdSandbox, (servers) => GatewayLayer.layer({ servers })))
 * ```
 * @module
 */
import { Effect, Ref } from "effect"
import { FakeServer } from "../../chaos/index.ts"
import type { ServerConfig } from "../../src/gateway/ServerConfig.ts"
import { CommunicationHub, Docker, Kubernetes, SecurityScanner } from "../servers/cicd.ts"

const latency = (ms: number) => Effect.sleep(`${ms} millis`)

/**
 * Fake docker, security-scanner, kubernetes and communication-hub servers, by key.
 *
 * @example
 * ```ts
 * const servers = yield* cicdSandbox
 * ```
 */
export const cicdSandbox: Effect.Effect<Record<string, ServerConfig>> = Effect.gen(function*() {
  const images = yield* Ref.make(new Set<string>())
  const docker = yield* FakeServer.make("docker", [
    FakeServer.handle(Docker.docker_build, ({ image_tag }) =>
      latency(400).pipe(
        Effect.andThen(Ref.update(images, (s) => new Set(s).add(image_tag))),
        Effect.as({ success: true, image_id: `sha256:${image_tag.length.toString(16).padStart(12, "0")}`, size_mb: 182.4 })
      )),
    FakeServer.handle(Docker.docker_run, ({ image, command }) =>
      Effect.gen(function*() {
        yield* latency(600)
        const built = (yield* Ref.get(images)).has(image)
        return built
          ? { success: true, exit_code: 0, output: `$ ${command}\n42 passed, 0 failed` }
          : { success: false, exit_code: 125, output: `Unable to find image '${image}'` }
      }))
  ], { name: "docker (sandbox)" })
  const scanner = yield* FakeServer.make("security-scanner", [
    FakeServer.handle(SecurityScanner.container_scan, () => latency(300).pipe(Effect.as({ vulnerabilities: [] })))
  ], { name: "security-scanner (sandbox)" })
  const kubernetes = yield* FakeServer.make("kubernetes", [
    FakeServer.handle(Kubernetes.kubectl_apply, ({ namespace }) =>
      latency(350).pipe(Effect.as({ success: true, resources: [`deployment.apps/app (${namespace})`, `service/app (${namespace})`] })))
  ], { name: "kubernetes (sandbox)" })
  const hub = yield* FakeServer.make("communication-hub", [
    FakeServer.handle(CommunicationHub.broadcast_deployment, () => latency(80).pipe(Effect.as({ delivered: 3 }))),
    FakeServer.handle(CommunicationHub.send_alert, () => latency(80).pipe(Effect.as({ delivered: 2 })))
  ], { name: "communication-hub (sandbox)" })
  return { docker, "security-scanner": scanner, kubernetes, "communication-hub": hub }
})
