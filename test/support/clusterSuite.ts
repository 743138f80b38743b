/**
 * The set-up the multi-process cluster tests share: one Postgres and one temporary folder per
 * test file, the child processes killed and both removed afterwards (even when a test failed),
 * and the side-effect log the fixtures' steps append to (`<runId> <kind> <step> <pid> <at>`).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, beforeAll } from "vitest"
import { startPostgres, type TestPostgres } from "./postgres.ts"
import { makeChildren } from "./processes.ts"

/** Registers the file's `beforeAll`/`afterEach`/`afterAll` (children are killed after each test); `server` and `dir` are set once `beforeAll` ran. */
export const clusterSuite = (prefix: string) => {
  const suite = { server: undefined as unknown as TestPostgres, dir: "", children: makeChildren() }
  beforeAll(async () => {
    suite.server = await startPostgres()
    suite.dir = mkdtempSync(join(tmpdir(), prefix))
  })
  // A test that failed midway leaves its runners up: they must not serve the next test's runs.
  afterEach(() => suite.children.killAll())
  afterAll(async () => {
    suite.children.killAll()
    await suite.server?.stop()
    if (suite.dir !== "") rmSync(suite.dir, { recursive: true, force: true })
  })
  return suite
}

/** One line of a fixture's side-effect log. */
export interface SideEffect {
  readonly runId: string
  readonly kind: string
  readonly step: number
  readonly pid: number
  readonly at: number
}

/** The side-effect log so far (empty before the first line). */
export const readSideEffects = (file: string): Array<SideEffect> =>
  existsSync(file)
    ? readFileSync(file, "utf8").trim().split("\n").filter((l) => l !== "").map((l) => {
      const [runId, kind, step, pid, at] = l.split(" ")
      return { runId: runId!, kind: kind!, step: Number(step), pid: Number(pid), at: Number(at) }
    })
    : []
