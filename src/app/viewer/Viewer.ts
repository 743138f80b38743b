/**
 * The run viewer behind `mcpflow ui`: a small HTTP server (effect's `HttpServer` on Node's
 * `http`, loopback by default) over a state directory's journal. It serves one page (plain
 * HTML, CSS and JS from `Page.ts`, nothing from the network) and the JSON it polls:
 *
 * - `GET /api/runs?flow=&status=&since=&limit=` — the runs, newest first, filtered like
 *   `mcpflow runs` (`since` is an age: `30m`, `2h`, `7d`); a bad filter is a 400 naming it;
 * - `GET /api/runs/<id or unique prefix>` — one run: status, redacted input, step tree, timeline;
 * - `GET /api/runs/<id>/plan` — the plan of the run's flow file as Mermaid source (with the
 *   Mermaid id of each step path, so the page can colour the graph by step status);
 * - `GET /api/audit?run=<id>` — the run's audit entries: `[]` until an audit store is plugged
 *   in through {@link ViewerOptions.audit}.
 *
 * The journal is opened per request (read, then closed), so the viewer follows runs other
 * processes write, and a journal created after it started.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Viewer from "./Viewer.ts"
 *
 * Effect.scoped(Effect.gen(function*() {
 *   const { url } = yield* Viewer.start({ stateDir: ".mcpflow", port: 0 })
 *   console.log(url) // http://127.0.0.1:41873/
 *   yield* Effect.never
 * }))
 * ```
 * @module
 */
import { existsSync } from "node:fs"
import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Duration, Effect, Layer, Result } from "effect"
import type * as Scope from "effect/Scope"
import * as HttpServer from "effect/http/HttpServer"
import type { ServeError } from "effect/http/HttpServerError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import { type JournalError, RunJournal } from "../../../dsl/ports/RunJournal.ts"
import * as Engines from "../../runtime/engine/Engines.ts"
import { layer as journalLayer } from "../../runtime/engine/SqliteRunJournal.ts"
import { parseAge } from "../cli/HistoryFlags.ts"
import { selectRuns, type RunFilter } from "../run/RunQuery.ts"
import * as RunStatus from "../run/RunStatus.ts"
import { runDetail } from "./RunDetail.ts"
import { appCss, appJs, pageHtml } from "./Page.ts"

/**
 * AUDIT PANEL HOOK. Where the viewer's audit panel gets a run's audit entries (who called which
 * tool with what, redacted, and when). The audit log is built elsewhere; plug its store in here.
 * Without one, `/api/audit` answers `[]`.
 *
 * @example
 * ```ts
 * const audit: AuditSource = (runId) => Effect.succeed([{ at: 0, actor: "ana", action: "shop.charge", outcome: "ok" }])
 * ```
 */
export type AuditSource = (runId: string | undefined) => Effect.Effect<ReadonlyArray<unknown>, unknown>

/**
 * How to start the viewer.
 *
 * @example
 * ```ts
 * const options: ViewerOptions = { stateDir: ".mcpflow", port: 0, host: "127.0.0.1" }
 * ```
 */
export interface ViewerOptions {
  readonly stateDir: string
  /** `0` picks a free port (the URL says which). */
  readonly port: number
  /** Default `127.0.0.1` (loopback only). */
  readonly host?: string | undefined
  /** AUDIT PANEL HOOK: the audit store, when one exists (default: none, `[]`). */
  readonly audit?: AuditSource | undefined
  /** A journal already open (a cluster's Postgres journal, `mcpflow ui --database`) instead of the state directory's. */
  readonly journal?: RunJournal["Service"] | undefined
}

const loopbackNames = new Set(["127.0.0.1", "localhost", "::1", "[::1]"])

/**
 * Whether `host` only listens on this machine.
 *
 * @example
 * ```ts
 * isLoopback("127.0.0.1") // => true
 * isLoopback("0.0.0.0")   // => false
 * ```
 */
export const isLoopback = (host: string): boolean => loopbackNames.has(host) || host.startsWith("127.")

/** The host name of a `Host` header (`127.0.0.1:8080` → `127.0.0.1`, `[::1]:80` → `[::1]`). */
const hostName = (header: string): string => (header.startsWith("[") ? header.slice(0, header.indexOf("]") + 1) : header.split(":")[0]!)

/** A 4xx answer with one JSON shape: `{ "error": { "message": … } }`. */
const problem = (status: number, message: string, extra?: Record<string, unknown>) =>
  HttpServerResponse.jsonUnsafe({ error: { message, ...extra } }, { status, headers: { "cache-control": "no-store" } })

