/**
 * Effect's `RateLimiterStore` (`effect/persistence`) on Postgres, so a rate limit is shared by
 * every process on one database: `RateLimiter.make` over this store is the `backend` of a
 * `RateLimit` policy. Each call is one transaction that locks the key's row: the same semantics
 * as Effect's memory and Redis stores for `fixed-window` and `token-bucket`, with times from the
 * `Clock` of the calling fiber (processes on one machine, or with synchronised clocks). The
 * adaptive algorithm is not stored here: it reports `inactive` and ignores feedback.
 *
 * @example
 * ```ts
 * const limiter = yield* RateLimiter.make.pipe(Effect.provide(PgRateLimiterStore.layer))
 * const github = yield* RateLimit.make({ limit: 30, window: "1 minute", backend: limiter })
 * ```
 * @module
 */
import { Duration, Effect, Layer } from "effect"
import { RateLimiter } from "effect/persistence"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"

const storeError = (operation: string) => (cause: SqlError) =>
  new RateLimiter.RateLimiterError({
    reason: new RateLimiter.RateLimitStoreError({ message: `Failed to execute ${operation} on Postgres`, cause })
  })

/**
 * The store over the `SqlClient` in context (a Postgres one). Needs mcpflow's tables
 * (`PostgresSchema.migrate`).
 *
 * @example
 * ```ts
 * const store = yield* PgRateLimiterStore.make
 * ```
 */
export const make: Effect.Effect<RateLimiter.RateLimiterStore["Service"], never, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return RateLimiter.RateLimiterStore.of({
    fixedWindow: (options) =>
      Effect.clockWith((clock) =>
        sql.withTransaction(Effect.gen(function*() {
          const now = clock.currentTimeMillisUnsafe()
          const refill = Duration.toMillis(options.refillRate)
          yield* sql`insert into mcpflow_rate_limits (key, count, expires_at) values (${options.key}, 0, ${now})
            on conflict (key) do nothing`
          const rows = yield* sql<{ readonly count: number; readonly expires_at: number }>`
            select count, expires_at from mcpflow_rate_limits where key = ${options.key} for update`
          let count = rows[0]?.count ?? 0
          let expiresAt = rows[0]?.expires_at ?? now
          if (expiresAt <= now) {
            count = 0
            expiresAt = now
          }
          if (options.limit !== undefined && count + options.tokens > options.limit) {
            return [count + options.tokens, expiresAt - now] as const
          }
          count += options.tokens
          expiresAt += refill * options.tokens
          yield* sql`update mcpflow_rate_limits set count = ${count}, expires_at = ${expiresAt} where key = ${options.key}`
          return [count, expiresAt - now] as const
        }))
      ).pipe(Effect.mapError(storeError("fixedWindow"))),
    tokenBucket: (options) =>
      Effect.clockWith((clock) =>
        sql.withTransaction(Effect.gen(function*() {
          const now = clock.currentTimeMillisUnsafe()
          const refill = Duration.toMillis(options.refillRate)
          yield* sql`insert into mcpflow_token_buckets (key, tokens, last_refill) values (${options.key}, ${options.limit}, ${now})
            on conflict (key) do nothing`
          const rows = yield* sql<{ readonly tokens: number; readonly last_refill: number }>`
            select tokens, last_refill from mcpflow_token_buckets where key = ${options.key} for update`
          let tokens = rows[0]?.tokens ?? options.limit
          let lastRefill = rows[0]?.last_refill ?? now
          const toAdd = Math.floor((now - lastRefill) / refill)
          if (toAdd > 0) {
            tokens = Math.min(options.limit, tokens + toAdd)
            lastRefill += toAdd * refill
          }
          if (tokens >= options.limit) lastRefill = now
          const next = tokens - options.tokens
          if (options.allowOverflow || next >= 0) tokens = next
          yield* sql`update mcpflow_token_buckets set tokens = ${tokens}, last_refill = ${lastRefill} where key = ${options.key}`
          return [next, Math.max(0, now - lastRefill)] as const
        }))
      ).pipe(Effect.mapError(storeError("tokenBucket"))),
    adaptiveConsume: () => Effect.succeed({ delay: Duration.zero, epoch: 0, phase: "inactive" as const }),
    adaptiveFeedback: () => Effect.void
  })
})

/**
 * {@link make} as a layer.
 *
 * @example
 * ```ts
 * RateLimiter.layer.pipe(Layer.provide(PgRateLimiterStore.layer), Layer.provide(pg))
 * ```
 */
export const layer: Layer.Layer<RateLimiter.RateLimiterStore, never, SqlClient.SqlClient> = Layer.effect(RateLimiter.RateLimiterStore)(make)
