/**
 * The bin's start-up fast path (`src/app/cli/internal/FastPath.ts`): `--version`, `--help` and
 * `<command> --help` come from `dist/help-snapshot.json` without loading Effect, and say exactly
 * what the full CLI says — the snapshot matches a fresh in-process render of the CLI, and the
 * spawned bin prints the same bytes and exit code with and without `MCPFLOW_FULL_CLI=1`.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { canColor, fastOutput, type HelpSnapshot, snapshotKey } from "../../src/app/cli/internal/FastPath.ts"
import { renderHelpSnapshot } from "../../src/app/cli/internal/HelpSnapshot.ts"

const root = resolve(import.meta.dirname, "../..")
const bin = join(root, "bin/mcpflow.js")
const built = (): HelpSnapshot => JSON.parse(readFileSync(join(root, "dist/help-snapshot.json"), "utf8"))

/** A `--import` hook that prints `loaded <url>` to stderr for each module whose URL contains one of `parts`. */
const loadLogger = (...parts: ReadonlyArray<string>) =>
  `data:text/javascript,${
    encodeURIComponent(
      `import { registerHooks } from "node:module"
const parts = ${JSON.stringify(parts)}
registerHooks({ load(url, context, next) { if (parts.some((p) => url.includes(p))) process.stderr.write("loaded " + url + "\\n"); return next(url, context) } })`
    )
  }`

const spawnBin = (args: ReadonlyArray<string>, env: Record<string, string>, hook?: string) => {
  const baseEnv = { ...process.env }
  delete baseEnv["NO_COLOR"]
  delete baseEnv["FORCE_COLOR"]
  delete baseEnv["MCPFLOW_FULL_CLI"]
  const result = spawnSync(process.execPath, [...(hook === undefined ? [] : ["--import", hook]), bin, ...args], {
    cwd: root,
    env: { ...baseEnv, ...env },
    encoding: "utf8",
    timeout: 20_000
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe("fastOutput", () => {
  const snapshot: HelpSnapshot = {
    version: "0.1.0",
    entries: { [snapshotKey(["--version"])]: { plain: "v\n", color: "\u001b[1mv\u001b[0m\n" } }
  }

  it("answers a covered argument list, coloured by effect/cli's rule", () => {
    assert.strictEqual(fastOutput(snapshot, ["--version"], {}, false), "v\n")
    assert.strictEqual(fastOutput(snapshot, ["--version"], {}, true), "\u001b[1mv\u001b[0m\n")
    assert.strictEqual(fastOutput(snapshot, ["--version"], { FORCE_COLOR: "1" }, false), "\u001b[1mv\u001b[0m\n")
    assert.strictEqual(fastOutput(snapshot, ["--version"], { NO_COLOR: "1", FORCE_COLOR: "1" }, true), "v\n")
    assert.strictEqual(fastOutput(snapshot, ["--version"], { TERM: "dumb" }, true), "v\n")
    assert.strictEqual(fastOutput(snapshot, ["--version"], { FORCE_COLOR: "0" }, false), "v\n")
    assert.isTrue(canColor({ FORCE_COLOR: "" }, true))
    assert.isFalse(canColor({ FORCE_COLOR: "false" }, false))
  })

  it("leaves everything else to the full CLI", () => {
    assert.isUndefined(fastOutput(snapshot, ["tools"], {}, false))
    assert.isUndefined(fastOutput(snapshot, ["--version", "--json"], {}, false))
    assert.isUndefined(fastOutput(snapshot, ["__proto__"], {}, false))
    assert.isUndefined(fastOutput(snapshot, ["--version"], { MCPFLOW_FULL_CLI: "1" }, false))
    assert.isUndefined(fastOutput(undefined, ["--version"], {}, false))
  })
})

describe("the built snapshot", () => {
  it.effect("is what the CLI renders now, for every covered argument list", () =>
    Effect.gen(function*() {
      const fresh = yield* renderHelpSnapshot.pipe(Effect.provide(NodeServices.layer))
      const snapshot = built()
      assert.deepStrictEqual(Object.keys(snapshot.entries), Object.keys(fresh.entries))
      assert.deepStrictEqual(snapshot, fresh)
      // root help, version, and each command's help are covered; an unknown command is not
      for (const key of [["--help"], ["--version"], ["run", "--help"], ["chaos", "-h"]]) {
        assert.isDefined(snapshot.entries[snapshotKey(key)], snapshotKey(key))
      }
      assert.isUndefined(snapshot.entries[snapshotKey(["deploy", "--help"])])
      assert.match(snapshot.entries[snapshotKey(["--version"])]!.plain, /^mcpflow v\d+\.\d+\.\d+\n$/)
      assert.include(snapshot.entries[snapshotKey(["--help"])]!.color, "\u001b[")
      assert.notInclude(snapshot.entries[snapshotKey(["--help"])]!.plain, "\u001b[")
    }))
})

describe("the bin", () => {
  const cases: ReadonlyArray<ReadonlyArray<string>> = [["--version"], ["--help"], ["run", "-h"], ["deploy", "--help"]]
  for (const args of cases) {
    for (const env of [{ NO_COLOR: "1" }, { FORCE_COLOR: "1" }] as ReadonlyArray<Record<string, string>>) {
      it(`prints what the full CLI prints: mcpflow ${args.join(" ")} (${Object.keys(env)[0]})`, () => {
        const fast = spawnBin(args, env)
        const full = spawnBin(args, { ...env, MCPFLOW_FULL_CLI: "1" })
        assert.deepStrictEqual(fast, full)
      })
    }
  }

  it("loads no Effect module for --version and --help", () => {
    const hook = loadLogger("/node_modules/effect/")
    for (const args of [["--version"], ["--help"], ["plan", "--help"]]) {
      const result = spawnBin(args, { NO_COLOR: "1" }, hook)
      assert.strictEqual(result.code, 0)
      assert.strictEqual(result.stderr, "", `mcpflow ${args.join(" ")}`)
    }
    // …and the hook does see Effect when the full CLI runs
    assert.include(spawnBin(["--version"], { NO_COLOR: "1", MCPFLOW_FULL_CLI: "1" }, hook).stderr, "/node_modules/effect/")
  })

  it("runs, show, signal, cancel and prune load neither the MCP SDK, zod nor tsx (the flow loader)", () => {
    const hook = loadLogger("/node_modules/@modelcontextprotocol/", "/node_modules/zod/", "/node_modules/tsx/")
    const stateDir = mkdtempSync(join(tmpdir(), "mcpflow-lazy-"))
    try {
      for (const args of [["runs"], ["show", "abc"], ["signal", "abc", "approval"], ["cancel", "abc"], ["prune", "--older-than", "1d"]]) {
        const result = spawnBin([...args, "--state-dir", stateDir], { NO_COLOR: "1" }, hook)
        assert.strictEqual(result.code, 2, `mcpflow ${args.join(" ")}: ${result.stderr}`)
        assert.include(result.stderr, "no journal in", `mcpflow ${args.join(" ")}`)
        assert.notInclude(result.stderr, "loaded ", `mcpflow ${args.join(" ")}`)
      }
      // …and the hook does see the SDK when a command needs it
      assert.include(spawnBin(["tools", "--config", join(stateDir, "missing.json")], { NO_COLOR: "1" }, hook).stderr, "loaded ")
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
  })
})
