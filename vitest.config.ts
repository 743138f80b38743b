import { defineConfig } from "vitest/config"

const shared = {
  // Upper bounds for a loaded machine, not expected durations.
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: "forks" as const,
  // A worker process runs file after file: effect, the MCP SDK and mcpflow load once per worker,
  // not once per file (−25 % CPU for the suite). The tests share no global state (no mocks or
  // stubbed globals; env changes are restored) — keep it that way.
  isolate: false
}

/** The multi-process cluster files that SIGKILL runners or move shards (see the "cluster" project). */
const serialClusterFiles = ["journal", "rebalance", "runnerChaos", "runnerFault"].map((name) => `test/cluster/${name}.test.ts`)

export default defineConfig({
  test: {
    projects: [
      {
        // Two files at a time, also on a 2-core CI machine (vitest's default there is one): the
        // multi-process tests spend part of their time waiting on their children.
        test: { ...shared, name: "suite", include: ["test/**/*.test.ts"], exclude: serialClusterFiles, maxWorkers: 2, sequence: { groupOrder: 0 } }
      },
      {
        // The cluster files that kill runners afterwards, one at a time: their takeover timings
        // (seconds of real time) are measured against a machine not also running two other test
        // files. The other cluster files (one Postgres, a runner or two, no takeover to wait for) run with
        // the suite.
        test: { ...shared, name: "cluster", include: serialClusterFiles, maxWorkers: 1, sequence: { groupOrder: 1 } }
      }
    ]
  }
})
