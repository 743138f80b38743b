import { availableParallelism, loadavg } from "node:os"
import { Effect, Layer, Schema } from "effect"
import { FakeServer } from "../chaos/index.ts"
import { Tool } from "../dsl/index.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
const CALLS = 2000, ROUNDS = Number(process.env.ROUNDS ?? 9), CHUNK = 100
const contract = (server: string) => Tool.server(server, { echo: Tool.define({ description: "Echo", input: Schema.Struct({ n: Schema.Number }), output: Schema.Struct({ n: Schema.Number }), annotations: { readOnly: true } }) })
const D = contract("direct"), G = contract("group"), D3 = [contract("x"), contract("y"), contract("z")], G1 = contract("g1")
const fake = (key: string) => FakeServer.make(key, [FakeServer.handle(D.echo, ({ n }) => Effect.succeed({ n }))])
const layer = Layer.unwrap(Effect.gen(function*() {
  const direct = yield* fake("direct")
  const replicas = { a: yield* fake("a"), b: yield* fake("b"), c: yield* fake("c") }
  return GatewayLayer.layer({ servers: { direct, x: yield* fake("x"), y: yield* fake("y"), z: yield* fake("z") }, groups: { group: { replicas }, g1: { replicas: { only: yield* fake("only") } } } })
}))
let k = 0
const sides: Record<string, (i: { n: number }) => Effect.Effect<unknown, unknown, McpGateway>> = {
  direct: D.echo, direct3: (i) => D3[k++ % 3]!.echo(i), group: G.echo, group1: G1.echo
}
const names = Object.keys(sides)
const loop = (call: (typeof sides)[string], n: number) => Effect.gen(function*() { for (let i = 0; i < n; i++) yield* call({ n: i }) })
const res = await Effect.runPromise(Effect.gen(function*() {
  for (const s of names) yield* loop(sides[s]!, 500)
  const per: Record<string, Array<number>> = Object.fromEntries(names.map((s) => [s, []]))
  for (let r = 0; r < ROUNDS; r++) {
    const acc: Record<string, number> = Object.fromEntries(names.map((s) => [s, 0]))
    for (let t = 0; t < CALLS / CHUNK; t++) {
      for (let j = 0; j < names.length; j++) {
        const s = names[(j + t + r) % names.length]!
        const c = process.cpuUsage(); yield* loop(sides[s]!, CHUNK); const u = process.cpuUsage(c)
        acc[s]! += u.user + u.system
      }
    }
    for (const s of names) per[s]!.push(acc[s]! / CALLS)
  }
  return per
}).pipe(Effect.provide(layer)))
const med = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const line = names.map((s) => `${s} ${med(res[s]!).toFixed(2)} min ${Math.min(...res[s]!).toFixed(2)} (r ${med(res[s]!.map((v, i) => v / res.direct![i]!)).toFixed(3)}, minr ${(Math.min(...res[s]!) / Math.min(...res.direct!)).toFixed(3)})`).join("\n")
console.log(line, "load", (loadavg()[0]! / availableParallelism()).toFixed(2))
