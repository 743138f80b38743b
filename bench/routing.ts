/**
 * Overhead of a replica group: the same tool call through a 3-replica group (round-robin, one
 * circuit breaker per replica, a `ReplicaServed` event per call) versus straight to one server,
 * both on in-process servers over the real client path, alternating rounds, median. The last
 * line is `{"bench":"routing","value","unit":"us/call","baseline":"direct","ratio"}` (ratio =
 * group / direct; target ≤ 1.1).
 */
import { Effect, Layer, Schema } from "effect"
import { FakeServer } from "../chaos/index.ts"
import { Tool } from "../dsl/index.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"

const CALLS = Number(process.env.BENCH_CALLS ?? 2_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11)

const contract = (server: string) =>
  Tool.server(server, {
    echo: Tool.define({
      description: "Echo",
      input: Schema.Struct({ n: Schema.Number }),
      output: Schema.Struct({ n: Schema.Number }),
      annotations: { readOnly: true }
    })
  })
const Direct = contract("direct")
const Group = contract("group")

const fake = (key: string) => FakeServer.make(key, [FakeServer.handle(Direct.echo, ({ n }) => Effect.succeed({ n }))])

const layer = Layer.unwrap(Effect.gen(function*() {
  const direct = yield* fake("direct")
  const replicas = { a: yield* fake("a"), b: yield* fake("b"), c: yield* fake("c") }
  return GatewayLayer.layer({ servers: { direct }, groups: { group: { replicas } } })
}))

const loop = (call: (input: { readonly n: number }) => Effect.Effect<unknown, unknown, McpGateway>, n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* call({ n: i })
  })

const time = (program: Effect.Effect<void, unknown, McpGateway>) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* program
    return ((performance.now() - start) * 1_000) / CALLS
  })

const result = await Effect.runPromise(Effect.gen(function*() {
  // Warm up both (connections opened, JIT).
  yield* loop(Direct.echo, 500)
  yield* loop(Group.echo, 500)
  const direct: Array<number> = []
  const group: Array<number> = []
  for (let round = 0; round < ROUNDS; round++) {
    const d = yield* time(loop(Direct.echo, CALLS))
    const g = yield* time(loop(Group.echo, CALLS))
    direct.push(d)
    group.push(g)
    console.log(`round ${round + 1}: direct ${d.toFixed(1)} us/call, 3-replica group ${g.toFixed(1)} us/call, ratio ${(g / d).toFixed(3)}`)
  }
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  return { direct: median(direct), group: median(group) }
}).pipe(Effect.provide(layer)))

console.log(`median: direct ${result.direct.toFixed(1)} us/call, group ${result.group.toFixed(1)} us/call`)
console.log(JSON.stringify({
  bench: "routing",
  value: Number(result.group.toFixed(2)),
  unit: "us/call",
  baseline: "direct",
  ratio: Number((result.group / result.direct).toFixed(3))
}))
