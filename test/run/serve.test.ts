/**
 * `mcpflow serve` in-process: its routes through `HttpRouter.toWebHandler` (no socket) over a
 * SQLite run journal in a temp directory, and the signed, retried webhook on the TestClock.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted } from "effect"
import { HttpClient, HttpClientResponse, HttpRouter, HttpServer } from "effect/http"
import { TestClock } from "effect/testing"
import type { AnyFlow } from "../../dsl/flow/FlowDefinition.ts"
import type { FlowEvent } from "../../dsl/flow/FlowEvents.ts"
import { payloadShape } from "../../dsl/flow/SignalCheck.ts"
import { RunJournal } from "../../dsl/ports/RunJournal.ts"
import { routes } from "../../src/app/serve/Routes.ts"
import * as Webhook from "../../src/app/serve/Webhook.ts"
import { layer as journalLayer } from "../../src/runtime/engine/SqliteRunJournal.ts"
import served, { Approval } from "../e2e/fixtures/served.ts"

const token = Redacted.make("t0ken")

describe("mcpflow serve routes", () => {
  it("checks the token, the input before starting, and a signal against the waiting Schema", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpflow-serve-"))
    try {
      await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const journal = yield* RunJournal
        const runId = "serve000-0000-4000-8000-000000000001"
        yield* journal.start({ runId, flow: "served", input: { ticket: 1 }, fingerprint: "f", startedAt: Date.now() })
        journal.appendUnsafe({ runId, at: Date.now(), _tag: "StepWaiting", path: "wait:approval", kind: "wait", signal: "approval", payloadSchema: payloadShape(Approval.payload) } as FlowEvent)
        const started: Array<unknown> = []
        const { dispose, handler } = HttpRouter_toWebHandler(routes(token, {
          flows: new Map([["served", served as AnyFlow]]),
          journal,
          start: (_, input, id) => Effect.sync(() => void started.push({ input, id })),
          newRunId: () => "new-run"
        }))
        const call = (method: string, path: string, body?: unknown, auth: string | null = "Bearer t0ken") =>
          Effect.promise(async () => {
            const response = await handler(new Request(`http://x${path}`, {
              method,
              headers: auth === null ? {} : { authorization: auth },
              ...(body === undefined ? {} : { body: JSON.stringify(body) })
            }))
            return { status: response.status, body: await response.json() as { error?: { tag: string; path?: string; issue?: string } } & Record<string, unknown> }
          })
        assert.strictEqual((yield* call("POST", "/flows/served/runs", { ticket: 1 }, null)).status, 401)
        assert.strictEqual((yield* call("POST", "/flows/served/runs", { ticket: 1 }, "Bearer wrong")).status, 401)
        const badInput = yield* call("POST", "/flows/served/runs", { ticket: "x" })
        assert.strictEqual(badInput.status, 400)
        assert.strictEqual(badInput.body.error?.path, "ticket")
        const misspelled = yield* call("POST", "/flows/served/runs", { ticket: 7, tiket: 8 })
        assert.strictEqual(misspelled.status, 400)
        assert.deepStrictEqual([misspelled.body.error?.path, misspelled.body.error?.issue], ["tiket", `Unknown field; did you mean "ticket"?`])
        assert.deepStrictEqual(started, [], "nothing started for a bad input")
        assert.strictEqual((yield* call("POST", "/flows/nope/runs", {})).status, 404)
        const ok = yield* call("POST", "/flows/served/runs", { ticket: 7 })
        assert.strictEqual(ok.status, 202)
        assert.deepStrictEqual(started, [{ input: { ticket: 7 }, id: "new-run" }])

        const bad = yield* call("POST", `/runs/${runId}/signals/approval`, { approvedBy: 42 })
        assert.strictEqual(bad.status, 400)
        assert.deepStrictEqual([bad.body.error?.tag, bad.body.error?.path, bad.body.error?.issue], ["SignalRejected", "approvedBy", "Expected string, got 42"])
        assert.deepStrictEqual(yield* journal.pendingSignals(runId), [], "the run is untouched")
        const misnamed = yield* call("POST", `/runs/${runId}/signals/aproval`, { approvedBy: "ana" })
        assert.strictEqual(misnamed.status, 400)
        assert.deepStrictEqual([misnamed.body.error?.tag, misnamed.body.error?.issue], ["SignalRejected", `not a signal this run waits for; did you mean "approval"?`])
        assert.deepStrictEqual(yield* journal.pendingSignals(runId), [], "the run is untouched")
        assert.strictEqual((yield* call("GET", `/runs/${runId}`)).body.waitingFor, "approval")
        assert.strictEqual((yield* call("POST", `/runs/${runId}/signals/approval`, { approvedBy: "ana" })).status, 202)
        assert.deepStrictEqual(yield* journal.pendingSignals(runId), [{ name: "approval", payload: { approvedBy: "ana" } }])
        assert.strictEqual((yield* call("GET", "/runs/unknown")).status, 404)
        yield* journal.finish({ runId, status: "succeeded", finishedAt: Date.now() })
        assert.strictEqual((yield* call("POST", `/runs/${runId}/signals/approval`, { approvedBy: "ana" })).status, 409)
        yield* Effect.promise(dispose)
      })).pipe(Effect.provide(journalLayer(join(dir, "runs.db")))))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("mcpflow serve request limits", () => {
  it("answers 413 for a body over the limit (by Content-Length or as read) and 400 naming the problem for malformed JSON", async () => {
    const started: Array<unknown> = []
    const { dispose, handler } = HttpRouter_toWebHandler(routes(token, {
      flows: new Map([["served", served as AnyFlow]]),
      journal: undefined as never,
      start: (_, input) => Effect.sync(() => void started.push(input)),
      newRunId: () => "new-run",
      maxBodyBytes: 64
    }))
    const post = async (body: string, headers: Record<string, string> = {}) => {
      const response = await handler(new Request("http://x/flows/served/runs", {
        method: "POST",
        headers: { authorization: "Bearer t0ken", "content-type": "application/json", ...headers },
        body
      }))
      return { status: response.status, body: await response.json() as { error?: { tag: string; message: string; limit?: number } } }
    }
    const big = JSON.stringify({ ticket: 1, pad: "x".repeat(100) })
    const tooBig = await post(big)
    assert.strictEqual(tooBig.status, 413)
    assert.strictEqual(tooBig.body.error?.tag, "PayloadTooLarge")
    assert.strictEqual(tooBig.body.error?.limit, 64)
    assert.include(tooBig.body.error?.message, `the body is ${big.length} bytes; at most 64 bytes are accepted`)
    // A declared length over the limit is refused before the body is read.
    const declared = await post("{}", { "content-length": "5000000" })
    assert.strictEqual(declared.status, 413)
    assert.include(declared.body.error?.message, "5000000 bytes")

    const malformed = await post('{"ticket":\n  7,}')
    assert.strictEqual(malformed.status, 400)
    assert.strictEqual(malformed.body.error?.tag, "InvalidJson")
    assert.match(malformed.body.error?.message ?? "", /^the body is not JSON: .+ line 2 column \d+/)
    assert.deepStrictEqual(started, [], "nothing started")
    const fits = await post('{"ticket":7}')
    assert.strictEqual(fits.status, 202)
    assert.deepStrictEqual(started, [{ ticket: 7 }])
    await dispose()
  })
})

const HttpRouter_toWebHandler = (app: ReturnType<typeof routes>) =>
  HttpRouter.toWebHandler(Layer.mergeAll(app, HttpServer.layerServices), { disableLogger: true })

describe("webhook", () => {
  it.effect("signs the body and retries a failing receiver with backoff (TestClock)", () =>
    Effect.gen(function*() {
      const secret = Redacted.make("hook-secret")
      const seen: Array<{ readonly body: string; readonly signature: string | undefined }> = []
      const client = HttpClient.make((request) =>
        Effect.sync(() => {
          const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
          seen.push({ body, signature: request.headers[Webhook.signatureHeader] })
          return HttpClientResponse.fromWeb(request, new Response(null, { status: seen.length < 3 ? 500 : 204 }))
        }))
      const fiber = yield* Webhook.deliver({ url: "http://127.0.0.1:1/hook", secret }, { runId: "r1", status: "succeeded" }).pipe(
        Effect.provideService(HttpClient.HttpClient, client),
        Effect.forkChild
      )
      for (let i = 0; i < 10 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.strictEqual(seen.length, 3, "two 500s, then delivered")
      for (const s of seen) assert.isTrue(Webhook.verify(secret, s.body, s.signature))
      assert.isFalse(Webhook.verify(Redacted.make("other"), seen[0]!.body, seen[0]!.signature))
      assert.deepStrictEqual(JSON.parse(seen[0]!.body), { runId: "r1", status: "succeeded" })

      const failing = HttpClient.make((request) => Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 503 }))))
      const given = yield* Webhook.deliver({ url: "http://127.0.0.1:1/hook", secret, retries: 2 }, {}).pipe(
        Effect.provideService(HttpClient.HttpClient, failing),
        Effect.forkChild
      )
      for (let i = 0; i < 10 && given.pollUnsafe() === undefined; i++) yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Fiber.join(given))
      assert.strictEqual(error._tag, "WebhookFailed")
      assert.strictEqual(error.attempts, 3)
    }))
})

