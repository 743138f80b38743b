/**
 * The seeds' security audit chain (bandit, safety, npm audit, trivy, semgrep, then one
 * consolidated report), with the seeds' graceful degradation: when `security-scanner` fails or
 * its circuit breaker is open, each scan runs through `desktop-commander` instead — the scanner's
 * arguments mapped to the equivalent shell command (arguments quoted, never interpreted), and
 * the command's JSON output mapped back to the scanner's findings. The report says, per scanner,
 * which path served it, and whether the consolidation ran on the scanner or locally.
 *
 * - status `complete`: every scan ran on `security-scanner`;
 * - `degraded`: some ran through the fallback (a dashboard notification says so, as in the seeds);
 * - `incomplete`: some scanners could not run on either path (one alert lists them, with both errors);
 * - no scanner at all: the gate "a scanner ran" stops the flow with `GateClosed` and one critical
 *   alert (an empty report would read as "clean").
 *
 * Run it on the built-in sandbox servers (in-process fakes, nothing real is touched):
 *
 * ```sh
 * npx tsx flows/security-audit.ts                                   # live report, exit 0
 * npx tsx flows/security-audit.ts --input '{"image":"api:1.4.2"}'   # another image
 * npx tsx flows/security-audit.ts --json                            # one JSON event per line
 * npx tsx flows/security-audit.ts --config .mcp.json                # real servers
 * npx mcpflow plan flows/security-audit.ts                          # its structure, without calling anything
 * npx vitest run test/flows/security-audit.test.ts                  # sandbox runs and the chaos suite
 * ```
 * @module
 */
import { Effect, Result, Schema } from "effect"
import { Alternatives, CapabilityLost, Flow, parallel, step, when } from "../dsl/flow/index.ts"
import { CircuitBreaker, type ContractSchema, McpflowToolError, type ToolContract } from "../dsl/index.ts"
import { main } from "../src/app/run/FlowFile.ts"
import { sandboxServers } from "./sandbox/index.ts"
import { Severity } from "./servers/common.ts"
import { CommunicationHub } from "./servers/notifications.ts"
import { DesktopCommander, SecurityScanner } from "./servers/security.ts"

// -----------------------------------------------------------------------------
// Input and report
// -----------------------------------------------------------------------------

const withDefault = <S extends Schema.Top & { readonly Encoded: string }>(schema: S, value: string) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const Input = Schema.Struct({
  /** Python sources for bandit (default `src/`). */
  path: withDefault(Schema.String, "src/"),
  /** Python requirements for safety (default `requirements.txt`). */
  requirements: withDefault(Schema.String, "requirements.txt"),
  /** package.json for npm audit (default `package.json`). */
  packageJson: withDefault(Schema.String, "package.json"),
  /** The container image for trivy (default `app:latest`). */
  image: withDefault(Schema.String, "app:latest"),
  /** The semgrep rule config (default `auto`). */
  semgrepConfig: withDefault(Schema.String, "auto"),
  /** Where the consolidated report is written (default `comprehensive_security_report.json`). */
  output: withDefault(Schema.String, "comprehensive_security_report.json")
})
type Input = typeof Input.Type

const ScannerName = Schema.Literals(["bandit", "safety", "npm_audit", "trivy", "semgrep"])
type ScannerName = typeof ScannerName.Type

const Path = Schema.Literals(["security-scanner", "desktop-commander", "unavailable"])

/** One finding or vulnerability, whichever scanner found it and whichever path served it. */
const Issue = Schema.Struct({
  scanner: ScannerName,
  id: Schema.String,
  severity: Severity,
  title: Schema.String,
  where: Schema.String
})
type Issue = typeof Issue.Type

const Counts = Schema.Struct({ low: Schema.Int, medium: Schema.Int, high: Schema.Int, critical: Schema.Int, total: Schema.Int })

const ScannerReport = Schema.Struct({
  scanner: ScannerName,
  servedBy: Path,
  issues: Schema.Int,
  /** Why neither path could run it (with `servedBy: "unavailable"`). */
  error: Schema.optionalKey(Schema.String)
})

const Output = Schema.Struct({
  status: Schema.Literals(["complete", "degraded", "incomplete"]),
  /** Per scanner: which path served it. */
  scanners: Schema.Array(ScannerReport),
  /** Where the totals were computed: on the scanner (`consolidate_reports`, which wrote `report`) or in the flow. */
  consolidatedBy: Schema.Literals(["security-scanner", "local"]),
  report: Schema.NullOr(Schema.String),
  totals: Counts,
  issues: Schema.Array(Issue)
})
type Output = typeof Output.Type

