/**
 * Sandbox fakes of `security-scanner` and `desktop-commander`. Scans are deterministic: a few
 * low and medium code findings, clean dependencies, and clean images unless listed in
 * `vulnerableImages`. desktop-commander answers known commands from the seeds with realistic
 * output, and fails those listed in `failingCommands`.
 *
 * @example
 * ```ts
 * const servers = yield* makeSecuritySandbox({ vulnerableImages: ["app:latest"] })
 * ```
 * @module
 */
import { Effect } from "effect"
import { FakeServer } from "../../chaos/index.ts"
import type { InProcessServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { DesktopCommander, type Finding, SecurityScanner, type Vulnerability } from "../servers/security.ts"
import type { SandboxOptions } from "./options.ts"
import { latency, sandboxServer } from "./support.ts"

type Sev = typeof Finding.Type["severity"]
const RANK: Record<Sev, number> = { low: 0, medium: 1, high: 2, critical: 3 }
const atLeast = (threshold: Sev) => (f: { readonly severity: Sev }) => RANK[f.severity] >= RANK[threshold]
const counts = (items: ReadonlyArray<{ readonly severity: Sev }>) => ({
  low: items.filter((f) => f.severity === "low").length,
  medium: items.filter((f) => f.severity === "medium").length,
  high: items.filter((f) => f.severity === "high").length,
  critical: items.filter((f) => f.severity === "critical").length
})

const BANDIT: ReadonlyArray<typeof Finding.Type> = [
  { id: "B101", severity: "low", title: "Use of assert detected", file: "src/app/validators.py", line: 42, tool: "bandit" },
  { id: "B311", severity: "low", title: "Standard pseudo-random generator used for security", file: "src/app/tokens.py", line: 17, tool: "bandit" }
]
const SEMGREP: ReadonlyArray<typeof Finding.Type> = [
  { id: "python.flask.security.audit.debug-enabled", severity: "medium", title: "Flask debug mode enabled", file: "src/app/main.py", line: 88, tool: "semgrep" }
]
const NPM: ReadonlyArray<typeof Vulnerability.Type> = [
  { id: "GHSA-952p-6rrq-rcjv", severity: "low", package: "micromatch", installed_version: "4.0.5", fixed_version: "4.0.8", title: "ReDoS in micromatch" }
]
const CRITICAL: typeof Vulnerability.Type = {
  id: "CVE-2024-3094",
  severity: "critical",
  package: "xz-utils",
  installed_version: "5.6.0",
  fixed_version: "5.6.2",
  title: "Malicious code in xz/liblzma"
}

const imageReport = (image: string, vulnerable: ReadonlySet<string>, threshold: Sev = "low") => {
  const vulnerabilities = vulnerable.has(image) ? [CRITICAL].filter(atLeast(threshold)) : []
  return { success: true, total_vulnerabilities: vulnerabilities.length, vulnerabilities }
}

/** Canned output of the commands the seeds run through desktop-commander. */
const COMMANDS: ReadonlyArray<readonly [RegExp, number, string]> = [
  [/^black --check/, 400, "All done! ✨ 🍰 ✨\n87 files would be left unchanged."],
  [/^mypy/, 1200, "Success: no issues found in 87 source files"],
  [/^npm run build/, 1500, "> app@1.5.0 build\n> tsc -p . && vite build\n✓ built in 1.42s"],
  [/^pytest tests\/integration/, 900, "======================== 37 passed in 12.84s ========================"],
  [/^pytest/, 1500, "======================== 128 passed in 41.20s ========================"],
  [/^bandit/, 900, JSON.stringify({ results: BANDIT.map((f) => ({ test_id: f.id, issue_severity: f.severity.toUpperCase(), issue_text: f.title, filename: f.file, line_number: f.line })) })],
  [/^npm audit/, 700, JSON.stringify({
    vulnerabilities: Object.fromEntries(NPM.map((v) => [v.package, { name: v.package, severity: v.severity, range: `<${v.fixed_version}`, via: [{ source: v.id, title: v.title }] }])),
    metadata: { vulnerabilities: { low: 1, moderate: 0, high: 0, critical: 0 }, dependencies: { total: 812 } }
  })],
  [/^safety check/, 600, JSON.stringify({ report_meta: { packages_found: 64 }, vulnerabilities: [] })],
  [/^semgrep/, 1600, JSON.stringify({
    results: SEMGREP.map((f) => ({ check_id: f.id, path: f.file, start: { line: f.line }, extra: { severity: "WARNING", message: f.title } })),
    errors: []
  })],
  [/^kubectl wait/, 500, "pod/app-7d9f8c6b5-2xkqz condition met\npod/app-7d9f8c6b5-8hj4n condition met\npod/app-7d9f8c6b5-q7wzt condition met"],
  [/^kubectl patch/, 400, "deployment.apps/app patched"],
  [/^kubectl create namespace (\S+)/, 200, "namespace created"],
  [/^systemctl status/, 150, "● critical-services.target - Critical services\n   Active: active (running) since Mon 2024-09-23 08:00:00 UTC"],
  [/^sudo systemctl restart/, 2000, ""],
  [/^curl -f/, 250, "{\"status\":\"ok\",\"checks\":{\"db\":\"ok\",\"cache\":\"ok\"}}"],
  [/^pg_dump/, 1400, ""],
  [/^mkdir -p/, 30, ""],
  [/^memray|scripts\/analyze_memory_usage/, 1100, "No memory leaks detected (peak 412 MiB)"]
]

/**
 * The security-scanner and desktop-commander fakes.
 *
 * @example
 * ```ts
 * const { "security-scanner": scanner } = yield* makeSecuritySandbox({})
 * ```
 */
export const makeSecuritySandbox = (options: SandboxOptions): Effect.Effect<Record<string, InProcessServerConfig>> =>
  Effect.gen(function*() {
    const vulnerable = new Set(options.vulnerableImages ?? [])
    const failing = options.failingCommands ?? []

    const scanner = yield* sandboxServer("security-scanner", [
      FakeServer.handle(SecurityScanner.comprehensive_scan, ({ severity }) =>
        latency(2500).pipe(Effect.as((() => {
          const findings = [...BANDIT, ...SEMGREP].filter(atLeast(severity))
          return { success: true, findings, summary: counts(findings), duration_ms: 2500 }
        })()))),
      FakeServer.handle(SecurityScanner.bandit_scan, () =>
        latency(900).pipe(Effect.as({ success: true, findings: BANDIT, files_scanned: 87 }))),
      FakeServer.handle(SecurityScanner.python_safety_check, () =>
        latency(600).pipe(Effect.as({ success: true, total_vulnerabilities: 0, vulnerabilities: [], packages_scanned: 64 }))),
      FakeServer.handle(SecurityScanner.npm_audit, () =>
        latency(700).pipe(Effect.as({ success: true, total_vulnerabilities: NPM.length, vulnerabilities: NPM, dependencies_scanned: 812 }))),
      FakeServer.handle(SecurityScanner.container_scan, ({ image, dockerfile }) =>
        latency(300).pipe(Effect.as(imageReport(image ?? dockerfile ?? "", vulnerable)))),
      FakeServer.handle(SecurityScanner.docker_security_scan, ({ image, severity }) =>
        latency(300).pipe(Effect.as(imageReport(image, vulnerable, severity === "moderate" ? "medium" : severity)))),
      FakeServer.handle(SecurityScanner.static_analysis, () =>
        latency(1600).pipe(Effect.as({ success: true, findings: SEMGREP, files_scanned: 112, rules_run: 1043 }))),
      FakeServer.handle(SecurityScanner.consolidate_reports, ({ reports: input, output }) =>
        Effect.gen(function*() {
          yield* latency(200)
          // Count what the merged reports carry: `findings` and `vulnerabilities` arrays.
          const items = Object.values(input).flatMap((r) => {
            if (typeof r !== "object" || r === null || Array.isArray(r)) return []
            const record = r as { readonly [k: string]: unknown }
            return [record.findings, record.vulnerabilities].flatMap((xs) => (Array.isArray(xs) ? xs : []))
          })
          const severities = items.flatMap((i): Array<Sev> => {
            const s = typeof i === "object" && i !== null ? (i as { readonly severity?: unknown }).severity : undefined
            return s === "low" || s === "medium" || s === "high" || s === "critical" ? [s] : []
          })
          return {
            success: true,
            output,
            reports_merged: Object.keys(input).length,
            total_findings: items.length,
            by_severity: counts(severities.map((severity) => ({ severity })))
          }
        }))
    ])

    const commander = yield* sandboxServer("desktop-commander", [
      FakeServer.handle(DesktopCommander.execute_command, ({ command }) =>
        Effect.gen(function*() {
          const known = COMMANDS.find(([pattern]) => pattern.test(command))
          const ms = known?.[1] ?? 100
          yield* latency(ms)
          const trivy = /^trivy image\b.*?'?([^'\s]+)'?\s*$/.exec(command)
          if (trivy !== null && !failing.some((f) => command.includes(f))) {
            // trivy's JSON: one result per target, vulnerabilities in trivy's own field names.
            const vulnerabilities = imageReport(trivy[1]!, vulnerable).vulnerabilities.map((v) => ({
              VulnerabilityID: v.id,
              PkgName: v.package,
              InstalledVersion: v.installed_version,
              FixedVersion: v.fixed_version,
              Severity: v.severity.toUpperCase(),
              Title: v.title
            }))
            return { success: true, exit_code: 0, output: JSON.stringify({ Results: [{ Target: trivy[1], Vulnerabilities: vulnerabilities }] }), duration_ms: ms }
          }
          if (failing.some((f) => command.includes(f))) {
            return { success: false, exit_code: 1, output: `$ ${command}\nerror: command failed (sandbox: listed in failingCommands)`, duration_ms: ms }
          }
          return { success: true, exit_code: 0, output: known?.[2] ?? "", duration_ms: ms }
        }))
    ])

    return { "security-scanner": scanner, "desktop-commander": commander }
  })
