/** Three fake replicas of one `search` group, on virtual time (replicas.test.ts, chaos/replicas.test.ts). */
import { Effect, Schema } from "effect"
import { FakeServer, Fault, Injector } from "../../chaos/index.ts"
import { Tool } from "../../dsl/index.ts"
import { type GatewayEvent, GatewayEvents, type McpGateway } from "../../dsl/ports/McpGateway.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import type { ReplicaConfig, ReplicaGroupConfig, ReplicaStrategy } from "../../src/runtime/gateway/ServerConfig.ts"
import { drive } from "./drive.ts"

/** One contract, written once for the group `search`. */
export const Search = Tool.server("search", {
  query: Tool.define({
    description: "Search",
    input: Schema.Struct({ q: Schema.String }),
    output: Schema.Struct({ by: Schema.String, q: Schema.String }),
    annotations: { readOnly: true, idempotent: true }
  }),
  index: Tool.define({
    description: "Index a document (not idempotent)",
    input: Schema.Struct({ doc: Schema.String }),
    output: Schema.Struct({ by: Schema.String }),
    annotations: { idempotent: false }
  })
})

export const names = ["a", "b", "c"] as const

/** Three fake replicas `search-a`, `search-b`, `search-c` (fault targets) answering with their name. */
export const group = (injector: Injector.Injector, strategy: ReplicaStrategy, extra: Partial<ReplicaGroupConfig> = {}, health = false) =>
  Effect.gen(function*() {
    const replicas: Record<string, ReplicaConfig> = {}
    for (const [i, name] of names.entries()) {
      replicas[name] = {
        ...(yield* FakeServer.make(`search-${name}`, [
          FakeServer.handle(Search.query, ({ q }) => Effect.succeed({ by: name, q })),
          FakeServer.handle(Search.index, () => Effect.succeed({ by: name }))
        ], { injector })),
        weight: i === 0 ? 3 : 1,
        ...(health ? { health: { intervalMs: 1_000, timeoutMs: 500, unhealthyAfter: 2 } } : {})
      }
    }
    return GatewayLayer.layer({ servers: {}, groups: { search: { strategy, replicas, ...extra } } })
  })

/** Runs `program` against the group on virtual time; returns its exit and the gateway events. */
export const run = <A, E>(
  faults: ReadonlyArray<Fault.Fault>,
  strategy: ReplicaStrategy,
  program: Effect.Effect<A, E, McpGateway>,
  options: { readonly extra?: Partial<ReplicaGroupConfig>; readonly health?: boolean } = {}
) =>
  Effect.gen(function*() {
    const injector = Injector.make(Fault.plan(1, faults))
    const layer = yield* group(injector, strategy, options.extra, options.health)
    const events: Array<GatewayEvent> = []
    const fiber = yield* Effect.forkChild(
      Effect.exit(program.pipe(Effect.provide(layer), Effect.provideService(GatewayEvents, { emit: (e) => events.push(e) })))
    )
    const exit = yield* drive(fiber)
    return { exit, events, injector }
  })

export const served = (events: ReadonlyArray<GatewayEvent>) =>
  events.flatMap((e) => (e._tag === "ReplicaServed" ? [e.replica] : []))

export const queries = (n: number, gapMs = 0) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
    Effect.andThen(Effect.sleep(gapMs), Effect.map(Search.query({ q: `q${i}` }), (r) => r.by)))

