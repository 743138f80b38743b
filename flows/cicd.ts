/**
 * The CI/CD pipeline from the seeds, on the built-in sandbox servers:
 * build → test → container scan → deploy decision → staging deploy → notification, and an
 * alert with the partial results when anything fails.
 *
 * Run it: `npx tsx flows/cicd.ts` (exit 0 on success, 1 when the pipeline failed).
 *
 * This is the foundation's version: plain Effect code over typed contracts. The flows issue
 * replaces the inline step reporter with mcpflow's interpreter and the full pipeline.
 * @module
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import * as GatewayLayer from "../src/gateway/GatewayLayer.ts"
import { cicdSandbox } from "./sandbox/cicd.ts"
import { CommunicationHub, Docker, Kubernetes, SecurityScanner } from "./servers/cicd.ts"

const results: Record<string, string> = {}

/** Runs one named step, printing its start, outcome and duration. */
const step = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = Date.now()
    yield* Console.log(`▸ ${name}`)
    const exit = yield* Effect.exit(effect)
    const ms = Date.now() - started
    if (exit._tag === "Success") {
      results[name] = "ok"
      yield* Console.log(`✓ ${name} (${ms} ms)`)
    } else {
      results[name] = "failed"
      yield* Console.log(`✗ ${name} (${ms} ms)`)
    }
    return yield* exit
  })

const pipeline = Effect.gen(function*() {
  const image = "app:latest"
  const build = yield* step("build", Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: image }))
  const test = yield* step("test", Docker.docker_run({ image, command: "npm test" }))
  const scan = yield* step("container scan", SecurityScanner.container_scan({ image, format: "json" }))
  const deployReady = build.success && test.success && scan.vulnerabilities.length === 0
  yield* Console.log(`  deploy decision: ${deployReady ? "ready" : "blocked"}`)
  if (!deployReady) return yield* Effect.fail(`not deployable: ${scan.vulnerabilities.length} vulnerabilities`)
  const staging = yield* step("staging deploy", Kubernetes.kubectl_apply({ manifest_path: "k8s/staging/", namespace: "staging" }))
  yield* step(
    "notify",
    CommunicationHub.broadcast_deployment({
      environment: "staging",
      service: "app",
      version: "latest",
      status: "completed",
      details: { pipeline_steps: Object.keys(results).length, security_issues: 0, resources: staging.resources.length }
    })
  )
})

const program = Effect.gen(function*() {
  yield* Console.log("mcpflow · cicd · sandbox (in-process fake servers; nothing real is touched)")
  const started = Date.now()
  const exit = yield* Effect.exit(pipeline)
  if (exit._tag === "Failure") {
    yield* CommunicationHub.send_alert({ message: `CI/CD pipeline failed; partial results: ${JSON.stringify(results)}`, severity: "high" })
      .pipe(Effect.ignore)
  }
  const steps = Object.entries(results)
  yield* Console.log(
    `\n${exit._tag === "Success" ? "✓ succeeded" : "✗ failed"} in ${Date.now() - started} ms · ${
      steps.filter(([, s]) => s === "ok").length
    }/${steps.length} steps ok`
  )
  if (exit._tag === "Failure") {
    yield* Console.error(String(exit.cause))
    process.exitCode = 1
  }
})

const Gateway = Layer.unwrap(Effect.map(cicdSandbox, (servers) => GatewayLayer.layer({ servers })))

NodeRuntime.runMain(program.pipe(Effect.provide(Gateway)))
