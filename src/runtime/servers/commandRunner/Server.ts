/**
 * The command runner as an MCP server (SDK `McpServer`): the tools `run_command` and
 * `list_allowed` over a resolved {@link RunnerConfig}. Transport-agnostic: `Bin.ts` connects
 * it to stdio; tests may connect it to anything.
 *
 * @example
 * ```ts
 * import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
 * const runner = makeCommandRunnerServer(resolveConfig(parseOptions(["--root", ".", "--allow", "node"], process.env)))
 * await runner.server.connect(new StdioServerTransport())
 * ```
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { z } from "zod"
import { Bulkhead } from "./Bulkhead.ts"
import { childPath, makeBinDir } from "./ChildPath.ts"
import type { RunnerConfig } from "./Config.ts"
import {
  checkArguments,
  checkCommand,
  effectiveTimeout,
  filterEnv,
  isRefusal,
  refuse,
  type Refusal,
  resolveCwd
} from "./Policy.ts"
import { ProcessGroups, type RunResult, runProcess } from "./Run.ts"

/**
 * The server's name and version in the MCP handshake.
 *
 * @example
 * ```ts
 * SERVER_INFO.name // => "mcpflow-command-runner"
 * ```
 */
export const SERVER_INFO = { name: "mcpflow-command-runner", version: "0.1.0" } as const

const runInput = {
  command: z.string().describe("An allowlisted command name, exactly as `list_allowed` shows it (`npm`, `node`)"),
  args: z.array(z.string()).optional().describe("Arguments, passed as they are: no shell interprets them"),
  cwd: z.string().optional().describe("Working directory relative to the root (default: the root); it cannot leave the root"),
  timeoutMs: z.number().int().positive().optional().describe("Timeout in ms (default and maximum: see `list_allowed`)")
}

const runOutput = {
  exitCode: z.number().int().nullable().describe("The exit code, or null when a signal ended the process"),
  signal: z.string().nullable().describe("The signal that ended the process, or null"),
  stdout: z.string(),
  stderr: z.string(),
  stdoutTruncated: z.boolean().describe("stdout was longer than the output cap; its middle was left out"),
  stderrTruncated: z.boolean().describe("stderr was longer than the output cap; its middle was left out"),
  timedOut: z.boolean().describe("The timeout ended the command and its child processes"),
  durationMs: z.number(),
  timeoutMs: z.number().int().describe("The timeout the command ran with")
} satisfies Record<keyof RunResult, z.ZodType>

const listOutput = {
  root: z.string().describe("The real path of the root directory"),
  commands: z.array(z.object({ name: z.string(), path: z.string() })).describe("Allowed command names and the executables they run"),
  env: z.array(z.string()).describe("Environment variables passed to commands (`PREFIX*` matches a prefix)"),
  defaultTimeoutMs: z.number().int(),
  maxTimeoutMs: z.number().int(),
  maxOutputBytes: z.number().int().describe("Output kept per stream"),
  maxConcurrent: z.number().int().describe("Commands running at once"),
  maxQueue: z.number().int().describe("Calls waiting for a slot; past it a call is refused at once")
}

const refusedResult = (refusal: Refusal): CallToolResult => ({
  isError: true,
  content: [{ type: "text", text: `refused by the ${refusal.rule} rule: ${refusal.message}` }]
})

/**
 * A command runner server and what its owner needs to shut it down cleanly.
 *
 * @example
 * ```ts
 * const runner: CommandRunner = makeCommandRunnerServer(config)
 * process.on("exit", () => runner.killAll())
 * ```
 */
export interface CommandRunner {
  readonly server: McpServer
  /** How many commands are running. */
  readonly running: () => number
  /** SIGKILLs every running command's process group (synchronous). */
  readonly killAll: () => void
  /** Removes the runner's bin directory (synchronous; after `killAll`, at exit). */
  readonly dispose: () => void
}

/**
 * Builds the command runner server for a resolved configuration. `env` is the environment
 * commands' variables are taken from (filtered by `config.envAllow`); the server's own by
 * default.
 *
 * @example
 * ```ts
 * const runner = makeCommandRunnerServer(config)
 * await runner.server.connect(transport)
 * ```
 */
