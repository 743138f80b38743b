/**
 * The run journal's format: a journal written before the `output` column (format 2) is migrated
 * in place when opened (its runs kept, with no output), and records outputs from then on; a
 * journal from a newer mcpflow is refused, naming the formats.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { RunJournal } from "../../dsl/ports/RunJournal.ts"
import { journalFormat, layer } from "../../src/runtime/engine/SqliteRunJournal.ts"

const dir = mkdtempSync(join(tmpdir(), "mcpflow-journal-format-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const withJournal = <A, E>(file: string, f: (journal: RunJournal["Service"]) => Effect.Effect<A, E>) =>
  RunJournal.use(f).pipe(Effect.provide(layer(file)))

describe("the run journal's format", () => {
  it.effect("a format-2 journal is migrated: old runs kept without trigger and output, new outputs recorded", () =>
    Effect.gen(function*() {
      assert.strictEqual(journalFormat, 5)
      const file = join(dir, "old.db")
      yield* withJournal(file, (j) =>
        Effect.gen(function*() {
          yield* j.start({ runId: "old-1", flow: "f", input: { a: 1 }, fingerprint: "x", startedAt: 1 })
          yield* j.finish({ runId: "old-1", status: "succeeded", finishedAt: 2 })
        }))
      // Back to what format 2 wrote: no trigger (format 3) and no output (format 4) column.
      const db = new DatabaseSync(file)
      db.exec("ALTER TABLE mcpflow_runs DROP COLUMN output; ALTER TABLE mcpflow_runs DROP COLUMN started_by; UPDATE mcpflow_meta SET value = '2' WHERE key = 'format'")
      db.close()
      const [old, fresh] = yield* withJournal(file, (j) =>
        Effect.gen(function*() {
          const old = yield* j.get("old-1")
          yield* j.start({ runId: "new-1", flow: "f", input: {}, fingerprint: "x", startedAt: 3 })
          yield* j.finish({ runId: "new-1", status: "succeeded", finishedAt: 4, output: { at: "2026-12-05T10:00:00.000Z", token: "mcpflow:sealed:v1:-" } })
          return [old, yield* j.get("new-1")] as const
        }))
      assert.deepStrictEqual([old.status, old.input, old.output], ["succeeded", { a: 1 }, undefined])
      assert.deepStrictEqual(fresh.output, { at: "2026-12-05T10:00:00.000Z", token: "mcpflow:sealed:v1:-" })
      const check = new DatabaseSync(file)
      assert.strictEqual((check.prepare("SELECT value FROM mcpflow_meta WHERE key = 'format'").get() as { value: string }).value, "5")
      check.close()
    }))

  it.effect("a run started again (resume) forgets its old output until it finishes", () =>
    Effect.gen(function*() {
      const record = yield* withJournal(join(dir, "again.db"), (j) =>
        Effect.gen(function*() {
          yield* j.start({ runId: "r", flow: "f", input: {}, fingerprint: "x", startedAt: 1 })
          yield* j.finish({ runId: "r", status: "succeeded", finishedAt: 2, output: 42 })
          yield* j.start({ runId: "r", flow: "f", input: {}, fingerprint: "x", startedAt: 1 })
          return yield* j.get("r")
        }))
      assert.strictEqual(record.status, "running")
      assert.isUndefined(record.output)
    }))

  it.effect("a journal from a newer mcpflow is refused", () =>
    Effect.gen(function*() {
      const file = join(dir, "newer.db")
      yield* withJournal(file, () => Effect.void)
      const db = new DatabaseSync(file)
      db.exec("UPDATE mcpflow_meta SET value = '99' WHERE key = 'format'")
      db.close()
      const error = yield* Effect.flip(withJournal(file, () => Effect.void))
      assert.strictEqual(error.reason, "Incompatible")
      assert.include(error.message, "journal format 99, this version reads ≤ 5")
    }))
})
