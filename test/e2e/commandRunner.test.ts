/**
 * End-to-end tests of mcpflow's command-runner MCP server (`src/runtime/servers/commandRunner/`), run
 * as a real stdio process through the gateway, as flows use it. The server is a security
 * boundary, so most tests try to get past one of its rules: the command allowlist, the root,
 * shell interpretation, the output cap, the timeout, the environment filter, cancellation.
 *
 * Real processes, real time (`excludeTestServices`, `it.live`): timeouts are kept short
 * (300 ms, a 200 ms kill grace). Process trees record their pids in a file below the root;
 * a pid counts as gone once it no longer exists or is a zombie (an orphan that PID 1 of a
 * container may never reap).
 */
import { afterAll, assert, describe, it, layer } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Clock, Effect, Exit, Fiber, Schedule } from "effect"
import type { McpflowToolError } from "../../dsl/ToolError.ts"
import { Commands, commandRunnerContracts, commandRunnerServer, succeeded } from "../../flows/servers/commandRunner.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import { ConfigError, DEFAULT_ENV_ALLOW, parseOptions, resolveConfig } from "../../src/runtime/servers/commandRunner/Config.ts"
import { CappedOutput } from "../../src/runtime/servers/commandRunner/Output.ts"
import { type GatewayEvent, GatewayEvents, McpGateway } from "../../dsl/ports/McpGateway.ts"

// --- a root, and things outside it ---------------------------------------------------------------

const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "mcpflow-commands-")))
const root = path.join(base, "root")
const outside = path.join(base, "outside")
fs.mkdirSync(path.join(root, "sub"), { recursive: true })
fs.mkdirSync(outside)
fs.writeFileSync(path.join(outside, "secret.txt"), "not for you")
fs.writeFileSync(path.join(root, "file.txt"), "a file, not a directory")
fs.symlinkSync(outside, path.join(root, "escape"))
fs.symlinkSync(path.join(root, "sub"), path.join(root, "inlink"))

const SECRET = "hunter2-do-not-leak"

const runnerConfig = (limits?: { readonly timeoutMs?: number }) =>
  commandRunnerServer({
    root,
    allow: ["node"],
    env: ["MCPFLOW_VISIBLE"],
    timeoutMs: limits?.timeoutMs ?? 4_000,
    maxTimeoutMs: 5_000,
    maxOutputBytes: 64 * 1024,
    killGraceMs: 200,
    progressIntervalMs: 100,
    serverEnv: { MCPFLOW_TEST_SECRET: SECRET, MCPFLOW_VISIBLE: "yes" },
    limits: { connectTimeoutMs: 15_000 }
  })

/** Every pid a test saw, killed as a last resort (the tests assert there are none left). */
const everyPid = new Set<number>()

/** The pid of the server the tests of the shared layer talk to. */
let sharedServerPid: number | undefined

afterAll(async () => {
  // Runs after the shared layer has closed: its server must be gone (stdin closed → it exits).
  const deadline = Date.now() + 3_000
  while (sharedServerPid !== undefined && isAlive(sharedServerPid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  const leftovers = [...everyPid].filter(isAlive)
  for (const pid of leftovers) process.kill(pid, "SIGKILL")
  fs.rmSync(base, { recursive: true, force: true })
  assert.deepStrictEqual(leftovers, [], "processes outlived the tests")
})

// --- processes -----------------------------------------------------------------------------------

/** Alive: exists and is not a zombie (Linux: state in /proc/<pid>/stat). */
const isAlive = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && fs.existsSync("/proc/self/stat")) return false
  }
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH"
  }
}

const assertGone = (pids: ReadonlyArray<number>, what: string) =>
  Effect.suspend(() => {
    const alive = pids.filter(isAlive)
    return alive.length === 0 ? Effect.void : Effect.fail(alive)
  }).pipe(
    Effect.retry({ schedule: Schedule.spaced("25 millis"), times: 120 }),
    Effect.catch((alive) => Effect.sync(() => assert.fail(`${what}: still running: ${alive.join(", ")}`)))
  )

/**
 * The path of a script file below the root holding `source`: `node -e` is denied by the
 * argument rules, so the tests run their scripts as files (`node <file> ...args`).
 */
const js = (source: string): string => {
  const file = path.join(root, "scripts", `${createHash("sha256").update(source).digest("hex").slice(0, 16)}.cjs`)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, source)
  return file
}

