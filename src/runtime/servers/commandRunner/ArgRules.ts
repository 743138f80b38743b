/**
 * Per-command argument rules: the flags, subcommands and script contents with which an
 * allowlisted executable would run another program or leave the root (`find -exec`,
 * `git -c alias.x=!cmd`, `tar --to-command`, `node -e`, `env cmd`, `sed e`, awk `system()`),
 * denied for the executables the runner knows, in every spelling we know of: `--flag`,
 * `--flag=value`, unambiguous abbreviations (`--checkpoint-act=exec`), bundled short flags
 * (`-xe`), tar's old-style first argument (`tar xCf`), Unicode look-alikes (`－－eval`).
 * Unknown executables get no deny list; `--allow-args cmd:regex` restricts any command's
 * arguments to an allow pattern.
 *
 * @example
 * ```ts
 * checkArgRules("git", ["-c", "alias.x=!touch /tmp/p", "x"]) // => 'git: "-c" is denied (sets configuration: aliases and core.* run programs)'
 * checkArgRules("npx", ["tsc", "--noEmit", "-p", "."])        // => undefined
 * ```
 * @module
 */
import * as path from "node:path"

/**
 * What the runner knows about one executable's dangerous arguments.
 *
 * @example
 * ```ts
 * const rules: CommandArgRules = { why: "runs code", long: ["--eval"], short: "e" }
 * ```
 */
export interface CommandArgRules {
  /** Why these arguments are denied, for the refusal message. */
  readonly why: string
  /** Long options, denied as `--name`, `--name=value` and any abbreviation of at least two letters. */
  readonly long?: ReadonlyArray<string>
  /** Options of their own that abbreviate a denied one (tar's `--checkpoint`, not `--checkpoint-action`). */
  readonly benign?: ReadonlyArray<string>
  /** Single-dash words denied exactly (`-exec` for find, `-TT` for zip). */
  readonly words?: ReadonlyArray<string>
  /** Short option letters denied alone or in a bundle (`-e`, `-pe`, `-e1`). */
  readonly short?: string
  /** Positional words denied (subcommands: `git config`, `npm exec`). */
  readonly subcommands?: ReadonlyArray<string>
  /** A check of its own over all arguments: the offending description, or undefined. */
  readonly check?: (args: ReadonlyArray<string>) => string | undefined
  /** The arguments that are scripts, not paths (sed's script, awk's program), checked by `check` instead. */
  readonly scripts?: (args: ReadonlyArray<string>) => ReadonlyArray<{ readonly index: number }>
}

/** Shells: `-c` runs a command line; as an `npx` target, refused outright. */
const SHELLS = ["sh", "bash", "dash", "zsh", "ksh", "mksh", "fish", "csh", "tcsh", "ash", "busybox"]

/** Programs whose positional arguments are a command they run. */
const LAUNCHERS = [
  "xargs", "sudo", "su", "doas", "nohup", "nice", "ionice", "timeout", "setsid", "stdbuf", "chroot", "unshare",
  "nsenter", "flock", "watch", "script", "time", "strace", "ltrace", "gdb", "taskset", "chrt", "runuser", "setpriv",
  "systemd-run", "parallel", "exec"
]

/** Characters that look like `-` and NFKC does not map to it. */
const DASHES = /^[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]+/

/**
 * An argument as a program might read it: NFKC-normalized (`－－eval` → `--eval`,
 * `．．/` → `../`) and with a leading run of Unicode dashes made ASCII.
 *
 * @example
 * ```ts
 * canonicalArg("\u2013\u2013eval") // => "--eval"
 * ```
 */
export const canonicalArg = (arg: string): string =>
  arg.normalize("NFKC").replace(DASHES, (m) => "-".repeat(m.length))

const positionals = (args: ReadonlyArray<string>) => args.filter((a) => !a.startsWith("-") || a === "-")

/** The letters of a bundle of short flags (`-xzf` → `xzf`), or "" for anything else. */
const shortLetters = (arg: string): string => (/^-[A-Za-z]/.test(arg) ? arg.slice(1) : "")

/** A long option's name (`--to-command=x` → `--to-command`). */
const longName = (arg: string): string => (arg.startsWith("--") ? arg.split("=", 1)[0]! : "")

/** Whether `name` is `denied` or an abbreviation of it with at least two letters (`--to-com`). */
const abbreviates = (name: string, denied: string): boolean =>
  name === denied || (name.length >= 4 && denied.startsWith(name))

