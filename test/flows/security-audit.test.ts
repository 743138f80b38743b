/**
 * `flows/security-audit.ts` on its sandbox, on the TestClock: the complete audit, the scanner
 * down (every scan and the consolidation degrade, the breaker opens), both servers down, a
 * fallback command that prints garbage, argument mapping and quoting; then a chaos suite.
 *
 * Replay a chaos failure with the printed seed: `FC_SEED=<seed> npx vitest run test/flows/security-audit.test.ts`.
 */
import { chaosSeed } from "../../chaos/vitest.ts"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"
import { Arbitraries, Chaos, Fault, FlowFacts } from "../../chaos/index.ts"
import { Flow, type FlowEvent, FlowEngine, FlowEvents, GateClosed } from "../../dsl/flow/index.ts"
import securityAudit from "../../flows/security-audit.ts"
import { makeSandbox, type SandboxOptions, type SentMessage } from "../../flows/sandbox/index.ts"
import * as GatewayLayer from "../../src/runtime/gateway/GatewayLayer.ts"
import type { InProcessServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"

const SERVERS = ["security-scanner", "desktop-commander", "communication-hub"] as const
type Report = typeof securityAudit.output.Type
type Input = typeof securityAudit.input.Encoded

/** A server that cannot be started (its process exits): every call is `ServerUnavailable`. */
const down: InProcessServerConfig = {
  type: "in-process",
  make: () => {
    throw new Error("the process exited")
  }
}

/** Runs the audit on a fresh sandbox, advancing the TestClock until it ends. */
const audit = (input: Input, options: SandboxOptions & { readonly down?: ReadonlyArray<(typeof SERVERS)[number]> } = {}) =>
  Effect.gen(function*() {
    const sandbox = yield* makeSandbox(options)
    const servers: Record<string, InProcessServerConfig> = {}
    for (const key of SERVERS) servers[key] = options.down?.includes(key) === true ? down : sandbox.servers[key]!
    const sink = FlowEvents.collect()
    const fiber = yield* Flow.run(securityAudit, input).pipe(
      Effect.provideService(FlowEvents.FlowEvents, sink),
      Effect.provide(FlowEngine.layerMemory),
      Effect.provide(GatewayLayer.layer({ servers })),
      Effect.exit,
      Effect.forkChild
    )
    for (let i = 0; i < 5_000 && fiber.pollUnsafe() === undefined; i++) {
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      yield* TestClock.adjust("100 millis")
    }
    const exit = yield* Fiber.join(fiber)
    return { exit, events: sink.events, sent: yield* Ref.get(sandbox.state.sent) }
  })

const success = (exit: Exit.Exit<Report, unknown>): Report => {
  if (Exit.isFailure(exit)) assert.fail(`the audit failed: ${String(exit.cause)}`)
  return exit.value
}

const paths = (r: Report) => Object.fromEntries(r.scanners.map((s) => [s.scanner, s.servedBy]))
const fallbacks = (events: ReadonlyArray<FlowEvent>) =>
  events.flatMap((e) => (e._tag === "Policy" && e.event._tag === "FallbackUsed" ? [{ path: e.path, failure: e.event.primaryFailure }] : []))
const tools = (sent: ReadonlyArray<SentMessage>) => sent.map((m) => m.tool)

describe("security-audit on the sandbox", () => {
  it.effect("every scanner on security-scanner: complete, consolidated by the scanner, nothing sent", () =>
    Effect.gen(function*() {
      const { exit, events, sent } = yield* audit({})
      const report = success(exit)
      assert.strictEqual(report.status, "complete")
      assert.deepStrictEqual(paths(report), {
        bandit: "security-scanner",
        safety: "security-scanner",
        npm_audit: "security-scanner",
        trivy: "security-scanner",
        semgrep: "security-scanner"
      })
      assert.strictEqual(report.consolidatedBy, "security-scanner")
      assert.strictEqual(report.report, "comprehensive_security_report.json")
      assert.deepStrictEqual(report.totals, { low: 3, medium: 1, high: 0, critical: 0, total: 4 })
      assert.deepStrictEqual(fallbacks(events), [])
      assert.deepStrictEqual(sent, [])
    }))

  it.effect("the scanner is down: every scan through desktop-commander, the breaker opens, the report is consolidated locally and says so", () =>
    Effect.gen(function*() {
      const { exit, events, sent } = yield* audit({}, { down: ["security-scanner"] })
      const report = success(exit)
      assert.strictEqual(report.status, "degraded")
      assert.deepStrictEqual(new Set(Object.values(paths(report))), new Set(["desktop-commander"]))
      assert.strictEqual(report.consolidatedBy, "local")
      assert.isNull(report.report)
      // the same findings as the scanner reports, read from the tools' own JSON
      assert.deepStrictEqual(report.totals, { low: 3, medium: 1, high: 0, critical: 0, total: 4 })
      const used = fallbacks(events)
      assert.strictEqual(used.length, 6)
      // five scans found the server down; by then the breaker (3 consecutive failures) was open
      assert.deepStrictEqual(used.find((u) => u.path === "consolidate")?.failure, "Rejected")
      assert.isTrue(events.some((e) => e._tag === "Policy" && e.event._tag === "BreakerTransition" && e.event.to === "open"), "the breaker opened")
      // the seeds' notice, once; no alert
      assert.deepStrictEqual(tools(sent), ["send_notification"])
      assert.match(String(sent[0]?.args.message), /Fallback used: security-scanner → desktop-commander for bandit, safety, npm_audit, trivy, semgrep/)
    }))

  it.effect("a vulnerable image: the same critical finding on either path", () =>
    Effect.gen(function*() {
      const primary = success((yield* audit({ image: "api:2.0.0" }, { vulnerableImages: ["api:2.0.0"] })).exit)
      const degraded = success((yield* audit({ image: "api:2.0.0" }, { vulnerableImages: ["api:2.0.0"], down: ["security-scanner"] })).exit)
      const key = (r: Report) => r.issues.map((i) => `${i.scanner} ${i.id} ${i.severity}`).sort()
      assert.strictEqual(primary.totals.critical, 1)
      assert.deepStrictEqual(degraded.totals, primary.totals)
      // bandit, trivy and semgrep findings map one to one; npm audit's fallback names the package
      assert.deepStrictEqual(key(degraded).filter((k) => !k.startsWith("npm_audit")), key(primary).filter((k) => !k.startsWith("npm_audit")))
    }))

  it.effect("the scanner down and one fallback command failing: incomplete, and one alert names it with both errors", () =>
    Effect.gen(function*() {
      const { exit, sent } = yield* audit({}, { down: ["security-scanner"], failingCommands: ["semgrep"] })
      const report = success(exit)
      assert.strictEqual(report.status, "incomplete")
      const semgrep = report.scanners.find((s) => s.scanner === "semgrep")
      assert.strictEqual(semgrep?.servedBy, "unavailable")
      assert.match(semgrep?.error ?? "", /security-scanner: .*ServerUnavailable|security-scanner: .*could not/i)
      assert.match(semgrep?.error ?? "", /did not print the expected JSON/)
      assert.deepStrictEqual(tools(sent), ["send_notification", "send_alert"])
      assert.match(String(sent[1]?.args.message), /incomplete: .* failed for semgrep/)
    }))

  it.effect("both servers down: no report (it would read as clean), the gate \"a scanner ran\" closes and one critical alert says why", () =>
    Effect.gen(function*() {
      const { exit, sent } = yield* audit({}, { down: ["security-scanner", "desktop-commander"] })
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons.find((r) => r._tag === "Fail")
        const closed = error?._tag === "Fail" ? error.error : undefined
        assert.instanceOf(closed, GateClosed)
        assert.strictEqual((closed as GateClosed).gate, "a scanner ran")
        assert.match((closed as GateClosed).reason, /^no scanner could run on security-scanner or desktop-commander: bandit: .*; semgrep: /)
      }
      assert.deepStrictEqual(tools(sent), ["send_alert"])
      assert.strictEqual(sent[0]?.args.severity, "critical")
    }))

  it.effect("argument mapping quotes every word: a hostile path reaches the shell as one argument", () =>
    Effect.gen(function*() {
      const spec = chaosSpec({ path: "src/'; rm -rf / #", image: "app:latest" })
      const run = yield* Chaos.runOnce(spec, Fault.plan(1, [Fault.serverDown("security-scanner.*", 0, 3_600_000)]))
      assert.strictEqual(run.outcome._tag, "Success")
      const commands = FlowFacts.callsTo(run, "desktop-commander.*").map((c) => String(FlowFacts.argsOf(c).command)).sort()
      assert.deepStrictEqual(commands, [
        `bandit -r 'src/'\\''; rm -rf / #' -f json`,
        `npm audit --json --prefix '.'`,
        `safety check -r 'requirements.txt' --json`,
        `semgrep --config 'auto' --json .`,
        `trivy image --format json 'app:latest'`
      ])
    }))
})

