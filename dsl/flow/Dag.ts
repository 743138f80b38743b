/**
 * DAGs: named nodes with `needs`, each receiving its dependencies' typed outputs, run with
 * maximal parallelism under an optional concurrency limit.
 *
 * The builder only lets a node need nodes defined before it, so a missing dependency is a type
 * error and a cycle cannot be written; the same checks run when the DAG is defined (for names
 * computed at run time) and fail it with a `FlowDefinition` error naming the nodes, before any
 * node runs.
 *
 * @module
 */
import { Effect, Semaphore } from "effect"
import { FlowDefinition } from "./FlowError.ts"
import { group, type GroupOptions, runGroup, skip } from "./Group.ts"
import { interpreterOf } from "./internal/Interpreter.ts"
import { claimPath, renderCause, type StepScope } from "./RunScope.ts"

/**
 * How one node ended: its value, skipped (a condition was false or a need did not succeed), or
 * failed while marked `continueOnError`.
 *
 * @example
 * ```ts
 * const o: NodeOutcome<number> = { _tag: "Skipped", why: "needs build, which failed" }
 * ```
 */
export type NodeOutcome<A> =
  | { readonly _tag: "Succeeded"; readonly value: A }
  | { readonly _tag: "Skipped"; readonly why: string }
  | { readonly _tag: "Failed"; readonly error: unknown; readonly message: string }

/**
 * A node's options. `when` decides from the dependencies' outputs whether it runs
 * (`whenLabel` says why in reports and plans); `continueOnError` keeps the DAG going when it
 * fails (its dependents are skipped unless they set `always`); `always` runs the node once its
 * needs are done, whatever their outcome (their outputs may then be missing).
 *
 * @example
 * ```ts
 * const options: NodeOptions<{ test: { passed: boolean } }, "test", false> = {
 *   needs: ["test"], when: ({ test }) => test.passed, whenLabel: "tests passed"
 * }
 * ```
 */
export interface NodeOptions<Out, Needs extends keyof Out, Always extends boolean> {
  readonly needs?: ReadonlyArray<Needs> | undefined
  readonly when?: ((deps: Deps<Out, Needs, Always>) => boolean) | undefined
  readonly whenLabel?: string | undefined
  readonly continueOnError?: boolean | undefined
  readonly always?: Always | undefined
  readonly description?: string | undefined
}

/**
 * What a node's function receives: its needs' outputs (possibly missing with `always`).
 *
 * @example
 * ```ts
 * type D = Deps<{ build: string; test: boolean }, "build", false> // { readonly build: string }
 * ```
 */
export type Deps<Out, Needs extends keyof Out, Always extends boolean> = Always extends true
  ? { readonly [N in Needs]?: Out[N] }
  : { readonly [N in Needs]: Out[N] }

/**
 * A DAG's result: the outputs of the nodes that succeeded, and every node's outcome, both keyed
 * in the order the nodes were declared (the same every run, whichever node finished first).
 *
 * @example
 * ```ts
 * const r: DagResult<{ build: string }> = { outputs: { build: "app:1" }, outcomes: { build: { _tag: "Succeeded", value: "app:1" } } }
 * ```
 */
export interface DagResult<Out> {
  readonly outputs: { readonly [K in keyof Out]?: Out[K] }
  readonly outcomes: { readonly [K in keyof Out]: NodeOutcome<Out[K]> }
}

interface NodeDef {
  readonly name: string
  readonly needs: ReadonlyArray<string>
  readonly options: NodeOptions<Record<string, unknown>, string, boolean>
  readonly run: (deps: Record<string, unknown>) => Effect.Effect<unknown, unknown, unknown>
}

/**
 * A DAG under construction: add nodes with {@link Dag.node}, run it with {@link Dag.run}.
 *
 * @example
 * ```ts
 * const pipeline = dag("release")
 *   .node("build", () => step("build", Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: tag })))
 *   .node("scan", { needs: ["build"] }, () => step("scan", Scanner.container_scan({ image: tag, format: "json" })))
 *   .node("test", { needs: ["build"] }, () => step("test", Docker.docker_run({ image: tag, command: "npm test" })))
 *   .node("deploy", { needs: ["scan", "test"], when: ({ scan }) => scan.vulnerabilities.length === 0, whenLabel: "scan clean" },
 *     () => step("deploy", Kubernetes.kubectl_apply({ manifest_path: "k8s/", namespace: "staging" })))
 * const { outputs, outcomes } = yield* pipeline.run({ concurrency: 4 })
 * ```
 */
