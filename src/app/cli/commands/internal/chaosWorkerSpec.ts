/**
 * The spec a worker thread of `mcpflow chaos --workers n` runs: the same flow file, suite and
 * command-line settings as the main thread (see `Chaos.checkFlow`'s `workerSpec`).
 *
 * @example
 * ```ts
 * const spec = await chaosWorkerSpec.spec({ file: "/abs/flows/cicd.ts", input: {}, seed: 42 })
 * ```
 * @module
 */
import { Effect } from "effect"
import type { FaultKind } from "../../../../../chaos/Fault.ts"
import * as Runner from "../../../../../chaos/Runner.ts"
import { load } from "./chaos.ts"

/**
 * The flow spec for a flow file and the settings of the command line.
 *
 * @example
 * ```ts
 * const s = await spec({ file: "/abs/flows/cicd.ts", input: {}, seed: 7, kinds: undefined, rate: 0.2 })
 * ```
 */
export const spec = (args: {
  readonly file: string
  readonly input: unknown
  readonly seed: number
  readonly kinds?: ReadonlyArray<FaultKind> | undefined
  readonly rate?: number | undefined
}): Promise<unknown> =>
  Effect.runPromise(Effect.map(load(args.file), ({ flow, suite }) => ({
    ...Runner.options(suite, { input: args.input, seed: args.seed, kinds: args.kinds, rate: args.rate }),
    flow
  })))
