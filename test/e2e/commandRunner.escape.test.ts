/**
 * Escape attempts against mcpflow's command runner: the attempts of the outside probe (relative
 * PATH entries, argument injection into find, git, tar, npm, npx, node, env) and more of our
 * own (xargs, sed, awk, symlinks, `..` in flag values, `--flag=value` and abbreviated forms,
 * bundled short flags, env-var tricks, long arguments, NUL bytes, Unicode look-alikes, globs).
 *
 * Every case goes through the real `run_command` handler of an in-process server (SDK client
 * over an in-memory transport): had a rule let it pass, the command would really have run.
 * Each asserts the refusal (naming the command and the argument) AND that nothing changed: no
 * marker file in the root, and the sentinel tree next to the root (files, modes, contents) as
 * it was. A few cases, and the planted-`node` PATH attack, go through the real stdio server.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { commandRunnerServer } from "../../flows/servers/commandRunner.ts"
import { childPath } from "../../src/runtime/servers/commandRunner/ChildPath.ts"
import { parseOptions, resolveConfig, type RunnerConfig } from "../../src/runtime/servers/commandRunner/Config.ts"
import { makeCommandRunnerServer } from "../../src/runtime/servers/commandRunner/Server.ts"

// --- a root, a sentinel tree next to it ---------------------------------------------------------

const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "mcpflow-escape-")))
const root = path.join(base, "root")
const outside = path.join(base, "outside")
fs.mkdirSync(path.join(root, "sub"), { recursive: true })
fs.mkdirSync(path.join(outside, "deep"), { recursive: true })
fs.writeFileSync(path.join(outside, "secret.txt"), "not for you")
fs.writeFileSync(path.join(outside, "evil.cjs"), "require('fs').writeFileSync('pwned-outside-evil', '')")
fs.writeFileSync(path.join(root, "file.txt"), "a\nb\n")
fs.writeFileSync(path.join(root, "evil.cjs"), "require('fs').writeFileSync('pwned-evil', '')")
fs.writeFileSync(path.join(root, ".env"), "NODE_OPTIONS=--require ./evil.cjs\n")
fs.writeFileSync(path.join(root, "prog.awk"), "BEGIN { system(\"touch pwned-awk\") }\n")
fs.writeFileSync(path.join(root, "script.sed"), "1e touch pwned-sed\n")
fs.symlinkSync(outside, path.join(root, "escape"))
// A dangling link: writing to it would create a file outside.
fs.symlinkSync(path.join(outside, "created-through-link"), path.join(root, "dangling"))

/** Files below `dir` with their modes and contents, `root` left out. */
const snapshot = (dir: string): string => {
  const out: Array<string> = []
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name)
      if (p === root) continue
      const st = fs.lstatSync(p)
      out.push(`${path.relative(base, p)} ${st.mode.toString(8)} ${st.isFile() ? fs.readFileSync(p, "utf8") : ""}`)
      if (st.isDirectory()) walk(p)
    }
  }
  walk(dir)
  return out.join("\n")
}
const sentinel = snapshot(base)

/** Marker files a successful escape would leave in the root. */
const markers = () => fs.readdirSync(root).filter((f) => f.startsWith("pwned"))

const assertNothingChanged = (what: string) => {
  assert.deepStrictEqual(markers(), [], `${what}: a marker file appeared in the root`)
  assert.strictEqual(snapshot(base), sentinel, `${what}: something outside the root changed`)
}

/** Things the tests need that are not part of the sentinel tree. */
const scratch = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "mcpflow-escape-scratch-")))

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true })
  fs.rmSync(scratch, { recursive: true, force: true })
})

// --- the in-process server ----------------------------------------------------------------------

const ALLOW = ["find", "git", "tar", "npm", "npx", "node", "env", "xargs", "sed", "awk", "ls"]
const config: RunnerConfig = resolveConfig(
  parseOptions(["--root", root, "--allow", ALLOW.join(","), "--allow-args", "ls:-[la]+|[\\w.][\\w.-]*", "--kill-grace-ms", "100"], {})
)