export interface Dag<Out extends Record<string, unknown>, E, R> {
  readonly name: string
  /** The node names with their needs, in definition order (for plans). */
  readonly edges: ReadonlyArray<{ readonly node: string; readonly needs: ReadonlyArray<string> }>
  node<const K extends string, A, E2, R2>(
    name: K extends keyof Out ? never : K,
    run: () => Effect.Effect<A, E2, R2>
  ): Dag<Out & { readonly [P in K]: A }, E | E2, R | R2>
  node<const K extends string, A, E2, R2, const Needs extends keyof Out & string = never, Always extends boolean = false>(
    name: K extends keyof Out ? never : K,
    options: NodeOptions<Out, Needs, Always>,
    run: (deps: Deps<Out, Needs, Always>) => Effect.Effect<A, E2, R2>
  ): Dag<Out & { readonly [P in K]: A }, E | E2, R | R2>
  /** Runs the DAG as a group: every node after all it needs, each exactly once. */
  run(options?: { readonly concurrency?: number | undefined }): Effect.Effect<DagResult<Out>, E, R>
}

/**
 * Starts a DAG named `name`.
 *
 * @example
 * ```ts
 * const onboarding = dag("onboarding")
 *   .node("account", () => step("create account", Crm.create_customer({ name })))
 *   .node("kyc", { needs: ["account"] }, ({ account }) => step("kyc", Compliance.verify({ customer_id: account.id })))
 * ```
 */
export const dag = (name: string): Dag<{}, never, never> => make(name, undefined) as never

/** The nodes so far, as a chain (each `.node` is O(1)); materialised once when the DAG runs. */
interface Chain {
  readonly def: NodeDef
  readonly prev: Chain | undefined
  readonly size: number
}

const materialise = (chain: Chain | undefined): { readonly nodes: ReadonlyArray<NodeDef>; readonly problems: ReadonlyArray<string> } => {
  const nodes = new Array<NodeDef>(chain?.size ?? 0)
  for (let c = chain; c !== undefined; c = c.prev) nodes[c.size - 1] = c.def
  const problems: Array<string> = []
  const known = new Set<string>()
  for (const n of nodes) {
    if (known.has(n.name)) problems.push(`node ${JSON.stringify(n.name)} is defined twice`)
    // Checked without an array per node: most DAGs have no problem to report.
    const missing = n.needs.every((need) => known.has(need)) ? [] : n.needs.filter((need) => !known.has(need))
    if (missing.length > 0) {
      problems.push(
        `node ${JSON.stringify(n.name)} needs ${missing.map((m) => JSON.stringify(m)).join(", ")}, ` +
          `not defined before it (a missing node, or a cycle)`
      )
    }
    known.add(n.name)
  }
  return { nodes, problems }
}

const make = (name: string, chain: Chain | undefined): Dag<any, any, any> => new DagBuilder(name, chain)

/** A class, not an object literal with a getter: a flow body builds its DAG on every run. */
class DagBuilder {
  readonly name: string
  readonly chain: Chain | undefined
  constructor(name: string, chain: Chain | undefined) {
    this.name = name
    this.chain = chain
  }
  get edges() {
    return materialise(this.chain).nodes.map((n) => ({ node: n.name, needs: n.needs }))
  }
  node(nodeName: string, a: unknown, b?: unknown): Dag<any, any, any> {
    const options = (b === undefined ? {} : a) as NodeDef["options"]
    const run = (b === undefined ? a : b) as NodeDef["run"]
    const def: NodeDef = { name: nodeName, needs: [...(options.needs ?? [])], options, run }
    return new DagBuilder(this.name, { def, prev: this.chain, size: (this.chain?.size ?? 0) + 1 })
  }
  run(options?: { readonly concurrency?: number | undefined }): Effect.Effect<DagResult<any>, any, any> {
    return runDag(this.name, this.chain, options)
  }
}

/**
 * A node's place in one run: how many of its needs are still running, the nodes that need it,
 * and the fiber's resume while it waits (counters instead of a Deferred per node awaited by each
 * dependant: a wide DAG's per-node cost is its coordination lag).
 */
interface NodeState {
  readonly def: NodeDef
  readonly path: string
  /** The states of the nodes it needs, in its `needs` order. */
  readonly needs: Array<NodeState>
  remaining: number
  readonly dependants: Array<NodeState>
  /** The waiting fiber's resume (its `Effect.callback`'s). */
  wake: ((effect: Effect.Effect<void>) => void) | undefined
  outcome: NodeOutcome<unknown> | undefined
}

/** A node's "needs met" answer, as the thunk `Interpreter.enters` takes (no closure per node). */
const yes = () => true
const no = () => false

