/**
 * The `mcpflow` command line. Each subcommand is defined in its own module under `commands/`
 * (its flags, from `Flags.ts`, and its help) and listed in {@link subcommands}; its
 * implementation, under `commands/internal/`, is imported only when it runs, so `--help` and
 * `--version` load neither the MCP SDK, nor SQLite, nor the chaos kit. This module runs the
 * root command on Node with the exit codes of `../run/ExitCode.ts` (0 success, 1 a tool, server
 * or flow failed, 2 bad usage, input or config, 130 interrupted).
 *
 * @example
 * ```sh
 * npx mcpflow tools
 * npx mcpflow call everything.echo --args '{"message":"hi"}'
 * npx mcpflow run flows/cicd.ts --json
 * npx mcpflow plan flows/cicd.ts --format mermaid
 * ```
 * @module
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { program } from "./Program.ts"

NodeRuntime.runMain(program)
