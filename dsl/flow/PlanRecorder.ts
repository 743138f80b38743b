/**
 * Internal: records a flow's structure during a planning run (`mcpflow plan`), where every tool
 * call is answered from its contract instead of a server.
 *
 * @internal
 * @module
 */
import type { PolicyDescriptor } from "../policy/PolicyEvents.ts"
import type { StepKind } from "./FlowEvents.ts"
import type { RunState } from "./RunScope.ts"

/** Records (or completes) the node at `path`. */
export const recordStep = (
  run: RunState,
  path: string,
  kind: StepKind,
  description: string | undefined,
  compensated: boolean,
  extra?: { readonly needs?: ReadonlyArray<string>; readonly condition?: string | undefined }
): void => {
  if (run.plan === undefined || run.plan.nodes.has(path)) return
  run.plan.nodes.set(path, {
    path,
    kind,
    description,
    compensated,
    needs: extra?.needs,
    condition: extra?.condition,
    tools: [],
    policies: []
  })
}

/** Records a tool call made by the step at `path` (or outside any step when `path` is empty). */
export const recordCall = (run: RunState, path: string, tool: string): void => {
  if (run.plan === undefined) return
  const node = run.plan.nodes.get(path)
  if (node === undefined) {
    if (!run.plan.outside.includes(tool)) run.plan.outside.push(tool)
    return
  }
  if (!node.tools.includes(tool)) node.tools.push(tool)
}

/** Records the policy layers of the node at `path`, outermost first. */
export const recordPolicies = (run: RunState, path: string, policies: ReadonlyArray<PolicyDescriptor>): void => {
  const node = run.plan?.nodes.get(path)
  if (node === undefined) return
  for (const p of policies) node.policies.push(policyText(p))
}

/** One policy layer as plan text: `retry(maxAttempts=3, …)`. */
export const policyText = (p: PolicyDescriptor): string => {
  const settings = Object.entries(p.settings).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : String(v)}`)
  return `${p.kind}(${settings.join(", ")})`
}