/** Reports a node that does not run and settles it as skipped. */
const skipNode = (
  scope: StepScope,
  path: string,
  planInfo: GroupOptions,
  finish: (o: NodeOutcome<unknown>) => void,
  why: string
): Effect.Effect<void> => Effect.andThen(skip(scope, path, "node", why, planInfo), Effect.sync(() => finish({ _tag: "Skipped", why })))

const runDag = (
  name: string,
  chain: Chain | undefined,
  options: { readonly concurrency?: number | undefined } | undefined
): Effect.Effect<DagResult<any>, any, any> =>
  group(name, "dag", (path, scope) =>
    Effect.gen(function*() {
      const { nodes, problems } = materialise(chain)
      if (problems.length > 0) {
        return yield* Effect.die(new FlowDefinition({ detail: `DAG ${JSON.stringify(path)}: ${problems.join("; ")}` }))
      }
      const interpreter = interpreterOf(scope)
      const states = new Map<string, NodeState>()
      for (const n of nodes) {
        const path = claimPath(scope, n.name)
        if (typeof path !== "string") return yield* path
        const needs = n.needs.map((need) => states.get(need)!)
        const state: NodeState = { def: n, path, needs, remaining: needs.length, dependants: [], wake: undefined, outcome: undefined }
        for (const need of needs) need.dependants.push(state)
        states.set(n.name, state)
      }
      const permits = options?.concurrency !== undefined ? yield* Semaphore.make(Math.max(1, options.concurrency)) : undefined

      // Each node: wait for what it needs, then run (or skip) and settle its outcome. Written
      // as a chain rather than a generator: a wide DAG's per-node cost is its coordination lag.
      const runNode = (state: NodeState): Effect.Effect<void, unknown, unknown> => {
        const n = state.def
        const nodePath = state.path
        const finish = (o: NodeOutcome<unknown>) => {
          state.outcome = o
          for (const d of state.dependants) {
            if (--d.remaining === 0 && d.wake !== undefined) {
              const wake = d.wake
              d.wake = undefined
              wake(Effect.void)
            }
          }
        }
        const start = (): Effect.Effect<void, unknown, unknown> => {
          const planInfo = { needs: n.needs, condition: n.options.whenLabel, description: n.options.description }
          const deps: Record<string, unknown> = {}
          const notOk: Array<string> = []
          for (const need of state.needs) {
            const o = need.outcome!
            if (o._tag === "Succeeded") deps[need.def.name] = o.value
            else notOk.push(need.def.name)
          }
          if (!interpreter.enters(notOk.length === 0 || n.options.always === true ? yes : no)) {
            return skipNode(scope, nodePath, planInfo, finish, `needs ${notOk.join(", ")}, which did not succeed`)
          }
          const condition = n.options.when
          if (condition !== undefined && !interpreter.enters(() => condition(deps))) {
            return skipNode(scope, nodePath, planInfo, finish, n.options.whenLabel === undefined ? "condition false" : `not (${n.options.whenLabel})`)
          }
          const body = runGroup(scope, nodePath, "node", () => n.run(deps), planInfo)
          return Effect.matchCauseEffect(permits === undefined ? body : permits.withPermits(1)(body), {
            onSuccess: (value) => {
              finish({ _tag: "Succeeded", value })
              return Effect.void
            },
            onFailure: (cause) => {
              finish({ _tag: "Failed", error: cause, message: renderCause(cause).error })
              return interpreter.goesOnAfterFailure(n.options.continueOnError === true) ? Effect.void : Effect.failCause(cause)
            }
          })
        }
        if (state.remaining === 0) return Effect.suspend(start)
        const wait = Effect.callback<void>((resume) => {
          if (state.remaining === 0) resume(Effect.void)
          else state.wake = resume
        })
        return Effect.flatMap(wait, start)
      }

      const runs: Array<Effect.Effect<void, unknown, unknown>> = []
      for (const state of states.values()) runs.push(runNode(state))
      yield* interpreter.branches(runs, { concurrency: "unbounded" })
      // The records are built once, in the order the nodes were declared (not the order they
      // finished): the same keys in the same order every run.
      const outcomes: Record<string, NodeOutcome<unknown>> = {}
      const outputs: Record<string, unknown> = {}
      for (const { def, outcome } of states.values()) {
        if (outcome === undefined) continue
        outcomes[def.name] = outcome
        if (outcome._tag === "Succeeded") outputs[def.name] = outcome.value
      }
      return { outputs, outcomes }
    }), { description: `DAG of ${chain?.size ?? 0} nodes` })
