/**
 * `npm run bench -- chaos`: chaos runs per second of the bench flow (see `chaosRuns.ts`), in a
 * process of its own that runs the sources the way the compiled package runs (Node's type
 * transform, not tsx: see `interpreter/child.ts`); its worker threads inherit the same loader.
 * `CHAOS_BENCH_LOADER=tsx` runs it through tsx instead (as before), for comparisons.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { nodeTypeScript } from "./interpreter/child.ts"

const loader = process.env.CHAOS_BENCH_LOADER === "tsx" ? ["--import", "tsx"] : nodeTypeScript
await new Promise<void>((resolve, reject) => {
  const child = spawn(process.execPath, [...loader, fileURLToPath(new URL("chaosRuns.ts", import.meta.url))], {
    stdio: "inherit"
  })
  child.on("error", reject)
  child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`chaosRuns.ts exited with ${code}`))))
})
