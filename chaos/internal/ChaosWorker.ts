/**
 * Internal: the body of a chaos worker thread (see `WorkerPool.ts`). It loads the spec (a flow's,
 * or a plain program's for `Chaos.check`) from its module once, then runs each batch of plans it is sent (as replay tokens), in order, and
 * answers with each run made portable: what a search needs (the fault log, the outcome's kind,
 * the violations) and what an `observe` callback reads (events, calls sent, duration) — not the
 * servers' snapshots nor the outcome's value or error objects, which do not cross threads.
 *
 * @internal
 * @module
 */
import { parentPort, workerData } from "node:worker_threads"
import { Effect } from "effect"
import { planOf } from "../ReplayToken.ts"
import * as FlowCheck from "../FlowCheck.ts"
import * as RunOnce from "../RunOnce.ts"
import { portable, type SpecSource, specOf } from "./WorkerSpec.ts"

const port = parentPort
if (port === null) throw new Error("ChaosWorker: not a worker thread")
const source = workerData as SpecSource
const spec = await specOf(source)

port.on("message", (message: { readonly id: number; readonly tokens: ReadonlyArray<string> }) => {
  void (async () => {
    try {
      const runs = []
      for (const token of message.tokens) {
        const plan = planOf(token)
        const run = await Effect.runPromise("flow" in spec ? FlowCheck.runFlowOnce(spec as never, plan) : RunOnce.runOnce(spec as never, plan))
        runs.push(portable(run as FlowCheck.FlowRunResult<unknown, unknown>))
      }
      port.postMessage({ id: message.id, runs })
    } catch (error) {
      port.postMessage({ id: message.id, error: String(error instanceof Error ? error.stack ?? error.message : error) })
    }
  })()
})
port.postMessage({ ready: true })
