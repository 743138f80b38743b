/**
 * The replay command `mcpflow chaos` prints carries everything a replay needs: pasted into a
 * shell as printed, it re-runs the failing case and fails the same way — the same violated
 * invariant, the same trace (plan, faults that fired, calls, step tree), byte for byte. The
 * planted-bug fixture has no default input: a command that dropped `--input` would run on an
 * invalid input and find nothing. Two spawns, one after the other.
 */
import { spawn } from "node:child_process"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const binScript = join(root, "bin/mcpflow.js")
const fixture = "test/chaos/fixtures/orderInput.ts"
const seed = process.env.FC_SEED ?? String(Date.now() % 2 ** 31)
console.log(`[chaos replay e2e] seed ${seed} (replay with FC_SEED=${seed})`)

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command line in a shell (as a user pasting it), `npx mcpflow` being this checkout's CLI. */
const shell = (line: string): Promise<Run> =>
  new Promise((resolvePromise, reject) => {
    const command = line.replace(/^npx mcpflow /, `'${process.execPath}' '${binScript}' `)
    const child = spawn("sh", ["-c", command], { cwd: root, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolvePromise({ code, stdout, stderr })
    })
  })

/** The run's trace as both outputs print it: from its plan to its step tree. */
const traceIn = (text: string, end: RegExp): string => {
  const from = text.indexOf("plan: seed ")
  const rest = text.slice(from)
  const to = rest.search(end)
  return rest.slice(0, to === -1 ? undefined : to).trimEnd()
}

describe("mcpflow chaos: the printed replay command", () => {
  it("pasted as printed, fails the same way: same invariant, same trace, the same input", async () => {
    const found = await shell(`npx mcpflow chaos ${fixture} --input '{"orderId":"o7","amount":40}' --runs 200 --seed ${seed}`)
    assert.strictEqual(found.code, 1, found.stderr + found.stdout)
    const printed = /^replay: (npx mcpflow chaos .*)$/m.exec(found.stdout)?.[1]
    assert.isDefined(printed, found.stdout)
    assert.include(printed!, `--input '{"orderId":"o7","amount":40}'`)
    const violated = /^violated:\n {2}(.*)$/m.exec(found.stdout)?.[1]
    assert.match(violated ?? "", /^atomic: every order: outcome Failure, net charged 40, /, found.stdout)

    const replayed = await shell(printed!)
    assert.strictEqual(replayed.code, 1, replayed.stderr + replayed.stdout)
    assert.strictEqual(/^violated:\n {2}(.*)$/m.exec(replayed.stdout)?.[1], violated)
    assert.strictEqual(traceIn(replayed.stdout, /\nevents:\n/), traceIn(found.stdout, /\nreplay: /))
    assert.match(replayed.stdout, /t=\d+ms FlowFinished failure/)
  }, 60_000)
})
