/**
 * A property of the command runner's argument rules, in-process: for every command with a
 * deny list, argument vectors mixing benign arguments, denied flags (in their `--flag=value`,
 * abbreviated, bundled and look-alike spellings) and paths outside the root (`..`, absolute,
 * through a symlink, `~/`, `file://`, in a flag value) are refused exactly when they hold a
 * denied flag or an outside path; a benign vector is accepted.
 *
 * Replay a failure with the printed seed: `FC_SEED=<seed> npx vitest run test/e2e/commandRunner.properties.test.ts`.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as fc from "fast-check"
import { checkArguments } from "../../src/runtime/servers/commandRunner/Policy.ts"

const seed = Number(process.env["FC_SEED"] ?? Date.now() % 2 ** 31)
console.log(`command runner argument properties: seed ${seed}; replay with FC_SEED=${seed}`)

const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "mcpflow-argprops-")))
const root = path.join(base, "root")
const outside = path.join(base, "outside")
fs.mkdirSync(path.join(root, "sub"), { recursive: true })
fs.mkdirSync(outside)
fs.symlinkSync(outside, path.join(root, "escape"))
fs.symlinkSync(path.join(outside, "new"), path.join(root, "dangling"))
afterAll(() => fs.rmSync(base, { recursive: true, force: true }))

const config = { root, allowArgs: [] }

interface Spec {
  /** Arguments that pass every rule, in any order and any subset. */
  readonly benign: ReadonlyArray<string>
  /** Arguments the deny list refuses wherever they stand. */
  readonly denied: ReadonlyArray<string>
  /** Stays first (sed's script, awk's program: not a path, so nothing is inserted before it). */
  readonly lead?: string
}

const SPECS: Readonly<Record<string, Spec>> = {
  find: {
    benign: [".", "src", "-name", "*.ts", "-type", "f", "-maxdepth", "2", "-print", "-newer", "file.txt"],
    denied: ["-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls", "-L", "-follow"]
  },
  git: {
    benign: ["status", "log", "--oneline", "-n", "5", "--format=%H", "diff", "--stat", "HEAD", "src/a.ts", "-p", "--no-color", "show", "--", "--tool-help"],
    denied: [
      "-c", "-ccore.pager=less", "-C", "-pO", "--upload-pack=x", "--upload-pa=x", "--receive-pack", "--git-dir=.git", "--work-tree=.",
      "--exec=x", "--exec-path=x", "--config-env=core.pager=HOME", "-x", "config", "filter-branch", "ext::sh -c x", "\uFF0D\uFF0Dupload-pack=x"
    ]
  },
  tar: {
    benign: ["-cf", "out.tar", "-v", "-z", "src", "file.txt", "--exclude=*.log", "-t", "--checkpoint=10", "--totals"],
    denied: [
      "--to-command=x", "--to-comm=x", "-C", "-xC", "--directory=src", "-I", "-cvI", "--use-compress-program=x", "--checkpoint-action=exec=x",
      "--checkpoint-act=exec=x", "-P", "--absolute-names", "--info-script=x", "host:x.tar", "-h", "-chf", "--dereference"
    ]
  },
  npm: {
    benign: ["pack", "--dry-run", "test", "--silent", "--json", "ls", "run", "build", "--workspaces=false", "-w", "pkg", "--ignore-scripts"],
    denied: ["--prefix", "--prefix=sub", "--pref=sub", "-C", "-g", "--global", "--script-shell=x", "--userconfig=x", "exec", "explore", "config", "link", "publish"]
  },
  node: {
    benign: ["script.js", "--no-warnings", "--enable-source-maps", "--stack-size=500", "--test", "-c", "--trace-warnings", "--version", "-v"],
    denied: [
      "-e", "-p", "-r", "-i", "-pe", "--eval=x", "--print", "--require=x", "--import=x", "--loader=x", "--env-file=.env", "--inspect",
      "--inspect-brk=0", "--run", "\uFF0D\uFF0Deval=x", "\u2013e"
    ]
  },
  env: { benign: ["-i", "A=1", "B=two", "--ignore-environment", "-0"], denied: ["sh", "node", "-S", "--chdir=src", "-C", "--split-string=x"] },
  xargs: { benign: ["-0", "-r", "-t", "--no-run-if-empty", "-n1"], denied: ["sh", "touch", "node"] },
  sed: {
    lead: "/x/p",
    benign: ["-n", "-E", "s/a/b/g", "p", "1d", "file.txt", "--quiet"],
    denied: ["-f", "--file=x", "--expression=1e x", "--expression=s/a/b/e", "--expression=s/a/b/w f", "--expression=w f", "-e1e x"]
  },
  awk: {
    lead: "/x/ { print $1 }",
    benign: ["{ print $1 }", "-F,", "file.txt", "NR == 1"],
    denied: ["-f", "--file=x", "--exec=x", "-E", "-l", "--load=x", "--source=BEGIN{system(\"x\")}", "--source=BEGIN{print 1 > \"f\"}"]
  }
}

