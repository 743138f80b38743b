/**
 * The floor plan (`.dependency-cruiser.cjs`): dsl ← src/runtime ← chaos ← src/app ← flows, no
 * runtime import cycles. The real tree must have no violation, and a scratch tree with one wrong
 * import must fail, naming the rule and the import.
 */
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

const repo = resolve(import.meta.dirname, "..")
const depcruise = join(repo, "node_modules", ".bin", "depcruise")
const config = join(repo, ".dependency-cruiser.cjs")

interface Violation {
  readonly from: string
  readonly to: string
  readonly rule: { readonly name: string }
  readonly cycle?: ReadonlyArray<{ readonly name: string }>
}

const cruise = async (cwd: string, folders: ReadonlyArray<string>): Promise<ReadonlyArray<Violation>> => {
  const { stdout } = await promisify(execFile)(depcruise, ["--config", config, "--output-type", "json", ...folders], {
    cwd,
    maxBuffer: 64 * 1024 * 1024
  }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }))
  return (JSON.parse(stdout) as { summary: { violations: ReadonlyArray<Violation> } }).summary.violations
}

const scratch = mkdtempSync(join(tmpdir(), "mcpflow-arch-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const write = (file: string, text: string): void => {
  mkdirSync(dirname(join(scratch, file)), { recursive: true })
  writeFileSync(join(scratch, file), text)
}

describe("the layers", () => {
  it("the source tree has no layer violation and no cycle", async () => {
    const violations = await cruise(repo, ["dsl", "src", "chaos", "flows"])
    expect(violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([])
  })

  it("a deliberately wrong import fails the check and is named", async () => {
    write("tsconfig.json", JSON.stringify({ compilerOptions: { module: "NodeNext", allowImportingTsExtensions: true, noEmit: true } }))
    write("src/app/Report.ts", "export const report = 1\n")
    write("dsl/Wrong.ts", "import { report } from \"../src/app/Report.ts\"\nexport const wrong = report\n")
    write("chaos/AlsoWrong.ts", "import { report } from \"../src/app/Report.ts\"\nexport const alsoWrong = report\n")
    write("src/runtime/A.ts", "import { b } from \"./B.ts\"\nexport const a = () => b\n")
    write("src/runtime/B.ts", "import { a } from \"./A.ts\"\nexport const b = () => a\n")
    const violations = await cruise(scratch, ["dsl", "src", "chaos"])
    const named = violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)
    expect(named).toContain("dsl-imports-upward: dsl/Wrong.ts → src/app/Report.ts")
    expect(named).toContain("chaos-imports-upward: chaos/AlsoWrong.ts → src/app/Report.ts")
    expect(violations.some((v) => v.rule.name === "no-cycles" && v.from === "src/runtime/A.ts")).toBe(true)
  })
})