/** The `sed` commands that run programs (`e`, `s///e`) or touch other files (`w`, `W`, `r`, `R`). */
const dangerousSedCommand = (script: string): string | undefined => {
  let i = 0
  const n = script.length
  const skipDelimited = (delimiter: string) => {
    while (i < n && script[i] !== delimiter) i += script[i] === "\\" ? 2 : 1
    i++
  }
  while (i < n) {
    // Separators, addresses (`1,$`, `/re/`, `\%re%`), negation and spaces come before a command.
    while (i < n && /[\s;{}0-9,$!~+]/.test(script[i]!)) i++
    if (i >= n) break
    const c = script[i]!
    if (c === "/") {
      i++
      skipDelimited("/")
      continue
    }
    if (c === "\\") {
      const delimiter = script[i + 1] ?? ""
      i += 2
      skipDelimited(delimiter)
      continue
    }
    if ("ewWrRF".includes(c)) return `the sed command '${c}' is denied (it runs commands or reads and writes other files)`
    if (c === "s" || c === "y") {
      const delimiter = script[i + 1] ?? ""
      i += 2
      skipDelimited(delimiter)
      skipDelimited(delimiter)
      if (c === "s") {
        const flags = /^[^;\n}]*/.exec(script.slice(i))![0]
        if (/[ewW]/.test(flags)) return `the s command flag '${/[ewW]/.exec(flags)![0]}' is denied (it runs the result or writes a file)`
        i += flags.length
      }
      continue
    }
    // Any other command: skip to the end of it (text of a/i/c, labels of b/t).
    while (i < n && script[i] !== ";" && script[i] !== "\n") i++
  }
  return undefined
}

/** A script or program an argument carries: its index in the arguments and its text. */
interface ScriptArg {
  readonly index: number
  readonly text: string
}

const firstPositional = (args: ReadonlyArray<string>): Array<ScriptArg> => {
  const index = args.findIndex((a) => !a.startsWith("-") || a === "-")
  return index === -1 ? [] : [{ index, text: args[index]! }]
}

const sedScripts = (args: ReadonlyArray<string>): Array<ScriptArg> => {
  const scripts: Array<ScriptArg> = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === "-e" || a === "--expression" || /^-[a-zA-Z]*e$/.test(a)) {
      if (i + 1 < args.length) scripts.push({ index: i + 1, text: args[i + 1]! })
      i++
    } else if (a.startsWith("--expression=")) scripts.push({ index: i, text: a.slice("--expression=".length) })
    else if (/^-[a-zA-Z]*e./.test(a) && !a.startsWith("--")) scripts.push({ index: i, text: a.slice(a.indexOf("e") + 1) })
  }
  return scripts.length > 0 ? scripts : firstPositional(args)
}

const awkPrograms = (args: ReadonlyArray<string>): Array<ScriptArg> => {
  const sources = args.flatMap((a, i) =>
    a === "--source" && i + 1 < args.length
      ? [{ index: i + 1, text: args[i + 1]! }]
      : a.startsWith("--source=")
      ? [{ index: i, text: a.slice(9) }]
      : []
  )
  return sources.length > 0 ? sources : firstPositional(args)
}

const awkProgramDanger = /system|getline|[|>]|ENVIRON|PROCINFO|@load|@include|fflush|close/

const awkCheck = (args: ReadonlyArray<string>): string | undefined => {
  const bad = awkPrograms(args).map((p) => p.text).find((p) => awkProgramDanger.test(p))
  return bad === undefined ? undefined : `the awk program ${JSON.stringify(bad)} is denied (system(), getline, pipes and redirections run commands or write files)`
}

/** The subcommand of a git command line: its first positional (global options with values are denied anyway). */
const gitSubcommand = (args: ReadonlyArray<string>) => positionals(args)[0]

const gitCheck = (args: ReadonlyArray<string>): string | undefined => {
  const url = args.find((a) => /^(ext|fd)::/i.test(a) || /^-?-?[a-z-]*=?(ext|fd)::/i.test(a))
  if (url !== undefined) return `${JSON.stringify(url)} is denied (the ext:: and fd:: transports run commands)`
  const sub = gitSubcommand(args)
  if (sub === "clone" || sub === "ls-remote" || sub === "archive") {
    const u = args.find((a) => shortLetters(a).includes("u"))
    if (u !== undefined) return `${JSON.stringify(u)} is denied (with ${sub}, -u names the program to run)`
  }
  if (sub === "bisect" && args.includes("run")) return `"bisect run" is denied (it runs a command)`
  if (sub === "submodule" && args.includes("foreach")) return `"submodule foreach" is denied (it runs a command)`
  return undefined
}

