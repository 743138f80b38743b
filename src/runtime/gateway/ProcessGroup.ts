/**
 * The process group of one stdio server (POSIX): the server is started as the leader of a group
 * of its own, so that ending the group also ends whatever the server started. A group is ended
 * when its connection closes or its leader exits (SIGTERM to the group, SIGKILL after a grace),
 * SIGKILLed when this process exits while it still runs, and watched by a tiny `sh` watchdog that
 * ends it when this process dies without any cleanup (SIGKILL, a crash): the watchdog's stdin is
 * a pipe only this process holds, so it reads end-of-file exactly then.
 *
 * @example
 * ```ts
 * const child = spawn("server", [], { detached: true, stdio: "pipe" })
 * const group = ProcessGroup.guard(child.pid!)
 * await group.end(2_000) // SIGTERM to the group, SIGKILL to what is left after 2 s
 * ```
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"

/** How often {@link ProcessGroup.end} looks whether the group is empty… */
const POLL_MS = 25
/** …and, on Linux, every how many looks it also checks that what is left is not only zombies. */
const SCAN_EVERY = 6

/**
 * Run by `/bin/sh` with the group id as `$1`: waits for end-of-file on stdin (this process
 * died), then SIGTERMs the group and SIGKILLs it 2 s later. `kill -TERM -PGID` (no `--`) is the
 * form dash, bash and busybox all accept.
 */
const WATCHDOG_SCRIPT = `read -r _; kill -TERM -"$1" 2>/dev/null && sleep 2 && kill -KILL -"$1" 2>/dev/null`

/**
 * Sends `signal` to every process of the group `pgid`; `0` only checks that one exists.
 *
 * @example
 * ```ts
 * killGroup(pgid, "SIGKILL") // => false when nothing is left in the group
 * ```
 */
export const killGroup = (pgid: number, signal: NodeJS.Signals | 0): boolean => {
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false // ESRCH: nothing left in the group
  }
}

/**
 * Whether the group still has a process that is not a zombie. An orphan that exited stays a
 * zombie (still a member) until init reaps it, which some inits do late and a Node process that
 * is PID 1 never does; on Linux a scan of `/proc` tells them apart (elsewhere, and when `/proc`
 * cannot be read, any member counts).
 */
const hasLiveMembers = (pgid: number): boolean => {
  if (!killGroup(pgid, 0)) return false
  if (process.platform !== "linux") return true
  try {
    for (const entry of readdirSync("/proc")) {
      if (entry.charCodeAt(0) > 57) continue // not a pid
      let stat: string
      try {
        stat = readFileSync(`/proc/${entry}/stat`, "latin1")
      } catch {
        continue // exited meanwhile
      }
      // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ", 3)
      if (Number(pgrp) === pgid && state !== "Z" && state !== "X") return true
    }
    return false
  } catch {
    return true
  }
}

/** The groups still running, SIGKILLed (and their watchdogs too) if this process exits first. */
const running = new Set<ProcessGroup>()
let exitHookInstalled = false
const killAllOnExit = (): void => {
  for (const group of running) group.killNow()
}

/**
 * One server's process group (see the module doc).
 *
 * @example
 * ```ts
 * const group = ProcessGroup.guard(child.pid!)
 * child.on("exit", () => void group.end(2_000))
 * ```
 */
export class ProcessGroup {
  #ended: Promise<void> | undefined
  readonly #watchdog: ChildProcess | undefined

  private constructor(
    readonly pgid: number,
    watchdog: boolean
  ) {
    this.#watchdog = watchdog ? startWatchdog(pgid) : undefined
  }

  /**
   * Guards the group led by `pgid` (a process started with `detached: true`): registers it to be
   * killed when this process exits and, unless `watchdog` is false, starts its watchdog.
   *
   * @example
   * ```ts
   * const group = ProcessGroup.guard(child.pid!)
   * ```
   */
  static guard(pgid: number, options?: { readonly watchdog?: boolean }): ProcessGroup {
    const group = new ProcessGroup(pgid, options?.watchdog ?? true)
    running.add(group)
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.on("exit", killAllOnExit)
    }
    return group
  }

  /**
   * Ends the group: SIGTERM to every member, then SIGKILL to any left after `graceMs`. Resolves
   * once the group is empty or has been SIGKILLed; calling it again returns the same promise.
   *
   * @example
   * ```ts
   * await group.end(2_000)
   * ```
   */
  end(graceMs: number): Promise<void> {
    this.#ended ??= (async () => {
      if (killGroup(this.pgid, "SIGTERM")) {
        const deadline = Date.now() + graceMs
        for (let looks = 1; Date.now() < deadline; looks++) {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS))
          if (looks % SCAN_EVERY === 0 ? !hasLiveMembers(this.pgid) : !killGroup(this.pgid, 0)) break
        }
        killGroup(this.pgid, "SIGKILL")
      }
      this.#release()
    })()
    return this.#ended
  }

  /**
   * SIGKILLs the group and its watchdog at once (synchronous: usable in an `exit` handler).
   *
   * @example
   * ```ts
   * process.on("exit", () => group.killNow())
   * ```
   */
  killNow(): void {
    this.#release()
    killGroup(this.pgid, "SIGKILL")
  }

  /** Stops the watchdog (first: it must never signal a group id that is no longer this server's). */
  #release(): void {
    running.delete(this)
    const watchdog = this.#watchdog
    if (watchdog?.pid !== undefined && watchdog.exitCode === null && watchdog.signalCode === null) {
      try {
        watchdog.kill("SIGKILL")
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Starts the watchdog of `pgid` in a session of its own (a Ctrl-C meant for mcpflow does not
 * reach it), not holding this process's event loop open. A watchdog that cannot start leaves the
 * group guarded by everything else.
 */
const startWatchdog = (pgid: number): ChildProcess | undefined => {
  try {
    const watchdog = spawn("/bin/sh", ["-c", WATCHDOG_SCRIPT, "mcpflow-watchdog", String(pgid)], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true
    })
    watchdog.on("error", () => {})
    watchdog.stdin?.on("error", () => {})
    watchdog.unref()
    return watchdog
  } catch {
    return undefined
  }
}
