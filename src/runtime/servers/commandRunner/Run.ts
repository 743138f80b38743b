/**
 * Running one checked command: `spawn` without a shell, in a process group of its own, with
 * a timeout and an abort signal that end the whole group (SIGTERM, then SIGKILL after a
 * grace period), output capped per stream, and nothing of the group left once it is over.
 * POSIX only (process groups).
 *
 * @example
 * ```ts
 * const outcome = await runProcess(
 *   { file: "/usr/local/bin/node", args: ["-e", "console.log(1)"], cwd: "/repo", env: { PATH: "/usr/bin" }, timeoutMs: 5_000, maxOutputBytes: 65_536, killGraceMs: 500 },
 *   { groups: new ProcessGroups() }
 * )
 * // => { _tag: "Completed", result: { exitCode: 0, signal: null, stdout: "1\n", … } }
 * ```
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process"
import { CappedOutput } from "./Output.ts"

/**
 * What to run, already checked against the rules.
 *
 * @example
 * ```ts
 * const spec: RunSpec = { file: "/usr/bin/git", args: ["status"], cwd: "/repo", env: {}, timeoutMs: 10_000, maxOutputBytes: 65_536, killGraceMs: 1_000 }
 * ```
 */
export interface RunSpec {
  /** The absolute path of the executable. */
  readonly file: string
  /** Passed as argv as they are: no shell sees them. */
  readonly args: ReadonlyArray<string>
  /** The absolute working directory. */
  readonly cwd: string
  /** The whole environment of the process. */
  readonly env: Readonly<Record<string, string>>
  readonly timeoutMs: number
  /** Bytes kept per stream. */
  readonly maxOutputBytes: number
  /** Between SIGTERM and SIGKILL. */
  readonly killGraceMs: number
}

/**
 * The result of a command that ran (whatever its exit code).
 *
 * @example
 * ```ts
 * const r: RunResult = { exitCode: 0, signal: null, stdout: "ok\n", stderr: "", stdoutTruncated: false, stderrTruncated: false, timedOut: false, durationMs: 42, timeoutMs: 60_000 }
 * ```
 */
export interface RunResult {
  /** The exit code, or `null` when a signal ended the process. */
  readonly exitCode: number | null
  /** The signal that ended the process (`SIGTERM`, `SIGKILL`, …), or `null`. */
  readonly signal: string | null
  readonly stdout: string
  readonly stderr: string
  readonly stdoutTruncated: boolean
  readonly stderrTruncated: boolean
  /** The timeout ended the command (its process group was killed). */
  readonly timedOut: boolean
  readonly durationMs: number
  /** The timeout the command ran with. */
  readonly timeoutMs: number
}

/**
 * A command that ran, or one that could not be started (`EACCES`, a vanished executable).
 *
 * @example
 * ```ts
 * if (outcome._tag === "FailedToStart") console.error(outcome.message)
 * ```
 */
export type RunOutcome =
  | { readonly _tag: "Completed"; readonly result: RunResult }
  | { readonly _tag: "FailedToStart"; readonly message: string }

/**
 * Sends a signal to a whole process group; a group that is gone already is fine.
 *
 * @example
 * ```ts
 * killGroup(child.pid!, "SIGKILL")
 * ```
 */
export const killGroup = (pgid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pgid, signal)
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/**
 * The process groups of the commands running now, so that a server shutting down can end
 * them all.
 *
 * @example
 * ```ts
 * const groups = new ProcessGroups()
 * process.on("exit", () => groups.killAll())
 * ```
 */
export class ProcessGroups {
  readonly #groups = new Set<number>()

  add(pgid: number): void {
    this.#groups.add(pgid)
  }

  delete(pgid: number): void {
    this.#groups.delete(pgid)
  }

  /** How many commands are running. */
  get size(): number {
    return this.#groups.size
  }