/**
 * The fallback command ran but its output is not the JSON the mapping expects.
 *
 * @example
 * ```ts
 * new UnreadableOutput({ command: "bandit -r 'src/' -f json", detail: "Expected …" })
 * ```
 */
export class UnreadableOutput extends Schema.TaggedError<UnreadableOutput>()("UnreadableOutput", {
  command: Schema.String,
  exitCode: Schema.Int,
  detail: Schema.String
}) {
  override get message(): string {
    return `desktop-commander: \`${this.command}\` (exit ${this.exitCode}) did not print the expected JSON: ${this.detail}`
  }
}

// -----------------------------------------------------------------------------
// The scanner's path, and the compatibility map to desktop-commander
// -----------------------------------------------------------------------------

/**
 * The seeds' breaker on the scanner: 3 consecutive failures open it for 60 s. One per run,
 * shared by every scanner tool of the run (a breaker set in `.mcp.json` under
 * `mcpflow.policies["security-scanner"]` would be shared by the whole gateway; the call site's
 * wins). While it is open, scans go straight to desktop-commander without calling the scanner.
 */
const scannerBreaker = CircuitBreaker.make({ name: "security-scanner", trip: CircuitBreaker.consecutive(3), openDuration: "60 seconds" }).pipe(
  Effect.orDie // constant settings: a malformed one is a bug, not a run failure
)

/** The scanner's calls: the breaker outside a short retry, each attempt bounded. */
const scannerPolicy = (breaker: CircuitBreaker.CircuitBreaker) => ({
  breaker,
  retry: { maxAttempts: 2, backoff: { kind: "exponential", initial: "500 millis", max: "5 seconds" }, jitter: "full" },
  timeout: "2 minutes"
} as const)

/**
 * The fallback's commands only read the tree or the image, but desktop-commander's contract is
 * not idempotent: retried only when nothing was sent (the default), bounded by a timeout.
 */
const commanderPolicy = { retry: { maxAttempts: 2 }, timeout: "5 minutes" } as const

