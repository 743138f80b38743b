/**
 * `mcpflow chaos flows/x.ts`: runs the flow a file exports by default against its fake servers
 * under generated fault plans, in virtual time, and checks the invariants. The servers come from
 * the file's exported `chaos` suite (`ChaosSuite`: model-backed servers, input, invariants,
 * settings) or else its exported `sandbox`. Prints a summary table (or `--json`), writes JUnit
 * XML with `--junit`, and on a violation prints the shrunk plan, the faults that fired, the step
 * tree and the replay command. `--replay '<token>'` re-runs one case with its full event trace.
 *
 * Exit codes: 0 every invariant held, 1 a violation, 2 bad usage (unknown fault kind, no flow,
 * no servers, malformed token).
 *
 * @example
 * ```sh
 * mcpflow chaos flows/order.ts --runs 500 --seed 42
 * mcpflow chaos flows/cicd.ts --faults latency,drop,lost-response --rate 0.2 --junit chaos.xml
 * mcpflow chaos flows/order.ts --replay 'eyJzZWVkIjo…'
 * ```
 * @module
 */
import { writeFileSync } from "node:fs"
import { importFile } from "../../internal/ImportFile.ts"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Check from "../../../../chaos/Check.ts"
import * as FlowCheck from "../../../../chaos/FlowCheck.ts"
import * as Runner from "../../../../chaos/Runner.ts"
import type { Flow } from "../../../../dsl/flow/Flow.ts"
import type { ServerConfig } from "../../../runtime/gateway/ServerConfig.ts"
import { readInput } from "../../run/Flags.ts"
import { isFlow } from "../../run/LoadFlow.ts"
import { CliExit, ExitCode } from "../output.ts"

const file = Argument.String("file").pipe(
  Argument.withMetavar("flow.ts"),
  Argument.withDescription("A flow file: its default export is the flow; it exports `chaos` (a ChaosSuite) or `sandbox`")
)

const runs = Flag.Int("runs").pipe(
  Flag.withMetavar("n"),
  Flag.withDescription("How many fault plans to try (default: the suite's, else 100)"),
  Flag.optional
)

const seed = Flag.Int("seed").pipe(
  Flag.withMetavar("n"),
  Flag.withDescription("The seed of the search (default: now; printed, so a run can be repeated)"),
  Flag.optional
)

const faults = Flag.String("faults").pipe(
  Flag.withMetavar("kinds"),
  Flag.withDescription(`The fault kinds to draw, comma-separated: ${Runner.kindFlagNames.join(", ")} (default: all)`),
  Flag.optional
)

const rate = Flag.Finite("rate").pipe(
  Flag.withMetavar("p"),
  Flag.withDescription("The injection rate of every drawn fault, in [0, 1] (default: each fault gets 1, 0.5 or 0.2)"),
  Flag.optional
)

const json = Flag.Boolean("json").pipe(
  Flag.withDescription("Print the summary (and any counterexample) as one JSON document on stdout"),
  Flag.withDefault(false)
)

const junit = Flag.String("junit").pipe(
  Flag.withMetavar("file.xml"),
  Flag.withDescription("Also write JUnit XML (one test case per invariant) to this file"),
  Flag.optional
)

const replay = Flag.String("replay").pipe(
  Flag.withMetavar("token"),
  Flag.withDescription("Re-run the one case a printed token names, with its full event trace"),
  Flag.optional
)

const input = Flag.String("input").pipe(
  Flag.withAlias("i"),
  Flag.withMetavar("json|@file"),
  Flag.withDescription("The flow's input as JSON or @file.json (default: the suite's input, else {})"),
  Flag.optional
)

const usage = (message: string) => new CliExit({ code: ExitCode.Usage, message })

interface Loaded {
  readonly flow: Flow<any, any, unknown, any>
  readonly suite: Runner.ChaosSuite & { readonly servers: NonNullable<Runner.ChaosSuite["servers"]> }
}

const load = (path: string): Effect.Effect<Loaded, CliExit> =>
  Effect.gen(function*() {
    const module = yield* Effect.tryPromise({
      try: () => importFile(path),
      catch: (cause) => usage(`${path}: could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`)
    })
    const flow = module["default"]
    if (!isFlow(flow)) return yield* usage(`${path}: its default export is not a flow (\`export default Flow.make({ … })\`)`)
    const suite = (module["chaos"] ?? {}) as Runner.ChaosSuite
    const sandbox = module["sandbox"]
    const servers = suite.servers ?? (Effect.isEffect(sandbox) ? (sandbox as Effect.Effect<Readonly<Record<string, ServerConfig>>>) : undefined)
    if (servers === undefined) {
      return yield* usage(`${path}: exports neither \`chaos\` (with servers) nor \`sandbox\`: chaos needs fake servers to inject faults into`)
    }
    return { flow: flow as unknown as Loaded["flow"], suite: { ...suite, servers } }
  })

