/**
 * Every TypeScript block in README.md is a complete module, type-checked against the package's
 * public entry points: `mcpflow`, `mcpflow/chaos`, … resolve through package.json `exports` to
 * the sources behind them, so an example that imports anything the package does not export, or
 * uses it wrongly, fails here with the README line it starts on.
 */
import { execFile } from "node:child_process"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

const repo = resolve(import.meta.dirname, "..")
const readme = readFileSync(join(repo, "README.md"), "utf8")
const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
  readonly name: string
  readonly exports?: Record<string, { readonly types?: string }>
}

/** `./dist/chaos/index.d.ts` → `./chaos/index.ts`: the source a published `.d.ts` is built from. */
const sourceOf = (types: string): string => types.replace(/^\.\/dist\//, "./").replace(/\.d\.ts$/, ".ts")

/** `{ "mcpflow": ["./src/index.ts"], "mcpflow/chaos": ["./chaos/index.ts"], … }` */
const paths = Object.fromEntries(
  Object.entries(pkg.exports ?? {}).flatMap(([entry, target]) =>
    target.types === undefined ? [] : [[entry === "." ? pkg.name : `${pkg.name}/${entry.slice(2)}`, [sourceOf(target.types)]]]
  )
)

interface Block {
  readonly line: number
  readonly code: string
  /** A block whose first line is `// name.ts …` is that file, so later blocks can import it. */
  readonly file: string | undefined
}

const blocks: ReadonlyArray<Block> = [...readme.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => ({
  line: readme.slice(0, m.index).split("\n").length,
  code: m[1]!,
  file: /^\/\/ ([\w.-]+\.ts)\b/.exec(m[1]!)?.[1]
}))

const scratch = join(repo, ".scratch", `readme-${process.pid}`)
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe("README.md", () => {
  it("has TypeScript examples and the package has public entry points", () => {
    expect(blocks.length).toBeGreaterThan(5)
    expect(Object.keys(paths)).toContain(pkg.name)
  })

  it("every TypeScript block type-checks against the public entry points", async () => {
    mkdirSync(scratch, { recursive: true })
    const files = blocks.map((block) => {
      const file = block.file ?? `readme-line-${block.line}.ts`
      // each block is its own module (`export {}` keeps top-level names apart)
      writeFileSync(join(scratch, file), `${block.code}\nexport {}\n`)
      return file
    })
    // `paths` resolve relative to the scratch tsconfig, two folders below the repo
    const relativePaths = Object.fromEntries(Object.entries(paths).map(([k, [v]]) => [k, [`../../${v!.slice(2)}`]]))
    writeFileSync(
      join(scratch, "tsconfig.json"),
      JSON.stringify({
        extends: "../../tsconfig.json",
        compilerOptions: { paths: relativePaths, noEmit: true, noUnusedLocals: false },
        include: files
      })
    )
    const result = await promisify(execFile)(join(repo, "node_modules", ".bin", "tsc"), ["-p", join(scratch, "tsconfig.json")], {
      cwd: repo,
      maxBuffer: 16 * 1024 * 1024
    }).then(() => "", (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ""}${e.stderr ?? ""}`)
    // name the README line of each error, not the scratch file
    const errors = result
      .split("\n")
      .filter((l) => l.includes("error TS"))
      .map((l) => {
        const at = /([\w.-]+\.ts)\((\d+),\d+\)/.exec(l)
        const block = at && blocks.find((b) => (b.file ?? `readme-line-${b.line}.ts`) === at[1])
        return block ? `README.md:${block.line + Number(at![2])}: ${l.slice(l.indexOf("error TS"))}` : l
      })
    expect(errors).toEqual([])
  }, 120_000)
})
