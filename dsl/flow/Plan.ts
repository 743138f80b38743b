/**
 * Plans for reviews: a flow's structure — steps, parallel groups, DAG edges and conditions, saga
 * compensations, policies, and every `server.tool` it may call with its input/output types —
 * without calling any tool.
 *
 * A plan is built by a planning run of the flow's own DSL structure: every tool call is answered
 * by a sample generated from the contract's output Schema (no server is contacted), on a virtual
 * clock; `when` bodies, every DAG node and every parallel branch are explored whatever their
 * conditions. What the DSL cannot see is said, not guessed: branches decided in plain code appear
 * as taken with sample data, and the plan's `notes` say so.
 *
 * @module
 */
import { Arbitrary, Cause, Effect, Exit, Fiber, Layer, Result, Schema } from "effect"
import { TestClock } from "effect/testing"
import { McpGateway } from "../ports/McpGateway.ts"
import type { ContractInfo } from "../Contract.ts"
import type { Flow } from "./FlowDefinition.ts"
import { decodeInput } from "./FlowInput.ts"
import { FlowDefinition, FlowError } from "./FlowError.ts"
import * as Policy from "../policy/Policy.ts"
import * as PolicyEventsModule from "../policy/PolicyEvents.ts"
import * as Recorder from "./PlanRecorder.ts"
import { planning } from "./internal/Planning.ts"
import { CurrentScope, type PlanNode, type PlanState, type RunState, renderCause, type StepScope } from "./RunScope.ts"
import { ResultLog } from "./StepResults.ts"

/**
 * One tool a flow may call, with its JSON Schemas and MCP annotations.
 *
 * @example
 * ```ts
 * const t: PlannedTool = { name: "docker.docker_build", server: "docker", tool: "docker_build", description: "Build an image", input: {}, output: {}, annotations: {}, declared: true, reached: true, policies: [] }
 * ```
 */
export interface PlannedTool {
  readonly name: string
  readonly server: string
  readonly tool: string
  readonly description: string
  readonly input: unknown
  readonly output: unknown
  readonly annotations: Readonly<Record<string, unknown>>
  /** Declared in the flow's `uses`. */
  readonly declared: boolean
  /** Reached by the planning run. */
  readonly reached: boolean
  /** The contract's own policy layers, outermost first (the gateway config may add more). */
  readonly policies: ReadonlyArray<string>
}

/**
 * A flow's plan: JSON-serialisable, rendered by {@link toText} and {@link toMermaid}.
 *
 * @example
 * ```ts
 * const plan = yield* Flow.plan(cicd)
 * plan.nodes.filter((n) => n.compensated).map((n) => n.path)
 * ```
 */
export interface FlowPlan {
  readonly flow: string
  readonly description?: string | undefined
  readonly input: unknown
  readonly output: unknown
  readonly nodes: ReadonlyArray<PlanNode>
  readonly tools: ReadonlyArray<PlannedTool>
  /** Tools called outside any step (not reported or journaled on their own). */
  readonly outside: ReadonlyArray<string>
  readonly notes: ReadonlyArray<string>
  /**
   * What escapes the fixed policy order across levels: a step whose policy retries around a
   * tool call that has a circuit breaker of its own (its call options or its contract's policy)
   * runs that retry outside the breaker — each retry is a new call through the circuit, the
   * opposite of the order within one policy (breaker outside retry).
   */
  readonly warnings: ReadonlyArray<string>
}

/** How far a planning run may go before it stops (a polling loop on sample data may never end). */
const maxCalls = 500
const virtualBudgetMs = 7 * 24 * 3600_000

/**
 * Plans `flow`: decodes `input` (or samples one from the input Schema) and walks the flow with
 * sample tool outputs on a virtual clock. Fails for bad input or a flow definition error.
 *
 * @example
 * ```ts
 * const plan = yield* Flow.plan(deploy, { service: "api", version: "1.4.2" })
 * console.log(Plan.toMermaid(plan))
 * ```
 */
