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
import { resolve } from "node:path"
import { Console, Effect, Option } from "effect"
import { planOf } from "../../../../../chaos/ReplayToken.ts"
import type { FaultKind } from "../../../../../chaos/Fault.ts"
import * as FlowCheck from "../../../../../chaos/FlowCheck.ts"
import * as Runner from "../../../../../chaos/Runner.ts"
import type { Flow } from "../../../../../dsl/flow/Flow.ts"
import { nearMiss } from "../../../../../dsl/internal/Typos.ts"
import type { ServerConfig } from "../../../../runtime/gateway/ServerConfig.ts"
import { ExitCode } from "../../../run/ExitCode.ts"
import { loadChaos } from "../../../run/LoadFlow.ts"
import { CliExit } from "../../output.ts"

const usage = (message: string) => new CliExit({ code: ExitCode.Usage, message })

/** A flow and its chaos suite, with servers. */
export interface Loaded {
  readonly flow: Flow<any, any, unknown, any>
  readonly suite: Runner.ChaosSuite & { readonly servers: NonNullable<Runner.ChaosSuite["servers"]> }
}

/**
 * A flow file's chaos suite and flow, loaded (also by `chaosWorkerSpec.ts`, in each worker thread).
 *
 * @example
 * ```ts
 * const { flow, suite } = yield* load("flows/cicd.ts")
 * ```
 */
export const load = (path: string): Effect.Effect<Loaded, CliExit> =>
  Effect.gen(function*() {
    const loaded = yield* loadChaos(path).pipe(Effect.mapError((error) => usage(error.message)))
    const suite = (loaded.suite ?? {}) as Runner.ChaosSuite
    const servers = suite.servers ?? (loaded.sandbox as Effect.Effect<Readonly<Record<string, ServerConfig>>> | undefined)
    if (servers === undefined) {
      return yield* usage(
        `${path}: neither it nor a sibling .chaos.ts exports \`chaos\` (with servers), and the flow has no \`sandbox\`: chaos needs fake servers to inject faults into`
      )
    }
    return { flow: loaded.flow as unknown as Loaded["flow"], suite: { ...suite, servers } }
  })

/**
 * Runs `mcpflow chaos <file>` (see `../chaos.ts` for its flags).
 *
 * @example
 * ```ts
 * chaos({ file: "flows/cicd.ts", runs: Option.some(500), seed: Option.some(42), faults: Option.none(), rate: Option.none(), json: false, junit: Option.none(), replay: Option.none(), input: Option.none() })
 * ```
 */
export const chaos = Effect.fn("mcpflow.chaos")(function*(args: {
  readonly file: string
  readonly runs: Option.Option<number>
  readonly seed: Option.Option<number>
  readonly faults: Option.Option<string>
  readonly rate: Option.Option<number>
  readonly json: boolean
  readonly junit: Option.Option<string>
  readonly replay: Option.Option<string>
  readonly input: Option.Option<unknown>
  readonly workers?: Option.Option<number> | undefined
}) {
  const { flow, suite } = yield* load(args.file)
  const flowInput = Option.getOrElse(args.input, () => suite.input ?? {})
  if (Option.isSome(args.replay)) {
    const token = args.replay.value
    const plan = yield* Effect.try({ try: () => planOf(token), catch: () => usage("--replay: not a replay token (it is printed by a failing chaos run)") })
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
  let kinds: ReadonlyArray<FaultKind> | undefined
  if (Option.isSome(args.faults)) {
    const parsed = Runner.parseKinds(args.faults.value)
    if (!parsed.ok) {
      const named = parsed.unknown.map((kind) => {
        const meant = nearMiss(kind, Runner.kindFlagNames)
        return meant === undefined ? kind : `${kind} (did you mean ${meant}?)`
      })
      return yield* usage(`--faults: unknown fault kind(s) ${named.join(", ")}; known: ${Runner.kindFlagNames.join(", ")}`)
    }
    kinds = parsed.kinds
  }
  // --rate is in [0, 1] and --runs at least 1: the flags check it (Flags.ts).
  const r = Option.getOrUndefined(args.rate)
  const n = Option.getOrUndefined(args.runs)
  const s = Option.getOrElse(args.seed, () => Date.now() % 2 ** 31)
  const started = performance.now()
  const workers = Option.getOrUndefined(args.workers ?? Option.none())
  // Worker threads load the same file and settings (see chaosWorkerSpec.ts); the report is the same whatever their number.
  const workerSpec = {
    module: new URL(`./chaosWorkerSpec.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url).href,
    args: { file: resolve(args.file), input: flowInput, seed: s, kinds, rate: r }
  }
  const { names, report, summary } = yield* Runner.run(flow, suite, { input: flowInput, runs: n, seed: s, kinds, rate: r, workers, workerSpec })
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
