/**
 * Edge cases of the `mcpflow` command line found by an outside probe (issue 17): a state
 * directory that cannot be created fails fast with one line (it used to spin forever on
 * `/proc/x`); `signal` on a finished run leaves the journal unchanged; a negative or otherwise
 * invalid number or duration is one `error:` line naming the flag and the value (a dash value used
 * to be read as flags; zero, too long and the other ranges are unit-tested in test/cliFlags.test.ts).
 * Each case spawns the compiled CLI (`npm run build` first); all start in
 * `beforeAll`, a few at a time, each test awaits its own.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { DatabaseSync } from "node:sqlite"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type CliRun, limited, runCli } from "../support/cli.ts"
import { RunJournal } from "../../dsl/ports/RunJournal.ts"
import { layer as journalLayer } from "../../src/runtime/engine/SqliteRunJournal.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const flow = join(root, "test/engine/fixtures/approval.ts")
const maxConcurrentRuns = 3
/** A run still going after this long is killed (the state-dir bug spun forever); generous, as the machine may be loaded. */
const killAfterMs = 60_000

type Run = CliRun

/** Runs the CLI in this file's directory, a few at a time. */
const makeRunner = () =>
  limited(maxConcurrentRuns, (args: ReadonlyArray<string>) =>
    runCli(args, { cwd: dir, env: { NO_COLOR: "1", CI: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "" }, killAfterMs }))

const dir = mkdtempSync(join(tmpdir(), "mcpflow-cli-edges-"))
const aFile = join(dir, "a-file")
const readOnly = join(dir, "read-only")
const isRoot = process.getuid?.() === 0
/** A directory this process cannot create: below a read-only directory, or (root may write anywhere) in sysfs. */
const uncreatable = isRoot ? "/sys/mcpflow-state" : join(readOnly, "state")
const finished = join(dir, "finished")
const finishedRunId = "run-finished-1"
const other = join(dir, "other")
const waiting = join(dir, "waiting")
const waitingRunId = "run-waiting-1"

const cases = {
  procfs: ["run", flow, "--state-dir", "/proc/x"],
  fileAsDir: ["run", flow, "--state-dir", aFile],
  belowFile: ["run", flow, "--state-dir", join(aFile, "sub")],
  unwritable: ["run", flow, "--state-dir", uncreatable],
  signalFinished: ["signal", finishedRunId, "approval", "--payload", '{"approvedBy":"ana"}', "--state-dir", finished],
  signalUnknown: ["signal", "no-such-run", "approval", "--state-dir", other],
  signalWaiting: ["signal", waitingRunId, "approval", "--payload", '{"approvedBy":"bo"}', "--state-dir", waiting],
  timeoutSpaced: ["call", "everything.echo", "--timeout", "-5s"],
  timeoutJoined: ["call", "everything.echo", "--timeout=-5s"],
  pollNegative: ["worker", "--poll", "-5"],
  pollNegativeUnit: ["worker", "--poll", "-5s"],
  runsNegative: ["chaos", flow, "--runs", "-5"],
  rateAbove: ["run", flow, "--chaos", "1", "--rate", "2"],
  runsWord: ["chaos", flow, "--runs", "abc"],
  seedFraction: ["chaos", flow, "--seed", "1.5"],
  rateWord: ["run", flow, "--chaos", "1", "--rate", "half"],
  intervalFraction: ["health", "--interval", "2.5"],
  limitZero: ["runs", "--limit", "0"],
  portWord: ["ui", "--port", "http"]
} as const satisfies Record<string, ReadonlyArray<string>>

let runs: Record<keyof typeof cases, Promise<Run>>
const result = (name: keyof typeof cases): Promise<Run> => runs[name]

/** The rows of every mcpflow table of a journal file. */
const rowCounts = (file: string): Record<string, number> => {
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    return Object.fromEntries(
      ["mcpflow_runs", "mcpflow_events", "mcpflow_signals"].map((table) => [
        table,
        Number((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n)
      ])
    )
  } finally {
    db.close()
  }
}

/** A journal with one run in it, `running` or finished. */
const makeJournal = (stateDir: string, runId: string, status: "running" | "succeeded") =>
  Effect.runPromise(
    RunJournal.use((journal) =>
      Effect.gen(function*() {
        yield* journal.start({ runId, flow: "approval", input: {}, fingerprint: "f", startedAt: 1 })
        if (status !== "running") yield* journal.finish({ runId, status, finishedAt: 2 })
      })
    ).pipe(Effect.provide(journalLayer(join(stateDir, "runs.db"))))
  )

const before: Record<string, Record<string, number>> = {}

beforeAll(async () => {
  writeFileSync(aFile, "not a directory\n")
  mkdirSync(readOnly)
  chmodSync(readOnly, 0o555)
  mkdirSync(finished)
  mkdirSync(other)
  mkdirSync(waiting)
  await makeJournal(finished, finishedRunId, "succeeded")
  await makeJournal(other, finishedRunId, "succeeded")
  await makeJournal(waiting, waitingRunId, "running")
  before.finished = rowCounts(join(finished, "runs.db"))
  before.other = rowCounts(join(other, "runs.db"))
  before.waiting = rowCounts(join(waiting, "runs.db"))
  const start = makeRunner()
  runs = Object.fromEntries(Object.entries(cases).map(([name, args]) => [name, start(args)])) as Record<
    keyof typeof cases,
    Promise<Run>
  >
  for (const run of Object.values(runs)) run.catch(() => {})
}, 120_000)

