/**
 * The audit log in process: the SQLite store is append-only (UPDATE and DELETE refused by
 * SQLite, retention deletes only older entries and says so), a flow run through AuditTrail
 * records its decisions and tool calls with Schema.Redacted fields as <redacted> (also masked in
 * an error that echoes them), and `mcpflow audit` prints them.
 */
import { DatabaseSync } from "node:sqlite"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Console, Effect, Layer, Option, Redacted, Schema } from "effect"
import * as FakeServer from "../../chaos/FakeServer.ts"
import { Tool } from "../../dsl/index.ts"
import { Flow, step } from "../../dsl/flow/index.ts"
import * as FlowEngine from "../../dsl/ports/FlowEngine.ts"
import * as AuditTrail from "../../src/runtime/audit/AuditTrail.ts"
import * as SqliteAuditLog from "../../src/runtime/audit/SqliteAuditLog.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { audit } from "../../src/app/cli/commands/internal/audit.ts"
import { RunJournal } from "../../dsl/ports/RunJournal.ts"
import { layer as journalLayer } from "../../src/runtime/engine/SqliteRunJournal.ts"

const planted = "pw-PLANTED-audit-51c0e2"

describe("SqliteAuditLog", () => {
  it("is append-only: UPDATE and DELETE are refused; retention deletes only older entries and records it", () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpflow-audit-"))
    try {
      const file = join(dir, "runs.db")
      const { close, service } = SqliteAuditLog.open(file)
      service.appendUnsafe({ at: 1_000, runId: "r1", action: "run.started", target: "f", actor: "ana", outcome: "ok" })
      service.appendUnsafe({ at: 5_000, runId: "r1", step: "a", action: "tool.call", target: "s.t", actor: "ana", outcome: "ok", args: { x: 1 } })
      const raw = new DatabaseSync(file)
      assert.throws(() => raw.exec("UPDATE mcpflow_audit SET actor = 'eve'"), /append-only/)
      assert.throws(() => raw.exec("DELETE FROM mcpflow_audit"), /append-only/)
      raw.close()
      assert.strictEqual(Effect.runSync(service.prune(2_000, "ops")), 1)
      const left = Effect.runSync(service.entries())
      assert.deepStrictEqual(left.map((e) => [e.action, e.actor]), [["tool.call", "ana"], ["audit.pruned", "ops"]])
      assert.deepStrictEqual(left[0]?.args, { x: 1 })
      assert.deepStrictEqual(Effect.runSync(service.entries({ runId: "r1", limit: 1 })).map((e) => e.at), [5_000])
      assert.deepStrictEqual(Effect.runSync(service.runIds("r")), ["r1"])
      close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

const Vault = Tool.server("vault", {
  login: Tool.define({
    description: "log in",
    input: Schema.Struct({ user: Schema.String, password: Schema.Redacted(Schema.String) }),
    output: Schema.Struct({ id: Schema.String, token: Schema.Redacted(Schema.String) })
  }),
  echo: Tool.define({
    description: "fails echoing its input",
    input: Schema.Struct({ password: Schema.Redacted(Schema.String) }),
    output: Schema.Struct({ ok: Schema.Boolean })
  })
})

const flow = Flow.make({
  name: "vaulted",
  input: Schema.Struct({ password: Schema.Redacted(Schema.String) }),
  output: Schema.Struct({ id: Schema.String }),
  uses: [Vault],
  run: ({ password }) =>
    Effect.gen(function*() {
      const session = yield* step("login", Vault.login({ user: "ana", password }))
      yield* step("echo", Effect.catch(Vault.echo({ password }), () => Effect.succeed({ ok: false })))
      return { id: session.id }
    })
})

const sandbox = Effect.gen(function*() {
  const vault = yield* FakeServer.make("vault", [
    FakeServer.handle(Vault.login, () => Effect.succeed({ id: "s1", token: Redacted.make(`tok-${planted}`) })),
    FakeServer.handle(Vault.echo, ({ password }) => Effect.fail(new FakeServer.ToolRefusal({ text: `bad password ${Redacted.value(password)}` })))
  ])
  return { vault }
})

describe("AuditTrail", () => {
  it.effect("records a run's decisions and calls, redacted, and mcpflow audit prints them", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "mcpflow-audit-"))
      const trail = AuditTrail.layer({ stateDir: dir })
      const result = yield* Flow.run(flow, { password: planted } as never, { runId: "run-audit-1" }).pipe(
        AuditTrail.around,
        Effect.provide(Layer.unwrap(Effect.map(sandbox, (servers) => GatewayLayer.layer({ servers })))),
        Effect.provide(FlowEngine.layerMemory),
        Effect.provide(trail),
        Effect.scoped
      )
      assert.deepStrictEqual(result, { id: "s1" })
      const entries = yield* AuditTrail.runEntries(dir, "run-audit-1")
      const text = JSON.stringify(entries)
      assert.notInclude(text, planted)
      assert.deepStrictEqual(entries.map((e) => [e.action, e.step ?? "", e.target, e.outcome]), [
        ["run.started", "", "vaulted", "ok"],
        ["tool.call", "login", "vault.login", "ok"],
        ["tool.call", "echo", "vault.echo", "ToolFailed"],
        ["run.finished", "", "vaulted", "success"]
      ])
      assert.deepStrictEqual(entries[1]?.args, { user: "ana", password: "<redacted>" })
      assert.deepStrictEqual(entries[1]?.result, { id: "s1", token: "<redacted>" })
      assert.include(entries[2]?.detail ?? "", "bad password <redacted>")
      assert.isTrue(entries.every((e) => e.actor !== ""))

      // the command: JSON and text, with a run id prefix
      const out: Array<string> = []
      const console = { ...globalThis.console, log: (...args: Array<unknown>) => void out.push(args.join(" ")) }
      yield* RunJournal.use(() => Effect.void).pipe(Effect.provide(journalLayer(join(dir, "runs.db"))))
      yield* audit({ json: true, stateDir: dir, run: Option.some("run-au") }).pipe(Effect.provideService(Console.Console, console as never))
      const printed = JSON.parse(out.join("\n")) as Array<{ action: string }>
      assert.strictEqual(printed.length, 4)
      out.length = 0
      yield* audit({ json: false, stateDir: dir }).pipe(Effect.provideService(Console.Console, console as never))
      assert.match(out.join("\n"), /TIME \(UTC\)\s+RUN\s+STEP\s+ACTION/)
      assert.match(out.join("\n"), /run-audi\s+echo\s+tool\.call\s+vault\.echo\s+\S+\s+ToolFailed/)
      assert.notInclude(out.join("\n"), planted)
      rmSync(dir, { recursive: true, force: true })
    }))
})
