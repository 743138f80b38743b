/**
 * `generateContracts` against the three reference servers, started for real over stdio: the
 * generated file type-checks, regenerating gives the same bytes, and its contracts round-trip
 * real calls through the gateway.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Effect } from "effect"
import type { Tool } from "../../dsl/index.ts"
import { McpGateway } from "../../dsl/ports/McpGateway.ts"
import { referenceServers } from "../../flows/servers/reference.ts"
import { generateContracts } from "../../src/runtime/contracts/Generate.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

type Group = Readonly<Record<string, Tool.ToolContract>>

describe("contracts generated from the reference servers", () => {
  it("type-check, are byte-stable, and round-trip real calls", { timeout: 60_000 }, async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(root, "test/e2e/.gen-")))
    try {
      const layer = GatewayLayer.layer({
        servers: referenceServers({ memoryFile: path.join(dir, "memory.jsonl"), allowedDir: dir })
      })
      const program = Effect.gen(function*() {
        const gateway = yield* McpGateway
        const listed = yield* Effect.forEach(["memory", "filesystem", "everything"], (key) =>
          gateway.listTools(key).pipe(Effect.map((tools) => ({ key, tools }))))
        const options = { toolImport: path.join(root, "dsl/index.ts") }
        const first = yield* generateContracts(listed, options)
        const again = yield* generateContracts(
          (yield* Effect.forEach(["memory", "filesystem", "everything"], (key) =>
            gateway.listTools(key).pipe(Effect.map((tools) => ({ key, tools }))))),
          options
        )
        assert.strictEqual(again, first, "regenerating unchanged servers gives identical bytes")
        const file = path.join(dir, "reference.ts")
        fs.writeFileSync(file, first)

        const tsc = spawnSync(process.execPath, [
          path.join(root, "node_modules/typescript/bin/tsc"),
          "--ignoreConfig", "--noEmit", "--strict", "--skipLibCheck", "--allowImportingTsExtensions",
          "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2023", "--types", "node", file
        ], { encoding: "utf8" })
        assert.strictEqual(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`)

        const m = (yield* Effect.promise(() => import(pathToFileURL(file).href))) as Record<string, Group>
        const { Everything, Filesystem, Memory } = m as {
          Everything: Group
          Filesystem: Group
          Memory: Group
        }
        assert.deepStrictEqual(yield* gateway.checkContracts([...Object.values(Memory), ...Object.values(Filesystem), ...Object.values(Everything)]), [])

        assert.strictEqual(yield* Everything.echo!({ message: "hi" }), "Echo: hi")
        assert.include(String(yield* Everything.getSum!({ a: 1, b: 2 })), "3")
        const weather = (yield* Everything.getStructuredContent!({ location: "Chicago" })) as { temperature: number }
        assert.isNumber(weather.temperature)

        const target = path.join(dir, "a.txt")
        yield* Filesystem.write_file!({ path: target, content: "one\ntwo" })
        // An explicit undefined in an optional field is omitted (the server rejects null).
        const read = (yield* Filesystem.read_text_file!({ path: target, head: 1, tail: undefined })) as { content: string }
        assert.strictEqual(read.content, "one")

        yield* Memory.create_entities!({ entities: [{ name: "ada", entityType: "person", observations: ["x"] }] })
        const graph = (yield* Memory.read_graph!({})) as { entities: ReadonlyArray<{ name: string }> }
        assert.deepStrictEqual(graph.entities.map((e) => e.name), ["ada"])
      })
      await Effect.runPromise(program.pipe(Effect.provide(layer)))
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