export const plan = <I extends Schema.Top, O extends Schema.Top, E, R>(
  flow: Flow<I, O, E, R>,
  input?: I["Encoded"]
): Effect.Effect<FlowPlan, FlowError> =>
  Effect.gen(function*() {
    const notes: Array<string> = []
    const decoded = input === undefined
      ? yield* sample(flow.input, `${flow.name}:input`).pipe(
        Effect.tap(() => Effect.sync(() => notes.push("no input given: planned with a sample input generated from the input Schema")))
      )
      : yield* decodeInput(flow.name, flow.input, input)
    const planned: PlanState = { nodes: new Map(), outside: [], notes }
    const state: RunState = {
      runId: "plan",
      flow: flow.name,
      interpreter: planning(planned),
      emit: () => {},
      listening: false,
      root: { entries: [] },
      subscriptions: new Map(),
      compensationFailures: [],
      results: new ResultLog(),
      failedStep: undefined
    }
    const reached = new Map<string, ContractInfo>()
    const answers = new Map<string, Effect.Effect<unknown>>()
    const warnings = new Set<string>()
    let calls = 0
    const gateway = McpGateway.of({
      servers: [],
      call: (contract, _input, options) =>
        Effect.withFiber((fiber) => {
          const scope = fiber.getRef(CurrentScope)
          Recorder.recordCall(planned, scope.path, contract.name)
          const retrying = hasBreaker(contract, options?.policy) ? retryingStep(planned, scope.path) : undefined
          if (retrying !== undefined) warnings.add(retryAroundBreaker(retrying, contract.name))
          reached.set(contract.name, contract)
          if (++calls > maxCalls) {
            return Effect.die(new Error(`planning stopped after ${maxCalls} tool calls (a loop on sample data?)`))
          }
          // The same contract always samples the same answer (its name is the seed): sample it once per plan.
          let answer = answers.get(contract.name)
          if (answer === undefined) {
            answer = Effect.orDie(sample(contract.output as unknown as Schema.Top, contract.name)).pipe(Effect.cached, Effect.runSync)
            answers.set(contract.name, answer)
          }
          return answer
        }),
      callRaw: (server, tool) => Effect.die(new Error(`planning: raw call ${server}.${tool} cannot be answered from a contract`)),
      listTools: () => Effect.succeed([]),
      checkContracts: () => Effect.succeed([]),
      status: Effect.succeed([])
    })
    const scope: StepScope = { run: state, path: "", names: undefined, inActivity: false, saga: undefined }
    const exit = yield* runVirtually(
      flow.run(decoded).pipe(
        Effect.provideService(CurrentScope, scope),
        Effect.provideService(McpGateway, gateway)
      ) as Effect.Effect<unknown, unknown>
    )
    if (Exit.isFailure(exit)) {
      // A definition error (a duplicate step name, a DAG cycle) is the plan's answer, not a note.
      const defect = Cause.findDefect(exit.cause)
      // By tag: a flow file may load its own copy of the DSL (source next to compiled).
      if (Result.isSuccess(defect) && isFlowDefinition(defect.success)) {
        return yield* new FlowError({ flow: flow.name, reason: new FlowDefinition({ detail: defect.success.detail }) })
      }
      const { error } = renderCause(exit.cause)
      const where = state.failedStep === undefined ? "" : ` at step ${state.failedStep}`
      notes.push(
        `on sample data the planning run failed${where}: ${error}; what the flow does after that point (if anything) is not shown`
      )
    }
    notes.push(
      "branches decided in plain code (if/else on results) appear only as taken with sample data; `when`, DAG nodes and parallel branches are explored whatever their conditions"
    )
    const declared = new Map(flow.uses.map((c) => [c.name, c]))
    if (declared.size === 0) notes.push("the flow declares no `uses`: the tool list is what the planning run reached")
    const all = new Map([...declared, ...reached])
    const tools: Array<PlannedTool> = []
    for (const c of all.values()) {
      tools.push({
        name: c.name,
        server: c.server,
        tool: c.tool,
        description: c.description,
        input: c.inputJsonSchema(),
        output: c.outputJsonSchema(),
        annotations: { ...c.annotations },
        declared: declared.has(c.name),
        reached: reached.has(c.name),
        // The contract's own policy (the gateway config may add or override per environment).
        policies: c.policy === undefined ? [] : yield* Policy.make(c.policy as Policy.PolicyInput).pipe(
          Effect.map((p) => Policy.describe(p as Policy.Policy<unknown, unknown, unknown>).map(Recorder.policyText)),
          Effect.orElseSucceed((): ReadonlyArray<string> => ["(invalid policy settings)"])
        )
      })
    }
    const undeclared = tools.filter((t) => t.reached && !t.declared && declared.size > 0)
    if (undeclared.length > 0) {
      notes.push(`reached but not declared in \`uses\`: ${undeclared.map((t) => t.name).join(", ")}`)
    }
    return {
      flow: flow.name,
      description: flow.description,
      input: Schema.toJsonSchemaDocument(flow.input).schema,
      output: Schema.toJsonSchemaDocument(flow.output).schema,
      nodes: [...planned.nodes.values()],
      tools,
      outside: planned.outside,
      notes,
      warnings: [...warnings]
    }
  })

