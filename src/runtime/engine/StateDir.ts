/**
 * Creates a state directory (where the journal lives) one path component at a time, so a path
 * that cannot be created fails at once with what is wrong. Node's `mkdirSync(dir, { recursive:
 * true })` loops forever (and blocks the event loop, so SIGTERM is not handled) on a path whose
 * parent exists but refuses new entries with `ENOENT`, such as `/proc/x`; this walk makes at most
 * one `stat` and one `mkdir` per component.
 *
 * @example
 * ```ts
 * import { ensureDirectory } from "./StateDir.ts"
 *
 * ensureDirectory(".mcpflow") // => undefined (it exists now)
 * ensureDirectory("/proc/x")  // => "cannot create the state directory /proc/x: /proc does not allow new entries (ENOENT)"
 * ```
 * @module
 */
import { mkdirSync, statSync, type Stats } from "node:fs"
import { dirname, resolve } from "node:path"

const codeOf = (thrown: unknown): string =>
  typeof thrown === "object" && thrown !== null && "code" in thrown && typeof thrown.code === "string" ? thrown.code : "unknown error"

/** `dir`'s stat, `undefined` when nothing is there, or the error code of a failed stat. */
const statOf = (dir: string): Stats | undefined | { readonly code: string } => {
  try {
    return statSync(dir)
  } catch (thrown) {
    const code = codeOf(thrown)
    return code === "ENOENT" ? undefined : { code }
  }
}

/** Why `dir` (a component of the path) could not be made, from `mkdir`'s error code. */
const whyNot = (dir: string, code: string): string => {
  switch (code) {
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return `creating ${dir} is not allowed (${code})`
    case "ENOENT":
      return `${dirname(dir)} does not allow new entries (ENOENT)`
    case "ENOTDIR":
      return `${dirname(dir)} is a file, not a directory`
    default:
      return `mkdir ${dir} failed (${code})`
  }
}

/**
 * Makes `stateDir` and its missing parents. Returns `undefined` when the directory exists
 * afterwards, else one line saying which component failed and why (a file in the way, no
 * permission, a file system that takes no new entries). Bounded: one `stat` and at most one
 * `mkdir` per path component, no retries.
 *
 * @example
 * ```ts
 * ensureDirectory("/etc/passwd/state") // => "cannot create the state directory /etc/passwd/state: /etc/passwd is a file, not a directory"
 * ```
 */
export const ensureDirectory = (stateDir: string): string | undefined => {
  const target = resolve(stateDir)
  const chain: Array<string> = []
  for (let dir = target; ; dir = dirname(dir)) {
    chain.unshift(dir)
    if (dirname(dir) === dir) break
  }
  const fail = (why: string) => `cannot create the state directory ${stateDir}: ${why}`
  for (const dir of chain) {
    const found = statOf(dir)
    if (found !== undefined) {
      if ("code" in found) return fail(`cannot read ${dir} (${found.code})`)
      if (!found.isDirectory()) return fail(`${dir} is a file, not a directory`)
      continue
    }
    try {
      mkdirSync(dir)
    } catch (thrown) {
      const code = codeOf(thrown)
      // Another process made it in the meantime: fine if it is a directory now.
      const now = code === "EEXIST" ? statOf(dir) : undefined
      if (now === undefined || "code" in now || !now.isDirectory()) return fail(whyNot(dir, code))
    }
  }
  return undefined
}