afterAll(async () => {
  if (runs) await Promise.allSettled(Object.values(runs))
  chmodSync(readOnly, 0o755)
  rmSync(dir, { recursive: true, force: true })
}, 120_000)

/** One line on stderr, nothing on stdout, exit 2. */
const assertOneLineUsage = (run: Run) => {
  assert.strictEqual(run.code, 2, run.stderr)
  assert.strictEqual(run.stdout, "")
  assert.strictEqual(run.stderr.trim().split("\n").length, 1, run.stderr)
  assert.notMatch(run.stderr, /^\s+at /m)
}

describe("--state-dir that cannot be created", () => {
  it("a directory in procfs fails at once with one line naming it, exit 2 (it used to spin forever)", async () => {
    const run = await result("procfs")
    assertOneLineUsage(run)
    assert.match(run.stderr, /cannot create the state directory \/proc\/x/)
    assert.isBelow(run.ms, killAfterMs - 10_000)
  })

  it("a file used as the directory, or as its parent: not a directory", async () => {
    for (const run of [await result("fileAsDir"), await result("belowFile")]) {
      assertOneLineUsage(run)
      assert.include(run.stderr, `cannot create the state directory ${aFile}`)
      assert.include(run.stderr, `${aFile} is a file, not a directory`)
    }
  })

  it("a directory this user may not create: permission denied", async () => {
    const run = await result("unwritable")
    assertOneLineUsage(run)
    assert.include(run.stderr, `cannot create the state directory ${uncreatable}`)
    assert.match(run.stderr, /not allowed \((EACCES|EPERM|EROFS)\)/)
  })
}, 120_000)

describe("mcpflow signal", () => {
  it("a finished run: exit 2 and the journal is unchanged", async () => {
    const run = await result("signalFinished")
    assertOneLineUsage(run)
    assert.include(run.stderr, `run ${finishedRunId} already succeeded; nothing waits for approval`)
    assert.deepStrictEqual(rowCounts(join(finished, "runs.db")), before.finished)
    assert.strictEqual(before.finished?.mcpflow_signals, 0)
  })

  it("an unknown run: exit 2, nothing recorded", async () => {
    const run = await result("signalUnknown")
    assertOneLineUsage(run)
    assert.include(run.stderr, "no run with id")
    assert.deepStrictEqual(rowCounts(join(other, "runs.db")), before.other)
  })

  it("a running run: the signal is recorded (one row)", async () => {
    const run = await result("signalWaiting")
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, `signal approval recorded for run ${waitingRunId}`)
    assert.deepStrictEqual(rowCounts(join(waiting, "runs.db")), { ...before.waiting, mcpflow_signals: 1 })
  })
}, 120_000)

describe("numbers and durations", () => {
  /** Exit 2 and exactly one `error:` line naming the flag and the value (then the pointer to --help). */
  const assertInvalid = (run: Run, flag: string, value: string) => {
    assert.strictEqual(run.code, 2, run.stderr)
    assert.strictEqual(run.stdout, "")
    const errors = run.stderr.split("\n").filter((line) => line.startsWith("error:"))
    assert.deepStrictEqual(errors.length, 1, run.stderr)
    assert.include(errors[0], `error: Invalid value for flag --${flag}: "${value}". Expected`)
    assert.notInclude(run.stderr, "Unrecognized flag")
    assert.notInclude(run.stderr, "Missing value")
    assert.isAtMost(run.stderr.trim().split("\n").length, 2, run.stderr)
  }

  it("--timeout -5s and --timeout=-5s name the flag and the value", async () => {
    assertInvalid(await result("timeoutSpaced"), "timeout", "-5s")
    assertInvalid(await result("timeoutJoined"), "timeout", "-5s")
  })

  it("--poll, --runs and --rate out of range are refused the same way", async () => {
    assertInvalid(await result("pollNegative"), "poll", "-5")
    assertInvalid(await result("pollNegativeUnit"), "poll", "-5s")
    assertInvalid(await result("runsNegative"), "runs", "-5")
    assertInvalid(await result("rateAbove"), "rate", "2")
  })

  it("every numeric flag answers a word, a fraction or a value out of range alike: the flag, the value, what it takes", async () => {
    const expectations = [
      ["runsWord", "runs", "abc", "a whole number, at least 1"],
      ["seedFraction", "seed", "1.5", "a whole number"],
      ["rateWord", "rate", "half", "a number in [0, 1], such as 0.1"],
      ["intervalFraction", "interval", "2.5", "whole seconds from 1 to 86400"],
      ["limitZero", "limit", "0", "a whole number, at least 1"],
      ["portWord", "port", "http", "a port from 0 to 65535"]
    ] as const
    for (const [name, flag, value, expected] of expectations) {
      const run = await result(name)
      assertInvalid(run, flag, value)
      assert.include(run.stderr, `Expected: ${expected}`, name)
    }
  })
}, 120_000)
