/**
 * mcpflow as a consumer gets it: `npm pack`, then a fresh project installs the tarball (offline:
 * a lockfile taken from this repo's, so every package comes from the npm cache `npm ci` filled)
 * and uses only the published entry points. It type-checks a flow file under `nodenext` and
 * `bundler` resolution, runs the compiled `.mjs` flow with plain Node (no tsx), the `.mts` flow
 * with tsx, the same file through the installed `mcpflow` bin, and a chaos suite with vitest.
 * Needs `dist/` (`npm test` builds it first).
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"

const root = resolve(import.meta.dirname, "../..")
const fixture = join(import.meta.dirname, "fixtures/consumer")
const node = process.execPath

interface LockEntry {
  readonly version?: string
  readonly dependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly [key: string]: unknown
}

const readJson = <A>(path: string): A => JSON.parse(readFileSync(path, "utf8")) as A

/** Where Node (and npm) find `name` from the package installed at `from` (a lockfile key). */
const locate = (packages: Record<string, LockEntry>, from: string, name: string): string | undefined => {
  let at = from
  for (;;) {
    const candidate = `${at === "" ? "" : `${at}/`}node_modules/${name}`
    if (candidate in packages) return candidate
    if (at === "") return undefined
    const cut = at.lastIndexOf("/node_modules/")
    at = cut < 0 ? "" : at.slice(0, cut)
  }
}

/**
 * The consumer's lockfile: its root, the tarball as `node_modules/mcpflow`, and the packages of
 * this repo's lockfile that the two need (nothing else, so a dependency mcpflow forgot to
 * declare is missing in the consumer too).
 */
const consumerLock = (manifest: { readonly dependencies: Record<string, string>; readonly devDependencies: Record<string, string> }, tarball: string) => {
  const repo = readJson<{ readonly packages: Record<string, LockEntry> }>(join(root, "package-lock.json")).packages
  const own = readJson<{ readonly version: string; readonly dependencies: Record<string, string>; readonly peerDependencies: Record<string, string> }>(join(root, "package.json"))
  const mcpflow: LockEntry = {
    version: own.version,
    resolved: `file:${tarball}`,
    dependencies: own.dependencies,
    peerDependencies: own.peerDependencies,
    peerDependenciesMeta: { vitest: { optional: true } }
  }
  const packages: Record<string, LockEntry> = { ...repo, "node_modules/mcpflow": mcpflow }
  const wanted = new Set<string>()
  const visit = (key: string): void => {
    if (wanted.has(key)) return
    wanted.add(key)
    const entry = packages[key]!
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) {
      const found = locate(packages, key, name)
      if (found !== undefined) visit(found)
    }
  }
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) visit(`node_modules/${name}`)
  return {
    name: "consumer",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "consumer", dependencies: manifest.dependencies, devDependencies: manifest.devDependencies },
      ...Object.fromEntries([...wanted].sort().map((key) => [key, packages[key]!]))
    }
  }
}

/** The child's environment without the running vitest's own variables. */
const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST") && key !== "NODE_OPTIONS" && key !== "TEST"))

let dir = ""
let app = ""

const run = (command: string, args: ReadonlyArray<string>, cwd = app): SpawnSyncReturns<string> =>
  spawnSync(command, args, { cwd, encoding: "utf8", env: { ...cleanEnv(), CI: "true", NO_COLOR: "1", FORCE_COLOR: "0" }, timeout: 200_000 })

const ok = (result: SpawnSyncReturns<string>, what: string): string => {
  assert.strictEqual(result.status, 0, `${what} exited ${result.status}:\n${result.stdout}\n${result.stderr}`)
  return result.stdout
}

const versionOf = (name: string): string => readJson<{ readonly version: string }>(join(root, "node_modules", name, "package.json")).version

