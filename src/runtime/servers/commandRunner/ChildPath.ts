/**
 * The PATH a command gets. The server's PATH may hold relative entries (`node_modules/.bin`,
 * an empty entry meaning the working directory) and directories inside the root: a
 * `#!/usr/bin/env node` script (npm, npx) would then run a `node` the caller planted there.
 * The child's PATH keeps only absolute directories outside the root that are not
 * world-writable, behind a runner-owned directory of links to the allowlisted executables
 * (so `env node` finds the `node` the operator allowed even when it lives inside the root).
 *
 * @example
 * ```ts
 * childPath("node_modules/.bin:/repo/bin:/usr/bin", "/repo", "/tmp/mcpflow-runner-bin-x")
 * // => "/tmp/mcpflow-runner-bin-x:/usr/bin"
 * ```
 * @module
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { isWithin } from "./PathArgs.ts"

const worldWritable = (dir: string): boolean => {
  try {
    return (fs.statSync(dir).mode & 0o002) !== 0
  } catch {
    return false
  }
}

const realOrSelf = (dir: string): string => {
  try {
    return fs.realpathSync(dir)
  } catch {
    return dir
  }
}

/**
 * Whether a PATH entry may reach a command: absolute, outside `root` as written and as its
 * real path, and not world-writable.
 *
 * @example
 * ```ts
 * safePathEntry("/repo", "node_modules/.bin") // => false
 * ```
 */
export const safePathEntry = (root: string, entry: string): boolean =>
  path.isAbsolute(entry) &&
  !isWithin(root, path.normalize(entry)) &&
  !isWithin(root, realOrSelf(entry)) &&
  !worldWritable(entry)

/**
 * The child's PATH: `binDir` (if any) first, then the safe entries of `value`, each once.
 *
 * @example
 * ```ts
 * childPath(".:/usr/bin::/usr/bin", "/repo") // => "/usr/bin"
 * ```
 */
export const childPath = (value: string, root: string, binDir?: string): string =>
  [...new Set([...(binDir === undefined ? [] : [binDir]), ...value.split(path.delimiter).filter((e) => safePathEntry(root, e))])]
    .join(path.delimiter)

/**
 * Creates the runner's own bin directory (mode 0700, in the system temp directory) with a
 * symlink per allowlisted command whose name is a plain file name, to the executable it was
 * resolved to at start. Answers its path and a synchronous `remove`.
 *
 * @example
 * ```ts
 * const bin = makeBinDir([{ name: "node", path: "/opt/node/bin/node" }])
 * fs.readlinkSync(path.join(bin.dir, "node")) // => "/opt/node/bin/node"
 * bin.remove()
 * ```
 */
export const makeBinDir = (commands: ReadonlyArray<{ readonly name: string; readonly path: string }>): { readonly dir: string; readonly remove: () => void } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mcpflow-runner-bin-"))
  fs.chmodSync(dir, 0o700)
  for (const c of commands) {
    const name = path.basename(c.name)
    if (name === "" || name === "." || name === "..") continue
    try {
      fs.symlinkSync(c.path, path.join(dir, name))
    } catch {
      // Two entries with one basename: the first wins.
    }
  }
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}
