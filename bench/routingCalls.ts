/**
 * Overhead of a replica group: the same tool call through a 3-replica group (round-robin, one
 * circuit breaker per replica, a `ReplicaServed` event per call) versus straight to one server,
 * both on in-process servers over the real client path. Each round makes the calls of both sides
 * in 100-call chunks that take turns, timed in this process's CPU time (user + system) and in
 * wall time (on a shared machine the wall time mostly measures how long the process waited for a
 * core, so it is printed, not compared).
 *
 * `ratio` is the median group chunk over the median direct chunk (CPU per call). The other
 * figures say why that is the headline: a chunk that meets a garbage collection costs 3–30× a
 * typical one (process CPU time includes the GC's helper threads), 3–5 % of chunks do, and which
 * side they land on is chance — `roundRatio` (the median of the rounds' sums, the headline until
 * 2026-12-06) swings from 0.86 to 1.47 between runs of the same code. What decides the GC's share
 * is what each side allocates, measured here per chunk (`used_heap_size` across chunks with no
 * collection inside): `allocRatio` ≈ 1.03 (26.0 against 25.1 KB per call), so the typical
 * chunk's ratio stands for the whole call's. `p10Ratio` compares the 10th percentiles.
 * `BENCH_QUANTILES=1` prints each side's chunk quantiles and how many chunks were heavy;
 * `BENCH_SPLIT=1` also times a 1-replica group (the group machinery without rotation) and three
 * plain servers called in turn (rotation without a group), each against direct, to split the
 * group's overhead (off by default: more servers and chunks change the headline's conditions);
 * `BENCH_WARM_UP`, `BENCH_ROUNDS`, `BENCH_CALLS` and `BENCH_CHUNK` change the sizes.
 *
 * The last line is
 * `{"bench":"routing","value","unit":"us/call","baseline":"direct","ratio","p10Ratio","allocRatio","roundRatio","wallRatio","load"}`
 * (ratio = group / direct; target ≤ 1.1; `load`: the 1-minute load average per core).
 */
import { availableParallelism, loadavg } from "node:os"
import v8 from "node:v8"
import { Effect, Layer, Schema } from "effect"
import { FakeServer } from "../chaos/index.ts"
import { Tool } from "../dsl/index.ts"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"

const CALLS = Number(process.env.BENCH_CALLS ?? 2_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15)
const CHUNK = Number(process.env.BENCH_CHUNK ?? 100)

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
/** The split's sides (`BENCH_SPLIT`): a 1-replica group, and three plain servers. */
const SPLIT = process.env.BENCH_SPLIT === "1"
const Single = contract("single")
const turns = [contract("r0"), contract("r1"), contract("r2")]

const fake = (key: string) => FakeServer.make(key, [FakeServer.handle(Direct.echo, ({ n }) => Effect.succeed({ n }))])

const layer = Layer.unwrap(Effect.gen(function*() {
  const direct = yield* fake("direct")
  const replicas = { a: yield* fake("a"), b: yield* fake("b"), c: yield* fake("c") }
  if (!SPLIT) return GatewayLayer.layer({ servers: { direct }, groups: { group: { replicas } } })
  return GatewayLayer.layer({
    servers: { direct, r0: yield* fake("r0"), r1: yield* fake("r1"), r2: yield* fake("r2") },
    groups: { group: { replicas }, single: { replicas: { only: yield* fake("only") } } }
  })
}))

const loop = (call: (input: { readonly n: number }) => Effect.Effect<unknown, unknown, McpGateway>, n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* call({ n: i })
  })

/**
 * CPU and wall time of `program`, in microseconds, and the bytes it allocated when no collection
 * ran inside it (the heap only grew; `undefined` otherwise).
 */
const time = (program: Effect.Effect<void, unknown, McpGateway>) =>
  Effect.gen(function*() {
    const heap = v8.getHeapStatistics().used_heap_size
    const wall = performance.now()
    const cpu = process.cpuUsage()
    yield* program
    const used = process.cpuUsage(cpu)
    const grown = v8.getHeapStatistics().used_heap_size - heap
    return { cpu: used.user + used.system, wall: (performance.now() - wall) * 1_000, alloc: grown > 0 ? grown : undefined }
  })

type Timed = Effect.Success<ReturnType<typeof time>>

/** Every chunk's CPU time per call, and bytes allocated per call where measured, per side. */
const chunks = { direct: [] as Array<number>, group: [] as Array<number>, single: [] as Array<number>, turns: [] as Array<number> }
/** Three plain servers called in turn (`BENCH_SPLIT`). */
const inTurn = (input: { readonly n: number }) => turns[input.n % 3]!.echo(input)
const allocs = { direct: [] as Array<number>, group: [] as Array<number> }
/** One chunk of each split side (`BENCH_SPLIT`). */
const splitChunks = Effect.gen(function*() {
  chunks.single.push((yield* time(loop(Single.echo, CHUNK))).cpu / CHUNK)
  chunks.turns.push((yield* time(loop(inTurn, CHUNK))).cpu / CHUNK)
})

