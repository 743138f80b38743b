/**
 * Makes a flow file runnable: `main(import.meta, flow, { sandbox })` at the bottom of the file
 * runs the flow with its own command line when the file is the process's entry point
 * (`npx tsx flows/cicd.ts --json`), and does nothing when the file is imported (by
 * `mcpflow run`, `mcpflow plan`, tests or other flows).
 *
 * @example
 * ```ts
 * // flows/deploy.ts
 * import { main } from "mcpflow"
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
import type { Schema } from "effect"
import type { Flow } from "../../../dsl/flow/Flow.ts"
import { unsupportedNode } from "../internal/NodeVersion.ts"
import { register } from "./Registry.ts"
import type { FlowSource, RunServices } from "./RunFlow.ts"

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
 * Runs `flow` from the command line when the calling file is the entry point; otherwise only
 * remembers `options.sandbox` for `mcpflow run`. Exits with 0 (success), 1 (the flow failed),
 * 2 (bad input, config or usage, or a Node.js older than 22.19 — one line on stderr) or 130
 * (interrupted; compensations ran). The command line and the run machinery are loaded only
 * when the file is the entry point.
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
  const file = relative(process.cwd(), fileURLToPath(meta.url))
  const runner = /\.[cm]?tsx?$/.test(file) ? "tsx" : "node"
  const problem = unsupportedNode(process.versions.node, `npx -p node@24 ${runner} ${file} …`)
  if (problem !== undefined) {
    process.stderr.write(`${problem}\n`)
    process.exitCode = 2
    return
  }
  void import("./internal/FlowCommand.ts").then(({ runFlowFile }) =>
    runFlowFile(flow, source, runner === "tsx" ? `npx tsx ${file}` : `node ${file}`)
  )
}
