/**
 * The Node.js version check of the `mcpflow` bin and of a runnable flow file (`main`): on a Node
 * older than 22.19 each prints one line (the Node needed, this one, how to get it) and exits 2,
 * before anything that needs a newer Node is loaded. The old Node is the machine's own, when it
 * has one (this machine's `/usr/bin/node` is 20); the compiled bin and flow come from dist/.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import { assert, describe, it } from "vitest"
import { isSupportedNode, unsupportedNode } from "../../src/app/internal/NodeVersion.ts"

const root = resolve(import.meta.dirname, "../..")
const bin = join(root, "bin/mcpflow.js")
const helloFlow = join(import.meta.dirname, "fixtures/oldNode/hello.mjs")

const versionOf = (node: string): string | undefined => {
  try {
    return execFileSync(node, ["-p", "process.versions.node"], { encoding: "utf8" }).trim()
  } catch {
    return undefined
  }
}

const candidates = [
  ...spawnSync("which", ["-a", "node"], { encoding: "utf8", env: { PATH: "/usr/local/bin:/usr/bin:/bin" } }).stdout?.split("\n") ?? [],
  "/usr/bin/node",
  "/usr/local/bin/node"
].filter((path) => path !== "" && existsSync(path))

const oldNode = candidates
  .map((path) => ({ path, version: versionOf(path) }))
  .find((node) => node.version !== undefined && !isSupportedNode(node.version))

describe("unsupportedNode", () => {
  it("accepts 22.19 and later, refuses older versions in one line", () => {
    assert.isTrue(isSupportedNode("22.19.0"))
    assert.isTrue(isSupportedNode("24.21.0"))
    assert.isTrue(isSupportedNode("23.0.0"))
    assert.isFalse(isSupportedNode("22.18.9"))
    assert.isFalse(isSupportedNode("20.20.2"))
    assert.isUndefined(unsupportedNode("22.19.0", "npx -p node@24 mcpflow"))
    const line = unsupportedNode("20.20.2", "npx -p node@24 mcpflow --help")!
    assert.notInclude(line, "\n")
    assert.include(line, ">= 22.19")
    assert.include(line, "20.20.2")
    assert.include(line, "npx -p node@24 mcpflow --help")
  })
})

describe.skipIf(oldNode === undefined)(`on an old Node (${oldNode?.path} ${oldNode?.version})`, () => {
  const runOld = (args: ReadonlyArray<string>) => spawnSync(oldNode!.path, args, { cwd: root, encoding: "utf8", timeout: 30_000 })

  it("bin/mcpflow.js prints one line and exits 2", () => {
    const result = runOld([bin, "run", "flows/cicd.ts", "--input", "{}"])
    assert.strictEqual(result.status, 2, result.stderr)
    assert.strictEqual(result.stdout, "")
    assert.strictEqual(result.stderr, `mcpflow needs Node.js >= 22.19, this is Node.js ${oldNode!.version}: install a newer Node.js, or run \`npx -p node@24 mcpflow run flows/cicd.ts --input "{}"\`\n`)
  })

  it("a runnable flow file prints one line and exits 2", () => {
    const result = runOld([helloFlow])
    assert.strictEqual(result.status, 2, result.stderr)
    assert.strictEqual(result.stdout, "")
    const lines = result.stderr.trimEnd().split("\n")
    assert.strictEqual(lines.length, 1, result.stderr)
    assert.include(lines[0], `this is Node.js ${oldNode!.version}`)
    assert.include(lines[0], "npx -p node@24 node")
  })
})

describe("on this Node", () => {
  it("the bin runs the compiled CLI and the flow file runs", () => {
    assert.isTrue(isSupportedNode(process.versions.node))
    const version = spawnSync(process.execPath, [bin, "--version"], { cwd: root, encoding: "utf8", timeout: 30_000 })
    assert.strictEqual(version.status, 0, version.stderr)
    assert.match(version.stdout, /^mcpflow v\d+\.\d+\.\d+/)
    const hello = spawnSync(process.execPath, [helloFlow, "--input", "{}", "-q"], { cwd: root, encoding: "utf8", timeout: 30_000 })
    assert.strictEqual(hello.status, 0, hello.stderr)
    assert.include(hello.stdout, "hello")
  }, 60_000)

  it("the command-runner bin runs the compiled server", () => {
    const help = spawnSync(process.execPath, [join(root, "bin/mcpflow-command-runner.js"), "--help"], { cwd: root, encoding: "utf8", timeout: 30_000 })
    assert.strictEqual(help.status, 0, help.stderr)
    assert.include(help.stdout, "--allow")
  }, 60_000)
})