/**
 * One round: `CALLS` calls each way, in chunks of `CHUNK` that take turns (which side goes first
 * alternates too), each side's time summed; per call, in microseconds. Timing each side in one
 * block instead made whichever went first in a round pay about twice the other (a pause of the
 * runtime landing there), whatever the side.
 */
const round = (first: "direct" | "group") =>
  Effect.gen(function*() {
    const d = { cpu: 0, wall: 0 }
    const g = { cpu: 0, wall: 0 }
    const add = (to: { cpu: number; wall: number }, t: Timed) => {
      const side = to === d ? "direct" : "group"
      chunks[side].push(t.cpu / CHUNK)
      if (t.alloc !== undefined) allocs[side].push(t.alloc / CHUNK)
      to.cpu += t.cpu
      to.wall += t.wall
    }
    for (let done = 0, turn = 0; done < CALLS; done += CHUNK, turn++) {
      const directFirst = (first === "direct") === (turn % 2 === 0)
      // The split's sides take turns too: before the headline's pair on odd turns, after it on even ones.
      if (SPLIT && turn % 2 === 1) yield* splitChunks
      if (directFirst) add(d, yield* time(loop(Direct.echo, CHUNK)))
      add(g, yield* time(loop(Group.echo, CHUNK)))
      if (!directFirst) add(d, yield* time(loop(Direct.echo, CHUNK)))
      if (SPLIT && turn % 2 === 0) yield* splitChunks
    }
    return { d: { cpu: d.cpu / CALLS, wall: d.wall / CALLS }, g: { cpu: g.cpu / CALLS, wall: g.wall / CALLS } }
  })

const result = await Effect.runPromise(Effect.gen(function*() {
  // Warm up both (connections opened, JIT) until the heap has grown to its working size: after
  // 500 calls each (the warm-up until 2026-12-06) a quarter of the first rounds' chunks met a
  // collection and the median chunk was one of them; after 20 000, 3–5 % do.
  const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 20_000)
  for (let done = 0; done < WARM_UP; done += CHUNK) {
    yield* loop(Direct.echo, CHUNK).pipe(Effect.andThen(loop(Group.echo, CHUNK)))
    if (SPLIT) yield* loop(Single.echo, CHUNK).pipe(Effect.andThen(loop(inTurn, CHUNK)))
  }
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
  if (process.env.BENCH_QUANTILES) {
    for (const side of ["direct", "group"] as const) {
      const heavy = chunks[side].filter((c) => c > 3 * median(chunks[side])).length
      console.log(
        `${side} chunks (us/call) p10/25/50/75/90/99: ` +
          [0.1, 0.25, 0.5, 0.75, 0.9, 0.99].map((q) => quantile(chunks[side], q).toFixed(1)).join(" ") +
          `; over 3x the median: ${heavy} of ${chunks[side].length}`
      )
    }
  }
  if (SPLIT) {
    console.log(
      `split (median chunk / direct's): 1-replica group ${(median(chunks.single) / median(chunks.direct)).toFixed(3)}, ` +
        `3 plain servers in turn ${(median(chunks.turns) / median(chunks.direct)).toFixed(3)}, ` +
        `3-replica group ${(median(chunks.group) / median(chunks.direct)).toFixed(3)}`
    )
  }
  return {
    direct: median(chunks.direct),
    group: median(chunks.group),
    ratio: median(chunks.group) / median(chunks.direct),
    p10Ratio: quantile(chunks.group, 0.1) / quantile(chunks.direct, 0.1),
    alloc: { direct: median(allocs.direct), group: median(allocs.group) },
    roundRatio: median(group.cpu.map((g, i) => g / direct.cpu[i]!)),
    wallRatio: median(group.wall.map((g, i) => g / direct.wall[i]!))
  }
}).pipe(Effect.provide(layer)))

const load = loadavg()[0]! / availableParallelism()
const allocRatio = result.alloc.group / result.alloc.direct
console.log(
  `median chunk, cpu: direct ${result.direct.toFixed(1)} us/call, group ${result.group.toFixed(1)} us/call, ratio ${result.ratio.toFixed(3)} ` +
    `(10th percentile ${result.p10Ratio.toFixed(3)}); allocated: direct ${(result.alloc.direct / 1024).toFixed(1)} KB/call, ` +
    `group ${(result.alloc.group / 1024).toFixed(1)} KB/call (ratio ${allocRatio.toFixed(3)}); ` +
    `median of rounds ${result.roundRatio.toFixed(3)}; load ${load.toFixed(2)} per core`
)
console.log(JSON.stringify({
  bench: "routing",
  value: Number(result.group.toFixed(2)),
  unit: "us/call",
  baseline: "direct",
  ratio: Number(result.ratio.toFixed(3)),
  p10Ratio: Number(result.p10Ratio.toFixed(3)),
  allocRatio: Number(allocRatio.toFixed(3)),
  roundRatio: Number(result.roundRatio.toFixed(3)),
  wallRatio: Number(result.wallRatio.toFixed(3)),
  load: Number(load.toFixed(2))
}))
