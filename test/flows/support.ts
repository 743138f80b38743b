/**
 * Test support for the seed flows' chaos suites: one vitest case per `Chaos.checkFlow` search,
 * printing its seed (replay with `FC_SEED=<seed>`) and the summary of what fired and how the
 * runs ended, and failing with the shrunk counterexample when an invariant breaks.
 */
import { it } from "@effect/vitest"
import type { Schema } from "effect"
import { Chaos } from "../../chaos/index.ts"
import { type ChaosCase, expectChaos, runChaos } from "../../chaos/vitest.ts"

/**
 * A chaos case: `Chaos.checkFlow` with the suite's seed, its summary printed, every invariant
 * expected to hold.
 *
 * @example
 * ```ts
 * chaosCase("clean sandbox", () => ({ flow: cicd, input: {}, servers, invariants, runs: 140 }))
 * ```
 */
export const chaosCase = <I extends Schema.Top, O extends Schema.Top, E, R>(label: string, make: () => ChaosCase<I, O, E, R>): void =>
  it(label, async () => {
    const c = make()
    const report = await runChaos(label, c)
    const summary: Chaos.FlowCheckReport<unknown, unknown> = report
    console.log(Chaos.formatFlow(summary).split("\n").slice(0, 3).join("\n"))
    expectChaos(summary, "hold", { file: c.file })
  }, 60_000)
