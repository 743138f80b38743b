/**
 * Path arguments stay below the root: every argument, every `--flag=value` value and the path
 * part of a bundled short flag (`-C/tmp`) that names a place outside the root — absolute
 * (`/etc/passwd`, `file:///etc`), with `..` (`../x`, `sub/../../x`), through a symlink that
 * points outside (`escape/x`), or home-relative (`~/x`, which npm and git expand) — is refused.
 * Text that is not a path is rarely mistaken for one (only a leading `/` makes it absolute);
 * an awk regex such as `/x/` is. `/dev/null` is allowed.
 *
 * @example
 * ```ts
 * outsidePathArg("/repo", "/repo", ["-name", "*.ts", "../x"]) // => { arg: "../x", path: "/x" }
 * outsidePathArg("/repo", "/repo", ["src/a.ts"])               // => undefined
 * ```
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { canonicalArg } from "./ArgRules.ts"

/** Paths outside the root an argument may name anyway. */
const HARMLESS = new Set(["/dev/null"])

/**
 * Whether `child` is `root` or below it (both absolute and normalized).
 *
 * @example
 * ```ts
 * isWithin("/repo", "/repo/src") // => true
 * ```
 */
export const isWithin = (root: string, child: string): boolean => {
  const rel = path.relative(root, child)
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))
}

/**
 * The real path of `p`, also where it does not exist yet: existing parts are resolved through
 * symlinks, and a dangling symlink through its target (`link -> /outside/new` is a write to
 * `/outside/new`).
 */
const realish = (p: string, depth = 0): string => {
  try {
    return fs.realpathSync(p)
  } catch {
    // Not there (yet), or a dangling link.
  }
  const parent = path.dirname(p)
  if (parent === p) return p
  const dir = realish(parent, depth)
  const here = path.join(dir, path.basename(p))
  try {
    if (depth < 40 && fs.lstatSync(here).isSymbolicLink()) return realish(path.resolve(dir, fs.readlinkSync(here)), depth + 1)
  } catch {
    // Nothing there.
  }
  return here
}

/** The strings in an argument that could be read as paths. */
const candidates = (arg: string): Array<string> => {
  const out = [arg]
  const eq = arg.indexOf("=")
  if (arg.startsWith("-") && eq !== -1) out.push(arg.slice(eq + 1))
  if (/^-[^-]/.test(arg)) {
    // A value glued to a short flag: `-C/tmp`, `-f../x`.
    const at = arg.search(/\/|\.\.|~/)
    if (at > 0) out.push(arg.slice(at))
  }
  // NAME=VALUE (env assignments, git's key=value).
  if (!arg.startsWith("-") && eq > 0) out.push(arg.slice(eq + 1))
  return out
}

/**
 * Where a candidate points outside the root, or `undefined` when it stays inside (or is not a
 * path at all).
 */
const outside = (root: string, cwd: string, candidate: string): string | undefined => {
  let c = candidate
  const fileUrl = /^file:\/\/(localhost)?(\/.*)$/i.exec(c)
  if (fileUrl !== null) c = fileUrl[2]!
  if (/^~[^/]*\//.test(c) || /^~[A-Za-z_]/.test(c)) return c
  if (HARMLESS.has(c)) return undefined
  const resolved = path.resolve(cwd, c)
  if (!isWithin(root, resolved)) return resolved
  const real = realish(resolved)
  return isWithin(root, real) ? undefined : resolved
}

/**
 * The first argument naming a path outside the root, with the path it names (as resolved
 * against `cwd`, not through symlinks: the refusal does not reveal where a link points), or
 * `undefined`. `root` and `cwd` are real absolute paths, `cwd` below `root`; `skip` holds the
 * indices of arguments that are not paths (a sed script). Each argument is also checked in its
 * NFKC form (`．．/x` is `../x` to a program that normalizes).
 *
 * @example
 * ```ts
 * outsidePathArg("/repo", "/repo/sub", ["--output=../../etc/x"]) // => { arg: "--output=../../etc/x", path: "/etc/x" }
 * ```
 */
export const outsidePathArg = (
  root: string,
  cwd: string,
  args: ReadonlyArray<string>,
  skip: ReadonlySet<number> = new Set()
): { readonly arg: string; readonly path: string } | undefined => {
  for (const [index, arg] of args.entries()) {
    if (skip.has(index)) continue
    for (const form of new Set([arg, canonicalArg(arg)])) {
      for (const candidate of candidates(form)) {
        const where = outside(root, cwd, candidate)
        if (where !== undefined) return { arg, path: where }
      }
    }
  }
  return undefined
}
