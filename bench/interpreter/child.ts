/**
 * Runs one benchmark case in a fresh Node process (same loader, so `.ts` files run), so that
 * its wall time and peak RSS are its own, and returns the JSON object it prints last.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

/** Runs `file` (relative to this folder) with `args` in a child process; resolves its last JSON line. */
export const runChild = <A>(
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly nodeFlags?: ReadonlyArray<string> } = {}
): Promise<A> =>
  new Promise((resolve, reject) => {
    const path = fileURLToPath(new URL(file, import.meta.url))
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...process.execArgv, path, ...args], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk))
    child.on("error", reject)
    child.on("close", (code) => {
      const last = out.trim().split("\n").at(-1) ?? ""
      if (code !== 0) return reject(new Error(`${file} ${args.join(" ")} exited with ${code}: ${out}`))
      try {
        resolve(JSON.parse(last) as A)
      } catch {
        reject(new Error(`${file} ${args.join(" ")} printed no JSON line: ${out}`))
      }
    })
  })

/** The median of `xs`. */
export const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Wall time of `run` in ms. */
export const time = async (run: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  await run()
  return performance.now() - start
}