/** Whether a call has a breaker of its own: its call options' policy, else its contract's. */
const hasBreaker = (contract: ContractInfo, callPolicy: unknown): boolean => {
  const merged = Policy.merge(contract.policy as Policy.PolicyInput | undefined, callPolicy as Policy.PolicyInput | undefined)
  return merged.breaker !== undefined && merged.breaker !== false
}

/** The innermost step at or above `path` whose policy retries, if any. */
const retryingStep = (plan: PlanState, path: string): string | undefined => {
  for (let p = path; p !== ""; p = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "") {
    if (plan.nodes.get(p)?.policies.some((text) => text.startsWith("retry(")) === true) return p
  }
  return undefined
}

/**
 * The warning for a step's retry around a call with a breaker.
 *
 * @example
 * ```ts
 * Plan.retryAroundBreaker("deploy", "k8s.apply") // => "step \"deploy\" retries around k8s.apply, …"
 * ```
 */
export const retryAroundBreaker: (step: string, tool: string) => string = PolicyEventsModule.retryAroundBreaker

const isFlowDefinition = (u: unknown): u is { readonly _tag: "FlowDefinition"; readonly detail: string } =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "FlowDefinition" &&
  typeof (u as { detail?: unknown }).detail === "string"

/** One value from a Schema, deterministic per `seed`. */
const sample = <S extends Schema.Top>(schema: S, seed: string): Effect.Effect<S["Type"], FlowError> =>
  Arbitrary.sampleEffect(Arbitrary.schema(schema as Schema.Top & Schema.Constraint), { count: 12, size: 2, seed }).pipe(
    // Prefer an answer that reports success, so the plan follows the path a working run takes.
    Effect.map((values) => (values.find(reportsSuccess) ?? values[0]) as S["Type"]),
    Effect.orDie
  )

const successFlags = ["success", "ok", "healthy", "passed", "valid", "delivered", "authorized", "accepted"]

/** A sampled answer whose top-level success-like booleans are all true (and whose `status` is not a failure). */
const reportsSuccess = (value: unknown): boolean => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return true
  const record = value as Record<string, unknown>
  for (const flag of successFlags) if (record[flag] === false) return false
  const status = record.status
  return typeof status !== "string" || !/fail|error|unhealthy|denied|reject|cancel/i.test(status)
}

/** Runs `effect` on a TestClock, advancing it until the effect ends or the virtual budget is spent. */
const runVirtually = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<Exit.Exit<A, E>> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    let elapsed = 0
    while (fiber.pollUnsafe() === undefined && elapsed < virtualBudgetMs) {
      yield* TestClock.adjust("1 minute")
      elapsed += 60_000
    }
    if (fiber.pollUnsafe() === undefined) {
      yield* Fiber.interrupt(fiber)
      return Exit.failCause(Cause.die(new Error("planning stopped: the flow was still running after 7 virtual days")))
    }
    return yield* Fiber.await(fiber)
  }).pipe(Effect.provide(Layer.fresh(TestClock.layer())))

// --- rendering -----------------------------------------------------------------------------

const depth = (path: string) => (path === "" ? 0 : path.split("/").length - 1)
const leaf = (path: string) => path.split("/").pop() ?? path

const marks: Record<string, string> = {
  step: "•",
  parallel: "⫽",
  branch: "├",
  dag: "◇",
  node: "◆",
  saga: "↺",
  forEach: "⟳",
  item: "·",
  when: "?",
  handler: "⚡",
  gate: "▣",
  batch: "▤"
}

/**
 * The plan as an indented text tree, then the tools with their types, the policies too long to
 * repeat on every line that uses them, the warnings and the notes.
 *
 * @example
 * ```ts
 * console.log(Plan.toText(yield* Flow.plan(orderSaga)))
 * ```
 */
