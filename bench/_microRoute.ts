import { Effect } from "effect"
import * as Replicas from "../src/runtime/gateway/Replicas.ts"
import * as Health from "../src/runtime/gateway/Health.ts"
const N = 300_000
const srv = { command: "x" } as never
const { groups } = Replicas.flatten({ servers: {}, groups: { g: { replicas: { a: srv, b: srv, c: srv } } } })
const health = Health.makeRegistry([..."abc"].map((r) => ({ key: `g/${r}`, settings: undefined })), () => Effect.void)
const result = await Effect.runPromise(Effect.gen(function*() {
  const router = yield* Replicas.makeRouter(groups, health)
  const group = router.groups.get("g")!
  const one = (_key: string) => Effect.succeed(1)
  const bare = Effect.gen(function*() { let s = 0; for (let i = 0; i < N; i++) s += yield* one("g/a"); return s })
  const routed = Effect.gen(function*() { let s = 0; for (let i = 0; i < N; i++) s += yield* router.route(group, "t", { idempotent: true }, one); return s })
  const t = (e: Effect.Effect<number>) => Effect.gen(function*() { const c = process.cpuUsage(); yield* e; const u = process.cpuUsage(c); return (u.user + u.system) / N })
  const b: Array<number> = [], r: Array<number> = []
  for (let k = 0; k < 7; k++) { b.push(yield* t(bare)); r.push(yield* t(routed)) }
  return { bare: Math.min(...b), routed: Math.min(...r) }
}))
console.log(`bare ${(result.bare * 1000).toFixed(0)} ns, routed ${(result.routed * 1000).toFixed(0)} ns, router cost ${((result.routed - result.bare) * 1000).toFixed(0)} ns`)
