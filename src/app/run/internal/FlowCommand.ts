/**
 * The command line of a runnable flow file, loaded by `main` (`FlowFile.ts`) only when the file
 * is the process's entry point: the CLI framework, the platform layer and the run machinery (the
 * gateway, the engines) stay out of a flow file's imports otherwise.
 *
 * @example
 * ```ts
 * import { runFlowFile } from "./internal/FlowCommand.ts"
 * runFlowFile(cicd, { sandbox: cicdSandbox, file: "/work/flows/cicd.ts" }, "npx tsx flows/cicd.ts")
 * ```
 * @module
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Option, Result, type Schema } from "effect"
import * as Stdio from "effect/Stdio"
import { CliOutput, Command } from "effect/cli"
import type { Flow } from "../../../../dsl/flow/Flow.ts"
import packageJson from "../../../../package.json" with { type: "json" }
import { CliExit, presenter, reportFailure } from "../../cli/output.ts"
import { settingsFrom } from "../../serve/WebhookSettings.ts"
import { ExitCode } from "../ExitCode.ts"
import { attachDashValues, runFlags, toRunSettings } from "../../cli/Flags.ts"
import { type FlowSource, runFlow, type RunServices } from "../RunFlow.ts"

/**
 * The command line of one flow file: the flags of a run (see `Flags.ts`), named after the flow.
 *
 * @example
 * ```ts
 * Command.runWith(flowCommand(cicd, { sandbox: cicdSandbox }, "npx tsx flows/cicd.ts"), { version: "0.1.0" })(["--json"])
 * ```
 */
export const flowCommand = <I extends Schema.Top, O extends Schema.Top, E, R extends RunServices>(
  flow: Flow<I, O, E, R>,
  source: FlowSource,
  invocation: string = flow.name
) =>
  Command.make(flow.name, runFlags, (flags) =>
    // $MCPFLOW_WEBHOOK_URL announces the finished run, as for `mcpflow run`.
    Result.match(settingsFrom(Option.none(), process.env), {
      onFailure: (message) => Effect.fail(new CliExit({ code: ExitCode.Usage, message })),
      onSuccess: (webhook) => runFlow(flow, toRunSettings(flags), { trigger: "cli", ...source, webhook })
    })).pipe(
    Command.withDescription(
      `${flow.description ?? `Run the flow ${flow.name}`}. ${
        source.sandbox !== undefined
          ? "Runs on its sandbox (in-process fake servers) unless --config names real servers."
          : source.local !== undefined
          ? "Runs against the real local servers it starts itself unless --config names others."
          : "Runs against the servers of --config (default ./.mcp.json)."
      } The report goes to stderr (a live tree on a terminal, plain lines otherwise or with CI=true) and the result to stdout; --json prints JSON lines on stdout instead. Exit codes: 0 success, 1 the flow failed, 2 bad input/config/usage, 130 interrupted (compensations ran).`
    ),
    Command.withExamples([
      { command: `${invocation} --input '{…}'`, description: "Run with an input" },
      { command: `${invocation} --input @input.json --json`, description: "Input from a file; JSON event lines on stdout" },
      ...(source.sandbox === undefined
        ? [{ command: `${invocation} --config .mcp.json`, description: "Run against the servers of a config file" }]
        : [{ command: `${invocation} --dry-run`, description: "Rehearse on the sandbox (not journaled) and print the path taken" }])
    ])
  )

/**
 * Runs `flow`'s command line on this process's arguments and exits with its code.
 *
 * @example
 * ```ts
 * runFlowFile(cicd, { sandbox: cicdSandbox }, "npx tsx flows/cicd.ts")
 * ```
 */
export const runFlowFile = <I extends Schema.Top, O extends Schema.Top, E, R extends RunServices>(
  flow: Flow<I, O, E, R>,
  source: FlowSource,
  invocation: string
): void =>
  NodeRuntime.runMain(
    Stdio.Stdio.use(({ args }) =>
      Effect.flatMap(args, (args) =>
        Command.runWith(flowCommand(flow, source, invocation), { version: packageJson.version })(attachDashValues(args)))
    ).pipe(
      Effect.catch(reportFailure),
      Effect.provide(CliOutput.layerPresenter(presenter)),
      Effect.provide(NodeServices.layer)
    )
  )
