/**
 * Overhead of a replica group: the same tool call through a 3-replica group (round-robin, one
 * circuit breaker per replica, a `ReplicaServed` event per call) versus straight to one server,
 * both on in-process servers over the real client path. Each round makes the calls of both sides
 * in chunks that take turns, timed in this process's CPU time (user + system) and in wall time:
 * on a shared machine the wall time mostly measures how long the process waited for a core, so
 * the ratio is taken on CPU time (the wall figures are printed beside it). `ratio` is the median
 * of the rounds' ratios, `fastestRatio` compares each side's fastest round; `chunkRatio` and
 * `p10Ratio` compare the median and the 10th percentile of each side's 100-call chunks. A round's
 * sum is dominated by its few chunks that took 4–10× the others (process CPU time includes the
 * GC's helper threads, whichever side they land on), so `ratio` swings by ±0.3 from run to run
 * even at load ≈ 1.3 per core; the chunk quantiles hold within a few percent (`BENCH_QUANTILES=1`
 * prints each side's chunk quantiles). The last line is
 * `{"bench":"routing","value","unit":"us/call","baseline":"direct","ratio","fastestRatio","chunkRatio","p10Ratio","wallRatio","load"}`
 * (ratio = group / direct in CPU time; target ≤ 1.1; `load`: the 1-minute load average per core).
 */
import { availableParallelism, loadavg } from "node:os"
import { Effect, Layer, Schema } from "effect"
import { FakeServer } from "../chaos/index.ts"
import { Tool } from "../dsl/index.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"

const CALLS = Number(process.env.BENCH_CALLS ?? 2_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15)
const CHUNK = 100

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

/** CPU and wall time of `program`, in microseconds. */
const time = (program: Effect.Effect<void, unknown, McpGateway>) =>
  Effect.gen(function*() {
    const wall = performance.now()
    const cpu = process.cpuUsage()
    yield* program
    const used = process.cpuUsage(cpu)
    return { cpu: used.user + used.system, wall: (performance.now() - wall) * 1_000 }
  })

/**
 * One round: `CALLS` calls each way, in chunks of `CHUNK` that take turns (which side goes first
 * alternates too), each side's time summed; per call, in microseconds. Timing each side in one
 * block instead made whichever went first in a round pay about twice the other (a pause of the
 * runtime landing there), whatever the side.
 */
/** Every chunk's CPU time per call, per side (for `p10Ratio`). */
const chunks = { direct: [] as Array<number>, group: [] as Array<number> }

const round = (first: "direct" | "group") =>
  Effect.gen(function*() {
    const d = { cpu: 0, wall: 0 }
    const g = { cpu: 0, wall: 0 }
    const add = (to: { cpu: number; wall: number }, t: { readonly cpu: number; readonly wall: number }) => {
      ;(to === d ? chunks.direct : chunks.group).push(t.cpu / CHUNK)
      to.cpu += t.cpu
      to.wall += t.wall
    }
    for (let done = 0, turn = 0; done < CALLS; done += CHUNK, turn++) {
      const directFirst = (first === "direct") === (turn % 2 === 0)
      if (directFirst) add(d, yield* time(loop(Direct.echo, CHUNK)))
      add(g, yield* time(loop(Group.echo, CHUNK)))
      if (!directFirst) add(d, yield* time(loop(Direct.echo, CHUNK)))
    }
    return { d: { cpu: d.cpu / CALLS, wall: d.wall / CALLS }, g: { cpu: g.cpu / CALLS, wall: g.wall / CALLS } }
  })

const result = await Effect.runPromise(Effect.gen(function*() {
  // Warm up both (connections opened, JIT).
  yield* loop(Direct.echo, 500)
  yield* loop(Group.echo, 500)
  const direct = { cpu: [] as Array<number>, wall: [] as Array<number> }
  const group = { cpu: [] as Array<number>, wall: [] as Array<number> }
  for (let r = 0; r < ROUNDS; r++) {
    const { d, g } = yield* round(r % 2 === 0 ? "direct" : "group")
    direct.cpu.push(d.cpu), direct.wall.push(d.wall), group.cpu.push(g.cpu), group.wall.push(g.wall)
    console.log(
      `round ${r + 1}: cpu direct ${d.cpu.toFixed(1)} / group ${g.cpu.toFixed(1)} us/call (ratio ${(g.cpu / d.cpu).toFixed(3)}); ` +
        `wall ${d.wall.toFixed(1)} / ${g.wall.toFixed(1)} (ratio ${(g.wall / d.wall).toFixed(3)})`
    )
  }
  const quantile = (xs: Array<number>, q: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)]!
  const median = (xs: Array<number>) => quantile(xs, 0.5)
  if (process.env.BENCH_QUANTILES) for (const side of ["direct", "group"] as const) console.log(side, [0.1, 0.25, 0.5, 0.75, 0.9].map((q) => quantile(chunks[side], q).toFixed(1)).join(" "))
  return {
    direct: median(direct.cpu),
    group: median(group.cpu),
    ratio: median(group.cpu.map((g, i) => g / direct.cpu[i]!)),
    fastestRatio: Math.min(...group.cpu) / Math.min(...direct.cpu),
    chunkRatio: median(chunks.group) / median(chunks.direct),
    p10Ratio: quantile(chunks.group, 0.1) / quantile(chunks.direct, 0.1),
    wallRatio: median(group.wall.map((g, i) => g / direct.wall[i]!))
  }
}).pipe(Effect.provide(layer)))

const load = loadavg()[0]! / availableParallelism()
console.log(
  `median, cpu: direct ${result.direct.toFixed(1)} us/call, group ${result.group.toFixed(1)} us/call, ratio ${result.ratio.toFixed(3)} ` +
    `(fastest rounds ${result.fastestRatio.toFixed(3)}; chunks: median ${result.chunkRatio.toFixed(3)}, 10th percentile ${result.p10Ratio.toFixed(3)}); load ${load.toFixed(2)} per core`
)
console.log(JSON.stringify({
  bench: "routing",
  value: Number(result.group.toFixed(2)),
  unit: "us/call",
  baseline: "direct",
  ratio: Number(result.ratio.toFixed(3)),
  fastestRatio: Number(result.fastestRatio.toFixed(3)),
  chunkRatio: Number(result.chunkRatio.toFixed(3)),
  p10Ratio: Number(result.p10Ratio.toFixed(3)),
  wallRatio: Number(result.wallRatio.toFixed(3)),
  load: Number(load.toFixed(2))
}))