/**
 * `mcpflow chaos <flow.ts> [--runs n] [--seed n] [--faults kinds] [--rate p] [--json] [--junit file] [--replay token] [--input json]`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([chaos]))
 * ```
 */
export const chaos = Command.make(
  "chaos",
  { file, runs, seed, faults, rate, json, junit, replay, input },
  Effect.fn("mcpflow.chaos")(function*(args) {
    const { flow, suite } = yield* load(args.file)
    const flowInput = Option.isSome(args.input)
      ? yield* readInput(args.input.value).pipe(Effect.mapError((e) => usage(`--input: expected ${e.expected}`)))
      : (suite.input ?? {})
    if (Option.isSome(args.replay)) {
      const token = args.replay.value
      const plan = yield* Effect.try({ try: () => Check.planOf(token), catch: () => usage("--replay: not a replay token (it is printed by a failing chaos run)") })
      const spec = Runner.options(suite, { input: flowInput, seed: 0 })
      const run = yield* FlowCheck.runFlowOnce({ ...spec, flow }, plan)
      if (args.json) {
        yield* Console.log(JSON.stringify({ flow: flow.name, plan: token, outcome: run.outcome._tag, violations: run.violations, faultsFired: run.log, events: run.events }, null, 2))
      } else {
        yield* Console.log([FlowCheck.formatFlowRun(run as FlowCheck.FlowRunResult<unknown, unknown>), "events:", Runner.eventTrace(run.events).replace(/^/gm, "  ")].join("\n"))
      }
      if (run.violations.length > 0) return yield* new CliExit({ code: ExitCode.Failure, message: "" })
      return
    }
    let kinds: ReadonlyArray<import("../../../../chaos/Fault.ts").FaultKind> | undefined
    if (Option.isSome(args.faults)) {
      const parsed = Runner.parseKinds(args.faults.value)
      if (!parsed.ok) return yield* usage(`--faults: unknown fault kind(s) ${parsed.unknown.join(", ")}; known: ${Runner.kindFlagNames.join(", ")}`)
      kinds = parsed.kinds
    }
    const r = Option.getOrUndefined(args.rate)
    if (r !== undefined && !(r >= 0 && r <= 1)) return yield* usage("--rate: expected a number in [0, 1]")
    const n = Option.getOrUndefined(args.runs)
    if (n !== undefined && n < 1) return yield* usage("--runs: expected at least 1")
    const s = Option.getOrElse(args.seed, () => Date.now() % 2 ** 31)
    const started = performance.now()
    const { names, report, summary } = yield* Runner.run(flow, suite, { input: flowInput, runs: n, seed: s, kinds, rate: r })
    const elapsed = performance.now() - started
    if (Option.isSome(args.junit)) {
      const out = args.junit.value
      yield* Effect.try({
        try: () => writeFileSync(out, Runner.junit(report, names, args.file, elapsed, summary)),
        catch: (cause) => usage(`--junit: cannot write ${out}: ${cause instanceof Error ? cause.message : String(cause)}`)
      })
    }
    if (args.json) {
      yield* Console.log(JSON.stringify(Runner.toJson(report, summary, names, args.file), null, 2))
    } else {
      yield* Console.log(Runner.table(report, summary, names))
      yield* Console.log(`  ${"time".padEnd(16)}  ${(elapsed / 1000).toFixed(2)} s${report.ok ? ` (${Math.round(report.runs / (elapsed / 1000))} runs/s)` : ""}`)
      if (!report.ok) yield* Console.log(`\n${FlowCheck.formatFlow(report, { file: args.file })}`)
    }
    if (!report.ok) return yield* new CliExit({ code: ExitCode.Failure, message: "" })
  })
).pipe(
  Command.withShortDescription("Run a flow under generated faults and check its invariants"),
  Command.withDescription(
    "Run the flow a file exports by default against fake servers that misbehave on purpose (latency, hangs, errors, dropped connections, lost responses, …), deterministically and in virtual time, and check its invariants: a typed outcome, no hang, saga atomicity, no duplicated non-idempotent request, bulkhead bounds, and the suite's own. The servers come from the file's `chaos` export (a ChaosSuite), else its `sandbox`. A violation is shrunk to a minimal fault plan and printed with its seed, the faults that fired, the run's step tree and the command that replays it. Exit codes: 0 every invariant held, 1 a violation, 2 bad usage."
  ),
  Command.withExamples([
    { command: "mcpflow chaos flows/cicd.ts --runs 500 --seed 42", description: "500 fault plans from seed 42" },
    { command: "mcpflow chaos flows/cicd.ts --faults latency,drop,lost-response --rate 0.2", description: "Only these faults, each at 20 %" },
    { command: "mcpflow chaos flows/cicd.ts --json --junit chaos.xml", description: "For CI" },
    { command: "mcpflow chaos flows/cicd.ts --replay 'eyJzZWVkIjo…'", description: "Re-run one failing case with its event trace" }
  ])
)
