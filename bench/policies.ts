/**
 * Per-call overhead of a composed policy stack on a no-op call: mcpflow's
 * `Policy.make({ breaker, bulkhead, retry, timeout })` around `Effect.void`, versus cockatiel 4's
 * `wrap(retry, circuitBreaker, bulkhead, timeout)` around a no-op promise, same run, several
 * rounds, median. The last line is `{"bench":"policies","value","unit":"ns/call","baseline":"cockatiel","ratio"}`
 * (ratio = ours / cockatiel).
 */
import {
  bulkhead as ckBulkhead,
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleAll,
  retry as ckRetry,
  timeout as ckTimeout,
  TimeoutStrategy,
  wrap
} from "cockatiel"
import { Effect } from "effect"
import * as Policy from "../dsl/policy/Policy.ts"

const CALLS = Number(process.env.BENCH_CALLS ?? 100_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)

// The same settings on both sides.
const cockatiel = wrap(
  ckRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 5_000 }) }),
  circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) }),
  ckBulkhead(64, 0),
  ckTimeout(5_000, TimeoutStrategy.Aggressive)
)
const noopPromise = () => Promise.resolve()

const policy = Effect.runSync(Policy.make({
  breaker: { trip: { kind: "consecutive", failures: 5 }, openDuration: "30 seconds" },
  bulkhead: { maxConcurrent: 64 },
  retry: { maxAttempts: 3, backoff: { kind: "exponential", initial: "200 millis", max: "5 seconds" }, jitter: "full" },
  timeout: "5 seconds"
}))
const ctx: Policy.CallContext = { idempotent: true, key: "bench.noop", server: "bench" }
const oursLoop = (n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* Policy.apply(Effect.void, policy, ctx)
  })
const bareLoop = (n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* Effect.void
  })

const timeCockatiel = async (n: number) => {
  const start = performance.now()
  for (let i = 0; i < n; i++) await cockatiel.execute(noopPromise)
  return performance.now() - start
}
const timeEffect = async (program: Effect.Effect<void, unknown>) => {
  const start = performance.now()
  await Effect.runPromise(program)
  return performance.now() - start
}

// Warm up both.
await timeCockatiel(20_000)
await timeEffect(oursLoop(20_000))
await timeEffect(bareLoop(20_000))

const ns = (ms: number) => (ms * 1e6) / CALLS
const ours: Array<number> = []
const theirs: Array<number> = []
const bare: Array<number> = []
const ratios: Array<number> = []
for (let round = 0; round < ROUNDS; round++) {
  const c = ns(await timeCockatiel(CALLS))
  const o = ns(await timeEffect(oursLoop(CALLS)))
  const b = ns(await timeEffect(bareLoop(CALLS)))
  theirs.push(c)
  ours.push(o)
  bare.push(b)
  ratios.push(o / c)
  console.log(`round ${round + 1}: cockatiel ${c.toFixed(0)} ns/call, mcpflow ${o.toFixed(0)} ns/call (bare Effect loop ${b.toFixed(0)}), ratio ${(o / c).toFixed(3)}`)
}
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`cockatiel wrap(retry, circuitBreaker, bulkhead, timeout): ${median(theirs).toFixed(0)} ns/call (median of ${ROUNDS} rounds of ${CALLS})`)
console.log(`mcpflow Policy breaker+bulkhead+retry+timeout:          ${median(ours).toFixed(0)} ns/call (a bare Effect loop step: ${median(bare).toFixed(0)} ns)`)
console.log(JSON.stringify({
  bench: "policies",
  value: Number(median(ours).toFixed(1)),
  unit: "ns/call",
  baseline: "cockatiel",
  ratio: Number(median(ratios).toFixed(3))
}))
