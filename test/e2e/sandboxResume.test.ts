/**
 * A sandbox run's fake-server state survives a real crash: `flows/cicd.ts` on its built-in
 * sandbox is SIGKILLed once its live report shows the image build completed, then
 * `mcpflow resume <runId>` finishes it — the resumed image tests find the image the killed
 * process built (saved with the run in `<stateDir>/sandbox/<runId>.json`), where they used to fail
 * `ReleaseBlocked: the tests failed (exit 125)`.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "vitest"
import * as FakeState from "../../chaos/FakeState.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const binScript = join(root, "bin/mcpflow.js")
const stateDir = mkdtempSync(join(tmpdir(), "mcpflow-sandbox-resume-"))
afterAll(() => rmSync(stateDir, { recursive: true, force: true }))

const env = { ...process.env, NO_COLOR: "1", CI: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "" }
const buildDone = `"_tag":"StepSucceeded","path":"checks/image/build"`

describe("a sandbox run killed after the image build resumes with the sandbox's state", () => {
  it("SIGKILL after checks/image/build, then mcpflow resume: exit 0, the image tests pass", async () => {
    // `node --import tsx`: one process (the tsx CLI would run the flow in a child that a SIGKILL of the CLI leaves alive).
    const first = spawn(process.execPath, ["--import", "tsx", "flows/cicd.ts", "--json", "--state-dir", stateDir], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    first.stderr.resume()
    const killed = new Promise<NodeJS.Signals | null>((done) => first.on("exit", (_code, signal) => done(signal)))
    first.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk
      if (out.includes(buildDone) && first.exitCode === null) first.kill("SIGKILL")
    })
    const timer = setTimeout(() => first.kill("SIGKILL"), 60_000)
    assert.strictEqual(await killed, "SIGKILL")
    clearTimeout(timer)
    assert.include(out, buildDone, "killed after the build completed")
    assert.notInclude(out, `"_tag":"FlowFinished"`, "killed before the run finished")
    const runId = (JSON.parse(out.split("\n")[0]!) as { runId: string }).runId

    // The state the killed process left: the image it built is in the saved cluster.
    const file = join(stateDir, "sandbox", `${runId}.json`)
    assert.isTrue(existsSync(file), file)
    const saved = FakeState.decode(readFileSync(file, "utf8")) as { cluster: { images: ReadonlyMap<string, unknown>; lastBuilt: string } }
    assert.isTrue(saved.cluster.images.has(saved.cluster.lastBuilt), `the built image ${saved.cluster.lastBuilt} was saved`)

    const resumed = spawn(process.execPath, [binScript, "resume", runId, "--state-dir", stateDir, "--json"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
    let resumedOut = ""
    let resumedErr = ""
    resumed.stdout.setEncoding("utf8").on("data", (chunk: string) => (resumedOut += chunk))
    resumed.stderr.setEncoding("utf8").on("data", (chunk: string) => (resumedErr += chunk))
    const resumeTimer = setTimeout(() => resumed.kill("SIGKILL"), 60_000)
    const code = await new Promise<number | null>((done) => resumed.on("exit", done))
    clearTimeout(resumeTimer)
    assert.strictEqual(code, 0, `${resumedOut}\n${resumedErr}`)
    assert.notInclude(resumedOut, "exit 125")
    assert.include(resumedOut, `"_tag":"StepSucceeded","path":"checks/image/test"`)
  }, 120_000)
})