const json = (body: unknown) => HttpServerResponse.jsonUnsafe(body, { headers: { "cache-control": "no-store" } })

/** An answer other than 200, decided while reading the journal. */
class Refused {
  readonly _tag = "Refused"
  constructor(readonly status: number, readonly message: string, readonly extra?: Record<string, unknown>) {}
}

/**
 * The history filters of a query string (`flow`, `status`, `since` as an age, `limit`); a bad
 * one fails with a message naming the parameter.
 *
 * @example
 * ```ts
 * parseFilter(new URLSearchParams("status=failed&since=7d")) // => Result.succeed({ status: "failed", sinceMs: 604800000, … })
 * parseFilter(new URLSearchParams("limit=0"))                // => Result.fail("limit \"0\": expected a positive integer")
 * ```
 */
export const parseFilter = (params: URLSearchParams): Result.Result<RunFilter, string> => {
  const text = (name: string) => {
    const value = params.get(name)?.trim()
    return value === undefined || value === "" ? undefined : value
  }
  const status = text("status")
  if (status !== undefined && !RunStatus.runStatuses.includes(status as RunStatus.RunStatus)) {
    return Result.fail(`status ${JSON.stringify(status)}: expected one of ${RunStatus.runStatuses.join(", ")}`)
  }
  const since = text("since")
  const age = since === undefined ? undefined : parseAge(since)
  if (age !== undefined && Result.isFailure(age)) return Result.fail(`since ${JSON.stringify(since)}: expected ${age.failure}`)
  const limit = text("limit")
  if (limit !== undefined && !/^[1-9]\d{0,8}$/.test(limit)) return Result.fail(`limit ${JSON.stringify(limit)}: expected a positive integer`)
  return Result.succeed({
    flow: text("flow"),
    status: status as RunStatus.RunStatus | undefined,
    sinceMs: age === undefined ? undefined : Duration.toMillis(age.success),
    limit: limit === undefined ? undefined : Number(limit)
  })
}

/** Runs `f` with the journal of `stateDir` (opened for this request), or `undefined` when there is none yet. */
const withJournal = <A>(
  options: ViewerOptions,
  f: (journal: RunJournal["Service"]) => Effect.Effect<A, JournalError | Refused>
): Effect.Effect<A | undefined, JournalError | Refused> => {
  if (options.journal !== undefined) return f(options.journal)
  const file = Engines.journalFile(options.stateDir)
  return existsSync(file) ? RunJournal.use(f).pipe(Effect.provide(journalLayer(file))) : Effect.succeed(undefined)
}

/** The run an id or a unique id prefix names: 404 for none, 409 (listing them) for several. */
const resolveRun = (journal: RunJournal["Service"], idOrPrefix: string) =>
  Effect.gen(function*() {
    const found = yield* journal.find(idOrPrefix, 11)
    const exact = found.find((r) => r.runId === idOrPrefix)
    if (exact !== undefined) return exact
    if (found.length === 1) return found[0]!
    if (found.length === 0) return yield* Effect.fail(new Refused(404, `no run with id or id prefix ${JSON.stringify(idOrPrefix)}`))
    return yield* Effect.fail(
      new Refused(409, `the id prefix ${JSON.stringify(idOrPrefix)} is ambiguous; give more characters`, {
        candidates: found.slice(0, 10).map((r) => r.runId)
      })
    )
  })

/**
 * The plan of a flow file as Mermaid, with each step path's Mermaid id; or why there is none.
 * The planner and the flow loader are imported on the first plan asked for.
 */
const planOf = (source: string, input: unknown) =>
  Effect.promise(() => Promise.all([import("../../../dsl/flow/Plan.ts"), import("../run/LoadFlow.ts")])).pipe(
    Effect.flatMap(([Plan, { loadFlow }]) => planWith(Plan, loadFlow, source, input))
  )

const planWith = (
  Plan: typeof import("../../../dsl/flow/Plan.ts"),
  loadFlow: typeof import("../run/LoadFlow.ts").loadFlow,
  source: string,
  input: unknown
) =>
  loadFlow(source).pipe(
    // The run's own input when it plans (it may hold `<redacted>` fields), else a sample one.
    Effect.flatMap(({ flow }) => Effect.catch(Plan.plan(flow, input as never), () => Plan.plan(flow))),
    Effect.map((planned) => ({
      mermaid: Plan.toMermaid(planned),
      ids: Object.fromEntries(planned.nodes.map((n) => [n.path, Plan.mermaidId(n.path)])),
      notes: planned.notes
    })),
    Effect.catch((error) => Effect.succeed({ error: error.message }))
  )