interface Text {
  readonly isError?: boolean
  readonly content: ReadonlyArray<{ readonly type: string; readonly text?: string }>
}

let client: Client
let runner: ReturnType<typeof makeCommandRunnerServer>

beforeAll(async () => {
  runner = makeCommandRunnerServer(config)
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await runner.server.connect(serverSide)
  client = new Client({ name: "escape-suite", version: "0" })
  await client.connect(clientSide)
})

afterAll(async () => {
  await client.close()
  runner.killAll()
  runner.dispose()
})

const call = async (command: string, args: ReadonlyArray<string>, cwd?: string): Promise<Text> =>
  (await client.callTool({
    name: "run_command",
    arguments: { command, args: [...args], ...(cwd === undefined ? {} : { cwd }), timeoutMs: 5_000 }
  })) as Text

const textOf = (r: Text) => r.content.map((c) => c.text ?? "").join("")

// --- the cases ----------------------------------------------------------------------------------

interface Case {
  readonly name: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd?: string
  /** What the refusal must say (after `refused by the … rule: `). */
  readonly refusal: RegExp
}

const denied = (command: string, arg: string) => new RegExp(`^refused by the arguments rule: ${command}: .*${escapeRe(arg)}.* is denied`)
const outsidePath = (command: string, arg: string) =>
  new RegExp(`^refused by the arguments rule: ${command}: ${escapeRe(JSON.stringify(arg))} names a path outside the root$`)
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const touch = "touch pwned"