export const makeCommandRunnerServer = (
  config: RunnerConfig,
  env: Readonly<Record<string, string | undefined>> = process.env
): CommandRunner => {
  const groups = new ProcessGroups()
  const bulkhead = new Bulkhead(config.maxConcurrent, config.maxQueue)
  const bin = makeBinDir(config.commands)
  const server = new McpServer({ ...SERVER_INFO }, {
    instructions: `Runs allowlisted commands (${config.commands.map((c) => c.name).join(", ")}) below ${config.root}, ` +
      "without a shell, with a timeout and an output cap. Call list_allowed for the rules."
  })
  const filtered = filterEnv(config.envAllow, env)
  // No relative PATH entries, none inside the root: `#!/usr/bin/env node` must not find a planted node.
  const commandEnv = filtered["PATH"] === undefined ? filtered : { ...filtered, PATH: childPath(filtered["PATH"], config.root, bin.dir) }

  server.registerTool(
    "run_command",
    {
      title: "Run an allowlisted command",
      description: "Run an allowlisted command with arguments (no shell) in a directory below the root. " +
        "Answers its exit code or signal, stdout and stderr (each capped; the middle is left out when too long), " +
        "whether it timed out, and how long it took. The timeout and a cancelled call kill the command's whole process tree.",
      inputSchema: runInput,
      outputSchema: runOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false }
    },
    async ({ args = [], command, cwd, timeoutMs }, extra): Promise<CallToolResult> => {
      const allowed = checkCommand(config, command)
      if (isRefusal(allowed)) return refusedResult(allowed)
      const dir = await resolveCwd(config, cwd)
      if (isRefusal(dir)) return refusedResult(dir)
      const deniedArgs = checkArguments(config, allowed, dir, args)
      if (deniedArgs !== undefined) return refusedResult(deniedArgs)

      const slot = await bulkhead.acquire(extra.signal)
      if (slot === "cancelled") return { isError: true, content: [{ type: "text", text: "cancelled while waiting for a slot" }] }
      if (slot === "full") {
        return refusedResult(refuse(
          "concurrency",
          `${bulkhead.running} commands are running and ${bulkhead.queued} waiting (--max-concurrent ${config.maxConcurrent}, ` +
            `--max-queue ${config.maxQueue}); try again later`
        ))
      }

      const progressToken = extra._meta?.progressToken
      let bytes = 0
      let reported = 0
      const ticker = progressToken === undefined ? undefined : setInterval(() => {
        if (bytes === reported || extra.signal.aborted) return
        reported = bytes
        extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken, progress: bytes, message: `${bytes} bytes of output so far` }
        }).catch(() => {})
      }, config.progressIntervalMs)

      const outcome = await runProcess(
        {
          file: allowed.path,
          args,
          cwd: dir,
          env: commandEnv,
          timeoutMs: effectiveTimeout(config, timeoutMs),
          maxOutputBytes: config.maxOutputBytes,
          killGraceMs: config.killGraceMs
        },
        {
          groups,
          signal: extra.signal,
          onOutput: (total) => {
            bytes = total
          }
        }
      ).finally(() => {
        clearInterval(ticker)
        slot()
      })

      if (outcome._tag === "FailedToStart") return { isError: true, content: [{ type: "text", text: outcome.message }] }
      const result = outcome.result
      return { content: [{ type: "text", text: JSON.stringify(result) }], structuredContent: { ...result } }
    }
  )

  server.registerTool(
    "list_allowed",
    {
      title: "The command runner's rules",
      description: "The allowed commands (and the executables they run), the root, the environment variables passed through, " +
        "the default and maximum timeout and the output cap per stream.",
      inputSchema: {},
      outputSchema: listOutput,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }
    },
    async (): Promise<CallToolResult> => {
      const rules = {
        root: config.root,
        commands: config.commands.map((c) => ({ name: c.name, path: c.path })),
        env: [...config.envAllow],
        defaultTimeoutMs: config.timeoutMs,
        maxTimeoutMs: config.maxTimeoutMs,
        maxOutputBytes: config.maxOutputBytes,
        maxConcurrent: config.maxConcurrent,
        maxQueue: config.maxQueue
      }
      return { content: [{ type: "text", text: JSON.stringify(rules) }], structuredContent: rules }
    }
  )

  return { server, running: () => groups.size, killAll: () => groups.killAll(), dispose: bin.remove }
}
