/**
 * A listening address, `[host]:port`, as `--metrics` and `MCPFLOW_METRICS` take it.
 *
 * @module
 */
import { Result } from "effect"

/**
 * Where to listen.
 *
 * @example
 * ```ts
 * const a: Address = { host: "127.0.0.1", port: 9464 }
 * ```
 */
export interface Address {
  readonly host: string
  readonly port: number
}

/**
 * Parses `[host]:port`, `port` or `host:port` (`[::1]:9464` for IPv6). No host means loopback
 * (`127.0.0.1`); `0.0.0.0` must be asked for. Fails with what was expected.
 *
 * @example
 * ```ts
 * parseAddress(":9464")          // => Result.succeed({ host: "127.0.0.1", port: 9464 })
 * parseAddress("0.0.0.0:9464")   // => Result.succeed({ host: "0.0.0.0", port: 9464 })
 * parseAddress("metrics")        // => Result.fail("[host]:port with a port from 0 to 65535")
 * ```
 */
export const parseAddress = (text: string): Result.Result<Address, string> => {
  const expected = "[host]:port with a port from 0 to 65535"
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(text.trim())
  if (m === null) return Result.fail(expected)
  const port = Number(m[2])
  if (port > 65535) return Result.fail(expected)
  const raw = m[1] ?? ""
  const host = raw === "" ? "127.0.0.1" : raw.startsWith("[") ? raw.slice(1, -1) : raw
  return Result.succeed({ host, port })
}