export const toText = (plan: FlowPlan): string => {
  const lines: Array<string> = [`flow ${plan.flow}${plan.description ? ` — ${plan.description}` : ""}`, ""]
  // A long chain of policies (a breaker's settings, a retry's backoff, …) is written once, under
  // `policies:`, and named [A], [B], … where it applies: the tree stays one short line per step.
  const named = new Map<string, { readonly name: string; readonly policies: ReadonlyArray<string> }>()
  const policiesText = (policies: ReadonlyArray<string>): string => {
    const chain = policies.join(" → ")
    if (chain.length <= inlinePolicies) return chain
    let entry = named.get(chain)
    if (entry === undefined) named.set(chain, entry = { name: `[${letters(named.size)}]`, policies })
    return entry.name
  }
  for (const n of plan.nodes) {
    const parts = [`${"  ".repeat(depth(n.path) + 1)}${marks[n.kind] ?? "•"} ${leaf(n.path)} [${n.kind}]`]
    if (n.needs !== undefined && n.needs.length > 0) parts.push(`needs ${n.needs.join(", ")}`)
    if (n.condition !== undefined) parts.push(`when ${n.condition}`)
    if (n.tools.length > 0) parts.push(`calls ${n.tools.join(", ")}`)
    if (n.policies.length > 0) parts.push(`policies ${policiesText(n.policies)}`)
    if (n.compensated) parts.push("compensated on failure")
    lines.push(`${parts.join(" · ")}${n.description !== undefined && n.kind !== "dag" ? ` — ${n.description}` : ""}`)
  }
  if (plan.outside.length > 0) lines.push("", `tool calls outside any step: ${plan.outside.join(", ")}`)
  lines.push("", "tools:")
  for (const t of plan.tools) {
    const flags = [
      t.annotations.readOnlyHint === true ? "read-only" : undefined,
      t.annotations.destructiveHint === true ? "destructive" : undefined,
      t.annotations.idempotentHint === true ? "idempotent" : undefined,
      t.declared ? undefined : "undeclared",
      t.reached ? undefined : "not reached"
    ].filter((f) => f !== undefined)
    lines.push(
      `  ${t.name}(${typeText(t.input)}) → ${typeText(t.output)}${flags.length > 0 ? `  [${flags.join(", ")}]` : ""}${
        t.policies.length > 0 ? `  policies ${policiesText(t.policies)}` : ""
      }`
    )
  }
  if (named.size > 0) {
    lines.push("", "policies (outermost first):")
    for (const { name, policies } of named.values()) {
      lines.push(...policies.map((policy, i) => i === 0 ? `  ${name} ${policy}` : `  ${" ".repeat(name.length)} → ${policy}`))
    }
  }
  if (plan.warnings.length > 0) lines.push("", "warnings:", ...plan.warnings.map((w) => `  ! ${w}`))
  if (plan.notes.length > 0) lines.push("", "notes:", ...plan.notes.map((n) => `  - ${n}`))
  return lines.join("\n")
}

/** The longest chain of policies written where it applies; longer ones are named (see {@link toText}). */
const inlinePolicies = 72

/** A, B, …, Z, AA, AB, …: the `n`th name. */
const letters = (n: number): string => (n < 26 ? "" : letters(Math.floor(n / 26) - 1)) + String.fromCharCode(65 + (n % 26))

/** A compact, one-line rendering of a JSON Schema's top level. */
const typeText = (schema: unknown): string => {
  if (typeof schema !== "object" || schema === null) return "unknown"
  const s = schema as { type?: unknown; properties?: Record<string, unknown>; required?: ReadonlyArray<string> }
  if (s.type === "object" && s.properties === undefined) return "{}"
  if (s.type === "object" && s.properties !== undefined) {
    const req = new Set(s.required ?? [])
    return `{ ${Object.keys(s.properties).map((k) => `${k}${req.has(k) ? "" : "?"}`).join(", ")} }`
  }
  return typeof s.type === "string" ? s.type : "unknown"
}

/**
 * A Mermaid node id for a step path, injective over paths (Mermaid ids are `[A-Za-z0-9_]+`):
 * letters and digits stay, the path separator `/` becomes `_`, and every other character becomes
 * `__` and two lowercase hex digits per UTF-8 byte. Decoding reads `__` + hex as one byte and a
 * single `_` as `/`, so two distinct paths never share an id (`a b`, `a_b` and `a-b` give
 * `n_a__20b`, `n_a__5fb`, `n_a__2db`). `prefix` keeps families apart (`n` nodes, `u` undo nodes).
 *
 * @example
 * ```ts
 * mermaidId("deploy/build")  // => "n_deploy_build"
 * mermaidId("a b")           // => "n_a__20b"
 * mermaidId("a b", "u")      // => "u_a__20b"
 * ```
 */
