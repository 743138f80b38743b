/**
 * Contracts of the seeds' code and container security servers: `security-scanner` (bandit,
 * safety, npm audit, trivy, semgrep, consolidated reports) and `desktop-commander` (run a shell
 * command; the scanner's fallback when its breaker is open).
 *
 * @example
 * ```ts
 * import { SecurityScanner } from "./security.ts"
 * const scan = SecurityScanner.bandit_scan({ path: "src/", format: "json" })
 * ```
 * @module
 */
import { Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import { CommandResult, Count, Details, NonNegative, Severity } from "./common.ts"

/**
 * A vulnerability reported by a dependency or container scanner.
 *
 * @example
 * ```ts
 * const v: typeof Vulnerability.Type = { id: "CVE-2024-1", severity: "high", package: "openssl" }
 * ```
 */
export const Vulnerability = Schema.Struct({
  id: Schema.String,
  severity: Severity,
  package: Schema.String,
  installed_version: Schema.optionalKey(Schema.String),
  fixed_version: Schema.optionalKey(Schema.String),
  title: Schema.optionalKey(Schema.String)
})

/**
 * A finding of a static analyser (bandit, semgrep, the comprehensive scan).
 *
 * @example
 * ```ts
 * const f: typeof Finding.Type = { id: "B105", severity: "low", title: "hardcoded password", file: "src/config.py", line: 12, tool: "bandit" }
 * ```
 */
export const Finding = Schema.Struct({
  id: Schema.String,
  severity: Severity,
  title: Schema.String,
  file: Schema.optionalKey(Schema.String),
  line: Schema.optionalKey(Count),
  tool: Schema.String
})

/** Findings counted by severity. */
const SeverityCounts = Schema.Struct({ low: Count, medium: Count, high: Count, critical: Count })

const ScanFormat = Schema.Literals(["json", "table", "sarif"])

const VulnerabilityReport = Schema.Struct({
  success: Schema.Boolean,
  total_vulnerabilities: Count,
  vulnerabilities: Schema.Array(Vulnerability)
})

const FindingReport = Schema.Struct({
  success: Schema.Boolean,
  findings: Schema.Array(Finding),
  files_scanned: Count
})

/**
 * The security scanner: code, dependency and container scans, and a consolidated report. Every
 * scan is read-only and idempotent (it reads the tree or the image, changes nothing), so
 * retries and caches may repeat it; `consolidate_reports` writes its output file.
 *
 * @example
 * ```ts
 * const { vulnerabilities } = yield* SecurityScanner.container_scan({ image: "app:latest", format: "json" })
 * const { findings } = yield* SecurityScanner.comprehensive_scan({ scope: "full", severity: "medium" })
 * ```
 */
export const SecurityScanner = Tool.server("security-scanner", {
  comprehensive_scan: Tool.define({
    description: "Run every scanner over the repository; reports findings at or above `severity`",
    input: Schema.Struct({
      scope: Schema.Literals(["full", "code", "dependencies", "containers"]),
      severity: Severity
    }),
    output: Schema.Struct({
      success: Schema.Boolean,
      findings: Schema.Array(Finding),
      summary: SeverityCounts,
      duration_ms: NonNegative
    }),
    annotations: { readOnly: true, idempotent: true, openWorld: false }
  }),
  bandit_scan: Tool.define({
    description: "Python static security analysis (bandit -r <path>)",
    input: Schema.Struct({ path: Schema.String, format: Schema.optionalKey(ScanFormat) }),
    output: FindingReport,
    annotations: { readOnly: true, idempotent: true, openWorld: false }
  }),
  python_safety_check: Tool.define({
    description: "Check Python requirements against the safety vulnerability database",
    input: Schema.Struct({ requirements_path: Schema.String }),
    output: Schema.Struct({ ...VulnerabilityReport.fields, packages_scanned: Count }),
    annotations: { readOnly: true, idempotent: true }
  }),
  npm_audit: Tool.define({
    description: "Audit npm dependencies (npm audit --json) of a package.json",
    input: Schema.Struct({ package_json_path: Schema.String }),
    output: Schema.Struct({ ...VulnerabilityReport.fields, dependencies_scanned: Count }),
    annotations: { readOnly: true, idempotent: true }
  }),
  container_scan: Tool.define({
    description: "Scan a container image (trivy) for known vulnerabilities; give `image`, or `dockerfile` to scan its base image",
    input: Schema.Struct({
      image: Schema.optionalKey(Schema.String),
      dockerfile: Schema.optionalKey(Schema.String),
      format: Schema.optionalKey(ScanFormat)
    }),
    output: VulnerabilityReport,
    annotations: { readOnly: true, idempotent: true }
  }),
  docker_security_scan: Tool.define({
    description: "Scan an image and report vulnerabilities at or above `severity` (`moderate` is npm's name for medium)",
    input: Schema.Struct({
      image: Schema.String,
      severity: Schema.Literals(["low", "moderate", "medium", "high", "critical"])
    }),
    output: VulnerabilityReport,
    annotations: { readOnly: true, idempotent: true }
  }),
  static_analysis: Tool.define({
    description: "Semgrep static analysis with a rule config (`auto` picks rules by language)",
    input: Schema.Struct({ config: Schema.String, path: Schema.String }),
    output: Schema.Struct({ ...FindingReport.fields, rules_run: Count }),
    annotations: { readOnly: true, idempotent: true }
  }),
  consolidate_reports: Tool.define({
    description: "Merge scan results into one report file; answers the totals by severity",
    input: Schema.Struct({ reports: Details, output: Schema.String }),
    output: Schema.Struct({
      success: Schema.Boolean,
      output: Schema.String,
      reports_merged: Count,
      total_findings: Count,
      by_severity: SeverityCounts
    }),
    annotations: { readOnly: false, destructive: false, idempotent: true }
  })
})

/**
 * Desktop commander: run one shell command on the operator's machine. Not read-only and not
 * idempotent in general (`rm`, `kubectl patch`, `systemctl restart`); the flow decides.
 *
 * @example
 * ```ts
 * const r = yield* DesktopCommander.execute_command({ command: "mypy src/" })
 * if (!r.success) yield* Effect.fail(r.output)
 * ```
 */
export const DesktopCommander = Tool.server("desktop-commander", {
  execute_command: Tool.define({
    description: "Run a shell command; answers its exit code and combined output",
    input: Schema.Struct({
      command: Schema.String,
      timeout_ms: Schema.optionalKey(NonNegative),
      cwd: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({ ...CommandResult.fields, duration_ms: NonNegative }),
    annotations: { readOnly: false, destructive: true, idempotent: false, openWorld: true }
  })
})
