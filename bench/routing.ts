/**
 * `npm run bench -- routing`: a call through a 3-replica group against a direct call
 * (see `routingCalls.ts`), in a process of its own that runs the sources the
 * way the compiled package runs (Node's type transform, not tsx: see `interpreter/child.ts`).
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { nodeTypeScript } from "./interpreter/child.ts"

await new Promise<void>((resolve, reject) => {
  const child = spawn(process.execPath, [...nodeTypeScript, fileURLToPath(new URL("routingCalls.ts", import.meta.url))], {
    stdio: "inherit"
  })
  child.on("error", reject)
  child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`routingCalls.ts exited with ${code}`))))
})
