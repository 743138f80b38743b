/**
 * Chaos suites in vitest, a few lines each. Every case prints its seed; `FC_SEED=<n>` (and
 * `FC_PATH=<path>` for fast-check's own search path) replays it. A violation fails the test with
 * the shrunk plan, the faults that fired, the step tree and the replay command.
 *
 * @example
 * ```ts
 * import { describe } from "vitest"
 * import { chaosIt } from "../../chaos/vitest.ts"
 *
 * describe("order saga under chaos", () => {
 *   chaosIt("stays atomic", () => ({ flow: orderFlow, input: { orderId: "o1" }, servers: shopServers, invariants: [orderAtomic], runs: 200 }))
 *   chaosIt("the unrefunded charge is caught", () => ({ flow: brokenOrder, input, servers, invariants: [orderAtomic], expect: { violates: "atomic: order", maxFaults: 3 } }))
 * })
 * ```
 * @module
 */
import { Effect, type Schema } from "effect"
import { expect, it } from "vitest"
import type { Flow } from "../dsl/flow/Flow.ts"
import type { FlowError } from "../dsl/flow/FlowError.ts"
import * as FlowCheck from "./FlowCheck.ts"

/**
 * The seed of a suite or case, printed with how to replay it: `FC_SEED=<n>` replays one;
 * `FC_SEED=random` draws a fresh one (exploration); by default a fixed seed per label, so a
 * suite in CI checks the same fault plans on every run (explore with `FC_SEED=random` or
 * `npx mcpflow chaos`, and keep what you find as a case).
 *
 * @example
 * ```ts
 * const seed = chaosSeed("order saga") // logs "[chaos] order saga: seed 1732… (replay with FC_SEED=1732…)"
 * ```
 */
export const chaosSeed = (label: string, offset = 0): number => {
  const fromEnv = process.env.FC_SEED
  const seed = fromEnv === "random"
    ? (Date.now() + offset) % 2 ** 31
    : fromEnv !== undefined && fromEnv !== ""
    ? Number(fromEnv)
    : (fixedSeed(label) + offset) % 2 ** 31
  console.log(`[chaos] ${label}: seed ${seed} (replay with FC_SEED=${seed}${process.env.FC_PATH ? ` FC_PATH=${process.env.FC_PATH}` : ""})`)
  return seed
}

/** A stable seed from a label (FNV-1a). */
const fixedSeed = (label: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0
  return h % 2 ** 31
}

/**
 * What a case expects: every invariant holds (the default), or a violation — of a given
 * invariant, shrunk to at most `maxFaults` faults, within the runs.
 *
 * @example
 * ```ts
 * const e: ChaosExpectation = { violates: "no-duplicate-request", maxFaults: 3 }
 * ```
 */
export type ChaosExpectation = "hold" | { readonly violates?: string | undefined; readonly maxFaults?: number | undefined }

/**
 * One chaos case: the flow, the options of `Chaos.checkFlow`, what to expect, and optionally
 * the flow file (for the printed `npx mcpflow chaos <file> --replay` command).
 *
 * @example
 * ```ts
 * const c: ChaosCase<typeof In, typeof Out, never, McpGateway> = { flow, input, servers, runs: 200 }
 * ```
 */
export interface ChaosCase<I extends Schema.Top, O extends Schema.Top, E, R>
  extends FlowCheck.FlowCheckOptions<I, O, E, R>
{
  readonly flow: Flow<I, O, E, R>
  readonly expect?: ChaosExpectation | undefined
  readonly file?: string | undefined
}

/**
 * Runs a case's check with the suite seed (`FC_SEED`, printed) and `FC_PATH`.
 *
 * @example
 * ```ts
 * const report = await runChaos("order", { flow, input, servers, runs: 200 })
 * ```
 */
export const runChaos = <I extends Schema.Top, O extends Schema.Top, E, R>(
  label: string,
  c: ChaosCase<I, O, E, R>
): Promise<FlowCheck.FlowCheckReport<O["Type"], E | FlowError>> => {
  const { expect: _expect, file: _file, flow, ...options } = c
  const seed = c.seed ?? chaosSeed(label)
  const path = c.path ?? (process.env.FC_PATH || undefined)
  return Effect.runPromise(FlowCheck.checkFlow(flow as never, { ...options, seed, path } as never)) as never
}

const testFile = (): string => {
  const path = expect.getState().testPath
  return path === undefined ? "" : path.startsWith(process.cwd()) ? path.slice(process.cwd().length + 1) : path
}

/**
 * Asserts what a report should show: every invariant held, or a violation as expected.
 * Returns the report.
 *
 * @example
 * ```ts
 * expectChaos(report, { violates: "saga-atomicity", maxFaults: 3 })
 * ```
 */
export const expectChaos = <A, E>(
  report: FlowCheck.FlowCheckReport<A, E>,
  expectation: ChaosExpectation = "hold",
  where?: { readonly file?: string | undefined }
): FlowCheck.FlowCheckReport<A, E> => {
  const text = FlowCheck.formatFlow(report as FlowCheck.FlowCheckReport<unknown, unknown>, {
    file: where?.file,
    rerun: `FC_SEED=${report.seed} npx vitest run ${testFile()}`.trimEnd()
  })
  if (expectation === "hold") {
    expect(report.ok, text).toBe(true)
    return report
  }
  console.log(text)
  expect(report.ok, `expected a violation within ${report.runs} runs:\n${text}`).toBe(false)
  const cx = report.counterexample
  expect(cx, text).toBeDefined()
  if (expectation.violates !== undefined) {
    expect(cx!.violations.map((v) => v.invariant), text).toContain(expectation.violates)
  }
  if (expectation.maxFaults !== undefined) {
    expect(cx!.plan.faults.length, text).toBeLessThanOrEqual(expectation.maxFaults)
  }
  return report
}

/**
 * A vitest case that runs a chaos check and asserts its expectation (default: every invariant
 * holds). `make` is called when the case runs.
 *
 * @example
 * ```ts
 * chaosIt("order saga stays atomic", () => ({ flow: order, input: { orderId: "o1" }, servers, invariants: [atomic], runs: 300 }))
 * ```
 */
export const chaosIt = <I extends Schema.Top, O extends Schema.Top, E, R>(
  name: string,
  make: () => ChaosCase<I, O, E, R>,
  timeoutMs?: number
): void => {
  it(name, async () => {
    const c = make()
    const report = await runChaos(name, c as never)
    expectChaos(report as FlowCheck.FlowCheckReport<unknown, unknown>, c.expect ?? "hold", { file: c.file })
  }, timeoutMs)
}
