/**
 * Makes a flow file runnable: `main(import.meta, flow, { sandbox })` at the bottom of the file
 * runs the flow with its own command line when the file is the process's entry point
 * (`npx tsx flows/cicd.ts --json`), and does nothing when the file is imported (by
 * `mcpflow run`, `mcpflow plan`, tests or other flows).
 *
 * @example
 * ```ts
 * // flows/deploy.ts
 * import { main } from "../src/app/run/FlowFile.ts"
 * const deploy = Flow.make({ name: "deploy", … })
 * export default deploy
 * export const sandbox = deploySandbox
 * main(import.meta, deploy, { sandbox })
 * ```
 * @module
 */
import { realpathSync } from "node:fs"
import { relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, type Schema } from "effect"
import { CliOutput, Command } from "effect/cli"
import type { Flow } from "../../../dsl/flow/Flow.ts"
import packageJson from "../../../package.json" with { type: "json" }
import { runFlags, toRunSettings } from "../cli/Flags.ts"
import { presenter, reportFailure } from "../cli/output.ts"
import { register } from "./Registry.ts"
import { type FlowSource, runFlow, type RunServices } from "./RunFlow.ts"

const canonical = (path: string): string => {
  try {
    return realpathSync(path)
  } catch {
    return resolve(path)
  }
}

const withoutExtension = (path: string): string => path.replace(/\.[cm]?[jt]sx?$/, "")

/**
 * Whether the module at `moduleUrl` is the process's entry point (`argv1` is `process.argv[1]`).
 *
 * @example
 * ```ts
 * isEntryPoint("file:///work/flows/cicd.ts", "/work/flows/cicd.ts") // => true
 * isEntryPoint("file:///work/flows/cicd.ts", "/work/bin/mcpflow.js") // => false
 * ```
 */
export const isEntryPoint = (moduleUrl: string, argv1: string | undefined): boolean => {
  if (argv1 === undefined || !moduleUrl.startsWith("file:")) return false
  const self = canonical(fileURLToPath(moduleUrl))
  const entry = canonical(argv1)
  return self === entry || withoutExtension(self) === entry
}

/**
 * The command line of one flow file: the flags of a run (`runFlags` in `../cli/Flags.ts`), named after the flow.
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
  Command.make(flow.name, runFlags, (flags) => runFlow(flow, toRunSettings(flags), source)).pipe(
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
 * Runs `flow` from the command line when the calling file is the entry point; otherwise only
 * remembers `options.sandbox` for `mcpflow run`. Exits with 0 (success), 1 (the flow failed),
 * 2 (bad input, config or usage) or 130 (interrupted; compensations ran).
 *
 * @example
 * ```ts
 * main(import.meta, cicd, { sandbox: cicdSandbox })
 * ```
 */
export const main = <I extends Schema.Top, O extends Schema.Top, E, R extends RunServices>(
  meta: ImportMeta,
  flow: Flow<I, O, E, R>,
  options?: FlowSource
): void => {
  const source: FlowSource = { ...options, file: options?.file ?? fileURLToPath(meta.url) }
  register(flow, source)
  if (!isEntryPoint(meta.url, process.argv[1])) return
  NodeRuntime.runMain(
    Command.run(flowCommand(flow, source, `npx tsx ${relative(process.cwd(), fileURLToPath(meta.url))}`), {
      version: packageJson.version
    }).pipe(
      Effect.catch(reportFailure),
      Effect.provide(CliOutput.layerPresenter(presenter)),
      Effect.provide(NodeServices.layer)
    )
  )
}
