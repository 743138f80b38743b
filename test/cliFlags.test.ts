/**
 * Unit tests of the command line's value parsing (durations, dash values) and of the state
 * directory's creation, without spawning the CLI (the end-to-end cases are in
 * test/e2e/cliEdges.test.ts).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Duration, Result } from "effect"
import { attachDashValues, parseDuration } from "../src/app/cli/Flags.ts"
import { ensureDirectory } from "../src/runtime/engine/StateDir.ts"

describe("parseDuration", () => {
  const millis = (text: string) => Result.map(parseDuration(text), Duration.toMillis)

  it("reads units, plain milliseconds and Effect's form", () => {
    assert.deepStrictEqual(millis("5s"), Result.succeed(5_000))
    assert.deepStrictEqual(millis("1500"), Result.succeed(1_500))
    assert.deepStrictEqual(millis("2 minutes"), Result.succeed(120_000))
  })

  it("refuses zero, negative, infinite and longer than Node's timers", () => {
    for (const text of ["0", "0s", "-5s", "-5", "soon", "1000h", "99999999999999999999999h", "Infinity", "NaN ms"]) {
      assert.isTrue(Result.isFailure(parseDuration(text)), text)
    }
    assert.isTrue(Result.isSuccess(parseDuration("596h")))
  })
})

describe("attachDashValues", () => {
  it("joins a numeric flag and a value starting with a dash", () => {
    assert.deepStrictEqual(attachDashValues(["call", "a.b", "--timeout", "-5s"]), ["call", "a.b", "--timeout=-5s"])
    assert.deepStrictEqual(attachDashValues(["worker", "--poll", "-.5"]), ["worker", "--poll=-.5"])
    assert.deepStrictEqual(attachDashValues(["chaos", "f.ts", "--rate", "-1", "--runs", "-2"]), [
      "chaos",
      "f.ts",
      "--rate=-1",
      "--runs=-2"
    ])
  })

  it("leaves other flags, flag-like next arguments and everything after -- alone", () => {
    assert.deepStrictEqual(attachDashValues(["--json", "-5"]), ["--json", "-5"])
    assert.deepStrictEqual(attachDashValues(["--timeout", "--json"]), ["--timeout", "--json"])
    assert.deepStrictEqual(attachDashValues(["--", "--timeout", "-5s"]), ["--", "--timeout", "-5s"])
    assert.deepStrictEqual(attachDashValues(["--timeout"]), ["--timeout"])
  })
})

describe("ensureDirectory", () => {
  const dir = mkdtempSync(join(tmpdir(), "mcpflow-statedir-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("creates missing parents, and accepts a directory that exists", () => {
    const nested = join(dir, "a", "b", "c")
    assert.isUndefined(ensureDirectory(nested))
    assert.isTrue(statSync(nested).isDirectory())
    assert.isUndefined(ensureDirectory(nested))
  })

  it("a file in the way names it", () => {
    const file = join(dir, "file")
    writeFileSync(file, "x")
    assert.strictEqual(ensureDirectory(file), `cannot create the state directory ${file}: ${file} is a file, not a directory`)
    assert.strictEqual(
      ensureDirectory(join(file, "sub", "deeper")),
      `cannot create the state directory ${join(file, "sub", "deeper")}: ${file} is a file, not a directory`
    )
  })

  it.skipIf(process.platform !== "linux")("procfs refuses at once instead of looping", () => {
    const started = Date.now()
    assert.strictEqual(ensureDirectory("/proc/x/y"), "cannot create the state directory /proc/x/y: /proc does not allow new entries (ENOENT)")
    assert.isBelow(Date.now() - started, 1_000)
  })
})
