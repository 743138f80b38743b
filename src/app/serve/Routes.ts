/**
 * The HTTP face of `mcpflow serve`, as `effect/http` routes: start a run of a served flow
 * (its typed input checked before anything starts), deliver a signal to a run (checked against
 * the Schema of the signal it waits for, as `mcpflow signal` does), and read a run's status.
 * Every route wants `Authorization: Bearer <token>`; the token is `Redacted` and never printed.
 *
 * | method | path                              | answers                                               |
 * | ------ | --------------------------------- | ----------------------------------------------------- |
 * | POST   | `/flows/:flow/runs` (body: input) | 202 `{runId, flow}`; 400 with the Schema issue; 404   |
 * | POST   | `/runs/:runId/signals/:name`      | 202 `{runId, signal}`; 400 with the issue; 404; 409   |
 * | GET    | `/runs/:runId`                    | 200 the run's status; 404                             |
 *
 * Errors are `{"error":{"tag","message","exitCode"?,"path"?,"issue"?}}`; 401 without the token;
 * 413 `PayloadTooLarge` for a body over the limit (`--max-body`, default 1 MiB); 400
 * `InvalidJson` for a body that is not JSON (the parser's message, with line and column).
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto"
import { Data, Effect, Layer, Redacted } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { AnyFlow } from "../../../dsl/flow/FlowDefinition.ts"
import { decodeInput } from "../../../dsl/flow/FlowInput.ts"
import type { FlowEvent } from "../../../dsl/flow/FlowEvents.ts"
import { checkSignal } from "../../../dsl/flow/SignalCheck.ts"
import type { RunJournal, RunRecord } from "../../../dsl/ports/RunJournal.ts"
import * as RunStatus from "../run/RunStatus.ts"

/**
 * What the routes serve: the flows by name, the run journal, and how to start a run in the
 * background (the input is already checked; `runId` is the one the caller is answered with).
 *
 * @example
 * ```ts
 * const served: Served = { flows: new Map([[deploy.name, deploy]]), journal, start: (flow, input, runId) => Effect.void }
 * ```
 */
export interface Served {
  readonly flows: ReadonlyMap<string, AnyFlow>
  readonly journal: RunJournal["Service"]
  readonly start: (flow: AnyFlow, input: unknown, runId: string) => Effect.Effect<void>
  /** A new run id (default `crypto.randomUUID()`). */
  readonly newRunId?: (() => string) | undefined
  /** The largest request body accepted (default {@link defaultMaxBodyBytes}); larger ones get 413. */
  readonly maxBodyBytes?: number | undefined
}

/**
 * A request refused: the error answer (`{"error":{tag,message,…}}`) a route ends with.
 *
 * @example
 * ```ts
 * return yield* failure(404, "NotFound", "no flow named deploy")
 * ```
 */
export class Refusal extends Data.TaggedError("Refusal")<{ readonly response: HttpServerResponse.HttpServerResponse }> {}

/**
 * A {@link Refusal} with `status` and the JSON error body.
 *
 * @example
 * ```ts
 * failure(404, "NotFound", "no flow named deploy").response.status // => 404
 * ```
 */
export const failure = (status: number, tag: string, message: string, extra?: Record<string, unknown>): Refusal =>
  new Refusal({ response: HttpServerResponse.jsonUnsafe({ error: { tag, message, ...extra } }, { status }) })

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time). */
const authorized = (request: HttpServerRequest.HttpServerRequest, token: Redacted.Redacted<string>): boolean => {
  const header = request.headers["authorization"]
  if (typeof header !== "string" || !header.startsWith("Bearer ")) return false
  const given = Buffer.from(header.slice("Bearer ".length))
  const expected = Buffer.from(Redacted.value(token))
  return given.length === expected.length && timingSafeEqual(given, expected)
}

const unauthorized = HttpServerResponse.jsonUnsafe(
  { error: { tag: "Unauthorized", message: "a bearer token is required (Authorization: Bearer $MCPFLOW_SERVE_TOKEN)" } },
  { status: 401, headers: { "www-authenticate": "Bearer" } }
)

/**
 * The default largest request body: 1 MiB.
 *
 * @example
 * ```ts
 * const served: Served = { ...rest, maxBodyBytes: defaultMaxBodyBytes * 4 }
 * ```
 */
export const defaultMaxBodyBytes = 1_048_576

/** Where a `JSON.parse` error points, as line and column of `text` (when its message names a position). */
const located = (text: string, message: string): string => {
  const at = /position (\d+)/.exec(message)
  if (at === null) return message
  const offset = Number(at[1])
  const before = text.slice(0, offset).split("\n")
  return `${message.replace(/ in JSON at position \d+.*$/, "")} at line ${before.length} column ${before.at(-1)!.length + 1}`
}

const tooLarge = (max: number, size: string) =>
  failure(413, "PayloadTooLarge", `the body is ${size} bytes; at most ${max} bytes are accepted (mcpflow serve --max-body)`, { limit: max })

/**
 * The request's JSON body: a 413 answer when it is larger than `max` bytes (by its
 * `Content-Length`, before anything is read, else once read), a 400 naming the problem when it
 * is not JSON.
 */