/**
 * A node script: starts a grandchild, writes `[pid, grandchildPid]` to the file named by
 * its first argument, then runs forever. Both ignore SIGTERM, so only SIGKILL of the whole
 * process group ends them.
 */
const TREE = [
  "const { spawn } = require('node:child_process');",
  "process.on('SIGTERM', () => {});",
  "const c = spawn(process.execPath, ['-e', \"process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)\"], { stdio: 'ignore' });",
  "c.on('spawn', () => require('node:fs').writeFileSync(process.argv[2], JSON.stringify([process.pid, c.pid])));",
  "setInterval(() => {}, 1000)"
].join("\n")

/** The pids a {@link TREE} script wrote, once it has. */
const treePids = (file: string) =>
  Effect.suspend(() => {
    try {
      const pids = JSON.parse(fs.readFileSync(path.join(root, file), "utf8")) as [number, number]
      for (const pid of pids) everyPid.add(pid)
      return Effect.succeed(pids)
    } catch {
      return Effect.fail("not yet")
    }
  }).pipe(
    Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 250 }),
    Effect.orDie
  )

// --- results -------------------------------------------------------------------------------------

const toolFailedText = <A>(exit: Exit.Exit<A, McpflowToolError>): string => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const fail = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  assert.isDefined(fail, `expected a typed failure, got ${Exit.isFailure(exit) ? String(exit.cause) : ""}`)
  const reason = (fail as { readonly error: McpflowToolError }).error.reason
  assert.strictEqual(reason._tag, "ToolFailed", `expected ToolFailed, got ${reason._tag}`)
  return reason._tag === "ToolFailed" ? reason.text : ""
}

const refusedBy = (input: Parameters<typeof Commands.run_command>[0]) =>
  Effect.exit(Commands.run_command(input)).pipe(Effect.map(toolFailedText))

const nodeJson = (script: string, extra?: { readonly args?: ReadonlyArray<string>; readonly cwd?: string }) =>
  Commands.run_command({ command: "node", args: [js(script), ...(extra?.args ?? [])], ...(extra?.cwd === undefined ? {} : { cwd: extra.cwd }) }).pipe(
    Effect.map((r) => {
      assert.strictEqual(r.exitCode, 0, `node failed: ${r.stderr}`)
      return JSON.parse(r.stdout) as unknown
    })
  )

// --- one server for most tests -------------------------------------------------------------------

