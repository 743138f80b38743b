/**
 * Internal: records a flow's structure during a planning run (`mcpflow plan`), where every tool
 * call is answered from its contract instead of a server.
 *
 * @internal
 * @module
 */
import type { PolicyDescriptor } from "../policy/PolicyEvents.ts"
import type { StepKind } from "./FlowEvents.ts"
import type { NodeInfo } from "./internal/Interpreter.ts"
import type { PlanState } from "./RunScope.ts"

/** Records (or completes) the node at `path`. */
export const recordStep = (plan: PlanState, path: string, kind: StepKind, node: NodeInfo): void => {
  if (plan.nodes.has(path)) return
  plan.nodes.set(path, {
    path,
    kind,
    description: node.description,
    compensated: node.compensated === true,
    needs: node.needs,
    condition: node.condition,
    tools: node.tools === undefined ? [] : [...node.tools],
    policies: []
  })
}

/** Records a tool call made by the step at `path` (or outside any step when `path` is empty). */
export const recordCall = (plan: PlanState, path: string, tool: string): void => {
  const node = plan.nodes.get(path)
  if (node === undefined) {
    if (!plan.outside.includes(tool)) plan.outside.push(tool)
    return
  }
  if (!node.tools.includes(tool)) node.tools.push(tool)
}

/** Records the policy layers of the node at `path`, outermost first. */
export const recordPolicies = (plan: PlanState, path: string, policies: ReadonlyArray<PolicyDescriptor>): void => {
  const node = plan.nodes.get(path)
  if (node === undefined) return
  for (const p of policies) node.policies.push(policyText(p))
}

/** One policy layer as plan text: `retry(maxAttempts=3, …)`. */
export const policyText = (p: PolicyDescriptor): string => {
  const settings = Object.entries(p.settings).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : String(v)}`)
  return `${p.kind}(${settings.join(", ")})`
}
