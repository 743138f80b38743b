/**
 * End-to-end tests of the `mcpflow` command line: each case spawns the real CLI (tsx + Node)
 * in a temp dir whose `.mcp.json` points at the real `@modelcontextprotocol/server-everything`
 * (over stdio, no network) and at a server whose command does not exist. All spawns start
 * together in `beforeAll`; each test awaits its own.
 */
import { readFileSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type CliRun, limited, runCli } from "../support/cli.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
/** Spawns at once: each costs ~1.5 s of CPU, and the machine may have only two cores. */
const maxConcurrentRuns = 4

const everythingEntry = (() => {
  const require = createRequire(join(root, "package.json"))
  const manifestPath = require.resolve("@modelcontextprotocol/server-everything/package.json")
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { readonly bin: Readonly<Record<string, string>> }
  const bin = Object.values(manifest.bin)[0]
  if (bin === undefined) throw new Error("server-everything declares no bin")
  return join(dirname(manifestPath), bin)
})()

type Run = CliRun

/** Runs the CLI in `cwd` once a slot among {@link maxConcurrentRuns} is free (killed after 20 s). */
const makeRunner = () =>
  limited(maxConcurrentRuns, (cwd: string, args: ReadonlyArray<string>) => runCli(args, { cwd, env: { NO_COLOR: "1" }, killAfterMs: 20_000 }))

const cases = {
  tools: ["tools"],
  toolsJson: ["tools", "--json"],
  toolsOne: ["tools", "everything"],
  toolDetail: ["tools", "everything.echo"],
  toolDetailJson: ["tools", "everything.echo", "--json"],
  toolMisspelled: ["tools", "everything.ecoh"],
  serverMisspelled: ["tools", "everythng"],
  echo: ["call", "everything.echo", "--args", '{"message":"hi"}'],
  echoFromFile: ["call", "everything.echo", "--args", "@args.json", "--timeout", "20s"],
  sumJson: ["call", "everything.get-sum", "--args", '{"a":1,"b":2}', "--json"],
  structured: ["call", "everything.get-structured-content", "--args", '{"location":"New York"}'],
  progress: ["call", "everything.trigger-long-running-operation", "--args", '{"duration":1,"steps":2}'],
  // Fits the tool's input schema (a number), refused by its handler (not a positive integer): an isError answer.
  toolFailed: ["call", "everything.get-resource-reference", "--args", '{"resourceId":0}'],
  unknownTool: ["call", "everything.no-such-tool"],
  misspelledTool: ["call", "everything.ecoh", "--args", '{"message":"hi"}'],
  misspelledArg: ["call", "everything.echo", "--args", '{"mesage":"hi"}'],
  wrongTypeArg: ["call", "everything.echo", "--args", '{"message":42}'],
  // A server that starts and never answers: --timeout bounds the command, tool list included.
  silent: ["call", "silent.anything", "--config", "silent.json", "--timeout", "1s"],
  unreachable: ["call", "missing.anything"],
  malformedConfig: ["tools", "--config", "malformed.json"],
  wrongTypeConfig: ["call", "everything.echo", "--config", "wrong-type.json"],
  missingConfig: ["tools", "--config", "nope.json"],
  badArgs: ["call", "everything.echo", "--args", "{not json"],
  argsNotObject: ["call", "everything.echo", "--args", "[1,2]"],
  noDot: ["call", "echo"],
  badTimeout: ["call", "everything.echo", "--timeout", "soon"],
  help: ["--help"],
  callHelp: ["call", "--help"],
  toolsHelp: ["tools", "--help"],
  resumeHelp: ["resume", "--help"],
  unknown: ["deploy"],
  unknownHelp: ["deploy", "--help"]
} as const satisfies Record<string, ReadonlyArray<string>>

let dir = ""
let runs: Record<keyof typeof cases, Promise<Run>>
let startedAt = 0

const result = (name: keyof typeof cases): Promise<Run> => runs[name]