const tarCheck = (args: ReadonlyArray<string>): string | undefined => {
  // tar's first argument may be a bundle of option letters without a dash: `tar xCf …`.
  const first = args[0]
  if (first !== undefined && /^[A-Za-z]+$/.test(first) && /[CIFP]/.test(first)) {
    return `${JSON.stringify(first)} is denied (old-style option letters; ${/[CIFP]/.exec(first)![0]} changes directory, runs a program or writes absolute paths)`
  }
  const remote = args.find((a) => /^[^/=-][^/]*:/.test(a))
  if (remote !== undefined) return `${JSON.stringify(remote)} is denied (a host:file archive runs a remote shell)`
  return undefined
}

const envCheck = (args: ReadonlyArray<string>): string | undefined => {
  const command = positionals(args).find((a) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(a))
  return command === undefined ? undefined : `${JSON.stringify(command)} is denied (env runs it as a command)`
}

const launcherCheck = (args: ReadonlyArray<string>): string | undefined => {
  const command = positionals(args)[0]
  return command === undefined ? undefined : `${JSON.stringify(command)} is denied (it would be run as a command)`
}

/** npx options allowed before the command (everything else there is refused). */
const NPX_OPTIONS = new Set(["--no", "--no-install", "--offline", "--prefer-offline", "--quiet", "-q", "--silent", "--no-audit", "--no-fund", "--no-update-notifier"])

const npxCheck = (args: ReadonlyArray<string>): string | undefined => {
  const at = args.findIndex((a) => !a.startsWith("-"))
  const options = at === -1 ? args : args.slice(0, at)
  const bad = options.find((a) => !NPX_OPTIONS.has(a) && !a.startsWith("--loglevel="))
  if (bad !== undefined) return `${JSON.stringify(bad)} is denied before the command (npx options allowed there: ${[...NPX_OPTIONS].join(" ")} --loglevel=…)`
  if (at === -1) return undefined
  return checkArgRules(args[at]!, args.slice(at + 1), true)
}

