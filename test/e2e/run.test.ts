/**
 * End-to-end tests of `mcpflow run` / `mcpflow plan` and of a flow file run directly with tsx
 * (`Flow.main`): each case spawns a real process on the fixture `fixtures/orders.ts` (a saga on
 * an in-process fake server). All spawns start in `beforeAll`, a few at a time; each test
 * awaits its own. Ctrl-C is a real SIGINT sent once the run reports the step that hangs.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { readFile, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const binScript = join(root, "bin/mcpflow.js")
const tsxCli = join(root, "node_modules/tsx/dist/cli.mjs")
const fixture = join(root, "test/e2e/fixtures/orders.ts")
const maxConcurrentRuns = 3

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

interface Spec {
  /** `cli`: `node bin/mcpflow.js …`; `tsx`: `tsx <fixture> …` (the file's own `main`). */
  readonly via: "cli" | "tsx"
  readonly args: ReadonlyArray<string>
  /** Send SIGINT once stdout contains this text. */
  readonly interruptOn?: string
}

const spawnRun = (spec: Spec): Promise<Run> =>
  new Promise((resolvePromise, reject) => {
    const entry = spec.via === "cli" ? [binScript, ...spec.args] : [tsxCli, fixture, ...spec.args]
    const child = spawn(process.execPath, entry, {
      cwd: root,
      env: {
        ...process.env,
        NO_COLOR: "1",
        CI: "true",
        OTEL_EXPORTER_OTLP_ENDPOINT: "",
        // Each run journals in a state directory of its own (runs in one directory are serialised by its lock).
        MCPFLOW_STATE_DIR: mkdtempSync(join(tmpdir(), "mcpflow-e2e-state-"))
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let interrupted = false
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
      if (spec.interruptOn !== undefined && !interrupted && stdout.includes(spec.interruptOn)) {
        interrupted = true
        child.kill("SIGINT")
      }
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), 25_000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ code, signal, stdout, stderr })
    })
  })

const makeRunner = () => {
  let active = 0
  const waiting: Array<() => void> = []
  return async (spec: Spec): Promise<Run> => {
    if (active >= maxConcurrentRuns) await new Promise<void>((wake) => waiting.push(wake))
    active++
    try {
      return await spawnRun(spec)
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}

let dir = ""
const marker = (name: string) => join(dir, `${name}.log`)

const cases = (): Record<string, Spec> => ({
  ok: { via: "cli", args: ["run", fixture, "--input", '{"mode":"ok"}', "--json"] },
  fail: { via: "cli", args: ["run", fixture, "--input", JSON.stringify({ mode: "fail", marker: marker("fail") })] },
  badInput: { via: "cli", args: ["run", fixture, "--input", '{"mode":3}'] },
  usage: { via: "cli", args: ["run", fixture, "--config", ".mcp.json", "--dry-run"] },
  sigint: {
    via: "cli",
    args: ["run", fixture, "--input", JSON.stringify({ mode: "hang", marker: marker("sigint") }), "--json"],
    interruptOn: '"_tag":"StepStarted","path":"pack"'
  },
  plan: { via: "cli", args: ["plan", fixture, "--format", "json"] },
  runHelp: { via: "cli", args: ["run", "--help"] },
  directDryRun: { via: "tsx", args: ["--input", '{"mode":"ok"}', "--dry-run", "-q"] },
  dryRunNotJournaled: { via: "cli", args: ["run", fixture, "--input", '{"mode":"ok"}', "--dry-run", "-q", "--state-dir", join(dir, "dry-state")] },
  directFailJson: { via: "tsx", args: ["--input", '{"mode":"fail"}', "--json"] }
})

let runs: Record<string, Promise<Run>> = {}
let startedAt = 0
const result = (name: string): Promise<Run> => runs[name] ?? Promise.reject(new Error(`no case ${name}`))

interface Line {
  readonly _tag: string
  readonly path?: string
  readonly [key: string]: unknown
}

const jsonLines = (stdout: string): Array<Line> =>
  stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as Line)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcpflow-run-"))
  startedAt = Date.now()
  const run = makeRunner()
  runs = Object.fromEntries(Object.entries(cases()).map(([name, spec]) => [name, run(spec)]))
  for (const r of Object.values(runs)) r.catch(() => {})
})

