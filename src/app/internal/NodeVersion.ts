/**
 * The Node.js version mcpflow needs, checked before anything that needs it is imported (the
 * durable engine's `node:sqlite`, `@effect/platform-node`). Kept free of imports so the check
 * itself loads on any Node that runs ES modules.
 *
 * @example
 * ```ts
 * import { unsupportedNode } from "./NodeVersion.ts"
 * const problem = unsupportedNode(process.versions.node, "npx -p node@24 mcpflow --help")
 * if (problem !== undefined) { console.error(problem); process.exitCode = 2 }
 * ```
 * @module
 */

/**
 * The oldest Node.js mcpflow runs on, as `[major, minor]` (package.json `engines.node`).
 *
 * @example
 * ```ts
 * requiredNode // => [22, 19]
 * ```
 */
export const requiredNode: readonly [number, number] = [22, 19]

/**
 * Whether a Node.js version (`process.versions.node`, e.g. `"20.20.2"`) is at least
 * {@link requiredNode}.
 *
 * @example
 * ```ts
 * isSupportedNode("24.21.0") // => true
 * isSupportedNode("22.18.1") // => false
 * ```
 */
export const isSupportedNode = (version: string): boolean => {
  const [major = 0, minor = 0] = version.split(".").map(Number)
  return major > requiredNode[0] || (major === requiredNode[0] && minor >= requiredNode[1])
}

/**
 * One line saying which Node.js is needed, which one this is, and how to run `command` with a
 * newer one — or `undefined` when `version` is recent enough.
 *
 * @example
 * ```ts
 * unsupportedNode("20.20.2", "npx -p node@24 mcpflow --help")
 * // => "mcpflow needs Node.js >= 22.19, this is Node.js 20.20.2: install a newer Node.js, or run `npx -p node@24 mcpflow --help`"
 * unsupportedNode("24.21.0", "…") // => undefined
 * ```
 */
export const unsupportedNode = (version: string, command: string): string | undefined =>
  isSupportedNode(version)
    ? undefined
    : `mcpflow needs Node.js >= ${requiredNode.join(".")}, this is Node.js ${version}: install a newer Node.js, or run \`${command}\``
