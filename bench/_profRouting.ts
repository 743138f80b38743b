import { Effect, Layer, Schema } from "effect"
import { FakeServer } from "../chaos/index.ts"
import { Tool } from "../dsl/index.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
const SIDE = process.env.SIDE ?? "group"
const N = Number(process.env.N ?? 60000)
const contract = (server: string) => Tool.server(server, { echo: Tool.define({ description: "Echo", input: Schema.Struct({ n: Schema.Number }), output: Schema.Struct({ n: Schema.Number }), annotations: { readOnly: true } }) })
const Direct = contract("direct")
const Group = contract("group")
const G1 = contract("g1")
const fake = (key: string) => FakeServer.make(key, [FakeServer.handle(Direct.echo, ({ n }) => Effect.succeed({ n }))])
const layer = Layer.unwrap(Effect.gen(function*() {
  const direct = yield* fake("direct")
  const replicas = { a: yield* fake("a"), b: yield* fake("b"), c: yield* fake("c") }
  return GatewayLayer.layer({ servers: { direct }, groups: { group: { replicas }, g1: { replicas: { only: yield* fake("only") } } } })
}))
const call = SIDE === "group" ? Group.echo : SIDE === "g1" ? G1.echo : Direct.echo
await Effect.runPromise(Effect.gen(function*() {
  for (let i = 0; i < 2000; i++) yield* call({ n: i })
  const cpu = process.cpuUsage()
  for (let i = 0; i < N; i++) yield* call({ n: i })
  const u = process.cpuUsage(cpu)
  console.log(SIDE, ((u.user + u.system) / N).toFixed(2), "us/call")
}).pipe(Effect.provide(layer)))