export const mermaidId = (path: string, prefix: "n" | "u" = "n"): string => {
  let out = `${prefix}_`
  for (const char of path) {
    if (/^[A-Za-z0-9]$/.test(char)) out += char
    else if (char === "/") out += "_"
    else for (const byte of utf8.encode(char)) out += `__${byte.toString(16).padStart(2, "0")}`
  }
  return out
}

const utf8 = new TextEncoder()

/** Characters Mermaid reads in a quoted label, written as its `#name;` entity codes. */
const labelEntities: Readonly<Record<string, string>> = { "#": "#35;", "\"": "#quot;", "<": "#lt;", ">": "#gt;", "`": "#96;" }

/**
 * Text for a quoted Mermaid label, as Mermaid will show it: quotes, `#`, angle brackets (Mermaid
 * renders HTML labels), backticks (markdown strings), control characters and the spaces at either
 * end (Mermaid trims them) become entity codes.
 *
 * @example
 * ```ts
 * mermaidLabel('say "hi" <b>') // => "say #quot;hi#quot; #lt;b#gt;"
 * ```
 */
export const mermaidLabel = (text: string): string => {
  const inner = text.replace(/[#"<>`\u0000-\u001f\u007f]/g, (c) => labelEntities[c] ?? `#${c.charCodeAt(0)};`)
  const lead = /^ */.exec(inner)![0].length
  const trail = inner.length === lead ? 0 : /[ ]*$/.exec(inner)![0].length
  return "#32;".repeat(lead) + inner.slice(lead, inner.length - trail) + "#32;".repeat(trail)
}

const id = (path: string) => mermaidId(path)
const label = mermaidLabel

/**
 * The plan as a Mermaid flowchart: groups as subgraphs, steps in the order the planning run met
 * them, DAG edges from `needs`, conditions on dashed edges, compensations as dotted back edges.
 *
 * @example
 * ```ts
 * await fs.writeFile("plan.mmd", Plan.toMermaid(yield* Flow.plan(cicd)))
 * ```
 */
export const toMermaid = (plan: FlowPlan): string => {
  const lines: Array<string> = ["flowchart TD"]
  const children = new Map<string, Array<PlanNode>>()
  for (const n of plan.nodes) {
    const parent = n.path.includes("/") ? n.path.slice(0, n.path.lastIndexOf("/")) : ""
    const list = children.get(parent) ?? []
    list.push(n)
    children.set(parent, list)
  }
  const groupKinds = new Set(["parallel", "branch", "dag", "node", "saga", "forEach", "item", "when", "handler", "poll"])
  const emitScope = (parent: string, indent: string, kind: string | undefined) => {
    const list = children.get(parent) ?? []
    for (const n of list) {
      const text = [leaf(n.path), ...n.tools].map(label).join("<br/>")
      if (groupKinds.has(n.kind) && (children.get(n.path)?.length ?? 0) > 0) {
        lines.push(`${indent}subgraph ${id(n.path)} ["${label(`${leaf(n.path)} (${n.kind})`)}"]`)
        emitScope(n.path, `${indent}  `, n.kind)
        lines.push(`${indent}end`)
      } else if (n.kind === "gate") {
        // a gate is a decision, drawn as one: a hexagon
        lines.push(`${indent}${id(n.path)}{{"gate: ${text}"}}`)
      } else {
        lines.push(`${indent}${id(n.path)}["${text}"]`)
      }
      if (n.compensated) {
        lines.push(`${indent}${mermaidId(n.path, "u")}(["undo ${label(leaf(n.path))}"])`)
        lines.push(`${indent}${id(n.path)} -.->|on failure| ${mermaidId(n.path, "u")}`)
      }
    }
    if (kind === "dag") {
      for (const n of list) {
        for (const need of n.needs ?? []) {
          const from = id(`${parent}/${need}`)
          lines.push(n.condition !== undefined
            ? `${indent}${from} -.->|"${label(n.condition)}"| ${id(n.path)}`
            : `${indent}${from} --> ${id(n.path)}`)
        }
      }
    } else if (kind !== "parallel" && kind !== "forEach" && kind !== "handler") {
      for (let i = 1; i < list.length; i++) lines.push(`${indent}${id(list[i - 1]!.path)} --> ${id(list[i]!.path)}`)
    }
  }
  emitScope("", "  ", undefined)
  return lines.join("\n")
}
