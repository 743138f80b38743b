/**
 * The chaos suite of the ML pipeline (`flows/ml-pipeline.ts`): the sandbox's six fakes as
 * definitions, what must hold whatever the faults, the request key and the settings.
 *
 * ```sh
 * npx mcpflow chaos flows/ml-pipeline.chaos.ts
 * ```
 * @module
 */
import { Effect, Ref } from "effect"
import type { FlowInvariant } from "../chaos/FlowCheck.ts"
import * as FlowFacts from "../chaos/FlowFacts.ts"
import type { ChaosSuite } from "../chaos/Runner.ts"
import mlPipeline from "./ml-pipeline.ts"
import { makeSandbox, type MlState, type SandboxOptions } from "./sandbox/index.ts"

/** The flow, so `mcpflow chaos flows/ml-pipeline.chaos.ts` finds it. */
export default mlPipeline

const DEFAULT_SERVING_URL = "https://ml-serving.internal/deployments"

const CHAOS_SERVERS = ["data", "compute", "storage", "integration", "security", "notification"] as const

/**
 * The sandbox's six ML fakes as chaos definitions (fresh state per run; `data` carries the
 * state snapshot the invariants read).
 *
 * @example
 * ```ts
 * yield* Chaos.checkFlow(mlPipeline, { input: {}, servers: chaosServers({ trainingFailsAt: 50 }), invariants: chaosInvariants })
 * ```
 */
export const chaosServers = (options: SandboxOptions) =>
  Effect.flatMap(makeSandbox(options), (sandbox) => FlowFacts.definitions(sandbox.servers, CHAOS_SERVERS, { data: Ref.get(sandbox.state.ml) }))

type PipelineOutput = typeof mlPipeline.output.Type
type Run = Parameters<FlowInvariant<PipelineOutput, unknown>["holds"]>[0]

const stateOf = (run: Run): MlState => run.snapshots["data"] as MlState
const deploymentsOf = (run: Run) => (stateOf(run).requests ?? []).filter((r) => r.method === "POST" && r.url === DEFAULT_SERVING_URL)
const failureMessages = (run: Run) =>
  FlowFacts.callsTo(run, "notification.send_slack").filter((c) => c.end !== "refused" && String(FlowFacts.argsOf(c).message).startsWith("ML pipeline for"))

/**
 * What must hold whatever the faults: no deployment without a completed training and a
 * successful export, one job and one deployment at most, a successful run deployed and sent no
 * failure message, a failed one sent exactly one, and every failure is typed.
 *
 * @example
 * ```ts
 * chaosInvariants.map((i) => i.name)
 * ```
 */
export const chaosInvariants: ReadonlyArray<FlowInvariant<PipelineOutput, unknown>> = [
  {
    name: "a model is never deployed unless training completed and the export succeeded",
    holds: (run) =>
      deploymentsOf(run).every((d) => {
        const completed = [...stateOf(run).jobs.values()].some((j) => j.started_at + j.duration_ms <= d.at)
        const exported = FlowFacts.callsTo(run, "compute.model_export").some((c) => c.end === "answered" && c.atMs <= d.at)
        const stored = FlowFacts.callsTo(run, "storage.upload_file").some((c) => String(FlowFacts.argsOf(c).path).startsWith("/models/") && c.atMs <= d.at)
        return completed && exported && stored
      }),
    detail: (run) => `deployments at ${deploymentsOf(run).map((d) => d.at).join(", ")}; calls: ${run.sent.map((c) => `${c.server}.${c.tool}@${c.atMs}:${c.end}`).join(", ")}`
  },
  {
    name: "at most one training job and at most one deployment per run",
    holds: (run) => stateOf(run).jobs.size <= 1 && deploymentsOf(run).length <= 1,
    detail: (run) => `jobs ${stateOf(run).jobs.size}, deployments ${deploymentsOf(run).length}`
  },
  {
    name: "a successful run deployed exactly once the stored model, and sent no failure message",
    holds: (run) =>
      run.outcome._tag !== "Success" ||
      (deploymentsOf(run).length === 1 && stateOf(run).files.has("/models/recommendation_v2.1/model.onnx") && failureMessages(run).length === 0)
  },
  {
    name: "a failed run sends exactly one failure message (unless that message was faulted)",
    holds: (run) => {
      if (run.outcome._tag === "Success") return true
      const n = failureMessages(run).length
      return n === 1 || (n === 0 && FlowFacts.faultFired(run, "*", "notification.send_slack"))
    },
    detail: (run) => `outcome ${run.outcome._tag}; failure messages ${failureMessages(run).length}`
  },
  {
    name: "the run fails with a typed cause",
    holds: (run) =>
      run.outcome._tag !== "Failure" || (typeof run.outcome.error === "object" && run.outcome.error !== null && "_tag" in run.outcome.error),
    detail: (run) => String(run.outcome._tag === "Failure" ? run.outcome.error : run.outcome._tag)
  }
]

/**
 * Requests that are safe to send again, each its own request for `no-duplicate-request`: a
 * revoke (revoking twice is revoking), and the calls that carry an idempotency key (the training
 * job, the deployment), which the servers answer once. The invariants above check the effects
 * themselves: one job, one deployment.
 *
 * @example
 * ```ts
 * chaosRequestKey({ server: "integration", tool: "api_key_mgmt", call: 1, atMs: 0, args: '{"action":"revoke"}', end: "answered" }) // => '{"action":"revoke"}#1'
 * ```
 */
export const chaosRequestKey = FlowFacts.requestKeyWhere((call, args) =>
  (call.server === "integration" && call.tool === "api_key_mgmt" && args.action === "revoke") ||
  (call.server === "compute" && call.tool === "train_model" && typeof args.idempotency_key === "string") ||
  (call.server === "integration" && call.tool === "rest_call" && typeof args.headers === "object" && args.headers !== null &&
    "Idempotency-Key" in args.headers)
)

/**
 * The chaos suite of `npx mcpflow chaos flows/ml-pipeline.chaos.ts`: the fakes, the invariants,
 * the request key ({@link chaosRequestKey}), under the default fault mix (the revocation
 * outlasts the outages it draws; an outage of the undo path that never ends is reported as
 * `CompensationsFailed`).
 *
 * @example
 * ```ts
 * chaos.invariants?.length // => 5
 * ```
 */
export const chaos: ChaosSuite = {
  servers: chaosServers({}),
  invariants: chaosInvariants,
  deadline: "2 hours",
  requestKey: chaosRequestKey,
  runs: 200
}
