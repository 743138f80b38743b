/**
 * Deployment targets (e.g. `kubernetes`): namespaces holding deployed versions and a traffic
 * split across them, with a history for rollbacks (blue-green, canary and rolling flows).
 *
 * @example
 * ```ts
 * const cluster = yield* Deployments.make()
 * yield* cluster.apply({ namespace: "production", version: "1.2.0" })
 * yield* cluster.setTraffic({ namespace: "production", split: { "1.1.0": 90, "1.2.0": 10 } })
 * ```
 * @module
 */
import { Effect, Ref } from "effect"
import type { ToolRefusal } from "../FakeServer.ts"
import { ok, refuse, type Step, transact } from "./Model.ts"

/**
 * One namespace: deployed versions (with replicas), the traffic split in percent, and the
 * order versions were applied in.
 *
 * @example
 * ```ts
 * const n: Namespace = { name: "production", versions: { "1.1.0": 3 }, traffic: { "1.1.0": 100 }, history: ["1.1.0"] }
 * ```
 */
export interface Namespace {
  readonly name: string
  readonly versions: Readonly<Record<string, number>>
  readonly traffic: Readonly<Record<string, number>>
  readonly history: ReadonlyArray<string>
}

/**
 * Every namespace, by name.
 *
 * @example
 * ```ts
 * const s: DeploymentsSnapshot = { namespaces: {} }
 * ```
 */
export interface DeploymentsSnapshot {
  readonly namespaces: Readonly<Record<string, Namespace>>
}

/**
 * The deployments model.
 *
 * @example
 * ```ts
 * yield* cluster.rollback({ namespace: "production" })
 * ```
 */
export interface Deployments {
  /** Deploys a version (idempotent); the first version of a namespace gets all traffic. */
  readonly apply: (input: { readonly namespace: string; readonly version: string; readonly replicas?: number | undefined }) => Effect.Effect<{ readonly namespace: string; readonly version: string; readonly created: boolean }, ToolRefusal>
  /** Sets the split; it must sum to 100 over deployed versions. */
  readonly setTraffic: (input: { readonly namespace: string; readonly split: Readonly<Record<string, number>> }) => Effect.Effect<{ readonly traffic: Readonly<Record<string, number>> }, ToolRefusal>
  /** Routes all traffic to the version applied before the newest, and removes the newest. */
  readonly rollback: (input: { readonly namespace: string }) => Effect.Effect<{ readonly version: string }, ToolRefusal>
  readonly deleteNamespace: (input: { readonly namespace: string }) => Effect.Effect<{ readonly deleted: boolean }>
  readonly get: (input: { readonly namespace: string }) => Effect.Effect<Namespace | undefined>
  readonly snapshot: Effect.Effect<DeploymentsSnapshot>
}

const put = (s: DeploymentsSnapshot, n: Namespace): DeploymentsSnapshot => ({ namespaces: { ...s.namespaces, [n.name]: n } })

/**
 * Makes a cluster, optionally with namespaces already deployed.
 *
 * @example
 * ```ts
 * const cluster = yield* Deployments.make({ production: "1.1.0" })
 * ```
 */
export const make = (initial: Readonly<Record<string, string>> = {}): Effect.Effect<Deployments> => {
  const namespaces: Record<string, Namespace> = {}
  for (const [name, version] of Object.entries(initial)) {
    namespaces[name] = { name, versions: { [version]: 1 }, traffic: { [version]: 100 }, history: [version] }
  }
  return Effect.map(Ref.make<DeploymentsSnapshot>({ namespaces }), (state) => ({
    apply: ({ namespace, replicas, version }) =>
      transact(state, (s): Step<{ namespace: string; version: string; created: boolean }, DeploymentsSnapshot> => {
        const n = s.namespaces[namespace] ?? { name: namespace, versions: {}, traffic: {}, history: [] }
        const created = !(version in n.versions)
        const first = Object.keys(n.versions).length === 0
        return ok({ namespace, version, created }, put(s, {
          ...n,
          versions: { ...n.versions, [version]: replicas ?? n.versions[version] ?? 1 },
          traffic: first ? { [version]: 100 } : n.traffic,
          history: created ? [...n.history, version] : n.history
        }))
      }),
    setTraffic: ({ namespace, split }) =>
      transact(state, (s): Step<{ traffic: Readonly<Record<string, number>> }, DeploymentsSnapshot> => {
        const n = s.namespaces[namespace]
        if (n === undefined) return refuse(`no namespace ${namespace}`)
        const unknown = Object.keys(split).filter((v) => !(v in n.versions))
        if (unknown.length > 0) return refuse(`versions not deployed in ${namespace}: ${unknown.join(", ")}`)
        const total = Object.values(split).reduce((a, b) => a + b, 0)
        if (total !== 100 || Object.values(split).some((p) => p < 0)) return refuse(`traffic split must sum to 100, got ${total}`)
        return ok({ traffic: split }, put(s, { ...n, traffic: { ...split } }))
      }),
    rollback: ({ namespace }) =>
      transact(state, (s): Step<{ version: string }, DeploymentsSnapshot> => {
        const n = s.namespaces[namespace]
        if (n === undefined || n.history.length < 2) return refuse(`nothing to roll back to in ${namespace}`)
        const newest = n.history[n.history.length - 1]!
        const previous = n.history[n.history.length - 2]!
        const versions = { ...n.versions }
        delete versions[newest]
        return ok({ version: previous }, put(s, { ...n, versions, traffic: { [previous]: 100 }, history: n.history.slice(0, -1) }))
      }),
    deleteNamespace: ({ namespace }) =>
      Ref.modify(state, (s): [{ deleted: boolean }, DeploymentsSnapshot] => {
        if (!(namespace in s.namespaces)) return [{ deleted: false }, s]
        const rest = { ...s.namespaces }
        delete rest[namespace]
        return [{ deleted: true }, { namespaces: rest }]
      }),
    get: ({ namespace }) => Effect.map(Ref.get(state), (s) => s.namespaces[namespace]),
    snapshot: Ref.get(state)
  }))
}

/**
 * Consistency: in every namespace with versions, traffic sums to 100 and only goes to deployed
 * versions.
 *
 * @example
 * ```ts
 * Deployments.check(yield* cluster.snapshot) // => []
 * ```
 */
export const check = (s: DeploymentsSnapshot): ReadonlyArray<string> => {
  const problems: Array<string> = []
  for (const n of Object.values(s.namespaces)) {
    if (Object.keys(n.versions).length === 0) continue
    const total = Object.values(n.traffic).reduce((a, b) => a + b, 0)
    if (total !== 100) problems.push(`${n.name}: traffic sums to ${total}`)
    for (const v of Object.keys(n.traffic)) if (!(v in n.versions) && (n.traffic[v] ?? 0) > 0) problems.push(`${n.name}: traffic to undeployed ${v}`)
  }
  return problems
}