export const CASES: ReadonlyArray<Case> = [
  // find
  { name: "find -exec", command: "find", args: [".", "-exec", "touch", "pwned-find", ";"], refusal: denied("find", "-exec") },
  { name: "find -execdir", command: "find", args: [".", "-execdir", "touch", "pwned-find", ";"], refusal: denied("find", "-execdir") },
  { name: "find -ok", command: "find", args: [".", "-ok", "touch", "pwned-find", ";"], refusal: denied("find", "-ok") },
  { name: "find -okdir", command: "find", args: [".", "-okdir", "touch", "pwned-find", ";"], refusal: denied("find", "-okdir") },
  { name: "find -fprint", command: "find", args: [".", "-fprint", "pwned-find"], refusal: denied("find", "-fprint") },
  { name: "find -fprintf", command: "find", args: [".", "-fprintf", "pwned-find", "%p"], refusal: denied("find", "-fprintf") },
  { name: "find -fls", command: "find", args: [".", "-fls", "pwned-find"], refusal: denied("find", "-fls") },
  { name: "find -delete", command: "find", args: [".", "-name", "file.txt", "-delete"], refusal: denied("find", "-delete") },
  { name: "find a path outside (..)", command: "find", args: ["../outside", "-name", "secret.txt"], refusal: outsidePath("find", "../outside") },
  { name: "find an absolute path", command: "find", args: [outside], refusal: outsidePath("find", outside) },
  { name: "find through a symlink", command: "find", args: ["escape/", "-name", "*"], refusal: outsidePath("find", "escape/") },
  { name: "find -L (follows symlinks out)", command: "find", args: ["-L", ".", "-name", "secret.txt"], refusal: denied("find", "-L") },
  { name: "find -follow", command: "find", args: [".", "-follow", "-name", "secret.txt"], refusal: denied("find", "-follow") },
  { name: "find with a glob (not expanded) outside", command: "find", args: ["../*"], refusal: outsidePath("find", "../*") },
  // git
  { name: "git -c alias.x=!cmd", command: "git", args: ["-c", `alias.x=!${touch}-git`, "x"], refusal: denied("git", "-c") },
  { name: "git -c glued (-calias…)", command: "git", args: [`-calias.x=!${touch}-git`, "x"], refusal: denied("git", "-calias") },
  { name: "git -c core.fsmonitor", command: "git", args: ["-c", `core.fsmonitor=${touch}-git`, "status"], refusal: denied("git", "-c") },
  { name: "git -c core.pager", command: "git", args: ["-c", `core.pager=${touch}-git`, "log"], refusal: denied("git", "-c") },
  { name: "git ls-remote --upload-pack=", command: "git", args: ["ls-remote", `--upload-pack=${touch}-git`, "."], refusal: denied("git", "--upload-pack") },
  { name: "git ls-remote --upload-pack (separate)", command: "git", args: ["ls-remote", "--upload-pack", `${touch}-git`, "."], refusal: denied("git", "--upload-pack") },
  { name: "git --upload-pa (abbreviated)", command: "git", args: ["ls-remote", `--upload-pa=${touch}-git`, "."], refusal: denied("git", "--upload-pa") },
  { name: "git -C ..", command: "git", args: ["-C", "..", "status"], refusal: denied("git", "-C") },
  { name: "git --git-dir", command: "git", args: ["--git-dir=escape/.git", "status"], refusal: denied("git", "--git-dir") },
  { name: "git --work-tree", command: "git", args: ["--work-tree=..", "status"], refusal: denied("git", "--work-tree") },
  { name: "git config alias", command: "git", args: ["config", "alias.x", `!${touch}-git`], refusal: /^refused by the arguments rule: git: the subcommand "config" is denied/ },
  { name: "git clone -u", command: "git", args: ["clone", "-u", `${touch}-git`, ".", "copy"], refusal: /^refused by the arguments rule: git: "-u" is denied/ },
  { name: "git ext:: transport", command: "git", args: ["ls-remote", `ext::sh -c ${touch}-git`], refusal: /^refused by the arguments rule: git: "ext::sh .*" is denied/ },
  { name: "git rebase --exec", command: "git", args: ["rebase", "--exec", `${touch}-git`, "HEAD"], refusal: denied("git", "--exec") },
  { name: "git rebase -x", command: "git", args: ["rebase", "-x", `${touch}-git`, "HEAD"], refusal: denied("git", "-x") },
  { name: "git grep -O (pager)", command: "git", args: ["grep", `-O${touch}-git`, "a"], refusal: denied("git", "-Otouch") },
  { name: "git --config-env (env-var trick)", command: "git", args: ["--config-env=core.pager=HOME", "log"], refusal: denied("git", "--config-env") },
  { name: "git diff --output=.. (.. in a flag value)", command: "git", args: ["diff", "--output=sub/../../outside/pwned"], refusal: outsidePath("git", "--output=sub/../../outside/pwned") },
  { name: "git diff --output=~/ (home)", command: "git", args: ["diff", "--output=~/pwned-git"], refusal: outsidePath("git", "--output=~/pwned-git") },
  { name: "git clone file:// outside", command: "git", args: ["clone", `file://${outside}`, "copy"], refusal: outsidePath("git", `file://${outside}`) },
  // tar
  { name: "tar --checkpoint-action=exec", command: "tar", args: ["--checkpoint=1", `--checkpoint-action=exec=${touch}-tar`, "-cf", "a.tar", "file.txt"], refusal: denied("tar", "--checkpoint-action") },
  { name: "tar --checkpoint-act (abbreviated)", command: "tar", args: ["--checkpoint=1", `--checkpoint-act=exec=${touch}-tar`, "-cf", "a.tar", "file.txt"], refusal: denied("tar", "--checkpoint-act") },
  { name: "tar --to-command", command: "tar", args: [`--to-command=${touch}-tar`, "-xf", "a.tar"], refusal: denied("tar", "--to-command") },
  { name: "tar -C ..", command: "tar", args: ["-C", "..", "-xf", "a.tar"], refusal: denied("tar", "-C") },
  { name: "tar --directory=..", command: "tar", args: ["--directory=..", "-xf", "a.tar"], refusal: denied("tar", "--directory") },
  { name: "tar --use-compress-program", command: "tar", args: [`--use-compress-program=${touch}-tar`, "-cf", "a.tar", "file.txt"], refusal: denied("tar", "--use-compress-program") },
  { name: "tar -I", command: "tar", args: ["-I", `${touch}-tar`, "-cf", "a.tar", "file.txt"], refusal: denied("tar", "-I") },
  { name: "tar bundled -cvIf", command: "tar", args: ["-cvI", `${touch}-tar`, "-f", "a.tar", "file.txt"], refusal: denied("tar", "-cvI") },
  { name: "tar old-style xCf", command: "tar", args: ["xCf", "..", "a.tar"], refusal: /^refused by the arguments rule: tar: "xCf" is denied/ },
  { name: "tar -P (absolute names)", command: "tar", args: ["-P", "-xf", "a.tar"], refusal: denied("tar", "-P") },
  { name: "tar -h (dereference symlinks)", command: "tar", args: ["-chf", "a.tar", "."], refusal: denied("tar", "-chf") },
  { name: "tar an archive through a dangling symlink", command: "tar", args: ["-cf", "dangling", "file.txt"], refusal: outsidePath("tar", "dangling") },
  { name: "git diff --output through a dangling symlink", command: "git", args: ["diff", "--output=dangling"], refusal: outsidePath("git", "--output=dangling") },
  { name: "tar an archive outside", command: "tar", args: ["-cf", "../outside/pwned.tar", "file.txt"], refusal: outsidePath("tar", "../outside/pwned.tar") },
  { name: "tar host:file (remote shell)", command: "tar", args: ["-cf", "evilhost:pwned.tar", "file.txt"], refusal: /^refused by the arguments rule: tar: "evilhost:pwned.tar" is denied/ },
  // npm
  { name: "npm --prefix .. run", command: "npm", args: ["--prefix", "..", "run", "x"], refusal: denied("npm", "--prefix") },
  { name: "npm --prefix=.. run", command: "npm", args: ["--prefix=..", "run", "x"], refusal: denied("npm", "--prefix") },
  { name: "npm -C ..", command: "npm", args: ["-C", "..", "run", "x"], refusal: denied("npm", "-C") },
  { name: "npm exec", command: "npm", args: ["exec", "--", "touch", "pwned-npm"], refusal: /^refused by the arguments rule: npm: the subcommand "exec" is denied/ },
  { name: "npm x", command: "npm", args: ["x", "touch", "pwned-npm"], refusal: /^refused by the arguments rule: npm: the subcommand "x" is denied/ },
  { name: "npm --script-shell", command: "npm", args: ["--script-shell=./evil.sh", "run", "x"], refusal: denied("npm", "--script-shell") },
  { name: "npm config set", command: "npm", args: ["config", "set", "script-shell", "./evil.sh"], refusal: /^refused by the arguments rule: npm: the subcommand "config" is denied/ },
  { name: "npm explore", command: "npm", args: ["explore", "x", "--", "touch", "pwned-npm"], refusal: /the subcommand "explore" is denied/ },
  { name: "npm --userconfig (env trick)", command: "npm", args: ["--userconfig=.npmrc", "run", "x"], refusal: denied("npm", "--userconfig") },
  { name: "npm install -g", command: "npm", args: ["install", "-g", "left-pad"], refusal: denied("npm", "-g") },
  // npx
  { name: "npx node -e", command: "npx", args: ["node", "-e", "require('fs').writeFileSync('pwned-npx','')"], refusal: /^refused by the arguments rule: npx: node: "-e" is denied/ },
  { name: "npx -c", command: "npx", args: ["-c", `${touch}-npx`], refusal: /^refused by the arguments rule: npx: "-c" is denied before the command/ },
  { name: "npx --call=", command: "npx", args: [`--call=${touch}-npx`], refusal: /^refused by the arguments rule: npx: "--call=touch pwned-npx" is denied/ },
  { name: "npx sh -c", command: "npx", args: ["sh", "-c", `${touch}-npx`], refusal: /^refused by the arguments rule: npx: sh: a shell is denied/ },
  { name: "npx --package", command: "npx", args: ["--package=evil", "evil"], refusal: /^refused by the arguments rule: npx: "--package=evil" is denied/ },
  { name: "npx --prefix ..", command: "npx", args: ["--prefix", "..", "tsc"], refusal: /^refused by the arguments rule: npx: "--prefix" is denied/ },
  { name: "npx env (a launcher)", command: "npx", args: ["env", "touch", "pwned-npx"], refusal: /^refused by the arguments rule: npx: env: "touch" is denied/ },
  // node
  { name: "node -e", command: "node", args: ["-e", "require('fs').writeFileSync('pwned-node','')"], refusal: denied("node", "-e") },
  { name: "node --eval=", command: "node", args: ["--eval=require('fs').writeFileSync('pwned-node','')"], refusal: denied("node", "--eval") },
  { name: "node -p", command: "node", args: ["-p", "require('fs').writeFileSync('pwned-node','')"], refusal: denied("node", "-p") },
  { name: "node -pe (bundled)", command: "node", args: ["-pe", "require('fs').writeFileSync('pwned-node','')"], refusal: denied("node", "-pe") },
  { name: "node --require", command: "node", args: ["--require", "./evil.cjs", "file.txt"], refusal: denied("node", "--require") },
  { name: "node -r", command: "node", args: ["-r", "./evil.cjs", "file.txt"], refusal: denied("node", "-r") },
  { name: "node --import=", command: "node", args: ["--import=./evil.cjs", "file.txt"], refusal: denied("node", "--import") },
  { name: "node --env-file (NODE_OPTIONS trick)", command: "node", args: ["--env-file=.env", "file.txt"], refusal: denied("node", "--env-file") },
  { name: "node --inspect (debugger port)", command: "node", args: ["--inspect=0", "file.txt"], refusal: denied("node", "--inspect") },
  { name: "node --run (a package script)", command: "node", args: ["--run", "x"], refusal: denied("node", "--run") },
  { name: "node a script outside", command: "node", args: ["../outside/evil.cjs"], refusal: outsidePath("node", "../outside/evil.cjs") },
  { name: "node a script through a symlink", command: "node", args: ["escape/evil.cjs"], refusal: outsidePath("node", "escape/evil.cjs") },
  { name: "node fullwidth －－eval (NFKC look-alike)", command: "node", args: ["\uFF0D\uFF0Deval=require('fs').writeFileSync('pwned-node','')"], refusal: /^refused by the arguments rule: node: .* is denied/ },
  { name: "node en-dash –e (look-alike)", command: "node", args: ["\u2013e", "require('fs').writeFileSync('pwned-node','')"], refusal: /^refused by the arguments rule: node: .* is denied \(-e:/ },
  { name: "node fullwidth ．．/ (NFKC look-alike)", command: "node", args: ["\uFF0E\uFF0E/outside/evil.cjs"], refusal: /names a path outside the root$/ },
  // env, xargs
  { name: "env as a launcher", command: "env", args: ["touch", "pwned-env"], refusal: /^refused by the arguments rule: env: "touch" is denied/ },
  { name: "env NODE_OPTIONS=… node", command: "env", args: ["NODE_OPTIONS=--require=./evil.cjs", "node", "file.txt"], refusal: /^refused by the arguments rule: env: "node" is denied/ },
  { name: "env -S", command: "env", args: ["-S", `${touch}-env`], refusal: denied("env", "-S") },
  { name: "env --chdir", command: "env", args: ["--chdir=..", "ls"], refusal: denied("env", "--chdir") },
  { name: "xargs a command", command: "xargs", args: ["touch", "pwned-xargs"], refusal: /^refused by the arguments rule: xargs: "touch" is denied/ },
  { name: "xargs -I sh -c", command: "xargs", args: ["-I{}", "sh", "-c", `${touch}-xargs`], refusal: /^refused by the arguments rule: xargs: "sh" is denied/ },
  // sed, awk
  { name: "sed e command", command: "sed", args: ["-n", `1e ${touch}-sed`, "file.txt"], refusal: /^refused by the arguments rule: sed: the sed command 'e' is denied/ },
  { name: "sed s///e", command: "sed", args: [`s/a/${touch}-sed/e`, "file.txt"], refusal: /^refused by the arguments rule: sed: the s command flag 'e' is denied/ },
  { name: "sed w", command: "sed", args: ["w pwned-sed", "file.txt"], refusal: /^refused by the arguments rule: sed: the sed command 'w' is denied/ },
  { name: "sed -e p -e w", command: "sed", args: ["-e", "p", "-e", "1w pwned-sed", "file.txt"], refusal: /the sed command 'w' is denied/ },
  { name: "sed --expression= s///w", command: "sed", args: ["--expression=s/a/b/w pwned-sed", "file.txt"], refusal: /the s command flag 'w' is denied/ },
  { name: "sed -f script file", command: "sed", args: ["-f", "script.sed", "file.txt"], refusal: denied("sed", "-f") },
  { name: "awk system()", command: "awk", args: [`BEGIN { system("${touch}-awk") }`], refusal: /^refused by the arguments rule: awk: the awk program .* is denied/ },
  { name: "awk print > file", command: "awk", args: ["BEGIN { print 1 > \"pwned-awk\" }"], refusal: /the awk program .* is denied/ },
  { name: "awk cmd | getline", command: "awk", args: [`BEGIN { "${touch}-awk" | getline }`], refusal: /the awk program .* is denied/ },
  { name: "awk -f program file", command: "awk", args: ["-f", "prog.awk"], refusal: denied("awk", "-f") },
  // any command
  { name: "a NUL byte", command: "ls", args: ["file.txt\0../outside"], refusal: /^refused by the arguments rule: args\[0\] contains a NUL byte$/ },
  { name: "a 100 KB argument", command: "ls", args: ["a".repeat(100_000)], refusal: /^refused by the arguments rule: args\[0\] is longer than 65536 bytes$/ },
  { name: "--allow-args: ls -R", command: "ls", args: ["-R"], refusal: /^refused by the arguments rule: ls: "-R" matches no --allow-args pattern/ },
  { name: "--allow-args: ls an absolute path", command: "ls", args: ["/etc"], refusal: /^refused by the arguments rule: ls: "\/etc" matches no --allow-args pattern/ },
  { name: "cwd outside (..)", command: "find", args: ["."], cwd: "../outside", refusal: /^refused by the root rule: cwd "..\/outside" is outside the root$/ },
  { name: "cwd through a symlink", command: "find", args: ["."], cwd: "escape", refusal: /^refused by the root rule: cwd "escape" resolves \(through a symlink\)/ }
]

describe("command runner escape attempts", () => {
  it(`refuses all ${CASES.length} attempts, and nothing changes inside or outside the root`, async () => {
    assert.isAtLeast(CASES.length, 50)
    for (const c of CASES) {
      const r = await call(c.command, c.args, c.cwd)
      const text = textOf(r)
      assert.isTrue(r.isError, `${c.name}: not refused: ${text.slice(0, 300)}`)
      assert.match(text, c.refusal, c.name)
      assertNothingChanged(c.name)
    }
  })

  it("still runs benign calls of the same commands (the rules are not a blanket refusal)", async () => {
    const ok = async (command: string, args: ReadonlyArray<string>) => {
      const r = await call(command, args)
      assert.isNotTrue(r.isError, `${command} ${args.join(" ")}: ${textOf(r)}`)
      return JSON.parse(textOf(r)) as { exitCode: number; stdout: string }
    }
    assert.strictEqual((await ok("find", [".", "-name", "file.txt"])).stdout, "./file.txt\n")
    assert.strictEqual((await ok("sed", ["-n", "s/a/A/p", "file.txt"])).stdout, "A\n")
    assert.strictEqual((await ok("awk", ["{ print NR }", "file.txt"])).stdout, "1\n2\n")
    assert.strictEqual((await ok("tar", ["-cf", "ok.tar", "file.txt"])).exitCode, 0)
    assert.strictEqual((await ok("ls", ["-la", "file.txt"])).exitCode, 0)
    assert.strictEqual((await ok("env", [])).exitCode, 0)
    fs.rmSync(path.join(root, "ok.tar"))
    assertNothingChanged("benign calls")
  })
})

// --- the PATH a command gets --------------------------------------------------------------------

describe("the child's PATH", () => {
  it("drops relative, empty, in-root and world-writable entries; the runner's bin directory comes first", () => {
    const ww = path.join(scratch, "world-writable")
    fs.mkdirSync(ww, { mode: 0o777 })
    fs.chmodSync(ww, 0o777)
    const value = ["node_modules/.bin", "", ".", path.join(root, "sub"), path.join(root, "escape"), ww, "/usr/bin", "/usr/bin"].join(":")
    assert.strictEqual(childPath(value, root, "/runner-bin"), "/runner-bin:/usr/bin")
    fs.rmdirSync(ww)
  })

  it("a #!/usr/bin/env node script does not run a node planted below the root (real stdio server)", async () => {
    // The probe's attack: a PATH with relative and in-root entries, a planted node in the root.
    const planted = path.join(root, "sub", "node_modules", ".bin")
    fs.mkdirSync(planted, { recursive: true })
    const marker = path.join(base, "planted-node-ran")
    fs.writeFileSync(path.join(planted, "node"), `#!/bin/sh\ntouch ${marker}\necho planted\n`, { mode: 0o755 })
    const tool = path.join(scratch, "whichnode")
    fs.writeFileSync(tool, "#!/usr/bin/env node\nconsole.log(process.execPath)\n", { mode: 0o755 })
    const serverConfig = commandRunnerServer({
      root,
      allow: [tool, "node", "git", "tar", "find", "npm"],
      serverEnv: { PATH: ["node_modules/.bin", planted, path.dirname(process.execPath), "/usr/bin", "/bin"].join(":") },
      limits: { connectTimeoutMs: 15_000 }
    })
    const transport = new StdioClientTransport({
      command: serverConfig.command,
      args: [...serverConfig.args],
      env: { PATH: ["node_modules/.bin", planted, path.dirname(process.execPath), "/usr/bin", "/bin"].join(":") },
      stderr: "pipe"
    })
    const stdio = new Client({ name: "path-probe", version: "0" })
    await stdio.connect(transport)
    try {
      const r = (await stdio.callTool({ name: "run_command", arguments: { command: tool, cwd: "sub" } })) as Text
      assert.isNotTrue(r.isError, textOf(r))
      const result = JSON.parse(textOf(r)) as { exitCode: number; stdout: string }
      assert.strictEqual(result.exitCode, 0)
      assert.notInclude(result.stdout, "planted")
      assert.isFalse(result.stdout.startsWith(root), result.stdout)
      assert.isFalse(fs.existsSync(marker), "the planted node ran")
      // A handful of the argument attacks through the real process too.
      const handful = ["node -e", "node --require", "node a script outside", "git -c alias.x=!cmd", "tar --to-command", "find -exec", "npm --prefix .. run", "cwd through a symlink"]
      for (const c of CASES.filter((c) => handful.includes(c.name))) {
        const args = { command: c.command, args: [...c.args], ...(c.cwd === undefined ? {} : { cwd: c.cwd }) }
        const refused = (await stdio.callTool({ name: "run_command", arguments: args })) as Text
        assert.isTrue(refused.isError, c.name)
        assert.match(textOf(refused), c.refusal, c.name)
        assertNothingChanged(`${c.name} (stdio)`)
      }
    } finally {
      await stdio.close()
      fs.rmSync(path.join(root, "sub", "node_modules"), { recursive: true, force: true })
    }
    assertNothingChanged("planted node")
  })
})
