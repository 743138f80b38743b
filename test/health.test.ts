import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { FakeServer, Fault, Injector } from "../chaos/index.ts"
import type { ServerHealth } from "../dsl/ports/McpGateway.ts"
import { formatHealth, health, verdict, watchHealth } from "../src/app/cli/commands/internal/health.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
import { nextState } from "../src/runtime/gateway/Health.ts"
import { Search } from "./support/replicaGroup.ts"

const everything = (() => {
  const require = createRequire(import.meta.url)
  const manifestPath = require.resolve("@modelcontextprotocol/server-everything/package.json")
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { readonly bin: Readonly<Record<string, string>> }
  return join(dirname(manifestPath), Object.values(manifest.bin)[0]!)
})()

describe("health", () => {
  it("thresholds: unhealthyAfter failures in a row, healthyAfter successes in a row", () => {
    assert.strictEqual(nextState("unknown", { ok: false, successes: 0, failures: 1 }, {}), "unknown")
    assert.strictEqual(nextState("healthy", { ok: false, successes: 0, failures: 2 }, {}), "unhealthy")
    assert.strictEqual(nextState("unhealthy", { ok: true, successes: 1, failures: 0 }, { healthyAfter: 2 }), "unhealthy")
    assert.strictEqual(nextState("unhealthy", { ok: true, successes: 2, failures: 0 }, { healthyAfter: 2 }), "healthy")
  })

  it.live("mcpflow health: a real stdio server answers ping; a server that cannot start is unhealthy (exit 1)", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "mcpflow-health-"))
      const config = join(dir, ".mcp.json")
      writeFileSync(config, JSON.stringify({
        mcpServers: {
          everything: { command: process.execPath, args: [everything, "stdio"] },
          missing: { command: join(dir, "no-such-server"), connectTimeout: "5s" }
        }
      }))
      const exit = yield* Effect.flip(health({ config: Option.some(config), json: false, watch: false, interval: 10, verbose: false }))
      // One of the two is not healthy: the real server answered its ping.
      assert.deepStrictEqual([exit._tag === "CliExit" ? exit.code : undefined, exit.message], [1, "1 of 2 servers not healthy"])
      // --json: the JSON document says it; no plain message besides it (exit 1 still).
      const json = yield* Effect.flip(health({ config: Option.some(config), json: true, watch: false, interval: 10, verbose: false }))
      assert.deepStrictEqual([json._tag === "CliExit" ? json.code : undefined, json.message], [1, ""])
    }), 30_000)

  it("the text form: one aligned row per server", () => {
    const lines = formatHealth([
      { server: "everything", state: "healthy", successes: 1, failures: 0, latencyMs: 12.4 },
      { server: "search/b", state: "unknown", successes: 0, failures: 1, latencyMs: 3, detail: "search/b.ping: server 'search/b' is unavailable" }
    ])
    assert.deepStrictEqual(lines, [
      "everything  healthy    12ms",
      "search/b    unhealthy  3ms   search/b.ping: server 'search/b' is unavailable"
    ])
  })

  for (const probe of ["ping", { tool: "query", args: { q: "probe" } }] as const) {
  it.effect(`--watch prints each change of state, probing on the interval (virtual time): probe ${JSON.stringify(probe)}`, () =>
    Effect.gen(function*() {
      const injector = Injector.make(Fault.plan(1, [Fault.serverDown("fs", 15_000, 10_000)]))
      const fs = yield* FakeServer.make("fs", [FakeServer.handle(Search.query, ({ q }) => Effect.succeed({ by: "fs", q }))], { injector })
      const seen: Array<ReadonlyArray<ServerHealth>> = []
      const fiber = yield* Effect.forkChild(
        watchHealth(10_000, (changed) => Effect.sync(() => void seen.push(changed))).pipe(
          Effect.provide(GatewayLayer.layer({ servers: { fs: { ...fs, health: { probe, intervalMs: 3_600_000 } } } }))
        )
      )
      for (let t = 0; t < 40_000; t += 500) {
        yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
        yield* TestClock.adjust(500)
      }
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(seen.map((changed) => changed.map((h) => `${h.server} ${verdict(h)}`)), [["fs healthy"], ["fs unhealthy"], ["fs healthy"]])
    }))
  }
})
