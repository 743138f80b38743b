/**
 * Start-up time of the installed command: the median wall time of `mcpflow --version` and
 * `mcpflow --help` as child processes (`bin/mcpflow.js` on this Node: the snapshot fast path,
 * else the compiled CLI in dist/ — run `npm run build` first), with `node -e 0` in the same run,
 * interleaved, as the baseline. Also printed, not in the JSON line: the full CLI's start-up
 * (`MCPFLOW_FULL_CLI=1 mcpflow --version`), which every other command pays. Prints each median
 * and as its last line `{bench, value, unit, baseline, ratio}`, value being the slower of the
 * two commands' medians.
 *
 * `BENCH_RUNS` changes the number of runs of each command (default 15, after one warm-up run).
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"

const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const root = join(import.meta.dirname, "..")
const bin = join(root, "bin/mcpflow.js")

if (!existsSync(join(root, "dist/src/app/cli/Cli.js"))) {
  console.error("bench cli: dist/ is missing; run `npm run build` first")
  process.exit(2)
}

const commands = {
  "node -e 0": ["-e", "0"],
  "mcpflow --version": [bin, "--version"],
  "mcpflow --help": [bin, "--help"],
  "full CLI --version": [bin, "--version"]
} as const

/** Environment per command: the full CLI row skips the snapshot fast path. */
const envOf = (name: Name): NodeJS.ProcessEnv =>
  name === "full CLI --version" ? { ...process.env, MCPFLOW_FULL_CLI: "1" } : process.env

type Name = keyof typeof commands

const time = (name: Name): number => {
  const args = commands[name]
  const started = performance.now()
  const result = spawnSync(process.execPath, args, { cwd: root, env: envOf(name), stdio: ["ignore", "ignore", "pipe"] })
  const ms = performance.now() - started
  if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}: ${result.stderr}`)
  return ms
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const names = Object.keys(commands) as ReadonlyArray<Name>
const samples = Object.fromEntries(names.map((name) => [name, [] as Array<number>])) as Record<Name, Array<number>>
for (const name of names) time(name) // warm-up: file system cache, compile cache
for (let run = 0; run < RUNS; run++) {
  for (const name of names) samples[name].push(time(name))
}

const medians = Object.fromEntries(names.map((name) => [name, median(samples[name])])) as Record<Name, number>
for (const name of names) {
  console.log(`${name.padEnd(19)} median ${medians[name].toFixed(0)} ms (min ${Math.min(...samples[name]).toFixed(0)}, max ${Math.max(...samples[name]).toFixed(0)}, ${RUNS} runs, Node ${process.versions.node})`)
}
const value = Math.max(medians["mcpflow --version"], medians["mcpflow --help"])
const baseline = medians["node -e 0"]
console.log(JSON.stringify({ bench: "cli", value: Math.round(value), unit: "ms", baseline: "node -e 0", ratio: Number((value / baseline).toFixed(2)) }))
