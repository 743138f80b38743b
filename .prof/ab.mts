import { Effect } from "effect"
import fc from "fast-check"
import { Chaos } from "../chaos/index.ts"
import { spec } from "../bench/chaosSpec.ts"
import { settings } from "../chaos/ConnectionPool.ts"
const arbitrary = await Effect.runPromise(Chaos.flowPlans(spec, { rate: 0.2, maxFaults: 3 }))
const plans = fc.sample(arbitrary, { seed: 42, numRuns: 1000 })
const go = async (list: any[]) => { const c0 = process.cpuUsage(); for (const p of list) await Effect.runPromise(Chaos.runFlowOnce(spec, p)); const c = process.cpuUsage(c0); return (c.user+c.system)/1000/list.length }
for (let i = 0; i < 2; i++) await go(plans.slice(0, 400))
const a: number[] = [], b: number[] = []
for (let r = 0; r < 10; r++) { const sl = plans.slice(r * 100, r * 100 + 100)
  ;settings.enabled = false; a.push(await go(sl)); settings.enabled = true; b.push(await go(sl)) }
const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]
console.log("no pool", med(a).toFixed(2), "pool", med(b).toFixed(2), "ratios", a.map((x, i) => (b[i]! / x).toFixed(2)).join(" "))
