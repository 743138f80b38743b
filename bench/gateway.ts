/**
 * `npm run bench -- gateway`: a typed contract call through the gateway against the raw SDK
 * `client.callTool` (see `gatewayCalls.ts`), in a process of its own that runs the sources the
 * way the compiled package runs (Node's type transform, not tsx: see `interpreter/child.ts`).
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { nodeTypeScript } from "./interpreter/child.ts"

await new Promise<void>((resolve, reject) => {
  const child = spawn(process.execPath, [...nodeTypeScript, fileURLToPath(new URL("gatewayCalls.ts", import.meta.url))], {
    stdio: "inherit"
  })
  child.on("error", reject)
  child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`gatewayCalls.ts exited with ${code}`))))
})
