/**
 * The command runner's process entry point: an MCP server over stdio.
 *
 * ```sh
 * npx mcpflow-command-runner --root . --allow npm,npx,node --timeout-ms 120000
 * ```
 *
 * In `.mcp.json` (use absolute paths: a client may start the server from any directory; the
 * installed bin `mcpflow-command-runner` runs the compiled server):
 *
 * ```json
 * {
 *   "mcpServers": {
 *     "commands": {
 *       "command": "npx",
 *       "args": ["mcpflow-command-runner", "--root", "${HOME}/src/app", "--allow", "npm,npx,node"],
 *       "cwd": "${HOME}/src/app",
 *       "env": { "CI": "1" }
 *     }
 *   }
 * }
 * ```
 *
 * From code, `commandRunnerServer(...)` in `flows/servers/commandRunner.ts` builds this config
 * with absolute paths.
 *
 * A bad configuration is reported on stderr with exit code 2. The server ends when its stdin
 * closes (the client went away) or on SIGTERM/SIGINT; running commands' process groups are
 * killed first.
 *
 * @example
 * ```ts
 * // npx mcpflow-command-runner --help
 * ```
 * @module
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { ConfigError, parseOptions, resolveConfig, USAGE } from "./Config.ts"
import { makeCommandRunnerServer } from "./Server.ts"

const argv = process.argv.slice(2)
if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(USAGE)
  process.exit(0)
}

let runner: ReturnType<typeof makeCommandRunnerServer>
try {
  runner = makeCommandRunnerServer(resolveConfig(parseOptions(argv, process.env)))
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`command runner: ${error.message}\n`)
  process.exit(2)
}

let stopping = false
const stop = (code: number) => {
  if (stopping) return
  stopping = true
  runner.killAll()
  void runner.server.close().catch(() => {}).finally(() => process.exit(code))
}

process.on("exit", () => {
  runner.killAll()
  runner.dispose()
})
process.on("SIGTERM", () => stop(143))
process.on("SIGINT", () => stop(130))
process.stdin.on("end", () => stop(0))
process.stdin.on("close", () => stop(0))

await runner.server.connect(new StdioServerTransport())
