/**
 * The chaos suite of the deployment strategies (`flows/deploy-strategies.ts`): the sandbox as
 * fake-server definitions with the cluster as the snapshot, and each strategy's invariants.
 *
 * ```sh
 * npx mcpflow chaos flows/deploy-strategies.chaos.ts --input '{"strategy":"canary","soakSeconds":60}' --runs 200
 * ```
 * @module
 */
import { Effect, Ref } from "effect"
import type { FlowInvariant } from "../chaos/FlowCheck.ts"
import { GateClosed } from "../dsl/flow/Gate.ts"
import * as FlowFacts from "../chaos/FlowFacts.ts"
import type { ChaosSuite } from "../chaos/Runner.ts"
import deployStrategies from "./deploy-strategies.ts"
import { type ClusterState, makeSandbox, type SandboxOptions } from "./sandbox/index.ts"

/** The flow, so `mcpflow chaos flows/deploy-strategies.chaos.ts` finds it. */
export default deployStrategies

const SERVERS = ["kubernetes", "docker", "prometheus-monitoring"] as const

/** The sandbox as fake-server definitions; kubernetes carries the cluster as its snapshot. */
const definitions = (options: SandboxOptions) =>
  Effect.flatMap(makeSandbox(options), (sandbox) => FlowFacts.definitions(sandbox.servers, SERVERS, { kubernetes: Ref.get(sandbox.state.cluster) }))

type Invariant = FlowInvariant<typeof deployStrategies.output.Type, unknown>
type Run = Parameters<Invariant["holds"]>[0]

/**
 * The cluster after a run (the sandbox's state).
 *
 * @example
 * ```ts
 * clusterOf(run).deployments.get("production/app")?.image // => "app:1.5.0"
 * ```
 */
export const clusterOf = (run: Run): ClusterState => run.snapshots.kubernetes as ClusterState
const errorOf = (run: Run): unknown => (run.outcome._tag === "Failure" ? run.outcome.error : undefined)
/** A check's gate closed: the saga rolled back. */
const isRolledBack = (run: Run) => errorOf(run) instanceof GateClosed
/**
 * The run's compensations failed (the flow says so, naming them): the state is not guaranteed.
 *
 * @example
 * ```ts
 * if (compensationsFailed(run)) return true // nothing to check on the cluster
 * ```
 */
export const compensationsFailed = (run: Run): boolean => {
  const e = errorOf(run)
  return typeof e === "object" && e !== null && "reason" in e &&
    (e as { readonly reason: { readonly _tag?: unknown } }).reason._tag === "CompensationsFailed"
}
/** Which strategy the run took: the `when` group that started. */
const took = (run: Run, strategy: typeof deployStrategies.input.Type["strategy"]) => run.events.some((e) => e._tag === "StepStarted" && e.path === strategy)
const prodImage = (run: Run) => clusterOf(run).deployments.get("production/app")?.image
const traffic = (run: Run) => clusterOf(run).traffic.get("production/app")

const invariants = (options: SandboxOptions): ReadonlyArray<Invariant> => [
  {
    name: "canary: a failed metrics check always rolls back to 0 % canary, removes the canary and leaves stable as it was",
    holds: (run) =>
      !took(run, "canary") || !isRolledBack(run) ||
      (traffic(run) === 0 && !clusterOf(run).deployments.has("production/app-canary") && prodImage(run) === "app:1.4.2"),
    detail: (run) => `traffic ${traffic(run)}, canary ${clusterOf(run).deployments.get("production/app-canary")?.image}`
  },
  {
    name: "canary: any failed run ends with 0 % canary traffic (unless it reports the rollback that failed)",
    holds: (run) => !took(run, "canary") || run.outcome._tag === "Success" || compensationsFailed(run) || (traffic(run) ?? 0) === 0,
    detail: (run) => `outcome ${String(errorOf(run))}; traffic ${traffic(run)}`
  },
  {
    name: "canary: a degrading canary is never promoted; a promoted one runs the new version with all traffic on stable",
    holds: (run) =>
      !took(run, "canary") || run.outcome._tag !== "Success" ||
      (options.canaryUnhealthyFrom === undefined && prodImage(run) === "app:1.5.0" && traffic(run) === 0)
  },
  {
    name: "rolling: a rollback restores the previous image; success runs the new one",
    holds: (run) =>
      !took(run, "rolling") || (run.outcome._tag === "Success" ? prodImage(run) === "app:1.5.0" : !isRolledBack(run) || prodImage(run) === "app:1.4.2"),
    detail: (run) => `outcome ${String(errorOf(run) ?? run.outcome._tag)}; production ${prodImage(run)}`
  },
  {
    name: "blue-green: blue keeps serving the old version unless the run succeeded; success puts green live",
    holds: (run) => {
      if (!took(run, "blue-green")) return true
      const c = clusterOf(run)
      if (run.outcome._tag === "Success") return c.deployments.get("app-green/app")?.image === "app:1.5.0"
      return c.namespaces.has("app-blue") && c.deployments.get("app-blue/app")?.image === "app:1.4.2"
    },
    detail: (run) => `outcome ${String(errorOf(run) ?? run.outcome._tag)}; namespaces ${[...clusterOf(run).namespaces].join(", ")}`
  }
]

/**
 * The chaos suite on the sandbox (with `options`, e.g. a canary that degrades from 25 %), under
 * the default fault mix. A rollback retries 10 times over about 2.5 minutes, outlasting the
 * outages the mix draws (every drawn fault ends); a fault on every call of a rollback's tool for
 * good makes any rollback impossible, whatever the flow does — the flow then fails with
 * `CompensationsFailed` naming it (see the test written by hand for it).
 *
 * @example
 * ```ts
 * const report = yield* Chaos.checkFlow(deployStrategies, { input: { strategy: "canary" }, ...chaosSuite({ canaryUnhealthyFrom: 25 }), runs: 100 })
 * ```
 */
export const chaosSuite = (options: SandboxOptions = {}) => ({
  servers: definitions(options),
  invariants: invariants(options),
  deadline: "12 hours" as const
})

/**
 * What `npx mcpflow chaos flows/deploy-strategies.chaos.ts` checks (pick the strategy with `--input`).
 *
 * @example
 * ```ts
 * chaos.input // => { soakSeconds: 60 }
 * ```
 */
export const chaos: ChaosSuite = { ...chaosSuite(), input: { soakSeconds: 60 } }
