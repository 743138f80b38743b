#!/usr/bin/env node
// The mcpflow command: checks the Node.js version (one line and exit code 2 on an old Node, before
// anything that needs a newer one is loaded), then runs the compiled CLI from dist/ (`npm run build`).
import { unsupportedNode } from "../dist/src/app/internal/NodeVersion.js"

const args = process.argv.slice(2).map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg)))
const problem = unsupportedNode(process.versions.node, ["npx -p node@24 mcpflow", ...args].join(" "))
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`)
  process.exit(2)
}
// Node's on-disk cache of compiled code: later starts skip parsing and compiling the CLI's modules.
const { enableCompileCache } = await import("node:module")
enableCompileCache?.()
await import("../dist/src/app/cli/Cli.js")