const OUTSIDE = [
  "..", "../x", "../../etc/passwd", "/etc/passwd", outside, `${outside}/f`, "escape", "escape/f", "sub/../../x", "~/x", "file:///etc/passwd",
  "--output=../x", "--out=/tmp/x", "\uFF0E\uFF0E/x", "dangling", "--output=dangling"
]

/** Inserts each of `extra` at the given positions of `into`. */
const insertAll = (into: ReadonlyArray<string>, extra: ReadonlyArray<readonly [string, number]>): Array<string> => {
  const out = [...into]
  for (const [arg, at] of extra) out.splice(at % (out.length + 1), 0, arg)
  return out
}

const vector = (command: string, spec: Spec) =>
  fc.record({
    benign: fc.shuffledSubarray([...spec.benign]),
    denied: fc.array(fc.tuple(fc.constantFrom(...spec.denied), fc.nat()), { maxLength: 2 }),
    outsidePaths: fc.array(fc.tuple(fc.constantFrom(...OUTSIDE), fc.nat()), { maxLength: 2 })
  }).map(({ benign, denied, outsidePaths }) => ({
    command,
    args: [...(spec.lead === undefined ? [] : [spec.lead]), ...insertAll(benign, [...denied, ...outsidePaths])],
    refused: denied.length + outsidePaths.length > 0
  }))

/** npx: its own options come before the command it runs; a denied one there, or a denied node flag after it. */
const npxVector = fc.record({
  opts: fc.subarray(["--no-install", "--offline", "--quiet"]),
  deniedOpt: fc.option(fc.constantFrom("-c", "--call=x", "--package=x", "-p", "--prefix", "--yes", "--shell=sh"), { nil: undefined }),
  target: fc.constantFrom("tsc", "vitest", "node"),
  nestedBenign: fc.shuffledSubarray(["--noEmit", "run", "test/a.test.ts", "--version"]),
  nestedDenied: fc.option(fc.constantFrom("-e", "--require=x", "--eval=x"), { nil: undefined }),
  outsidePath: fc.option(fc.tuple(fc.constantFrom(...OUTSIDE), fc.nat()), { nil: undefined })
}).map(({ deniedOpt, nestedBenign, nestedDenied, opts, outsidePath, target }) => {
  const args = [...opts, ...(deniedOpt === undefined ? [] : [deniedOpt]), target, ...nestedBenign]
  // A denied node flag counts only when npx runs node.
  if (nestedDenied !== undefined && target === "node") args.push(nestedDenied)
  const withPath = outsidePath === undefined ? args : insertAll(args, [outsidePath])
  return {
    command: "npx",
    args: withPath,
    refused: deniedOpt !== undefined || (nestedDenied !== undefined && target === "node") || outsidePath !== undefined
  }
})

describe("command runner argument rules (property)", () => {
  it("a vector with a denied flag or an outside path is refused; a benign vector is accepted", () => {
    const anyVector = fc.oneof(...Object.entries(SPECS).map(([command, spec]) => vector(command, spec)), npxVector)
    fc.assert(
      fc.property(anyVector, ({ args, command, refused }) => {
        const verdict = checkArguments(config, { name: command, path: `/usr/bin/${command}` }, root, args)
        assert.strictEqual(
          verdict !== undefined,
          refused,
          `${command} ${JSON.stringify(args)}: ${verdict === undefined ? "accepted" : verdict.message}`
        )
      }),
      { seed, numRuns: 2_000 }
    )
  })
})
