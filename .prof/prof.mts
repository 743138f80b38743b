import { Effect } from "effect"
import fc from "fast-check"
import { Chaos } from "../chaos/index.ts"
import { spec } from "../bench/chaosSpec.ts"
const arbitrary = await Effect.runPromise(Chaos.flowPlans(spec, { rate: 0.2, maxFaults: 3 }))
const N = Number(process.env.N ?? 1500)
const plans = fc.sample(arbitrary, { seed: 42, numRuns: N })
const go = async (list: any[]) => { const c0 = process.cpuUsage(); const t = performance.now(); for (const p of list) await Effect.runPromise(Chaos.runFlowOnce(spec, p)); const c = process.cpuUsage(c0); return [(performance.now()-t)/list.length, (c.user+c.system)/1000/list.length] }
for (let i = 0; i < 3; i++) console.log("warm", await go(plans.slice(0, 500)))
const { Session } = await import("node:inspector/promises")
const s = new Session(); s.connect()
if (process.env.PROF) { await s.post("Profiler.enable"); await s.post("Profiler.start") }
console.log("measured", await go(plans))
if (process.env.PROF) { const { profile } = await s.post("Profiler.stop") as any; (await import("node:fs")).writeFileSync("/tmp/chaosfast/p.cpuprofile", JSON.stringify(profile)) }
const { stats } = await import("../chaos/ConnectionPool.ts")
console.log("fresh pairs", stats.fresh, "runs", N + 1500)
