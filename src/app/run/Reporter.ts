/**
 * The terminal side of the run report: takes a run's events and writes them — a live step tree
 * redrawn in place on a TTY, plain lines in logs and CI, or one JSON object per line with
 * `--json` — then the summary. What is written is computed by the pure renderers (`Tree.ts`,
 * `Lines.ts`, `Summary.ts`); this module only decides where and when.
 *
 * The report goes to stderr in the text modes (stdout keeps the flow's result, for scripts);
 * with `--json`, stdout carries the events and the summary, and nothing else.
 *
 * @example
 * ```ts
 * const reporter = yield* Reporter.make({ mode: "plain", level: "normal", color: false, dryRun: false })
 * const exit = yield* Effect.exit(Flow.run(flow, input).pipe(Effect.provideService(FlowEvents, reporter.sink)))
 * yield* reporter.finish(exit, { flow: flow.name, durationMs: 12, sandbox: true })
 * ```
 * @module
 */
import { renderCause } from "../../../dsl/flow/RunScope.ts"
import { Cause, Effect, Exit, Schedule, type Scope } from "effect"
import type { FlowEvent } from "../../../dsl/flow/FlowEvents.ts"
import type { GatewayEvent } from "../../../dsl/ports/McpGateway.ts"
import { headerLine, jsonLine, type Level, plainLines } from "./Lines.ts"
import { apply, emptyState, type RunState } from "../../../dsl/flow/EventFold.ts"
import { gatewayText, safeJson } from "./Text.ts"
import { type ChaosFired, type Fallback, pathTakenLines, summarize, type Summary, summaryLines } from "./Summary.ts"
import { paint } from "./Style.ts"
import { treeLines } from "./Tree.ts"

/**
 * How the report is written: a live tree (`tty`), plain lines (`plain`), or JSON lines (`json`).
 *
 * @example
 * ```ts
 * const mode: Mode = detectMode({ json: false, isTTY: process.stderr.isTTY === true, env: process.env })
 * ```
 */
export type Mode = "tty" | "plain" | "json"

/**
 * Picks the mode: `--json` wins; else a live tree on a TTY unless `CI` is set to a true value;
 * else plain lines.
 *
 * @example
 * ```ts
 * detectMode({ json: false, isTTY: true, env: { CI: "true" } }) // => "plain"
 * ```
 */
export const detectMode = (options: {
  readonly json: boolean
  readonly isTTY: boolean
  readonly env: Readonly<Record<string, string | undefined>>
}): Mode => {
  if (options.json) return "json"
  const ci = options.env["CI"]
  const inCi = ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false"
  return options.isTTY && !inCi ? "tty" : "plain"
}

/**
 * Whether to colour the text: never with `NO_COLOR` set (non-empty); else as `FORCE_COLOR`
 * says when it is set (`0` or `false` turn colour off, anything else on, even when not on a
 * terminal); else only on a TTY.
 *
 * @example
 * ```ts
 * useColor({ isTTY: true, env: { NO_COLOR: "1" } })      // => false
 * useColor({ isTTY: false, env: { FORCE_COLOR: "1" } })  // => true
 * useColor({ isTTY: true, env: { FORCE_COLOR: "0" } })   // => false
 * ```
 */
export const useColor = (options: { readonly isTTY: boolean; readonly env: Readonly<Record<string, string | undefined>> }): boolean => {
  const noColor = options.env["NO_COLOR"]
  if (noColor !== undefined && noColor !== "") return false
  const force = options.env["FORCE_COLOR"]
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false"
  return options.isTTY
}

/**
 * Where the report writes; defaults to the process's stdout and stderr.
 *
 * @example
 * ```ts
 * const lines: Array<string> = []
 * const writers: Writers = { out: (t) => lines.push(t), err: (t) => lines.push(t) }
 * ```
 */
export interface Writers {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

/**
 * Options of {@link make}.
 *
 * @example
 * ```ts
 * const options: ReporterOptions = { mode: "tty", level: "verbose", color: true, dryRun: false, refreshMs: 80 }
 * ```
 */
export interface ReporterOptions {
  readonly mode: Mode
  readonly level: Level
  readonly color: boolean
  /** Print the path actually taken after the run. */
  readonly dryRun: boolean
  readonly writers?: Writers | undefined
  /** The TTY tree is redrawn at most this often (default 100 ms). */
  readonly refreshMs?: number | undefined
  /** Terminal size for the TTY tree (default: stderr's, else 80×24). */
  readonly columns?: number | undefined
  readonly rows?: number | undefined
}

/**
 * A live report: give `sink` to the run (`FlowEvents`), call `finish` when it ended.
 *
 * @example
 * ```ts
 * Flow.run(flow, input).pipe(Effect.provideService(FlowEvents, reporter.sink))
 * ```
 */
export interface Reporter {
  readonly sink: { readonly emit: (event: FlowEvent) => void }
  /**
   * For the gateway's own events (`GatewayEvents`): connection changes, printed as plain lines at
   * verbose, and health changes (progress and server logs inside steps arrive through `sink`).
   */
  readonly gateway: { readonly emit: (event: GatewayEvent) => void }
  /** The model folded from the events so far. */
  readonly model: RunState
  /**
   * Writes the end of the report: the final tree, the summary (and the path taken for a dry
   * run), and on success the flow's result (stdout in text modes, in the summary with `--json`).
   * Returns the summary.
   */
  readonly finish: (exit: Exit.Exit<unknown, unknown>, context: RunContext) => Effect.Effect<Summary>
}

/**
 * What the runner knows about a run whatever its events said (used when no event was emitted).
 *
 * @example
 * ```ts
 * const context: RunContext = { flow: "cicd", durationMs: 3, sandbox: true }
 * ```
 */
export type RunContext = Omit<Fallback, "outcome" | "error" | "errorTag"> & {
  /** A live chaos run: the faults that fired, read when the run ends. */
  readonly chaos?: (() => ChaosFired) | undefined
}

const defaultWriters: Writers = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text)
}

