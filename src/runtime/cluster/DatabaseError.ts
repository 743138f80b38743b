/**
 * The cluster's database could not be used: a malformed URL, Postgres unreachable or refusing
 * the login, or a schema written by a newer mcpflow. One line naming the database by its host,
 * port and name — never the password. (Also: a runner that cannot listen on its address,
 * reason `Listen`, the other way a cluster process fails to start.)
 *
 * @module
 */
import { Redacted, Schema } from "effect"

/**
 * The cluster's database could not be used.
 *
 * @example
 * ```ts
 * new DatabaseError({ where: "127.0.0.1:5432/mcpflow", reason: "Unreachable", detail: "connection refused" }).message
 * // => "database 127.0.0.1:5432/mcpflow: unreachable (connection refused)"
 * ```
 */
export class DatabaseError extends Schema.TaggedError<DatabaseError>()("DatabaseError", {
  where: Schema.String,
  reason: Schema.Literals(["InvalidUrl", "Unreachable", "SchemaTooNew", "Listen", "Failed"]),
  detail: Schema.String
}) {
  override get message(): string {
    // Not the database's fault: the runner's own address is taken or not ours.
    if (this.reason === "Listen") return `runner cannot listen: ${this.detail} (pick another --listen host:port)`
    const what = this.reason === "InvalidUrl"
      ? "not a postgres:// URL"
      : this.reason === "Unreachable"
      ? "unreachable"
      : this.reason === "SchemaTooNew"
      ? "schema from a newer mcpflow"
      : "failed"
    return `database ${this.where}: ${what} (${this.detail})`
  }

  /**
   * How a database URL is named in messages: `host:port/database`, without user or password.
   *
   * @example
   * ```ts
   * DatabaseError.where(Redacted.make("postgres://u:secret@db:5432/app")) // => "db:5432/app"
   * ```
   */
  static where(url: Redacted.Redacted<string>): string {
    try {
      const parsed = new URL(Redacted.value(url))
      return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
    } catch {
      return "<unparseable URL>"
    }
  }

  /**
   * Checks that `url` is a `postgres://` (or `postgresql://`) URL with a host.
   *
   * @example
   * ```ts
   * DatabaseError.checkUrl(Redacted.make("mysql://db")) // => a DatabaseError (InvalidUrl)
   * ```
   */
  static checkUrl(url: Redacted.Redacted<string>): DatabaseError | undefined {
    let parsed: URL
    try {
      parsed = new URL(Redacted.value(url))
    } catch {
      return new DatabaseError({ where: "<unparseable URL>", reason: "InvalidUrl", detail: "expected postgres://user:password@host:port/database" })
    }
    if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
      return new DatabaseError({ where: DatabaseError.where(url), reason: "InvalidUrl", detail: `scheme ${parsed.protocol} is not postgres:` })
    }
    if (parsed.hostname === "") return new DatabaseError({ where: DatabaseError.where(url), reason: "InvalidUrl", detail: "no host" })
    return undefined
  }

  /**
   * The error for a failure building the database layers.
   *
   * @example
   * ```ts
   * DatabaseError.from(sqlError, "db:5432/app")
   * ```
   */
  static from(error: unknown, where: string): DatabaseError {
    if (error instanceof DatabaseError) return error
    const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : ""
    if (tag === "PostgresSchemaTooNew") return new DatabaseError({ where, reason: "SchemaTooNew", detail: (error as Error).message })
    const text = describe(error)
    if (tag === "SocketServerError") return new DatabaseError({ where, reason: "Listen", detail: firstLine(text) })
    const unreachable = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|timed? ?out|connect|Connection/i.test(text)
    return new DatabaseError({ where, reason: unreachable ? "Unreachable" : "Failed", detail: firstLine(text) })
  }
}

const describe = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (typeof current === "object" && "message" in current && typeof current.message === "string" && current.message !== "") parts.push(current.message)
    if (typeof current === "object" && "code" in current && typeof current.code === "string") parts.push(current.code)
    current = typeof current === "object" && "cause" in current ? current.cause : typeof current === "object" && "reason" in current ? current.reason : undefined
  }
  return parts.length === 0 ? String(error) : [...new Set(parts)].join(": ")
}

const firstLine = (text: string): string => {
  const line = text.split("\n")[0] ?? text
  // A driver may echo the URL back: never let a password through.
  return line.replace(/\/\/[^@/\s]*@/g, "//***@").slice(0, 300)
}