const RULES: ReadonlyArray<readonly [RegExp, CommandArgRules]> = [
  [/^find$/, {
    why: "runs commands, deletes or writes files, or follows symlinks out of the root",
    words: ["-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls", "-L", "-follow"]
  }],
  [/^git$/, {
    why: "runs programs, reads configuration or leaves the repository",
    long: [
      "--upload-pack", "--receive-pack", "--exec", "--exec-path", "--config", "--config-env", "--git-dir", "--work-tree",
      "--template", "--separate-git-dir", "--open-files-in-pager", "--extcmd", "--tool", "--ext-diff", "--textconv"
    ],
    short: "cCOx",
    subcommands: [
      "config", "filter-branch", "difftool", "mergetool", "daemon", "instaweb", "send-email", "credential",
      "credential-store", "credential-cache", "shell", "upload-pack", "receive-pack", "upload-archive", "remote-ext",
      "remote-fd", "archimport", "cvsimport", "cvsexportcommit", "cvsserver", "svn", "p4", "quiltimport", "web--browse",
      "fsmonitor--daemon"
    ],
    check: gitCheck
  }],
  [/^tar$/, {
    why: "runs programs, changes directory, writes absolute paths or follows symlinks",
    long: [
      "--checkpoint-action", "--to-command", "--use-compress-program", "--directory", "--info-script", "--new-volume-script",
      "--rmt-command", "--rsh-command", "--absolute-names", "--dereference"
    ],
    benign: ["--checkpoint"],
    short: "CIFPh",
    check: tarCheck
  }],
  [/^npm$/, {
    why: "runs programs, changes the package directory or writes outside it",
    long: [
      "--prefix", "--userconfig", "--globalconfig", "--script-shell", "--shell", "--node-options", "--global", "--location",
      "--call", "--git", "--editor", "--browser", "--viewer", "--init-module", "--node-gyp", "--onload-script"
    ],
    short: "Cgc",
    subcommands: [
      "exec", "x", "explore", "edit", "config", "c", "set", "link", "ln", "publish", "unpublish", "adduser", "add-user",
      "login", "logout", "token", "owner", "access", "deprecate", "dist-tag", "team", "org", "star", "unstar", "hook",
      "profile", "init", "create", "innit", "bugs", "docs", "home", "repo", "issues"
    ]
  }],
  [/^npx$/, { why: "runs programs", check: npxCheck }],
  [/^node$|^nodejs$/, {
    why: "runs code given on the command line or loads code and configuration",
    long: [
      "--eval", "--print", "--require", "--import", "--loader", "--experimental-loader", "--inspect", "--inspect-brk",
      "--inspect-port", "--inspect-wait", "--inspect-publish-uid", "--debug-port", "--run", "--openssl-config",
      "--snapshot-blob", "--build-snapshot", "--build-snapshot-config", "--experimental-sea-config", "--interactive",
      "--env-file", "--env-file-if-exists", "--experimental-config-file", "--experimental-default-config-file"
    ],
    short: "epri"
  }],
  [/^env$/, { why: "runs a command", long: ["--split-string", "--chdir"], short: "SC", check: envCheck }],
  [new RegExp(`^(${LAUNCHERS.join("|")})$`), { why: "runs a command", check: launcherCheck }],
  [/^sed$|^gsed$/, {
    why: "runs commands or writes files",
    long: ["--file"],
    short: "f",
    check: (args) => sedScripts(args).map((s) => dangerousSedCommand(s.text)).find((d) => d !== undefined),
    scripts: sedScripts
  }],
  [/^(g|m|n)?awk$/, {
    why: "runs commands or writes files",
    long: ["--file", "--exec", "--load", "--include"],
    short: "fEli",
    check: awkCheck,
    scripts: awkPrograms
  }],
  [new RegExp(`^(${SHELLS.join("|")})$`), { why: "runs a command line", short: "c" }],
  [/^python[0-9.]*$|^pypy[0-9.]*$/, { why: "runs code given on the command line", short: "c" }],
  [/^perl[0-9.]*$/, { why: "runs code given on the command line", short: "eEM" }],
  [/^ruby$/, { why: "runs code given on the command line", short: "er" }],
  [/^php$/, { why: "runs code given on the command line", short: "rB" }],
  [/^rg$/, { why: "runs programs", long: ["--pre", "--hostname-bin"] }],
  [/^sort$/, { why: "runs programs", long: ["--compress-program"] }],
  [/^zip$/, { why: "runs programs", long: ["--unzip-command"], words: ["-TT"] }],
  [/^rsync$/, { why: "runs programs", long: ["--rsh", "--rsync-path"], short: "e" }],
  [/^(ssh|scp|sftp)$/, { why: "runs programs", short: "oFSJ" }],
  [/^make$|^gmake$/, { why: "runs programs", long: ["--eval"] }],
  [/^wget$/, { why: "runs commands", long: ["--execute", "--use-askpass"], short: "e" }]
]

/**
 * The name the rules know an executable by: `/usr/bin/git` → `git`,
 * `npx-cli.js` → `npx`, `node.exe` → `node`.
 *
 * @example
 * ```ts
 * commandIdentity("/usr/lib/node_modules/npm/bin/npm-cli.js") // => "npm"
 * ```
 */
export const commandIdentity = (nameOrPath: string): string =>
  path.basename(nameOrPath).replace(/\.(c|m)?js$|\.exe$/, "").replace(/-cli$/, "")

/**
 * The rules of every identity an executable goes by (its allowlist name and its real path's name).
 *
 * @example
 * ```ts
 * rulesFor("node").length // => 1
 * rulesFor("ls")          // => []
 * ```
 */
export const rulesFor = (...names: ReadonlyArray<string>): ReadonlyArray<CommandArgRules> => {
  const ids = new Set(names.map(commandIdentity))
  return RULES.filter(([pattern]) => [...ids].some((id) => pattern.test(id))).map(([, rules]) => rules)
}

const denial = (rules: CommandArgRules, args: ReadonlyArray<string>): string | undefined => {
  for (const raw of args) {
    for (const arg of new Set([raw, canonicalArg(raw)])) {
      const name = longName(arg)
      if (name !== "" && !rules.benign?.includes(name) && rules.long?.some((d) => abbreviates(name, d))) return `${JSON.stringify(raw)} is denied (${rules.why})`
      if (rules.words?.includes(arg)) return `${JSON.stringify(raw)} is denied (${rules.why})`
      const letters = name === "" ? shortLetters(arg) : ""
      const letter = [...letters].find((l) => rules.short?.includes(l))
      if (letter !== undefined) return `${JSON.stringify(raw)} is denied (-${letter}: ${rules.why})`
    }
  }
  const sub = positionals(args.map(canonicalArg)).find((a) => rules.subcommands?.includes(a))
  if (sub !== undefined) return `the subcommand ${JSON.stringify(sub)} is denied (${rules.why})`
  return rules.check?.(args) ?? rules.check?.(args.map(canonicalArg))
}

