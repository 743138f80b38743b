/**
 * Shared policy state on Postgres: a circuit opened through one connection pool (one runner) is
 * open through another, and a rate limit is shared. Each side has its own `PgClient` pool, as two
 * runner processes would.
 */
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import type { SqlClient } from "effect/sql"
import { RateLimiter } from "effect/persistence"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as CircuitBreaker from "../../dsl/policy/CircuitBreaker.ts"
import { memoryStore } from "../../dsl/policy/BreakerStore.ts"
import * as Policy from "../../dsl/policy/Policy.ts"
import { makePolicies } from "../../src/runtime/gateway/Policies.ts"
import * as RateLimit from "../../dsl/policy/RateLimit.ts"
import * as PgBreakerStore from "../../src/runtime/sql/postgres/PgBreakerStore.ts"
import * as PgRateLimiterStore from "../../src/runtime/sql/postgres/PgRateLimiterStore.ts"
import * as PostgresSchema from "../../src/runtime/sql/postgres/PostgresSchema.ts"
import { startPostgres, type TestPostgres } from "../support/postgres.ts"

let server: TestPostgres
beforeAll(async () => {
  server = await startPostgres()
})
afterAll(() => server?.stop())

/** A runner's view: its own pool, migrated. */
const runner = (scope: Scope.Scope) =>
  Layer.buildWithScope(
    Layer.effectDiscard(PostgresSchema.migrate).pipe(
      Layer.provideMerge(PgClient.layer({ url: Redacted.make(server.url), maxConnections: 4 }))
    ),
    scope
  )

const failing = Effect.fail("boom")

/** Polls `state` on real time (the stores sync on real time) until it is `expected`, for up to 3 s. */
const eventually = (state: Effect.Effect<string>, expected: string) =>
  Effect.gen(function*() {
    const started = Date.now()
    let seen = yield* state
    while (seen !== expected && Date.now() - started < 3000) {
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
      seen = yield* state
    }
    expect(seen).toBe(expected)
    return Date.now() - started
  })

describe("Postgres breaker store", () => {
  it("a circuit opened by runner A rejects calls on runner B", () =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const scope = yield* Effect.scope
      const a = yield* runner(scope)
      const b = yield* runner(scope)
      const storesA = yield* PgBreakerStore.make({ interval: "50 millis" }).pipe(Effect.provideContext(a))
      const storesB = yield* PgBreakerStore.make({ interval: "50 millis" }).pipe(Effect.provideContext(b))
      const options = { name: "docker", trip: CircuitBreaker.consecutive(2), openDuration: "1 minute" } as const
      const breakerA = yield* CircuitBreaker.make({ ...options, store: storesA.store("docker") })
      const breakerB = yield* CircuitBreaker.make({ ...options, store: storesB.store("docker") })
      // B has seen the circuit closed (a success), so it holds a local record.
      yield* breakerB.execute(Effect.succeed(1), { key: "docker" })
      expect(yield* breakerB.state("docker")).toBe("closed")

      yield* Effect.exit(breakerA.execute(failing, { key: "docker" }))
      yield* Effect.exit(breakerA.execute(failing, { key: "docker" }))
      expect(yield* breakerA.state("docker")).toBe("open")

      // Within a few sync intervals (each side writes its own change, then reads the other's).
      const propagated = yield* eventually(breakerB.state("docker"), "open")
      console.log(`circuit opened on A was open on B after ${propagated} ms (sync every 50 ms)`)
      let ran = false
      const exit = yield* Effect.exit(breakerB.execute(Effect.sync(() => (ran = true)), { key: "docker" }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(ran).toBe(false)
      expect(String(exit)).toContain("BreakerRejected")

      // The background fiber syncs on its own too: reset on B reaches A.
      yield* breakerB.reset("docker")
      yield* eventually(breakerA.state("docker"), "closed")
    })))
  )
})

describe("policies built from settings", () => {
  it("use the registry's shared breaker store and rate limiter", () =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const context = yield* runner(yield* Effect.scope)
      const stores = yield* PgBreakerStore.make({ interval: "1 minute" }).pipe(Effect.provideContext(context))
      const limiter = yield* RateLimiter.make.pipe(Effect.provide(PgRateLimiterStore.layer), Effect.provideContext(context))
      const registry = Policy.registry({ breakerStore: stores.store, rateLimiter: limiter })
      const policy = yield* Policy.make(
        { breaker: { name: "settings-breaker", openDuration: "30 seconds" }, rateLimit: { limit: 5, window: "1 minute" } },
        { registry, owner: "docker" }
      )
      yield* policy.breaker!.breaker.execute(Effect.void, { key: "docker.build" })
      expect(stores.store("settings-breaker").keys()).toEqual(["docker.build"])
      expect(policy.rateLimit?.rateLimit.options.backend).toBe(limiter)
    })))
  )
})

describe("a gateway's configured policies", () => {
  it("take their breaker store and rate limiter from Policy.SharedState (what a cluster runner provides)", () =>
    Effect.runPromise(Effect.gen(function*() {
      const asked: Array<string> = []
      const limiter = yield* RateLimiter.make.pipe(Effect.provide(RateLimiter.layerStoreMemory))
      const breakerStore = (name: string) => {
        asked.push(name)
        return memoryStore()
      }
      yield* makePolicies({ docker: { breaker: { openDuration: "30 seconds" }, rateLimit: { limit: 5, window: "1 minute" } } }).pipe(
        Effect.provideService(Policy.SharedState, { breakerStore, rateLimiter: limiter })
      )
      expect(asked).toEqual(["docker"])
      // Without it, nothing is shared.
      asked.length = 0
      yield* makePolicies({ docker: { breaker: { openDuration: "30 seconds" } } })
      expect(asked).toEqual([])
    }))
  )
})

describe("Postgres rate-limit store", () => {
  it("a limit of 3 per minute is shared by two runners", () =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const scope = yield* Effect.scope
      const limiterOf = (context: Context.Context<SqlClient.SqlClient>) =>
        RateLimiter.make.pipe(Effect.provide(PgRateLimiterStore.layer), Effect.provideContext(context))
      const a = yield* limiterOf(yield* runner(scope))
      const b = yield* limiterOf(yield* runner(scope))
      for (const algorithm of ["fixed-window", "token-bucket"] as const) {
        const options = { algorithm, limit: 3, window: "1 minute", onExceeded: "fail", key: `github-${algorithm}` } as const
        const onA = yield* RateLimit.make({ ...options, backend: a })
        const onB = yield* RateLimit.make({ ...options, backend: b })
        const outcomes = []
        for (const limit of [onA, onB, onA, onB, onA]) outcomes.push(Exit.isSuccess(yield* Effect.exit(limit.apply(Effect.void))))
        expect(outcomes, algorithm).toEqual([true, true, true, false, false])
      }
    })))
  )
})

describe("mcpflow's Postgres tables", () => {
  it("a database written by a newer mcpflow is refused before anything is written", () =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const context = yield* runner(yield* Effect.scope)
      const sql = Context.get(context, PgClient.PgClient)
      yield* sql`update mcpflow_meta set format = ${PostgresSchema.schemaFormat + 1}`
      const exit = yield* Effect.exit(PostgresSchema.migrate.pipe(Effect.provideContext(context)))
      yield* sql`update mcpflow_meta set format = ${PostgresSchema.schemaFormat}`
      expect(exit).toMatchObject({ _tag: "Failure" })
      expect(String(exit)).toContain("written by a newer mcpflow")
    })))
  )
})