afterAll(async () => {
  await Promise.allSettled(Object.values(runs))
  if (startedAt) console.info(`run e2e: ${Object.keys(runs).length} runs took ${Date.now() - startedAt} ms`)
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe("mcpflow run", () => {
  it("--json: one event per line on stdout, the RunSummary last; exit 0", async () => {
    const { code, stderr, stdout } = await result("ok")
    assert.strictEqual(code, 0, stderr)
    assert.strictEqual(stderr, "")
    const lines = jsonLines(stdout)
    assert.deepStrictEqual(
      lines.map((l) => `${l._tag}${l.path === undefined ? "" : ` ${l.path}`}`),
      [
        "FlowStarted",
        "StepStarted reserve",
        "StepSucceeded reserve",
        "StepStarted charge",
        "StepSucceeded charge",
        "StepStarted pack",
        "StepSucceeded pack",
        "FlowFinished",
        "RunSummary"
      ]
    )
    const runId = lines[0]?.["runId"]
    assert.isString(runId)
    for (const line of lines) {
      if (line._tag !== "RunSummary") {
        assert.strictEqual(line["runId"], runId)
        assert.isNumber(line["at"])
      }
    }
    assert.deepInclude(lines[0], { flow: "orders", engine: "sqlite", sandbox: true })
    assert.deepInclude(lines.at(-1), {
      outcome: "success",
      sandbox: true,
      steps: { succeeded: 3, failed: 0, skipped: 0, interrupted: 0, compensated: 0 },
      output: { hold: "hold-A-1", payment: "pay-42" }
    })
  })

  it("a failed flow: plain lines and the summary with the failing step and its typed cause; compensations ran; exit 1", async () => {
    const { code, stderr, stdout } = await result("fail")
    assert.strictEqual(code, 1, stderr)
    assert.strictEqual(stdout, "")
    assert.match(stderr, /^mcpflow · orders · run \w{8} · sqlite engine · sandbox/)
    assert.match(stderr, /^✗ charge \d+(?:\.\d)?m?s: McpflowToolError\.ToolFailed: shop\.charge failed: card declined$/m)
    assert.match(stderr, /^⟲ reserve compensated \d+(?:\.\d)?m?s$/m)
    assert.match(stderr, /^✗ orders failed in \d+(?:\.\d)?m?s \(sandbox\)$/m)
    assert.match(stderr, /^ {2}steps: 1 succeeded, 1 failed, 1 compensated · 0 retries · compensations: 1$/m)
    assert.match(stderr, /^ {2}failed step: charge\n {2}cause: McpflowToolError\.ToolFailed: shop\.charge failed: card declined$/m)
    assert.strictEqual(await readFile(marker("fail"), "utf8"), "released hold-A-1\n")
  })

  it("bad input: one line naming the field, nothing ran; exit 2", async () => {
    const { code, stderr, stdout } = await result("badInput")
    assert.strictEqual(code, 2)
    assert.strictEqual(stdout, "")
    assert.match(stderr, /^✗ orders: invalid input at mode: Expected "ok" \| "fail" \| "hang"/)
    assert.strictEqual(stderr.trim().split("\n").length, 1, stderr)
  })

  it("--dry-run journals nothing: no state directory is created; exit 0", async () => {
    const { code, stderr } = await result("dryRunNotJournaled")
    assert.strictEqual(code, 0, stderr)
    assert.include(stderr, "path taken:")
    assert.isFalse(existsSync(join(dir, "dry-state")))
  })

  it("--config with --dry-run is a usage error; exit 2", async () => {
    const { code, stderr, stdout } = await result("usage")
    assert.strictEqual(code, 2)
    assert.strictEqual(stdout, "")
    assert.include(stderr, "--config runs against real servers; it cannot be combined with --dry-run")
  })

  it("Ctrl-C: the run is interrupted, the completed steps' compensations run in reverse order, exit 130", async () => {
    const { code, signal, stderr, stdout } = await result("sigint")
    assert.strictEqual(code, 130, `${signal} ${stderr}`)
    const lines = jsonLines(stdout)
    const tags = lines.map((l) => `${l._tag}${l.path === undefined ? "" : ` ${l.path}`}`)
    assert.deepStrictEqual(tags.slice(tags.indexOf("StepStarted pack")), [
      "StepStarted pack",
      "StepFailed pack",
      "CompensationStarted charge",
      "Compensated charge",
      "CompensationStarted reserve",
      "Compensated reserve",
      "FlowFinished",
      "RunSummary"
    ])
    assert.deepInclude(lines.find((l) => l._tag === "StepFailed"), { interrupted: true })
    assert.deepInclude(lines.at(-1), { outcome: "interrupted", compensations: { ran: 2, failed: 0 } })
    assert.strictEqual(await readFile(marker("sigint"), "utf8"), "refunded pay-42\nreleased hold-A-1\n")
  })
})

describe("mcpflow plan", () => {
  it("--format json: the structure and the tools, without calling any", async () => {
    const { code, stderr, stdout } = await result("plan")
    assert.strictEqual(code, 0, stderr)
    const plan = JSON.parse(stdout) as {
      flow: string
      nodes: Array<{ path: string; kind: string; compensated: boolean; tools: Array<string> }>
      tools: Array<{ name: string }>
    }
    assert.strictEqual(plan.flow, "orders")
    const steps = plan.nodes.filter((n) => !n.path.endsWith("/compensate"))
    assert.deepStrictEqual(steps.map((n) => [n.path, n.compensated, n.tools]), [
      ["reserve", true, ["shop.reserve"]],
      ["charge", true, ["shop.charge"]],
      ["pack", false, []]
    ])
    assert.deepStrictEqual(plan.tools.map((t) => t.name), ["shop.reserve", "shop.charge"])
  })

  it("run --help lists every flag", async () => {
    const { code, stderr, stdout } = await result("runHelp")
    assert.strictEqual(code, 0, stderr)
    assert.include(stdout, "mcpflow run [flags] <file>")
    for (const flag of ["--input", "--config", "--sandbox", "--dry-run", "--json", "--quiet, -q", "--verbose", "--otlp"]) {
      assert.include(stdout, flag)
    }
  })
})

describe("a flow file run directly (Flow.main)", () => {
  it("--dry-run -q: the path taken and the summary on stderr, the result on stdout; exit 0", async () => {
    const { code, stderr, stdout } = await result("directDryRun")
    assert.strictEqual(code, 0, stderr)
    assert.deepStrictEqual(JSON.parse(stdout), { hold: "hold-A-1", payment: "pay-42" })
    assert.match(
      stderr,
      /^\npath taken:\n {2}✓ reserve\n {2}✓ charge\n {2}✓ pack\n\n✓ orders succeeded in \d+(?:\.\d)?m?s \(sandbox\)\n {2}steps: 3 succeeded · 0 retries · compensations: 0\n$/
    )
  })

  it("--json on a failure: JSON lines only, exit 1", async () => {
    const { code, stderr, stdout } = await result("directFailJson")
    assert.strictEqual(code, 1, stderr)
    assert.strictEqual(stderr, "")
    const summary = jsonLines(stdout).at(-1)
    assert.deepInclude(summary, {
      _tag: "RunSummary",
      outcome: "failure",
      failedStep: "charge",
      errorTag: "McpflowToolError.ToolFailed",
      error: "shop.charge failed: card declined"
    })
  })
})
