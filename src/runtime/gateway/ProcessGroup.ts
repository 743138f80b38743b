/**
 * The process group of one stdio server (POSIX): the server is started as the leader of a group
 * of its own, so that ending the group also ends whatever the server started. A group is ended
 * when its connection closes or its leader exits (SIGTERM to the group, SIGKILL after a grace),
 * and SIGKILLed when this process exits while it still runs.
 *
 * When this process dies without any cleanup (SIGKILL, a crash), one small `sh` watchdog per
 * process ends the groups still running: it is told each group as it starts and ends (a line
 * on its stdin), and its stdin is a pipe only this process holds, so it reads end-of-file exactly
 * when this process is gone. It runs in a session of its own (a Ctrl-C meant for mcpflow does
 * not reach it) and does not keep this process alive.
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
/** After SIGKILL, how long to wait for the group to be gone (the kernel ends it soon after). */
const KILL_WAIT_MS = 1_000

/**
 * The watchdog, run by `/bin/sh`: keeps the set of running groups from lines `+ PGID` and
 * `- PGID` on stdin (no forks); at end-of-file SIGTERMs each group left and SIGKILLs them 2 s
 * later. `kill -TERM -PGID` (no `--`) is the form dash, bash and busybox all accept.
 */
const WATCHDOG_SCRIPT = `g=" "
while read -r op id; do
  case "$op" in
    +) g="$g$id " ;;
    -) case "$g" in *" $id "*) g="\${g%% $id *} \${g#* $id }" ;; esac ;;
  esac
done
[ "$g" = " " ] && exit 0
for id in $g; do kill -TERM -"$id" 2>/dev/null; done
sleep 2
for id in $g; do kill -KILL -"$id" 2>/dev/null; done`

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

/** The groups still running (SIGKILLed if this process exits first), and their watchdog. */
const running = new Set<number>()
let watchdog: ChildProcess | undefined

let exitHookInstalled = false

const tellWatchdog = (line: string): void => {
  if (watchdog !== undefined && watchdog.exitCode === null && watchdog.signalCode === null) {
    watchdog.stdin?.write(line)
    return
  }
  if (running.size === 0) return
  // The first watchdog, or one that died: it learns every group running now.
  watchdog = startWatchdog()
  for (const pgid of running) watchdog?.stdin?.write(`+ ${pgid}\n`)
}

const startWatchdog = (): ChildProcess | undefined => {
  try {
    const child = spawn("/bin/sh", ["-c", WATCHDOG_SCRIPT, "mcpflow-watchdog"], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true
    })
    child.on("error", () => {})
    child.stdin?.on("error", () => {})
    child.unref()
    ;(child.stdin as { unref?: () => void } | null)?.unref?.()
    return child
  } catch {
    return undefined // the groups stay guarded by everything else
  }
}

const killAllOnExit = (): void => {
  // The watchdog first: it must never signal a group id that is no longer a server's.
  watchdog?.kill("SIGKILL")
  for (const pgid of running) killGroup(pgid, "SIGKILL")
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

  private constructor(readonly pgid: number) {}

  /**
   * Guards the group led by `pgid` (a process started with `detached: true`): it is SIGKILLed
   * if this process exits first, and ended by the watchdog if this process dies.
   *
   * @example
   * ```ts
   * const group = ProcessGroup.guard(child.pid!)
   * ```
   */
  static guard(pgid: number): ProcessGroup {
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.on("exit", killAllOnExit)
    }
    running.add(pgid)
    tellWatchdog(`+ ${pgid}\n`)
    return new ProcessGroup(pgid)
  }

  /**
   * Ends the group: SIGTERM to every member, then SIGKILL to any left after `graceMs`. Resolves
   * once the group is empty (or, at worst, 1 s after the SIGKILL); calling it again returns the
   * same promise.
   *
   * @example
   * ```ts
   * await group.end(2_000)
   * ```
   */
  end(graceMs: number): Promise<void> {
    this.#ended ??= (async () => {
      if (killGroup(this.pgid, "SIGTERM") && !(await this.#emptyWithin(graceMs))) {
        killGroup(this.pgid, "SIGKILL")
        await this.#emptyWithin(KILL_WAIT_MS)
      }
      this.#release()
    })()
    return this.#ended
  }

  /** Polls until the group has no live member (true), for at most `ms` (false). */
  async #emptyWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms
    for (let looks = 1; Date.now() < deadline; looks++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      if (looks % SCAN_EVERY === 0 ? !hasLiveMembers(this.pgid) : !killGroup(this.pgid, 0)) return true
    }
    return !hasLiveMembers(this.pgid)
  }

  #release(): void {
    running.delete(this.pgid)
    tellWatchdog(`- ${this.pgid}\n`)
  }
}