const bodyOf = (request: HttpServerRequest.HttpServerRequest, max: number) =>
  Effect.gen(function*() {
    const declared = Number(request.headers["content-length"] ?? Number.NaN)
    if (Number.isFinite(declared) && declared > max) return yield* tooLarge(max, String(declared))
    const text = yield* request.text.pipe(
      Effect.catchTag("HttpServerError", () => Effect.fail(failure(400, "InvalidBody", "the body could not be read")))
    )
    const size = Buffer.byteLength(text)
    if (size > max) return yield* tooLarge(max, String(size))
    if (text.trim() === "") return {} as unknown
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) =>
        failure(400, "InvalidJson", `the body is not JSON: ${located(text, e instanceof Error ? e.message : String(e))}`)
    })
  })

/** A run as `GET /runs/:runId` answers it: its status view and outcome, without its input. */
const statusOf = (record: RunRecord, events: ReadonlyArray<FlowEvent>) => {
  const view = RunStatus.runStatus(record, events, RunStatus.localLiveness())
  return {
    runId: record.runId,
    flow: record.flow,
    status: view.status,
    ...(view.waitingFor === undefined ? {} : { waitingFor: view.waitingFor }),
    ...(view.step === undefined ? {} : { step: view.step }),
    ...(record.trigger === undefined ? {} : { trigger: record.trigger }),
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    failedStep: record.failedStep,
    error: record.error,
    errorTag: record.errorTag
  }
}

/** The run `runId` names (exactly), or a 404 answer. */
const runOf = (journal: RunJournal["Service"], runId: string) =>
  journal.get(runId).pipe(
    Effect.mapError((e) =>
      e.reason === "NotFound" ? failure(404, "NotFound", `no run ${runId}`) : failure(500, "JournalError", e.message)
    )
  )

/** Runs a handler behind the bearer token; its failures are its answers. */
const guarded = (
  token: Redacted.Redacted<string>,
  handle: (
    request: HttpServerRequest.HttpServerRequest,
    params: Readonly<Record<string, string | undefined>>
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, Refusal>
) =>
(request: HttpServerRequest.HttpServerRequest): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpRouter.RouteContext> =>
  authorized(request, token)
    ? Effect.flatMap(HttpRouter.params, (params) =>
      handle(request, params).pipe(Effect.catchTag("Refusal", (refusal) => Effect.succeed(refusal.response))))
    : Effect.succeed(unauthorized)

/**
 * The routes of `mcpflow serve` over `served`, behind `token`.
 *
 * @example
 * ```ts
 * const server = HttpRouter.serve(routes(token, served)).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: 0 })))
 * ```
 */
export const routes = (token: Redacted.Redacted<string>, served: Served) =>
  Layer.mergeAll(
    HttpRouter.add(
      "POST",
      "/flows/:flow/runs",
      guarded(token, (request, params) =>
        Effect.gen(function*() {
          const flow = served.flows.get(params.flow ?? "")
          if (flow === undefined) {
            return yield* failure(404, "NotFound", `no flow named ${JSON.stringify(params.flow)}; served: ${[...served.flows.keys()].join(", ")}`)
          }
          const body = yield* bodyOf(request, served.maxBodyBytes ?? defaultMaxBodyBytes)
          // Checked before anything starts: nothing is journaled for an input that does not fit.
          yield* decodeInput(flow.name, flow.input, body).pipe(
            Effect.mapError((e) =>
              e.reason._tag === "InvalidFlowInput"
                ? failure(400, "InvalidFlowInput", e.message, { path: e.reason.path, issue: e.reason.issue })
                : failure(400, e.reason._tag, e.message)
            )
          )
          const runId = served.newRunId?.() ?? crypto.randomUUID()
          yield* served.start(flow, body, runId)
          return HttpServerResponse.jsonUnsafe({ runId, flow: flow.name }, { status: 202 })
        }))
    ),
    HttpRouter.add(
      "POST",
      "/runs/:runId/signals/:name",
      guarded(token, (request, params) =>
        Effect.gen(function*() {
          const runId = params.runId ?? ""
          const name = params.name ?? ""
          const record = yield* runOf(served.journal, runId)
          if (record.status !== "running") {
            return yield* failure(409, "RunFinished", `run ${runId} already ${record.status}; nothing waits for ${name}`)
          }
          const payload = yield* bodyOf(request, served.maxBodyBytes ?? defaultMaxBodyBytes)
          const events = yield* served.journal.events(runId).pipe(Effect.orElseSucceed(() => []))
          const rejected = checkSignal(events, name, payload)
          if (rejected !== undefined) {
            return yield* failure(400, "SignalRejected", `${rejected.message}; nothing recorded, the run still waits`, {
              path: rejected.path,
              issue: rejected.issue
            })
          }
          const after = yield* served.journal.signal(runId, name, payload).pipe(
            Effect.mapError((e) => failure(500, "JournalError", e.message))
          )
          if (after.status !== "running") return yield* failure(409, "RunFinished", `run ${runId} already ${after.status}`)
          return HttpServerResponse.jsonUnsafe({ runId, signal: name, recorded: true }, { status: 202 })
        }))
    ),
    HttpRouter.add(
      "GET",
      "/runs/:runId",
      guarded(token, (_, params) =>
        Effect.gen(function*() {
          const record = yield* runOf(served.journal, params.runId ?? "")
          const events = yield* served.journal.events(record.runId).pipe(Effect.orElseSucceed(() => []))
          return HttpServerResponse.jsonUnsafe(statusOf(record, events))
        }))
    )
  )
