/**
 * How tests start a TypeScript fixture in a child process: Node's own type transform (the way
 * `bench/` runs the sources) with Node's on-disk compile cache, instead of `--import tsx`. A
 * fixture that loads the cluster engine starts with ≈ 1.6 s of CPU instead of ≈ 2.7 s (tsx's
 * loader hooks resolve every module on a thread of their own; its cache keeps the transform, not
 * the compiled code), and the multi-process tests start dozens of such children.
 *
 * @example
 * ```ts
 * spawn(process.execPath, [...tsNode.args, fixture], { env: { ...process.env, ...tsNode.env } })
 * ```
 */
import { tmpdir } from "node:os"
import { join } from "node:path"
import { nodeTypeScript } from "../../bench/interpreter/child.ts"

export const tsNode = {
  args: nodeTypeScript,
  env: { NODE_COMPILE_CACHE: join(tmpdir(), "mcpflow-test-compile-cache") } as Record<string, string>
}