beforeAll(() => {
  assert.isTrue(existsSync(join(root, "dist/src/index.js")), "dist/ is missing: run `npm run build` (npm test does)")
  dir = mkdtempSync(join(tmpdir(), "mcpflow-consumer-"))
  app = join(dir, "app")
  // dist/ is built already: --ignore-scripts skips `prepare`.
  ok(run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir], root), "npm pack")
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!
  cpSync(fixture, app, { recursive: true })
  const manifest = {
    name: "consumer",
    private: true,
    type: "module",
    dependencies: { mcpflow: `file:../${tarball}`, effect: `^${versionOf("effect")}` },
    devDependencies: { "@types/node": versionOf("@types/node"), typescript: versionOf("typescript"), vitest: versionOf("vitest") }
  }
  writeFileSync(join(app, "package.json"), JSON.stringify(manifest, null, 2))
  writeFileSync(join(app, "package-lock.json"), JSON.stringify(consumerLock(manifest, `../${tarball}`), null, 2))
  ok(run("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]), "npm ci (offline)")
}, 180_000)

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true })
}, 120_000)

describe("the packed package in a fresh project", () => {
  it("ships dist, bin and README, not the sources or tests", () => {
    const installed = join(app, "node_modules/mcpflow")
    assert.deepStrictEqual(readdirSync(installed).sort(), ["README.md", "bin", "dist", "package.json"])
    assert.deepStrictEqual(readdirSync(join(installed, "dist")).sort(), ["chaos", "dsl", "help-snapshot.json", "package.json", "src"])
  })

  // nodenext checks the libraries' declarations too (ours included); bundler skips them
  // (skipLibCheck), the fixture asserting that none of the imported types is `any`. `DOM` in
  // `lib`: effect's declarations name the Web Crypto `CryptoKey` type.
  it("type-checks a flow file under nodenext and bundler resolution", () => {
    const tsc = join(app, "node_modules/typescript/bin/tsc")
    ok(run(node, [tsc, "-p", "tsconfig.nodenext.json"]), "tsc (nodenext)")
    ok(run(node, [tsc, "-p", "tsconfig.bundler.json"]), "tsc (bundler)")
  }, 240_000)

  it("a deep import outside the exports does not resolve", () => {
    const result = run(node, ["--input-type=module", "-e", "await import('mcpflow/dist/src/app/cli/Cli.js')"])
    assert.notStrictEqual(result.status, 0)
    assert.include(result.stderr, "ERR_PACKAGE_PATH_NOT_EXPORTED")
  })

  it("runs the compiled .mjs flow with plain node, without tsx", () => {
    if (!existsSync(join(app, "out/shop.mjs"))) ok(run(node, [join(app, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.nodenext.json"]), "tsc")
    const stdout = ok(run(node, ["out/shop.mjs", "--input", '{"amount":42}', "--json"]), "node out/shop.mjs")
    const last = JSON.parse(stdout.trim().split("\n").at(-1)!) as { readonly status?: string; readonly output?: unknown }
    assert.deepStrictEqual(last.output, { hold: "hold-A-1", payment: "pay-42" }, stdout)
    const failed = run(node, ["out/shop.mjs", "--input", '{"amount":500}', "--json"])
    assert.strictEqual(failed.status, 1, failed.stderr)
  }, 60_000)

  it("runs the .mts flow with tsx, and through the installed mcpflow bin", () => {
    const viaTsx = ok(run(node, [join(app, "node_modules/tsx/dist/cli.mjs"), "shop.mts", "--input", '{"amount":7}', "--json"]), "tsx shop.mts")
    assert.include(viaTsx, "pay-7")
    assert.match(ok(run(node, [join(app, "node_modules/mcpflow/bin/mcpflow.js"), "--version"]), "mcpflow --version"), /0\.\d+\.\d+/)
    const viaBin = ok(run(node, [join(app, "node_modules/mcpflow/bin/mcpflow.js"), "run", "shop.mts", "--input", '{"amount":8}', "--json"]), "mcpflow run shop.mts")
    assert.include(viaBin, "pay-8")
  }, 60_000)

  it("runs a chaos suite with vitest through mcpflow/vitest", () => {
    const stdout = ok(run(node, [join(app, "node_modules/vitest/vitest.mjs"), "run", "--root", app, "shop.chaos.spec.ts"]), "vitest run")
    assert.include(stdout, "1 passed")
  }, 90_000)
})