  /** SIGKILLs every running command's group (synchronous: usable in an `exit` handler). */
  killAll(): void {
    for (const pgid of this.#groups) killGroup(pgid, "SIGKILL")
  }
}

/** After the command exited, how long its streams may stay open (a detached grandchild holding them). */
const STREAM_DRAIN_MS = 1_000

/**
 * Runs one command to its end. `signal` aborting (the call was cancelled) ends its process
 * group like a timeout does; `onOutput` hears the total output bytes so far after each chunk.
 * When the command's main process exits, anything it left running in its group is killed.
 *
 * @example
 * ```ts
 * const controller = new AbortController()
 * const running = runProcess(spec, { groups, signal: controller.signal, onOutput: (bytes) => console.error(bytes) })
 * controller.abort() // SIGTERM to the group, SIGKILL after spec.killGraceMs
 * ```
 */
export const runProcess = (
  spec: RunSpec,
  options: {
    readonly groups: ProcessGroups
    readonly signal?: AbortSignal | undefined
    readonly onOutput?: ((totalBytes: number) => void) | undefined
  }
): Promise<RunOutcome> =>
  new Promise<RunOutcome>((resolve) => {
    const startedAt = performance.now()
    let child: ChildProcess
    try {
      child = spawn(spec.file, [...spec.args], {
        cwd: spec.cwd,
        env: { ...spec.env },
        shell: false,
        // A process group of its own (pgid = pid): a timeout ends the whole tree.
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        windowsHide: true
      })
    } catch (error) {
      resolve({ _tag: "FailedToStart", message: `could not start ${spec.file}: ${String(error)}` })
      return
    }
    const pid = child.pid
    const stdout = new CappedOutput(spec.maxOutputBytes)
    const stderr = new CappedOutput(spec.maxOutputBytes)
    const onData = (out: CappedOutput) => (chunk: Buffer) => {
      out.push(chunk)
      options.onOutput?.(stdout.totalBytes + stderr.totalBytes)
    }
    child.stdout!.on("data", onData(stdout))
    child.stderr!.on("data", onData(stderr))

    let timedOut = false
    let exit: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined
    let timeoutTimer: ReturnType<typeof setTimeout> | undefined
    let graceTimer: ReturnType<typeof setTimeout> | undefined
    let drainTimer: ReturnType<typeof setTimeout> | undefined
    let done = false

    const terminate = () => {
      if (pid === undefined || exit !== undefined || graceTimer !== undefined) return
      killGroup(pid, "SIGTERM")
      graceTimer = setTimeout(() => killGroup(pid, "SIGKILL"), spec.killGraceMs)
    }
    const onAbort = () => terminate()

    const finish = (outcome: RunOutcome) => {
      if (done) return
      done = true
      clearTimeout(timeoutTimer)
      clearTimeout(graceTimer)
      clearTimeout(drainTimer)
      options.signal?.removeEventListener("abort", onAbort)
      if (pid !== undefined) {
        killGroup(pid, "SIGKILL")
        options.groups.delete(pid)
      }
      resolve(outcome)
    }

    const completed = () => {
      finish({
        _tag: "Completed",
        result: {
          exitCode: exit?.code ?? null,
          signal: exit?.signal ?? null,
          stdout: stdout.text(),
          stderr: stderr.text(),
          stdoutTruncated: stdout.truncated,
          stderrTruncated: stderr.truncated,
          timedOut,
          durationMs: Math.round(performance.now() - startedAt),
          timeoutMs: spec.timeoutMs
        }
      })
    }

    child.on("error", (error) => {
      // Before `spawn`: the executable could not be run. Later errors (a failed kill) are moot.
      if (exit === undefined) finish({ _tag: "FailedToStart", message: `could not start ${spec.file}: ${error.message}` })
    })
    child.on("spawn", () => {
      if (pid !== undefined) options.groups.add(pid)
      timeoutTimer = setTimeout(() => {
        timedOut = true
        terminate()
      }, spec.timeoutMs)
      if (options.signal?.aborted) terminate()
      else options.signal?.addEventListener("abort", onAbort, { once: true })
    })
    child.on("exit", (code, signal) => {
      exit = { code, signal }
      clearTimeout(timeoutTimer)
      // Whatever the command left behind in its group goes with it; that also closes the
      // pipes those processes inherited.
      if (pid !== undefined) killGroup(pid, "SIGKILL")
      drainTimer = setTimeout(() => {
        child.stdout?.destroy()
        child.stderr?.destroy()
        completed()
      }, STREAM_DRAIN_MS)
    })
    child.on("close", () => {
      if (exit !== undefined) completed()
    })
  })
