/**
 * `npm run bench -- routing`: batch throughput against single calls for 10 000 calls (see
 * `batch.ts`, also `npm run bench -- batch`), then a call through a 3-replica group against a
 * direct call (see `routingCalls.ts`), whose JSON line is the last. Each runs in a process of its
 * own that runs the sources the way the compiled package runs (Node's type transform, not tsx:
 * see `interpreter/child.ts`).
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { nodeTypeScript } from "./interpreter/child.ts"

const runChild = (file: string) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeTypeScript, fileURLToPath(new URL(file, import.meta.url))], { stdio: "inherit" })
    child.on("error", reject)
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}`))))
  })

console.log("batching: 10 000 calls collected into batch calls of 100, against the same calls one by one")
await runChild("batch.ts")
console.log("replica group: a call through a 3-replica group against a direct call")
await runChild("routingCalls.ts")
