import { Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { DatabaseError } from "../../src/runtime/cluster/DatabaseError.ts"

const url = (text: string) => Redacted.make(text)

describe("DatabaseError", () => {
  it("names a database by host, port and name — never user or password", () => {
    expect(DatabaseError.where(url("postgres://admin:hunter2@db.internal:6543/app"))).toBe("db.internal:6543/app")
    expect(DatabaseError.where(url("postgresql://db/app"))).toBe("db:5432/app")
    expect(DatabaseError.where(url("not a url hunter2"))).toBe("<unparseable URL>")
  })

  it("accepts postgres:// and postgresql:// URLs with a host, refuses the rest", () => {
    expect(DatabaseError.checkUrl(url("postgres://u:p@127.0.0.1:5432/x"))).toBeUndefined()
    expect(DatabaseError.checkUrl(url("postgresql://db/x"))).toBeUndefined()
    expect(DatabaseError.checkUrl(url("mysql://u:hunter2@db/x"))?.message).toBe("database db:5432/x: not a postgres:// URL (scheme mysql: is not postgres:)")
    expect(DatabaseError.checkUrl(url("hunter2"))?.reason).toBe("InvalidUrl")
    expect(DatabaseError.checkUrl(url("hunter2"))?.message).not.toContain("hunter2")
  })

  it("classifies build failures, and strips credentials a driver echoes back", () => {
    const refused = DatabaseError.from(new Error("connect ECONNREFUSED 127.0.0.1:5432"), "127.0.0.1:5432/x")
    expect(refused.reason).toBe("Unreachable")
    const echoed = DatabaseError.from(new Error("bad login for postgres://admin:hunter2@db/x"), "db:5432/x")
    expect(echoed.reason).toBe("Failed")
    expect(echoed.message).not.toContain("hunter2")
    const tooNew = DatabaseError.from({ _tag: "PostgresSchemaTooNew", message: "written by a newer mcpflow" }, "db:5432/x")
    expect(tooNew.reason).toBe("SchemaTooNew")
    expect(tooNew.message).toBe("database db:5432/x: schema from a newer mcpflow (written by a newer mcpflow)")
    const taken = DatabaseError.from({ _tag: "SocketServerError", message: "listen EADDRINUSE: address already in use 127.0.0.1:34431" }, "db:5432/x")
    expect(taken.message).toBe("runner cannot listen: listen EADDRINUSE: address already in use 127.0.0.1:34431 (pick another --listen host:port)")
  })
})