/** The page and its script and style: nothing from elsewhere, no inline script (the CSP says so). */
const asset = (body: string, type: string) =>
  HttpServerResponse.text(body, {
    contentType: `${type}; charset=utf-8`,
    headers: {
      "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-store"
    }
  })

const noAudit: AuditSource = () => Effect.succeed([])

/**
 * The viewer's request handler (see the module's comment for its routes).
 *
 * @example
 * ```ts
 * HttpServer.serve(handler({ stateDir: ".mcpflow", port: 0 }))
 * ```
 */
export const handler = (options: ViewerOptions) => {
  const plans = new Map<string, Effect.Effect<unknown>>()
  const guardHost = isLoopback(options.host ?? "127.0.0.1")
  const audit = options.audit ?? noAudit
  const route = (url: URL): Effect.Effect<HttpServerResponse.HttpServerResponse, JournalError | Refused> => {
    const path = url.pathname
    if (path === "/" || path === "/index.html") return Effect.succeed(asset(pageHtml, "text/html"))
    if (path === "/app.js") return Effect.succeed(asset(appJs, "text/javascript"))
    if (path === "/app.css") return Effect.succeed(asset(appCss, "text/css"))
    if (path === "/api/runs") {
      const filter = parseFilter(url.searchParams)
      if (Result.isFailure(filter)) return Effect.succeed(problem(400, filter.failure))
      return Effect.map(
        withJournal(options, (journal) => selectRuns(journal, filter.success, RunStatus.localLiveness())),
        (runs) => json({ stateDir: options.journal?.file ?? options.stateDir, journal: runs !== undefined, runs: runs ?? [] })
      )
    }
    if (path === "/api/audit") {
      // AUDIT PANEL HOOK: the audit store's entries for the run; [] while there is none.
      return Effect.map(
        Effect.orElseSucceed(audit(url.searchParams.get("run") ?? undefined), () => []),
        (entries) => json(entries)
      )
    }
    const match = /^\/api\/runs\/([^/]+)(\/plan)?$/.exec(path)
    if (match !== null) {
      const id = decodeURIComponent(match[1]!)
      return Effect.flatMap(
        withJournal(options, (journal) =>
          Effect.flatMap(resolveRun(journal, id), (record) => Effect.map(journal.events(record.runId), (events) => [record, events] as const))),
        (found) => {
          if (found === undefined) return Effect.fail(new Refused(404, `no journal in ${options.stateDir} yet`))
          const [record, events] = found
          if (match[2] === undefined) return Effect.succeed(json(runDetail(record, events, RunStatus.localLiveness())))
          if (record.source === undefined) return Effect.succeed(json({ error: "the run does not record its flow file" }))
          const cached = plans.get(record.source) ?? Effect.runSync(Effect.cached(planOf(record.source, record.input)))
          plans.set(record.source, cached)
          return Effect.map(cached, json)
        }
      )
    }
    return Effect.succeed(problem(404, `no such page: ${path}`))
  }
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    // Bound to loopback: answer only requests addressed to loopback (no DNS rebinding).
    if (guardHost && !isLoopback(hostName(request.headers["host"] ?? ""))) {
      return problem(403, "the run viewer answers only requests to localhost")
    }
    if (request.method !== "GET" && request.method !== "HEAD") return problem(405, `${request.method} is not supported`)
    const url = new URL(request.url, "http://viewer")
    return yield* route(url).pipe(
      Effect.catch((error) =>
        Effect.succeed(
          error._tag === "Refused" ? problem(error.status, error.message, error.extra) : problem(500, error.message)
        )
      )
    )
  })
}

/**
 * Starts the viewer in the current scope (it stops when the scope closes) and returns its URL.
 * Fails with `ServeError` when it cannot listen (the port is taken).
 *
 * @example
 * ```ts
 * const { url } = yield* start({ stateDir: ".mcpflow", port: 0 })
 * ```
 */
export const start = (options: ViewerOptions): Effect.Effect<{ readonly url: string; readonly port: number }, ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const services = yield* Layer.build(
      HttpServer.serve(handler(options)).pipe(
        Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { port: options.port, host }))
      )
    )
    const server = Context.get(services, HttpServer.HttpServer)
    const port = server.address._tag === "UnixPathAddress" ? 0 : server.address.port
    const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host
    return { url: `http://${shownHost}:${port}/`, port }
  })