/**
 * What the summary says about a failure the events did not report (nothing started: bad input,
 * a bad config, a sandbox that could not start).
 *
 * @example
 * ```ts
 * failureOf(Exit.fail(new Error("boom"))) // => { error: "boom" }
 * ```
 */
export const failureOf = (exit: Exit.Exit<unknown, unknown>): { readonly error?: string; readonly errorTag?: string } =>
  Exit.isSuccess(exit) ? {} : renderCause(exit.cause)

/**
 * Makes a reporter for one run. In `tty` mode it redraws the live tree (throttled) from a fiber
 * of the current scope and hides the cursor until the scope closes.
 *
 * @example
 * ```ts
 * const reporter = yield* Reporter.make({ mode: "json", level: "normal", color: false, dryRun: false })
 * ```
 */
export const make = (options: ReporterOptions): Effect.Effect<Reporter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const writers = options.writers ?? defaultWriters
    const model = emptyState()
    const quiet = options.level === "quiet"
    const c = paint(options.color)
    let dirty = false
    let drawnHeight = 0
    let finished = false

    const columns = options.columns ?? (process.stderr.columns > 0 ? process.stderr.columns : 80)
    const rows = options.rows ?? (process.stderr.rows > 0 ? process.stderr.rows : 24)

    const draw = () => {
      if (!dirty) return
      dirty = false
      const lines = treeLines(model, { now: Date.now(), color: options.color, level: options.level, maxLines: Math.max(3, rows - 4), columns })
      const clear = drawnHeight > 0 ? `\r\x1b[${drawnHeight}A\x1b[J` : ""
      writers.err(`${clear}${lines.map((l) => `${l}\n`).join("")}`)
      drawnHeight = lines.length
    }

    const live = options.mode === "tty" && !quiet
    if (live) {
      writers.err("\x1b[?25l")
      yield* Effect.addFinalizer(() => Effect.sync(() => writers.err("\x1b[?25h")))
      yield* Effect.sync(() => {
        // Running steps show their elapsed time: keep the tree moving while anything runs.
        if (!finished) dirty = dirty || [...model.nodes.values()].some((n) => n.status === "running")
        draw()
      }).pipe(Effect.repeat(Schedule.spaced(options.refreshMs ?? 100)), Effect.forkScoped)
    }

    const emit = (event: FlowEvent): void => {
      const change = apply(model, event)
      switch (options.mode) {
        case "json":
          if (!quiet) writers.out(`${jsonLine(event)}\n`)
          return
        case "plain": {
          const lines = plainLines(change, { level: options.level, color: options.color })
          if (lines.length > 0) writers.err(`${lines.join("\n")}\n`)
          return
        }
        case "tty":
          if (quiet) return
          if (change.what === "started") writers.err(`${headerLine(change.event, options.color)}\n`)
          else dirty = true
      }
    }

    const finish = (exit: Exit.Exit<unknown, unknown>, context: RunContext): Effect.Effect<Summary> =>
      Effect.sync(() => {
        if (live) {
          finished = true
          dirty = true
          draw()
        }
        const failure = failureOf(exit)
        const outcome = Exit.isSuccess(exit) ? "success" : Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "failure"
        const summary: Summary = {
          ...summarize(model, { ...context, outcome, ...failure }),
          ...(context.chaos === undefined ? {} : { chaos: context.chaos() })
        }
        const output = Exit.isSuccess(exit) ? exit.value : undefined
        if (options.mode === "json") {
          writers.out(`${jsonLine(output === undefined ? summary : { ...summary, output })}\n`)
          return summary
        }
        if (model.flow === undefined && Exit.isFailure(exit)) {
          // Nothing ran (bad input, config or sandbox): one line says why.
          writers.err(`${c.red("✗")} ${summary.error ?? "the run did not start"}\n`)
          return summary
        }
        const lines = [
          ...(options.dryRun ? ["", ...pathTakenLines(model, { color: options.color })] : []),
          ...(quiet && !options.dryRun ? [] : [""]),
          ...summaryLines(summary, { color: options.color })
        ]
        writers.err(`${lines.join("\n")}\n`)
        if (output !== undefined) writers.out(`${safeJson(output, 2)}\n`)
        return summary
      })

    const gateway = {
      emit: (event: GatewayEvent): void => {
        const connection = event._tag === "ServerConnecting" || event._tag === "ServerConnected" || event._tag === "ServerDisconnected"
        if (connection && options.mode === "plain" && options.level === "verbose") writers.err(`  ${gatewayText(event)}\n`)
        // A server's health changing (its background probes) says why its calls are held back.
        else if (event._tag === "HealthChanged" && options.mode === "plain" && !quiet) writers.err(`  ${c.yellow("!")} ${gatewayText(event)}\n`)
      }
    }

    return { sink: { emit }, gateway, model, finish }
  })
