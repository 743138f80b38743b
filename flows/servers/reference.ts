/**
 * The MCP reference servers published on npm, started over stdio with the running Node binary
 * (no `npx`, no network), and their contracts (`dsl/contracts/reference.ts`, published as
 * `mcpflow/contracts`), re-exported here:
 *
 * - `memory` — `@modelcontextprotocol/server-memory`: a knowledge graph kept in a JSONL file.
 * - `filesystem` — `@modelcontextprotocol/server-filesystem`: file access below allowed directories.
 * - `everything` — `@modelcontextprotocol/server-everything`: the MCP feature showcase.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
 * import { Everything, Filesystem, referenceServers } from "./reference.ts"
 *
 * const program = Effect.gen(function*() {
 *   yield* Filesystem.write_file({ path: "/tmp/work/a.txt", content: "hi" })
 *   const { content } = yield* Filesystem.read_text_file({ path: "/tmp/work/a.txt" })
 *   return yield* Everything.echo({ message: content }) // => "Echo: hi"
 * })
 * program.pipe(
 *   Effect.provide(GatewayLayer.layer({ servers: referenceServers({ memoryFile: "/tmp/work/memory.jsonl", allowedDir: "/tmp/work" }) }))
 * )
 * ```
 * @module
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { Redacted } from "effect"
import type { GatewayConfig, ServerLimits } from "../../src/runtime/gateway/ServerConfig.ts"

export * from "../../dsl/contracts/reference.ts"

// ---------------------------------------------------------------------------------------------
// starting the servers
// ---------------------------------------------------------------------------------------------

/**
 * The npm package behind each reference server key.
 *
 * @example
 * ```ts
 * referencePackages.memory // => "@modelcontextprotocol/server-memory"
 * ```
 */
export const referencePackages = {
  memory: "@modelcontextprotocol/server-memory",
  filesystem: "@modelcontextprotocol/server-filesystem",
  everything: "@modelcontextprotocol/server-everything"
} as const

const requireHere = createRequire(import.meta.url)

/**
 * The absolute path of a reference server's entry file, read from its package's `bin` field.
 * Throws when the package is not installed (they are dev dependencies of mcpflow).
 *
 * @example
 * ```ts
 * referenceServerEntry("everything") // => "/…/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
 * ```
 */
export const referenceServerEntry = (server: keyof typeof referencePackages): string => {
  const pkg = referencePackages[server]
  let manifestPath: string
  try {
    manifestPath = requireHere.resolve(`${pkg}/package.json`)
  } catch (cause) {
    throw new Error(`the MCP reference server '${server}' needs the npm package ${pkg} (npm i -D ${pkg})`, { cause })
  }
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { readonly bin?: string | Record<string, string> }
  const bin = typeof manifest.bin === "string" ? manifest.bin : Object.values(manifest.bin ?? {})[0]
  if (bin === undefined) throw new Error(`${pkg}/package.json has no "bin" entry`)
  return path.resolve(path.dirname(manifestPath), bin)
}

/**
 * What {@link referenceServers} takes.
 *
 * @example
 * ```ts
 * const options: ReferenceServerOptions = { memoryFile: "/tmp/work/memory.jsonl", allowedDir: "/tmp/work", limits: { connectTimeoutMs: 10_000 } }
 * ```
 */
export interface ReferenceServerOptions {
  /** The memory server's JSONL file (`MEMORY_FILE_PATH`); created on the first write. */
  readonly memoryFile: string
  /** The one directory the filesystem server may touch. */
  readonly allowedDir: string
  /** Timeouts applied to all three servers. */
  readonly limits?: ServerLimits | undefined
}

/**
 * Gateway config entries for the three reference servers, under the keys their contracts use
 * (`memory`, `filesystem`, `everything`). Each is a stdio server run by this process's own Node
 * binary (`process.execPath`) from the package's entry file — no `npx`, no network, no wrapper
 * process, so `gateway.status` reports the server's own pid.
 *
 * @example
 * ```ts
 * const Gateway = GatewayLayer.layer({
 *   servers: referenceServers({ memoryFile: "/tmp/work/memory.jsonl", allowedDir: "/tmp/work" })
 * })
 * Everything.echo({ message: "hi" }).pipe(Effect.provide(Gateway))
 * ```
 */
export const referenceServers = (options: ReferenceServerOptions): GatewayConfig["servers"] => ({
  memory: {
    type: "stdio",
    command: process.execPath,
    args: [referenceServerEntry("memory")],
    env: { MEMORY_FILE_PATH: Redacted.make(options.memoryFile) },
    ...options.limits
  },
  filesystem: {
    type: "stdio",
    command: process.execPath,
    args: [referenceServerEntry("filesystem"), options.allowedDir],
    env: {},
    ...options.limits
  },
  everything: {
    type: "stdio",
    command: process.execPath,
    args: [referenceServerEntry("everything"), "stdio"],
    env: {},
    ...options.limits
  }
})
