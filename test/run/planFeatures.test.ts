/**
 * `mcpflow plan --config` shows the platform features of a flow: the replica group its tools
 * call (with the failover order), the alternatives of a capability, a batch (its tool even when
 * the sample data sends it nothing, and its flush settings) and a poll (its interval and budget),
 * in text, JSON and Mermaid.
 */
import { assert, describe, it } from "@effect/vitest"
import { Console, Effect, Option } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { plan, type PlanFormat } from "../../src/app/cli/commands/internal/plan.ts"

const printed = (format: PlanFormat, config: string) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const console = { ...globalThis.console, log: (...args: Array<unknown>) => void out.push(args.join(" ")) }
    yield* plan({ file: "test/run/fixtures/platform.ts", format, input: Option.none(), config: Option.some(config) }).pipe(
      Effect.provideService(Console.Console, console as never)
    )
    return out.join("\n")
  })

describe("mcpflow plan shows replicas, alternatives, batching and polling", () => {
  it.effect("text, json and mermaid", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "mcpflow-plan-"))
      const config = join(dir, ".mcp.json")
      writeFileSync(config, JSON.stringify({
        mcpServers: {
          search: {
            strategy: "priority",
            replicas: { backup: { command: "search-server", priority: 2 }, primary: { url: "http://127.0.0.1:1/mcp", priority: 1 } }
          }
        }
      }))

      const text = (yield* printed("text", config)).split("\n")
      assert.include(text, "  ▤ scores [batch] · calls ml.score_batch — ml.score_batch: up to 50 items, after 100ms")
      assert.include(text, "  • scan [step] · calls snyk.test, trivy.image · policies fallback(capability=scan, alternatives=snyk.test|trivy.image)")
      assert.include(text, "  • training [poll] — poll every 1m, up to 1h")
      assert.include(text, "    • poll 1 [step] · calls ml.status")
      assert.deepStrictEqual(text.slice(-2), ["replica groups:", "  search: priority over primary → backup"])

      const json = JSON.parse(yield* printed("json", config)) as {
        readonly nodes: ReadonlyArray<{ readonly path: string; readonly kind: string; readonly tools: ReadonlyArray<string>; readonly description?: string }>
        readonly replicaGroups: ReadonlyArray<{ readonly server: string; readonly replicas: ReadonlyArray<string> }>
      }
      const node = (path: string) => json.nodes.find((n) => n.path === path)
      assert.deepStrictEqual([node("scores")?.kind, node("scores")?.tools], ["batch", ["ml.score_batch"]])
      assert.deepStrictEqual(node("scan")?.tools, ["snyk.test", "trivy.image"])
      assert.deepStrictEqual([node("training")?.kind, node("training")?.description], ["poll", "poll every 1m, up to 1h"])
      assert.deepStrictEqual(json.replicaGroups.map((g) => [g.server, g.replicas]), [["search", ["primary", "backup"]]])

      const mermaid = yield* printed("mermaid", config)
      assert.include(mermaid, `n_scores["scores<br/>ml.score_batch"]`)
      assert.include(mermaid, `subgraph n_training ["training (poll)"]`)
      assert.include(mermaid, "%% replica group search: priority over primary → backup")
      rmSync(dir, { recursive: true, force: true })
    }))
})