layer(GatewayLayer.layer({ servers: { commands: runnerConfig() } }), { excludeTestServices: true })(
  "command runner over stdio",
  (it) => {
    it.effect("runs a command: exit code, stdout, stderr; a failing command is a result, not an error", () =>
      Effect.gen(function*() {
        const ok = yield* Commands.run_command({ command: "node", args: [js("console.log('hello'); console.error('warn')")] })
        assert.deepInclude(ok, {
          exitCode: 0,
          signal: null,
          stdout: "hello\n",
          stderr: "warn\n",
          stdoutTruncated: false,
          stderrTruncated: false,
          timedOut: false,
          timeoutMs: 4_000
        })
        assert.isTrue(succeeded(ok))
        assert.isAtLeast(ok.durationMs, 0)

        const failed = yield* Commands.run_command({ command: "node", args: [js("process.exit(3)")] })
        assert.strictEqual(failed.exitCode, 3)
        assert.isFalse(succeeded(failed))

        // The default cwd is the root; a relative cwd is below it; a symlink inside the root is fine.
        assert.strictEqual(yield* nodeJson("console.log(JSON.stringify(process.cwd()))"), root)
        assert.strictEqual(yield* nodeJson("console.log(JSON.stringify(process.cwd()))", { cwd: "sub" }), path.join(root, "sub"))
        assert.strictEqual(yield* nodeJson("console.log(JSON.stringify(process.cwd()))", { cwd: "inlink" }), path.join(root, "sub"))
        assert.strictEqual(yield* nodeJson("console.log(JSON.stringify(process.cwd()))", { cwd: path.join(root, "sub") }), path.join(root, "sub"))

        // A call may lower the timeout, never raise it above the server's maximum.
        assert.strictEqual((yield* Commands.run_command({ command: "node", args: [js("0")], timeoutMs: 1_234 })).timeoutMs, 1_234)
        assert.strictEqual((yield* Commands.run_command({ command: "node", args: [js("0")], timeoutMs: 10 ** 9 })).timeoutMs, 5_000)

        const status = (yield* McpGateway.use((gateway) => gateway.status)).find((s) => s.server === "commands")
        sharedServerPid = status?.pid
        assert.isNumber(sharedServerPid)
        if (sharedServerPid !== undefined) everyPid.add(sharedServerPid)

        const rules = yield* Commands.list_allowed({})
        assert.strictEqual(rules.root, root)
        assert.deepStrictEqual(rules.commands.map((c) => c.name), ["node"])
        assert.isTrue(path.isAbsolute(rules.commands[0]!.path))
        assert.include(rules.env, "PATH")
        assert.include(rules.env, "MCPFLOW_VISIBLE")
        assert.deepInclude(rules, { defaultTimeoutMs: 4_000, maxTimeoutMs: 5_000, maxOutputBytes: 65_536, maxConcurrent: 4, maxQueue: 32 })
      }))

    it.effect("the contracts match what the server publishes, annotations included", () =>
      Effect.gen(function*() {
        const gateway = yield* McpGateway
        assert.deepStrictEqual(yield* gateway.checkContracts(commandRunnerContracts), [])
        const published = yield* gateway.listTools("commands")
        for (const contract of commandRunnerContracts) {
          const tool = published.find((t) => t.name === contract.tool)
          assert.isDefined(tool, contract.name)
          const ours = contract.outputJsonSchema() as { readonly properties?: object; readonly required?: ReadonlyArray<string> }
          const theirs = tool!.outputSchema as { readonly properties?: object; readonly required?: ReadonlyArray<string> }
          assert.deepStrictEqual(Object.keys(ours.properties ?? {}).sort(), Object.keys(theirs.properties ?? {}).sort(), contract.name)
          assert.deepStrictEqual([...(ours.required ?? [])].sort(), [...(theirs.required ?? [])].sort(), contract.name)
          assert.deepStrictEqual(
            {
              readOnly: tool!.annotations?.readOnlyHint,
              destructive: tool!.annotations?.destructiveHint,
              idempotent: tool!.annotations?.idempotentHint,
              openWorld: tool!.annotations?.openWorldHint
            },
            contract.annotations,
            contract.name
          )
        }
      }))

    it.effect("refuses commands that are not allowlisted, compared exactly", () =>
      Effect.gen(function*() {
        for (const command of ["sh", "/bin/sh", "rm", "node ", "./node", "node; rm -rf /", "NODE", ""]) {
          const text = yield* refusedBy({ command, args: ["-c", "echo pwned > pwned.txt"] })
          assert.match(text, /^refused by the command allowlist rule: .* is not an allowed command \(allowed: node\)$/, command)
        }
        // The full path of the allowed executable is not an alias either.
        const rules = yield* Commands.list_allowed({})
        assert.match(yield* refusedBy({ command: rules.commands[0]!.path }), /command allowlist/)
        assert.isFalse(fs.existsSync(path.join(root, "pwned.txt")))
      }))

    it.effect("refuses a cwd outside the root: '..', absolute paths, symlinks pointing outside", () =>
      Effect.gen(function*() {
        const outsideRoot = "is outside the root"
        const throughSymlink = "resolves (through a symlink) to a directory outside the root"
        const cases: ReadonlyArray<readonly [string, string]> = [
          ["..", outsideRoot],
          ["../outside", outsideRoot],
          ["sub/../..", outsideRoot],
          ["sub/../../outside", outsideRoot],
          [outside, outsideRoot],
          ["/", outsideRoot],
          ["/etc", outsideRoot],
          [base, outsideRoot],
          ["escape", throughSymlink],
          ["escape/.", throughSymlink],
          ["inlink/../escape", throughSymlink],
          ["file.txt", "is not a directory"],
          ["missing", "does not exist below the root"],
          ["sub\0", "contains a NUL byte"]
        ]
        for (const [cwd, expected] of cases) {
          const text = yield* refusedBy({ command: "node", args: ["-e", "console.log(require('fs').readdirSync('.'))"], cwd })
          assert.strictEqual(text, `refused by the root rule: cwd ${JSON.stringify(cwd)} ${expected}`)
          // The refusal does not reveal where a symlink points.
          if (cwd.startsWith("escape")) assert.notInclude(text, outside)
        }
      }))

    it.effect("arguments reach the command literally: no shell, no expansion, no globbing", () =>
      Effect.gen(function*() {
        const tricky = [
          "; touch pwned-semicolon",
          "$(touch pwned-subshell)",
          "`touch pwned-backtick`",
          "&& touch pwned-and",
          "| tee pwned-pipe",
          "> pwned-redirect",
          "*",
          "~",
          "$HOME",
          "${MCPFLOW_TEST_SECRET}",
          "a\nb",
          "'quoted' \"twice\"",
          ""
        ]
        const argv = yield* nodeJson("console.log(JSON.stringify(process.argv.slice(2)))", { args: tricky })
        assert.deepStrictEqual(argv, tricky)
        assert.deepStrictEqual(fs.readdirSync(root).filter((f) => f.startsWith("pwned")), [])
        // NUL bytes cannot be passed to a process at all: refused, not silently cut.
        assert.match(yield* refusedBy({ command: "node", args: ["-e", "0", "a\0b"] }), /^refused by the arguments rule: args\[2\] contains a NUL byte$/)
      }))

    it.effect("only allowlisted environment variables reach a command", () =>
      Effect.gen(function*() {
        const env = (yield* nodeJson("console.log(JSON.stringify(process.env))")) as Record<string, string>
        assert.notProperty(env, "MCPFLOW_TEST_SECRET")
        assert.notInclude(JSON.stringify(env), SECRET)
        assert.strictEqual(env["MCPFLOW_VISIBLE"], "yes", "a variable added with --env passes")
        assert.property(env, "PATH")
        const allowed = (yield* Commands.list_allowed({})).env
        for (const name of Object.keys(env)) {
          assert.isTrue(allowed.some((p) => (p.endsWith("*") ? name.startsWith(p.slice(0, -1)) : p === name)), `${name} is not allowlisted`)
        }
      }))

    it.effect("a huge output is capped per stream, head and tail kept; the server stays healthy", () =>
      Effect.gen(function*() {
        const script = "process.stdout.write('HEAD' + 'x'.repeat(4e6) + 'TAIL'); process.stderr.write('e'.repeat(1e6) + 'END')"
        const r = yield* Commands.run_command({ command: "node", args: [js(script)] })
        assert.strictEqual(r.exitCode, 0)
        assert.isTrue(r.stdoutTruncated)
        assert.isTrue(r.stderrTruncated)
        assert.isTrue(r.stdout.startsWith("HEADxxx"))
        assert.isTrue(r.stdout.endsWith("xxxTAIL"))
        assert.include(r.stdout, `[… ${4_000_008 - 65_536} bytes omitted: output cap of 65536 bytes per stream …]`)
        assert.isBelow(r.stdout.length, 65_536 + 200)
        assert.isBelow(r.stderr.length, 65_536 + 200)
        assert.isTrue(r.stderr.endsWith("eeeEND"))
        // Still answering, and an output at the cap is not truncated.
        const exact = yield* Commands.run_command({ command: "node", args: [js("process.stdout.write('y'.repeat(65536))")] })
        assert.isFalse(exact.stdoutTruncated)
        assert.strictEqual(exact.stdout.length, 65_536)
      }))

    it.effect("a command that never exits is killed at its timeout, with its child processes", () =>
      Effect.gen(function*() {
        const startedAt = yield* Clock.currentTimeMillis
        // 1 s, not 300 ms: on a loaded machine node may take longer than that to start and write its pids.
        const r = yield* Commands.run_command({ command: "node", args: [js(TREE), "pids-timeout.json"], timeoutMs: 1_000 })
        const elapsed = (yield* Clock.currentTimeMillis) - startedAt
        const pids = yield* treePids("pids-timeout.json")
        assert.isTrue(r.timedOut)
        assert.strictEqual(r.exitCode, null)
        // Both ignore SIGTERM: SIGKILL after the 200 ms grace.
        assert.strictEqual(r.signal, "SIGKILL")
        assert.isAtLeast(r.durationMs, 480)
        assert.isBelow(elapsed, 5_000)
        yield* assertGone(pids, "the timed-out command's process tree")
      }))

    it.effect("a call cancelled by the client kills the command's process tree; the server goes on", () =>
      Effect.gen(function*() {
        const call = yield* Effect.forkChild(
          Commands.run_command({ command: "node", args: [js(TREE), "pids-cancel.json"], timeoutMs: 5_000 })
        )
        const pids = yield* treePids("pids-cancel.json")
        assert.isTrue(pids.every(isAlive), "the tree is running before the cancellation")
        const startedAt = yield* Clock.currentTimeMillis
        // Interrupting the call aborts it: the gateway sends notifications/cancelled.
        yield* Fiber.interrupt(call)
        yield* assertGone(pids, "the cancelled command's process tree")
        assert.isBelow((yield* Clock.currentTimeMillis) - startedAt, 4_000, "killed before its 5 s timeout")
        assert.strictEqual((yield* Commands.run_command({ command: "node", args: [js("console.log('next')")] })).stdout, "next\n")
      }))

    it.effect("reports progress (output bytes so far) while a command runs", () =>
      Effect.gen(function*() {
        const events: Array<GatewayEvent> = []
        const script = "let i = 0; const t = setInterval(() => { console.log('line ' + i); if (++i === 10) clearInterval(t) }, 60)"
        const r = yield* Commands.run_command({ command: "node", args: [js(script)] }, { label: "progress" }).pipe(
          Effect.provideService(GatewayEvents, { emit: (e) => events.push(e) })
        )
        assert.strictEqual(r.stdout.split("\n").length, 11)
        const progress = events.flatMap((e) => (e._tag === "ToolProgress" && e.label === "progress" ? [e.progress] : []))
        assert.isAtLeast(progress.length, 2, `progress notifications: ${JSON.stringify(progress)}`)
        assert.deepStrictEqual(progress, [...progress].sort((a, b) => a - b))
        assert.isTrue(new Set(progress).size === progress.length, "strictly increasing")
        assert.isAtMost(progress.at(-1)!, r.stdout.length)
      }))
  }
)

