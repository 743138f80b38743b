/**
 * The compiled `mcpflow` command (`bin/mcpflow.js`; `npm run build` first) in a child process,
 * for end-to-end tests: its output kept, killed with SIGKILL past a deadline (a hung command
 * fails its test instead of the suite), and a limit on how many run at once (each is a Node
 * process, often with servers of its own, on a small and maybe busy machine).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { resolve } from "node:path"

/** The repository's root: the default working directory. */
export const root = resolve(import.meta.dirname, "../..")

/** The command's entry point. */
export const binScript = resolve(root, "bin/mcpflow.js")

/** What a finished command left: exit code (`null`: killed by a signal), output, and how long it took. */
export interface CliRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

export interface CliOptions {
  /** Working directory (default: the repository's root). */
  readonly cwd?: string | undefined
  /** Added to (or, with `undefined`, removed from) this process's environment. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** SIGKILL after this long (default 60 s). */
  readonly killAfterMs?: number | undefined
  /** Called with all of stdout so far, at each chunk. */
  readonly onStdout?: ((all: string) => void) | undefined
  /** Called with all of stderr so far, at each chunk. */
  readonly onStderr?: ((all: string) => void) | undefined
}

/**
 * An environment without colour, CI-style plain output, and none of the exporters a developer's
 * shell may set (OTLP, step summary, metrics, webhook): what most tests want on top of theirs.
 */
export const plainEnv: Readonly<Record<string, string | undefined>> = {
  NO_COLOR: "1",
  CI: "true",
  OTEL_EXPORTER_OTLP_ENDPOINT: "",
  GITHUB_STEP_SUMMARY: "",
  MCPFLOW_METRICS: "",
  MCPFLOW_WEBHOOK_URL: undefined
}

/** Starts `mcpflow ...args`; `done` resolves when it has exited and closed its output. */
export const startCli = (
  args: ReadonlyArray<string>,
  options: CliOptions = {}
): { readonly child: ChildProcess; readonly done: Promise<CliRun> } => {
  const started = Date.now()
  const child = spawn(process.execPath, [binScript, ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    options.onStdout?.(stdout)
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
    options.onStderr?.(stderr)
  })
  const timer = setTimeout(() => child.kill("SIGKILL"), options.killAfterMs ?? 60_000)
  const done = new Promise<CliRun>((resolvePromise, reject) => {
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      resolvePromise({ code, stdout, stderr, ms: Date.now() - started })
    })
  })
  return { child, done }
}

/** Runs `mcpflow ...args` to its end. */
export const runCli = (args: ReadonlyArray<string>, options?: CliOptions): Promise<CliRun> => startCli(args, options).done

/**
 * `f`, but at most `max` calls in flight: the others wait their turn, in order.
 *
 * @example
 * const run = limited(3, (args: ReadonlyArray<string>) => runCli(args))
 */
export const limited = <A extends ReadonlyArray<unknown>, R>(max: number, f: (...args: A) => Promise<R>) => {
  let active = 0
  const waiting: Array<() => void> = []
  return async (...args: A): Promise<R> => {
    if (active >= max) await new Promise<void>((wake) => waiting.push(wake))
    active++
    try {
      return await f(...args)
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}