/** One shell word: quoted, so a path or image name is never interpreted by the shell. */
const quote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`

/** The severity words the tools print (bandit, trivy: LOW…CRITICAL; semgrep: INFO, WARNING, ERROR). */
const ToolSeverity = Schema.Literals(["LOW", "MEDIUM", "HIGH", "CRITICAL", "UNKNOWN", "INFO", "WARNING", "ERROR"])

/** Every scanner's severity words, as ours. */
const severityOf = (word: string): Issue["severity"] => {
  switch (word.toLowerCase()) {
    case "critical":
      return "critical"
    case "high":
    case "error":
      return "high"
    case "medium":
    case "moderate":
    case "warning":
      return "medium"
    default:
      return "low"
  }
}

/** What each tool prints with `--json` (the fields the mapping reads). */
const BanditJson = Schema.Struct({
  results: Schema.Array(Schema.Struct({
    test_id: Schema.String,
    issue_severity: ToolSeverity,
    issue_text: Schema.String,
    filename: Schema.String,
    line_number: Schema.Int
  }))
})
const SafetyJson = Schema.Struct({
  vulnerabilities: Schema.Array(Schema.Struct({
    vulnerability_id: Schema.String,
    package_name: Schema.String,
    severity: Schema.optionalKey(Schema.NullOr(Schema.String)),
    advisory: Schema.optionalKey(Schema.String)
  }))
})
const NpmAuditJson = Schema.Struct({
  vulnerabilities: Schema.Record(Schema.String, Schema.Struct({ name: Schema.String, severity: Schema.String, range: Schema.optionalKey(Schema.String) }))
})
const TrivyJson = Schema.Struct({
  Results: Schema.Array(Schema.Struct({
    Target: Schema.String,
    Vulnerabilities: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.Struct({
      VulnerabilityID: Schema.String,
      PkgName: Schema.String,
      Severity: ToolSeverity,
      Title: Schema.optionalKey(Schema.String)
    }))))
  }))
})
const SemgrepJson = Schema.Struct({
  results: Schema.Array(Schema.Struct({
    check_id: Schema.String,
    path: Schema.String,
    start: Schema.Struct({ line: Schema.Int }),
    extra: Schema.Struct({ severity: ToolSeverity, message: Schema.String })
  }))
})

/**
 * The desktop-commander alternative of a scanner: `command` for the audit's input, run on
 * desktop-commander, its JSON output read with `schema`. A non-zero exit is not a failure by
 * itself (bandit and npm audit exit 1 when they find something): output that is not the
 * expected JSON is.
 */
const viaCommander = <S extends Schema.Codec<unknown, unknown, never, never>>(
  command: (input: Input) => string,
  schema: S,
  toIssues: (parsed: S["Type"]) => ReadonlyArray<Issue>
) =>
  Alternatives.tool(DesktopCommander.execute_command, {
    name: "desktop-commander",
    args: (input: Input) => ({ command: command(input), timeout_ms: 300_000 }),
    result: (r, input) =>
      Schema.decodeUnknownEffect(Schema.fromJsonString(schema))(r.output).pipe(
        Effect.mapError((e) => new UnreadableOutput({ command: command(input), exitCode: r.exit_code, detail: e.message.split("\n")[0] ?? "" })),
        Effect.map(toIssues)
      ),
    call: { policy: commanderPolicy }
  })

/** The security-scanner alternative of a scanner: its tool, arguments and findings. */
const viaScanner = <In extends ContractSchema, Out extends ContractSchema>(
  contract: ToolContract<In, Out>,
  args: (input: Input) => In["Type"],
  toIssues: (output: Out["Type"], input: Input) => ReadonlyArray<Issue>,
  policy: ReturnType<typeof scannerPolicy>
) =>
  Alternatives.tool(contract, {
    name: "security-scanner",
    args,
    result: (output, input) => Effect.succeed(toIssues(output, input)),
    call: { policy }
  })

/**
 * The compatibility table: per scanner, its call on security-scanner, then the equivalent command
 * on desktop-commander and how to read what it prints. A failure `degradable` accepts moves on.
 */
const scans = (policy: ReturnType<typeof scannerPolicy>) =>
  Alternatives.table({
    bandit: [
      viaScanner(SecurityScanner.bandit_scan, (input) => ({ path: input.path, format: "json" as const }), (r) =>
        r.findings.map((f) => ({ scanner: "bandit", id: f.id, severity: f.severity, title: f.title, where: `${f.file ?? "?"}:${f.line ?? 0}` })), policy),
      viaCommander((input) => `bandit -r ${quote(input.path)} -f json`, BanditJson, (j) =>
        j.results.map((r) => ({
          scanner: "bandit",
          id: r.test_id,
          severity: severityOf(r.issue_severity),
          title: r.issue_text,
          where: `${r.filename}:${r.line_number}`
        })))
    ],
    safety: [
      viaScanner(SecurityScanner.python_safety_check, (input) => ({ requirements_path: input.requirements }), (r) =>
        r.vulnerabilities.map((v) => ({ scanner: "safety", id: v.id, severity: v.severity, title: v.title ?? v.id, where: v.package })), policy),
      viaCommander((input) => `safety check -r ${quote(input.requirements)} --json`, SafetyJson, (j) =>
        j.vulnerabilities.map((v) => ({
          scanner: "safety",
          id: v.vulnerability_id,
          severity: severityOf(v.severity ?? "medium"),
          title: v.advisory ?? v.vulnerability_id,
          where: v.package_name
        })))
    ],
    npm_audit: [
      viaScanner(SecurityScanner.npm_audit, (input) => ({ package_json_path: input.packageJson }), (r) =>
        r.vulnerabilities.map((v) => ({ scanner: "npm_audit", id: v.id, severity: v.severity, title: v.title ?? v.id, where: v.package })), policy),
      viaCommander((input) => `npm audit --json --prefix ${quote(input.packageJson.replace(/\/?package\.json$/, "") || ".")}`, NpmAuditJson, (j) =>
        Object.values(j.vulnerabilities).map((v) => ({
          scanner: "npm_audit",
          id: `${v.name}${v.range === undefined ? "" : `@${v.range}`}`,
          severity: severityOf(v.severity),
          title: `${v.name} is vulnerable`,
          where: v.name
        })))
    ],
    trivy: [
      viaScanner(SecurityScanner.container_scan, (input) => ({ image: input.image, format: "json" as const }), (r, input) =>
        r.vulnerabilities.map((v) => ({ scanner: "trivy", id: v.id, severity: v.severity, title: v.title ?? v.id, where: `${input.image} ${v.package}` })), policy),
      viaCommander((input) => `trivy image --format json ${quote(input.image)}`, TrivyJson, (j) =>
        j.Results.flatMap((r) =>
          (r.Vulnerabilities ?? []).map((v) => ({
            scanner: "trivy",
            id: v.VulnerabilityID,
            severity: severityOf(v.Severity),
            title: v.Title ?? v.VulnerabilityID,
            where: `${r.Target} ${v.PkgName}`
          }))
        ))
    ],
    semgrep: [
      viaScanner(SecurityScanner.static_analysis, (input) => ({ config: input.semgrepConfig, path: "." }), (r) =>
        r.findings.map((f) => ({ scanner: "semgrep", id: f.id, severity: f.severity, title: f.title, where: `${f.file ?? "?"}:${f.line ?? 0}` })), policy),
      viaCommander((input) => `semgrep --config ${quote(input.semgrepConfig)} --json .`, SemgrepJson, (j) =>
        j.results.map((r) => ({
          scanner: "semgrep",
          id: r.check_id,
          severity: severityOf(r.extra.severity),
          title: r.extra.message,
          where: `${r.path}:${r.start.line}`
        })))
    ]
  }, { when: degradable })

/**
 * When the scanner's failure switches to desktop-commander: any failure (it is down, its breaker
 * is open, it timed out, it answered an error or drifted output) except those a shell command
 * must not work around — the allowlist refused it, or credentials are missing — and bad input.
 */
function degradable(e: unknown): boolean {
  return !(e instanceof McpflowToolError) ||
    (e.reason._tag !== "NotAllowed" && e.reason._tag !== "AuthRequired" && e.reason._tag !== "InvalidInput")
}

/** One scan, served by the scanner or, degraded, by desktop-commander; says which path served. */
const scan = (name: ScannerName, capability: Alternatives.Capability<Input, ReadonlyArray<Issue>, unknown>, input: Input) =>
  Alternatives.serve(capability, input).pipe(
    Effect.map(({ servedBy, value }) => ({
      scanner: name,
      servedBy: servedBy === "security-scanner" ? "security-scanner" as const : "desktop-commander" as const,
      issues: value
    }))
  )

/** What the consolidation works on: the scans that ran, and where the report goes. */
interface Scanned {
  readonly served: ReadonlyArray<{ readonly scanner: ScannerName; readonly servedBy: string; readonly issues: ReadonlyArray<Issue> }>
  readonly output: string
}

/** Consolidation: on the scanner (which writes the report file) or, degraded, totals computed in the flow. */
const consolidation = (policy: ReturnType<typeof scannerPolicy>) =>
  Alternatives.capability("consolidate", [
    Alternatives.tool(SecurityScanner.consolidate_reports, {
      name: "security-scanner",
      args: ({ output, served }: Scanned) => ({
        reports: Object.fromEntries(served.map((r) => [r.scanner, { served_by: r.servedBy, findings: r.issues.map((i) => ({ ...i })) }])),
        output
      }),
      result: (r) => Effect.succeed({ report: r.output as string | null, totals: { ...r.by_severity, total: r.total_findings } }),
      call: { policy }
    }),
    Alternatives.local("local", ({ served }: Scanned) => Effect.succeed({ report: null, totals: count(served.flatMap((r) => r.issues)) }))
  ], { when: degradable })

const count = (issues: ReadonlyArray<Issue>): typeof Counts.Type => {
  const of = (s: Issue["severity"]) => issues.filter((i) => i.severity === s).length
  return { low: of("low"), medium: of("medium"), high: of("high"), critical: of("critical"), total: issues.length }
}

const errorText = (e: unknown): string =>
  e instanceof CapabilityLost
    ? e.tried.map((t) => `${t.by}: ${t.error}`).join("; ")
    : typeof e === "object" && e !== null && "message" in e && typeof e.message === "string"
    ? e.message
    : String(e)

// -----------------------------------------------------------------------------
// The flow
// -----------------------------------------------------------------------------

/**
 * The audit.
 *
 * @example
 * ```ts
 * const report = yield* Flow.run(securityAudit, { image: "app:latest" })
 * report.scanners.map((s) => `${s.scanner}: ${s.servedBy}`)
 * ```
 */
const securityAudit = Flow.make({
  name: "security-audit",
  description: "Run five security scanners in parallel and consolidate their report, degrading from security-scanner to desktop-commander",
  input: Input,
  output: Output,
  uses: [
    SecurityScanner.bandit_scan,
    SecurityScanner.python_safety_check,
    SecurityScanner.npm_audit,
    SecurityScanner.container_scan,
    SecurityScanner.static_analysis,
    SecurityScanner.consolidate_reports,
    DesktopCommander.execute_command,
    CommunicationHub.send_notification,
    CommunicationHub.send_alert
  ],
  run: (input) =>
    Effect.gen(function*() {
      const policy = scannerPolicy(yield* scannerBreaker)
      const all = scans(policy)
      const settled = yield* parallel("scans", {
        bandit: step("bandit", scan("bandit", all.bandit, input), { description: "bandit_scan, else desktop-commander: bandit -r <path> -f json" }),
        safety: step("safety", scan("safety", all.safety, input), { description: "python_safety_check, else desktop-commander: safety check -r <requirements> --json" }),
        npm_audit: step("npm audit", scan("npm_audit", all.npm_audit, input), { description: "npm_audit, else desktop-commander: npm audit --json" }),
        trivy: step("trivy", scan("trivy", all.trivy, input), { description: "container_scan, else desktop-commander: trivy image --format json <image>" }),
        semgrep: step("semgrep", scan("semgrep", all.semgrep, input), { description: "static_analysis, else desktop-commander: semgrep --config <config> --json ." })
      }, { mode: "settle", description: "each scan on security-scanner, else desktop-commander" })

      const results = (Object.keys(settled) as Array<ScannerName>).map((name) => {
        const r = settled[name]
        return Result.isSuccess(r)
          ? { scanner: name, servedBy: r.success.servedBy, issues: r.success.issues, error: undefined }
          : { scanner: name, servedBy: "unavailable" as const, issues: [] as ReadonlyArray<Issue>, error: errorText(r.failure) }
      })
      const served = results.filter((r) => r.servedBy !== "unavailable")
      // No scanner at all: stop, with one critical alert (an empty report would read as a clean audit).
      const errors = results.map((r) => `${r.scanner}: ${r.error ?? "?"}`)
      yield* Flow.onFailure(
        Flow.gate("a scanner ran", served.length > 0, () => `no scanner could run on security-scanner or desktop-commander: ${errors.join("; ")}`),
        () => alert(`Security audit could not run: both security-scanner and desktop-commander failed`, "critical", { errors }),
        { name: "audit unavailable", description: "no scanner ran on either path" }
      )
      const issues = served.flatMap((r) => r.issues)

      // Consolidation: on the scanner (which writes the report file) or, degraded, in the flow.
      const consolidated = yield* step(
        "consolidate",
        Alternatives.serve(consolidation(policy), { served, output: input.output }),
        { description: "consolidate_reports, else totals computed in the flow" }
      )

      const degraded = results.filter((r) => r.servedBy === "desktop-commander").map((r) => r.scanner)
      const missing = results.filter((r) => r.servedBy === "unavailable")
      yield* when(
        "fallback notice",
        degraded.length > 0 || consolidated.degraded,
        bestEffort(step(
          "notify fallback",
          Effect.flatMap(Flow.idempotencyKey, (idempotency_key) =>
            CommunicationHub.send_notification({
              message: `Fallback used: security-scanner → desktop-commander for ${degraded.join(", ") || "none"}` +
                (consolidated.degraded ? "; report consolidated locally" : ""),
              channels: ["dashboard"],
              priority: "normal",
              idempotency_key
            }))
        )),
        { description: "a scan or the consolidation ran degraded" }
      )
      yield* when(
        "missing scanners",
        missing.length > 0,
        alert(
          `Security audit incomplete: both security-scanner and desktop-commander failed for ${missing.map((m) => m.scanner).join(", ")}`,
          "high",
          { primary_server: "security-scanner", fallback_server: "desktop-commander", errors: missing.map((m) => `${m.scanner}: ${m.error ?? "?"}`) }
        ),
        { description: "a scanner ran on neither path" }
      )

      const report: Output = {
        status: missing.length > 0 ? "incomplete" : degraded.length > 0 ? "degraded" : "complete",
        scanners: results.map((r) => ({
          scanner: r.scanner,
          servedBy: r.servedBy,
          issues: r.issues.length,
          ...(r.error === undefined ? {} : { error: r.error })
        })),
        consolidatedBy: consolidated.degraded ? "local" : "security-scanner",
        report: consolidated.value.report,
        totals: consolidated.value.totals,
        issues
      }
      return report
    })
})

/** Notifications never fail the audit: a failed one is reported as a failed step, and the run goes on. */
const bestEffort = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> => Effect.ignore(effect)

const alert = (message: string, severity: "high" | "critical", metadata: { readonly [k: string]: string | ReadonlyArray<string> }) =>
  bestEffort(step(
    "alert",
    // Keyed: a request duplicated on the wire (or retried) raises one alert, not two.
    Effect.flatMap(Flow.idempotencyKey, (idempotency_key) =>
      CommunicationHub.send_alert({ message, severity, metadata: { ...metadata }, idempotency_key }))
  ))

export default securityAudit

/** The built-in sandbox: fake security-scanner, desktop-commander and communication-hub servers. */
export const sandbox = Effect.map(sandboxServers(), (all) => ({
  "security-scanner": all["security-scanner"]!,
  "desktop-commander": all["desktop-commander"]!,
  "communication-hub": all["communication-hub"]!
}))

main(import.meta, securityAudit, { sandbox })