// --- the server's own lifecycle ------------------------------------------------------------------

describe("command runner lifecycle", () => {
  it.live("a server told to stop kills its running commands first, and exits", () =>
    Effect.gen(function*() {
      const gateway = yield* McpGateway
      const call = yield* Effect.forkChild(
        Effect.exit(Commands.run_command({ command: "node", args: [js(TREE), "pids-shutdown.json"], timeoutMs: 5_000 }))
      )
      const pids = yield* treePids("pids-shutdown.json")
      const server = (yield* gateway.status).find((s) => s.server === "commands")
      assert.isNumber(server?.pid)
      everyPid.add(server!.pid!)
      process.kill(server!.pid!, "SIGTERM")
      const exit = yield* Fiber.join(call)
      assert.isTrue(Exit.isFailure(exit), "the in-flight call fails once its server is gone")
      yield* assertGone([...pids, server!.pid!], "the stopped server and its command")
    }).pipe(Effect.provide(GatewayLayer.layer({ servers: { commands: runnerConfig() } }))))

  it.live("a bad configuration stops the server at start with a message naming the problem", () =>
    Effect.gen(function*() {
      const gateway = yield* McpGateway
      const exit = yield* Effect.exit(gateway.listTools("commands"))
      assert.isTrue(Exit.isFailure(exit))
      const fail = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const reason = (fail as { readonly error: McpflowToolError }).error.reason
      assert.strictEqual(reason._tag, "ServerUnavailable")
      if (reason._tag !== "ServerUnavailable") return
      assert.include(reason.detail, "command runner: --allow: 'definitely-not-a-command-xyz' was not found on PATH")
    }).pipe(
      Effect.provide(
        GatewayLayer.layer({ servers: { commands: commandRunnerServer({ root, allow: ["node", "definitely-not-a-command-xyz"] }) } })
      )
    ))
})