/**
 * The first denied argument of a command line, described with the command's name (`git:
 * "-c" is denied (…)`), or `undefined` when the deny lists of the executables the runner knows
 * let every argument pass. The rules of both `name` (the allowlist name) and `realPath` (the
 * executable it runs: `npm` runs `npm-cli.js`) apply. `nested` is for the command an `npx`
 * runs: a shell there is refused outright.
 *
 * @example
 * ```ts
 * checkArgRules("tar", ["--checkpoint-action=exec=sh", "-cf", "a.tar", "."]) // => 'tar: "--checkpoint-action=exec=sh" is denied (…)'
 * checkArgRules("ls", ["-la"])                                               // => undefined
 * ```
 */
export const checkArgRules = (
  name: string,
  args: ReadonlyArray<string>,
  nested = false,
  realPath?: string
): string | undefined => {
  const command = commandIdentity(name)
  if (nested && new RegExp(`^(${SHELLS.join("|")})$`).test(command)) return `${command}: a shell is denied as the command npx runs`
  for (const rules of rulesFor(name, ...(realPath === undefined ? [] : [realPath]))) {
    const found = denial(rules, args)
    if (found !== undefined) return `${command}: ${found}`
  }
  return undefined
}

/**
 * An allow pattern from `--allow-args cmd:regex`: every argument of `command` must match one
 * of its command's patterns in full.
 *
 * @example
 * ```ts
 * const p: AllowArgsPattern = { command: "ls", pattern: /^(?:-[la]+|[\w./-]+)$/u, source: "-[la]+|[\\w./-]+" }
 * ```
 */
export interface AllowArgsPattern {
  readonly command: string
  readonly pattern: RegExp
  /** The regex as written. */
  readonly source: string
}

/**
 * Parses `cmd:regex`; the regex is anchored at both ends. Throws a `SyntaxError` for a bad
 * regex and an `Error` without a `:`.
 *
 * @example
 * ```ts
 * parseAllowArgs("ls:-[la]+|[\\w./-]+").pattern.test("-la") // => true
 * ```
 */
export const parseAllowArgs = (spec: string): AllowArgsPattern => {
  const at = spec.indexOf(":")
  if (at <= 0) throw new Error(`'${spec}' is not cmd:regex`)
  const source = spec.slice(at + 1)
  return { command: spec.slice(0, at), pattern: new RegExp(`^(?:${source})$`, "u"), source }
}

/**
 * The first argument no allow pattern of `command` matches, described, or `undefined` (also
 * when `command` has no patterns).
 *
 * @example
 * ```ts
 * checkAllowArgs([parseAllowArgs("ls:-l|src")], "ls", ["-l", "/etc"]) // => 'ls: "/etc" matches no --allow-args pattern (-l|src)'
 * ```
 */
export const checkAllowArgs = (
  patterns: ReadonlyArray<AllowArgsPattern>,
  command: string,
  args: ReadonlyArray<string>
): string | undefined => {
  const own = patterns.filter((p) => p.command === command)
  if (own.length === 0) return undefined
  const bad = args.find((a) => !own.some((p) => p.pattern.test(a)))
  return bad === undefined ? undefined : `${command}: ${JSON.stringify(bad)} matches no --allow-args pattern (${own.map((p) => p.source).join(" | ")})`
}

/**
 * The indices of the arguments that are scripts rather than paths for this command (sed's
 * script, awk's program: `/x/d` is an address, not a file); the path rule skips them, the deny
 * lists have checked them.
 *
 * @example
 * ```ts
 * scriptArgIndices("sed", ["-n", "/x/p", "file.txt"]) // => Set { 1 }
 * ```
 */
export const scriptArgIndices = (name: string, args: ReadonlyArray<string>, realPath?: string): ReadonlySet<number> =>
  new Set(
    rulesFor(name, ...(realPath === undefined ? [] : [realPath])).flatMap((r) => (r.scripts?.(args) ?? []).map((s) => s.index))
  )