/** No stack trace: no line of the form "    at fn (file:line:col)". */
const assertNoStack = (text: string) => assert.notMatch(text, /^\s+at /m)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcpflow-cli-"))
  const everything = { command: process.execPath, args: [everythingEntry, "stdio"] }
  await Promise.all([
    writeFile(
      join(dir, ".mcp.json"),
      JSON.stringify({ mcpServers: { everything, missing: { command: join(dir, "no-such-mcp-server") } } }, null, 2)
    ),
    writeFile(join(dir, "args.json"), JSON.stringify({ message: "from a file" })),
    writeFile(join(dir, "malformed.json"), '{\n  "mcpServers": {\n    "everything": { "command": "node", }\n  }\n}\n'),
    writeFile(join(dir, "wrong-type.json"), JSON.stringify({ mcpServers: { everything: { command: 42 } } })),
    writeFile(join(dir, "silent.json"), JSON.stringify({ mcpServers: { silent: { command: process.execPath, args: ["-e", "setInterval(() => {}, 1000)"] } } }))
  ])
  startedAt = Date.now()
  const start = makeRunner()
  runs = Object.fromEntries(
    Object.entries(cases).map(([name, args]) => [name, start(dir, args)])
  ) as Record<keyof typeof cases, Promise<Run>>
  // Keep rejections from being reported as unhandled before a test awaits them.
  for (const run of Object.values(runs)) run.catch(() => {})
})