// -----------------------------------------------------------------------------
// Chaos
// -----------------------------------------------------------------------------

/** The flow's sandbox servers as fake-server definitions (the chaos harness adds its injector), with the sent-message log as a snapshot. */
const definitions = (options: SandboxOptions = {}) =>
  Effect.flatMap(makeSandbox(options), (sandbox) =>
    FlowFacts.definitions(sandbox.servers, SERVERS, { "security-scanner": Ref.get(sandbox.state.sent) }))

const chaosSpec = (input: Input, options: SandboxOptions = {}): Chaos.Spec<Report, unknown> => ({
  servers: definitions(options),
  program: Flow.run(securityAudit, input).pipe(Effect.provide(FlowEngine.layerMemory)),
  // A scan's fallback command may be re-sent only when nothing reached the server (the default retry).
  allow: ["security-scanner.*", "desktop-commander.execute_command", "communication-hub.send_notification", "communication-hub.send_alert"]
})

type Run = Omit<Chaos.RunResult<Report, unknown>, "violations">

const sentOf = (run: Run): ReadonlyArray<SentMessage> => run.snapshots["security-scanner"] as ReadonlyArray<SentMessage>

const answered = (run: Run, server: string, tool?: string) =>
  run.sent.some((c) => c.server === server && (tool === undefined || c.tool === tool) && c.end === "answered")