// --- options and the output cap, without processes -----------------------------------------------

describe("command runner options", () => {
  it("reads flags, falls back on COMMAND_RUNNER_* variables, and the command line wins", () => {
    const env = { COMMAND_RUNNER_ROOT: "/srv", COMMAND_RUNNER_ALLOW: "git", COMMAND_RUNNER_TIMEOUT_MS: "1000", COMMAND_RUNNER_ENV: "A" }
    const fromEnv = parseOptions([], env)
    assert.deepInclude(fromEnv, { root: "/srv", allow: ["git"], timeoutMs: 1_000 })
    assert.deepStrictEqual(fromEnv.envAllow, [...DEFAULT_ENV_ALLOW, "A"])
    const fromFlags = parseOptions(["--root=/repo", "--allow", "npm,npx", "--allow", "node", "--env", "NODE_*", "--no-default-env", "--max-output-bytes", "10"], env)
    assert.deepInclude(fromFlags, { root: "/repo", allow: ["npm", "npx", "node"], envAllow: ["NODE_*"], maxOutputBytes: 10, timeoutMs: 1_000 })
    for (const [argv, message] of [
      [["--allow", "node"], "--root is required"],
      [["--root", "."], "--allow needs at least one command"],
      [["--root", ".", "--allow", "node", "--timeout-ms", "0"], "--timeout-ms must be an integer ≥ 1"],
      [["--root", ".", "--allow", "node", "--timeout-ms", "9", "--max-timeout-ms", "5"], "is above --max-timeout-ms"],
      [["--root", ".", "--allow", "node", "--env", "A=B"], "is not a variable name"],
      [["--root", ".", "--allow", "node", "--shell"], "unknown argument '--shell'"]
    ] as const) {
      assert.throws(() => parseOptions(argv, {}), ConfigError, message)
    }
  })

  it("reads --max-concurrent, --max-queue, --allow-args and name=path entries; refuses malformed ones", () => {
    const o = parseOptions(["--root", root, "--allow", `node=${process.execPath}`, "--max-concurrent", "2", "--max-queue=0", "--allow-args", "node:--version"], {})
    assert.deepInclude(o, { maxConcurrent: 2, maxQueue: 0, allowArgs: ["node:--version"] })
    assert.deepInclude(parseOptions(["--root", "."], { COMMAND_RUNNER_ALLOW: "node", COMMAND_RUNNER_MAX_QUEUE: "7" }), { maxQueue: 7, maxConcurrent: 4 })
    const config = resolveConfig(o)
    assert.deepStrictEqual(config.commands, [{ name: "node", path: fs.realpathSync(process.execPath) }])
    assert.isTrue(config.allowArgs[0]!.pattern.test("--version"))
    assert.isFalse(config.allowArgs[0]!.pattern.test("--version2"), "anchored")
    for (const [argv, message] of [
      [["--root", ".", "--allow", "node", "--max-concurrent", "0"], "--max-concurrent must be an integer ≥ 1"],
      [["--root", ".", "--allow", "node", "--allow-args", "node"], "--allow-args: 'node' is not cmd:regex"],
      [["--root", ".", "--allow", "node", "--allow-args", "node:("], "--allow-args: Invalid regular expression"]
    ] as const) {
      assert.throws(() => parseOptions(argv, {}), ConfigError, message)
    }
    assert.throws(() => resolveConfig(parseOptions(["--root", root, "--allow", "node=node"], {})), ConfigError, "is not name=/path/to/executable")
    // A name is not looked up in a PATH directory below the root: a planted executable there is not found.
    fs.mkdirSync(path.join(root, "bin"), { recursive: true })
    fs.writeFileSync(path.join(root, "bin", "planted-tool"), "#!/bin/sh\n", { mode: 0o755 })
    assert.throws(() => resolveConfig(parseOptions(["--root", root, "--allow", "planted-tool"], {}), path.join(root, "bin")), ConfigError, "was not found on PATH")
    fs.rmSync(path.join(root, "bin"), { recursive: true })
  })

  it("keeps the head and the tail of an output under the cap, whatever the chunking", () => {
    const text = Array.from({ length: 500 }, (_, i) => `line ${i}`).join("\n")
    for (const chunk of [1, 7, 100, 10_000]) {
      const out = new CappedOutput(100)
      for (let i = 0; i < text.length; i += chunk) out.push(Buffer.from(text.slice(i, i + chunk)))
      assert.isTrue(out.truncated)
      assert.strictEqual(out.totalBytes, text.length)
      assert.strictEqual(out.text(), `${text.slice(0, 50)}\n[… ${text.length - 100} bytes omitted: output cap of 100 bytes per stream …]\n${text.slice(-50)}`)
    }
    const small = new CappedOutput(100)
    small.push(Buffer.from("short"))
    assert.isFalse(small.truncated)
    assert.strictEqual(small.text(), "short")
  })
})