afterAll(async () => {
  if (runs) await Promise.allSettled(Object.values(runs))
  if (startedAt) console.info(`cli e2e: ${Object.keys(cases).length} CLI runs took ${Date.now() - startedAt} ms`)
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe("mcpflow tools", () => {
  it("lists the reachable server's tools, reports the other, exits 1", async () => {
    const { code, stderr, stdout } = await result("tools")
    assert.strictEqual(code, 1, stderr)
    assert.match(stdout, /^everything: \d+ tools$/m)
    assert.match(stdout, /^ {2}echo\s+Echoes back the input string$/m)
    assert.match(stdout, /^ {2}get-structured-content\s+output-schema\s+\S/m)
    assert.match(stdout, /^missing: unreachable \(ServerUnavailable\): .*ENOENT/m)
    assert.strictEqual(stderr.trim(), "1 of 2 servers could not be reached")
  })

  it("a server key: that server only (the unreachable one is not asked), exit 0", async () => {
    const { code, stderr, stdout } = await result("toolsOne")
    assert.strictEqual(code, 0, stderr)
    assert.match(stdout, /^everything: \d+ tools$/m)
    assert.notInclude(stdout, "missing")
  })

  it("server.tool: its description, arguments, output and an example call; --json the tool as published", async () => {
    const [text, json] = await Promise.all([result("toolDetail"), result("toolDetailJson")])
    assert.strictEqual(text.code, 0, text.stderr)
    const lines = text.stdout.split("\n")
    assert.match(lines[0] ?? "", /^everything\.echo/)
    assert.include(lines, "Echoes back the input string")
    assert.match(text.stdout, /^arguments:\n {2}message\s+string\s+required\s+Message to echo$/m)
    assert.include(text.stdout, `  mcpflow call everything.echo --args '{"message":"…"}'`)
    assert.strictEqual(json.code, 0, json.stderr)
    const published = JSON.parse(json.stdout) as { server: string; tool: { name: string; inputSchema: { required?: Array<string> } } }
    assert.strictEqual(published.server, "everything")
    assert.strictEqual(published.tool.name, "echo")
    assert.deepStrictEqual(published.tool.inputSchema.required, ["message"])
  })

  it("a tool or server that is not there: the one meant, exit 2", async () => {
    const [tool, server] = await Promise.all([result("toolMisspelled"), result("serverMisspelled")])
    assert.strictEqual(tool.code, 2)
    assert.strictEqual(tool.stderr.trim(), `everything publishes no tool "ecoh"; did you mean "echo"?`)
    assert.strictEqual(server.code, 2)
    assert.strictEqual(server.stderr.trim(), `no server "everythng" is configured; did you mean "everything"?`)
    for (const run of [tool, server]) assert.strictEqual(run.stdout, "")
  })

  it("--json prints one JSON document", async () => {
    const { code, stderr, stdout } = await result("toolsJson")
    assert.strictEqual(code, 1, stderr)
    const report = JSON.parse(stdout) as {
      servers: Array<{
        server: string
        ok: boolean
        tools?: Array<{ name: string; description: string; hasOutputSchema: boolean }>
        error?: { reason: string; message: string }
      }>
    }
    assert.deepStrictEqual(report.servers.map((s) => [s.server, s.ok]), [["everything", true], ["missing", false]])
    const tools = report.servers[0]?.tools ?? []
    assert.deepStrictEqual(tools.find((t) => t.name === "echo"), {
      name: "echo",
      description: "Echoes back the input string",
      hasOutputSchema: false
    })
    assert.isTrue(tools.find((t) => t.name === "get-structured-content")?.hasOutputSchema)
    assert.strictEqual(report.servers[1]?.error?.reason, "ServerUnavailable")
    assert.include(report.servers[1]?.error?.message, "no-such-mcp-server")
  })
})

describe("mcpflow call", () => {
  it("prints a text result and exits 0", async () => {
    const { code, stderr, stdout } = await result("echo")
    assert.strictEqual(code, 0, stderr)
    assert.strictEqual(stdout, "Echo: hi\n")
  })

  it("reads --args from @file and accepts --timeout", async () => {
    const { code, stderr, stdout } = await result("echoFromFile")
    assert.strictEqual(code, 0, stderr)
    assert.strictEqual(stdout, "Echo: from a file\n")
  })

  it("--json prints the raw result", async () => {
    const { code, stderr, stdout } = await result("sumJson")
    assert.strictEqual(code, 0, stderr)
    const raw = JSON.parse(stdout) as { content: Array<{ type: string; text: string }> }
    assert.strictEqual(raw.content[0]?.type, "text")
    assert.match(raw.content[0]?.text ?? "", /\b3\b/)
  })

  it("prints structured content as pretty JSON", async () => {
    const { code, stderr, stdout } = await result("structured")
    assert.strictEqual(code, 0, stderr)
    const value = JSON.parse(stdout) as Record<string, unknown>
    assert.hasAllKeys(value, ["temperature", "conditions", "humidity"])
    assert.include(stdout, '\n  "temperature"')
  })

  it("keeps progress off stdout", async () => {
    const { code, stderr, stdout } = await result("progress")
    assert.strictEqual(code, 0, stderr)
    assert.match(stdout, /^Long running operation completed\..*\n$/)
    assert.match(stderr, /progress 1\/2/)
  })

  it("a tool error prints the server's text on stderr and exits 1", async () => {
    const { code, stderr, stdout } = await result("toolFailed")
    assert.strictEqual(code, 1)
    assert.strictEqual(stdout, "")
    assert.match(stderr, /Invalid resourceId: 0/)
    assertNoStack(stderr)
  })

  it("an unknown tool or an unreachable server prints the reason and exits 1", async () => {
    const [unknown, unreachable] = await Promise.all([result("unknownTool"), result("unreachable")])
    assert.strictEqual(unknown.code, 1)
    assert.match(unknown.stderr, /^everything\.no-such-tool: unknown tool: /)
    assert.strictEqual(unreachable.code, 1)
    assert.match(unreachable.stderr, /^missing\.anything: server 'missing' is unavailable: .*ENOENT/)
    for (const run of [unknown, unreachable]) {
      assert.strictEqual(run.stdout, "")
      assert.strictEqual(run.stderr.trim().split("\n").length, 1, run.stderr)
    }
  })

  it("a misspelled tool or argument: the error says which one the server has", async () => {
    const [tool, arg] = await Promise.all([result("misspelledTool"), result("misspelledArg")])
    assert.strictEqual(tool.code, 1)
    assert.match(tool.stderr, /^everything\.ecoh: unknown tool: .*; did you mean "echo"\?$/m)
    // Checked against the server's tool list before anything is sent: a usage error.
    assert.strictEqual(arg.code, 2)
    assert.strictEqual(
      arg.stderr.trim(),
      `everything.echo: invalid arguments: "mesage" is not an argument of echo; did you mean "message"? (nothing was sent)`
    )
    for (const run of [tool, arg]) assert.strictEqual(run.stdout, "")
  })

  it("--timeout bounds the whole command: a server that never answers its tool list times out as the call", async () => {
    const silent = await result("silent")
    assert.strictEqual(silent.code, 1, silent.stderr)
    assert.strictEqual(silent.stderr.trim(), "silent.anything: timed out after 1000 ms (the call, set by the call's options)")
    assert.isBelow(silent.ms, 15_000, "well before the default connect timeout")
  })

  it("arguments that do not fit the tool's input schema are refused before anything is sent", async () => {
    const wrongType = await result("wrongTypeArg")
    assert.strictEqual(wrongType.code, 2)
    assert.strictEqual(wrongType.stderr.trim(), "everything.echo: invalid arguments: message must be string (nothing was sent)")
    assert.strictEqual(wrongType.stdout, "")
  })
})

describe("usage and config errors exit 2", () => {
  it("malformed JSON config: one line naming the file and position, no stack trace", async () => {
    const { code, stderr, stdout } = await result("malformedConfig")
    assert.strictEqual(code, 2)
    assert.strictEqual(stdout, "")
    assert.strictEqual(stderr.trim().split("\n").length, 1, stderr)
    assert.match(stderr, /^malformed\.json: invalid JSON at line 3, column \d+: /)
    assertNoStack(stderr)
  })

  it("a server entry with a wrong type: one line naming the key and field", async () => {
    const { code, stderr, stdout } = await result("wrongTypeConfig")
    assert.strictEqual(code, 2)
    assert.strictEqual(stdout, "")
    assert.strictEqual(stderr.trim(), "wrong-type.json: mcpServers.everything.command: Expected a string, got 42")
  })

  it("a missing config file", async () => {
    const { code, stderr } = await result("missingConfig")
    assert.strictEqual(code, 2)
    assert.strictEqual(stderr.trim(), "nope.json: file not found")
  })

  it("bad --args, --args that is not an object, a name without a dot, a bad --timeout", async () => {
    const runs = await Promise.all([result("badArgs"), result("argsNotObject"), result("noDot"), result("badTimeout")])
    for (const run of runs) {
      assert.strictEqual(run.code, 2, run.stderr)
      assert.strictEqual(run.stdout, "")
      assertNoStack(run.stderr)
      assert.match(run.stderr, /Run 'mcpflow call --help' for usage\./)
    }
    const [badArgs, notObject, noDot, badTimeout] = runs.map((run) => run.stderr)
    assert.match(badArgs ?? "", /^error: Invalid value for flag --args: "\{not json"\. Expected: a JSON object; it is not valid JSON: /)
    assert.match(notObject ?? "", /^error: Invalid value for flag --args: "\[1,2\]"\. Expected: a JSON object/)
    assert.match(noDot ?? "", /^error: Invalid value for argument <tool>: "echo"\. Expected: a tool name as server\.tool/)
    assert.match(badTimeout ?? "", /^error: Invalid value for flag --timeout: "soon"/)
  })
})

describe("--help", () => {
  it("exits 0 and describes each command", async () => {
    const [help, callHelp, toolsHelp] = await Promise.all([result("help"), result("callHelp"), result("toolsHelp")])
    for (const run of [help, callHelp, toolsHelp]) {
      assert.strictEqual(run.code, 0, run.stderr)
      assert.strictEqual(run.stderr, "")
    }
    assert.match(help.stdout, /^ {2}tools\s+List every configured server/m)
    assert.match(help.stdout, /^ {2}call\s+Call one tool/m)
    assert.include(callHelp.stdout, "mcpflow call [flags] <tool>")
    for (const flag of ["--args", "--config", "--json", "--timeout"]) assert.include(callHelp.stdout, flag)
    assert.include(toolsHelp.stdout, "mcpflow tools [flags]")
    for (const flag of ["--config", "--json"]) assert.include(toolsHelp.stdout, flag)
  })

  it("each command lists only the flags it uses: resume has no --input, --resume, --chaos, --dry-run", async () => {
    const { code, stderr, stdout } = await result("resumeHelp")
    assert.strictEqual(code, 0, stderr)
    assert.include(stdout, "mcpflow resume [flags] <runId>")
    for (const flag of ["--file", "--config", "--json", "--quiet", "--verbose", "--state-dir", "--force"]) assert.include(stdout, flag)
    for (const flag of ["--input", "--resume", "--chaos", "--dry-run", "--no-journal", "--rate"]) assert.notInclude(stdout, flag)
  })

  it("--help on an unknown subcommand fails like the subcommand alone: Unknown subcommand, exit 2", async () => {
    const [unknown, unknownHelp] = await Promise.all([result("unknown"), result("unknownHelp")])
    for (const run of [unknown, unknownHelp]) {
      assert.strictEqual(run.code, 2, run.stderr)
      assert.strictEqual(run.stdout, "")
      assert.match(run.stderr, /^error: Unknown subcommand "deploy"/)
    }
  })
})