const SCANNER_TOOL: Record<Report["scanners"][number]["scanner"], string> = {
  bandit: "bandit_scan",
  safety: "python_safety_check",
  npm_audit: "npm_audit",
  trivy: "container_scan",
  semgrep: "static_analysis"
}
const COMMAND: Record<Report["scanners"][number]["scanner"], string> = {
  bandit: "bandit ",
  safety: "safety ",
  npm_audit: "npm audit",
  trivy: "trivy ",
  semgrep: "semgrep "
}

const invariants: ReadonlyArray<Chaos.Invariant<Report, unknown>> = [
  {
    name: "the report is produced unless no scanner could run on either path",
    holds: (run) => run.outcome._tag === "Success" || (run.outcome._tag === "Failure" && run.outcome.error instanceof GateClosed && run.outcome.error.gate === "a scanner ran"),
    detail: (run) => `outcome ${run.outcome._tag}: ${run.outcome._tag === "Failure" ? String(run.outcome.error) : ""}`
  },
  {
    name: "the report says which path served each scanner, truthfully",
    holds: (run) => {
      if (run.outcome._tag !== "Success") return true
      return run.outcome.value.scanners.every((s) => {
        const commanded = FlowFacts.callsTo(run, "desktop-commander.*", (args) => String(args.command).startsWith(COMMAND[s.scanner]))
          .some((c) => c.end === "answered")
        switch (s.servedBy) {
          case "security-scanner":
            return answered(run, "security-scanner", SCANNER_TOOL[s.scanner])
          case "desktop-commander":
            return commanded
          case "unavailable":
            return s.error !== undefined
        }
      })
    },
    detail: (run) => JSON.stringify(run.outcome._tag === "Success" ? run.outcome.value.scanners : run.outcome)
  },
  {
    name: "status and totals agree with the scanners and the issues",
    holds: (run) => {
      if (run.outcome._tag !== "Success") return true
      const r = run.outcome.value
      const by = new Set(r.scanners.map((s) => s.servedBy))
      const status = by.has("unavailable") ? "incomplete" : by.has("desktop-commander") ? "degraded" : "complete"
      const t = r.totals
      return r.status === status && t.total === r.issues.length && t.low + t.medium + t.high + t.critical === t.total &&
        (r.consolidatedBy === "local") === (r.report === null)
    }
  },
  {
    name: "at most one alert and one fallback notice; none when the audit was complete",
    holds: (run) => {
      const sent = sentOf(run)
      const alerts = sent.filter((m) => m.tool === "send_alert").length
      const notices = sent.filter((m) => m.tool === "send_notification").length
      const complete = run.outcome._tag === "Success" && run.outcome.value.status === "complete" && run.outcome.value.consolidatedBy === "security-scanner"
      return alerts <= 1 && notices <= 1 && (!complete || alerts + notices === 0)
    },
    detail: (run) => JSON.stringify(tools(sentOf(run)))
  }
]

