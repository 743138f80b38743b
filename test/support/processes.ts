/**
 * Child processes for multi-process tests: spawned with Node's type transform (`tsNode.ts`), their output kept,
 * awaited for a line, and all killed by `killAll()` (SIGKILL), so a failing test leaves no orphan.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { tsNode } from "./tsNode.ts"

export interface Child {
  readonly process: ChildProcess
  /** stdout and stderr so far. */
  readonly output: () => string
  /** Resolves when a line of output matches, rejects on exit or after `ms`. */
  readonly waitFor: (pattern: RegExp, ms: number) => Promise<void>
  /** Resolves with the exit code (null: killed by a signal). */
  readonly exited: Promise<number | null>
}

export const makeChildren = () => {
  const all: Array<ChildProcess> = []
  const start = (script: string, args: ReadonlyArray<string>, env?: Record<string, string>): Child => {
    const child = spawn(process.execPath, [...tsNode.args, script, ...args], {
      env: { ...process.env, ...tsNode.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    all.push(child)
    let output = ""
    const listeners = new Set<() => void>()
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      for (const listener of listeners) listener()
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    const waitFor = (pattern: RegExp, ms: number) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) {
            cleanup()
            resolve()
          }
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`timed out after ${ms} ms waiting for ${pattern} from ${script}; output:\n${output}`))
        }, ms)
        const onExit = () => {
          cleanup()
          if (!pattern.test(output)) reject(new Error(`${script} exited before ${pattern}; output:\n${output}`))
          else resolve()
        }
        const cleanup = () => {
          clearTimeout(timer)
          listeners.delete(check)
          child.off("exit", onExit)
        }
        listeners.add(check)
        child.on("exit", onExit)
        check()
      })
    return { process: child, output: () => output, waitFor, exited }
  }
  const killAll = () => {
    for (const child of all) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
  const alive = () => all.filter((child) => child.exitCode === null && child.signalCode === null).length
  return { start, killAll, alive }
}
