import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Upper bounds for a loaded machine (two files at a time on two cores), not expected durations.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // A worker process runs file after file: effect, the MCP SDK and mcpflow load once per worker,
    // not once per file (−25 % CPU for the suite). The tests share no global state (no mocks or
    // stubbed globals; env changes are restored) — keep it that way.
    isolate: false,
    // Two files at a time, also on a 2-core CI machine (vitest's default there is one): the
    // multi-process tests spend part of their time waiting on their children.
    maxWorkers: 2
  }
})
