/**
 * Runs one benchmark case in a fresh Node process, so that its wall time and peak RSS are its
 * own, and returns the JSON object it prints last.
 *
 * The child runs the TypeScript sources with Node's own type transform, not tsx's loader (which
 * `npm run bench` uses): tsx compiles with esbuild's `keepNames`, which wraps every function
 * expression in a `__name(fn, "…")` call that redefines its `name` each time the closure is
 * created. On a hot path that makes closures several times dearer than in the compiled package
 * (tsc output has no such call): a step measured 8–20 µs under tsx and 1.6–5.9 µs under Node's
 * transform in the same minutes (2026-12-05, load ≈ 14), so figures under tsx are not the
 * package's.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

/** Node's flags to run `.ts` files the way the package's compiled JS runs (types removed, nothing added). */
export const nodeTypeScript: ReadonlyArray<string> = ["--experimental-transform-types", "--no-warnings"]

/** Runs `file` (relative to this folder) with `args` in a child process; resolves its last JSON line. */
export const runChild = <A>(
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly nodeFlags?: ReadonlyArray<string> } = {}
): Promise<A> =>
  new Promise((resolve, reject) => {
    const path = fileURLToPath(new URL(file, import.meta.url))
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...nodeTypeScript, path, ...args], {
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