const seedOf = (offset: number) => chaosSeed("security-audit chaos", offset)

describe("security-audit chaos", () => {
  it.effect("faults anywhere: the report is produced, says which path served, and alerts at most once", () =>
    Effect.gen(function*() {
      const seed = seedOf(0)
      const report = yield* Chaos.check({ ...chaosSpec({}), invariants, runs: 200, seed })
      console.log(`security-audit chaos (faults anywhere): seed ${seed} — replay with FC_SEED=${seed}\n${Chaos.format(report)}`)
      assert.isTrue(report.ok, Chaos.format(report))
    }), 60_000)

  it.effect("the scanner down for the whole run, faults elsewhere: the report still comes, through the fallback, and says so", () =>
    Effect.gen(function*() {
      const seed = seedOf(1)
      const spec = chaosSpec({})
      const defs = yield* definitions()
      const targets = defs.filter((d) => d.key !== "security-scanner").flatMap((d) => d.handlers.map((h) => ({ server: d.key, tool: h.contract.tool })))
      const scannerDown = Fault.serverDown("security-scanner.*", 0, 3_600_000)
      const faults = Arbitraries.faultPlan({ targets, maxFaults: 2, minFaults: 0 }).map((p) => Fault.plan(p.seed, [scannerDown, ...p.faults]))
      const scannerNeverServes: Chaos.Invariant<Report, unknown> = {
        name: "with the scanner down, nothing is reported as served by it, and the consolidation is local",
        holds: (run) =>
          run.outcome._tag !== "Success" ||
          (run.outcome.value.scanners.every((s) => s.servedBy !== "security-scanner") && run.outcome.value.consolidatedBy === "local" &&
            run.outcome.value.status !== "complete")
      }
      const commanderAnswers: Chaos.Invariant<Report, unknown> = {
        name: "when desktop-commander answered every scan, the report is produced through it",
        holds: (run) => {
          const scans = FlowFacts.callsTo(run, "desktop-commander.*")
          const allAnswered = scans.length >= 5 && scans.every((c) => c.end === "answered") &&
            run.log.every((i) => i.server !== "desktop-commander")
          return !allAnswered ||
            (run.outcome._tag === "Success" && run.outcome.value.scanners.every((s) => s.servedBy === "desktop-commander"))
        }
      }
      const report = yield* Chaos.check({ ...spec, invariants: [...invariants, scannerNeverServes, commanderAnswers], runs: 150, seed, faults })
      console.log(`security-audit chaos (scanner down): seed ${seed} — replay with FC_SEED=${seed}\n${Chaos.format(report)}`)
      assert.isTrue(report.ok, Chaos.format(report))
      assert.isAbove(report.outcomes.Success ?? 0, 0, "some runs produced the report")
    }), 60_000)
})
