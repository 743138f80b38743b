#!/usr/bin/env node
// The mcpflow command: checks the Node.js version (one line and exit code 2 on an old Node, before
// anything that needs a newer one is loaded); answers `--version`, `--help` and `<command> --help`
// from the snapshot of the CLI's own output rendered by `npm run build` (dist/help-snapshot.json,
// see src/app/cli/internal/FastPath.ts; MCPFLOW_FULL_CLI=1 skips it); else runs the compiled CLI.
import { readFileSync } from "node:fs"
import { unsupportedNode } from "../dist/src/app/internal/NodeVersion.js"

const argv = process.argv.slice(2)
const args = argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg)))
const problem = unsupportedNode(process.versions.node, ["npx -p node@24 mcpflow", ...args].join(" "))
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`)
  process.exit(2)
}

const snapshot = (() => {
  try {
    return JSON.parse(readFileSync(new URL("../dist/help-snapshot.json", import.meta.url), "utf8"))
  } catch {
    return undefined // not built with the snapshot: the full CLI answers
  }
})()
const { fastOutput } = await import("../dist/src/app/cli/internal/FastPath.js")
const answer = fastOutput(snapshot, argv, process.env, process.stdout.isTTY === true)
if (answer !== undefined) {
  process.stdout.write(answer)
} else {
  // Node's on-disk cache of compiled code: later starts skip parsing and compiling the CLI's modules.
  const { enableCompileCache } = await import("node:module")
  enableCompileCache?.()
  await import("../dist/src/app/cli/Cli.js")
}
