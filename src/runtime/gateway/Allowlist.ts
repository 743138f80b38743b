/**
 * The gateway's allowlists: `server.tool` patterns (`docker.*`, `k8s.kubectl_get`, `*.read_*`).
 * A call must match every list given (the config's and the layer's: a flow can only narrow what
 * its environment allows); the answer for a `server.tool` is computed once.
 *
 * @example
 * ```ts
 * const allowlist = Allowlist.make([["docker.*", "k8s.kubectl_get"]])
 * allowlist.isAllowed("k8s", "kubectl_get") // => true
 * ```
 * @module
 */

/** `*` matches any run of characters, including none; everything else matches itself. */
const globMatch = (pattern: string, text: string): boolean => {
  let p = 0
  let t = 0
  let star = -1
  let resume = 0
  while (t < text.length) {
    if (pattern[p] === "*") {
      star = p++
      resume = t
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++
      t++
    } else if (star !== -1) {
      p = star + 1
      t = ++resume
    } else {
      return false
    }
  }
  while (pattern[p] === "*") p++
  return p === pattern.length
}

/**
 * Whether `server.tool` is allowed by any pattern of `allow` (`docker.*`, `k8s.kubectl_get`,
 * `*.read_*`). `*` matches any run of characters; a pattern with no dot names a whole server
 * (`docker` ≡ `docker.*`). The server part ends at the pattern's first dot, so tool names may
 * contain dots.
 *
 * @example
 * ```ts
 * matchesAllowlist(["docker.*", "k8s.kubectl_get"], "k8s", "kubectl_get")    // => true
 * matchesAllowlist(["docker.*", "k8s.kubectl_get"], "k8s", "kubectl_delete") // => false
 * ```
 */
export const matchesAllowlist = (allow: ReadonlyArray<string>, server: string, tool: string): boolean =>
  allow.some((pattern) => {
    const dot = pattern.indexOf(".")
    return dot === -1
      ? globMatch(pattern, server)
      : globMatch(pattern.slice(0, dot), server) && globMatch(pattern.slice(dot + 1), tool)
  })

/**
 * Every allowlist of a gateway, with the answer per `server.tool` remembered.
 *
 * @example
 * ```ts
 * const allowlist: Allowlist = Allowlist.make([config.allow, options.allow])
 * if (!allowlist.isAllowed("fs", "write_file")) console.log(allowlist.patterns)
 * ```
 */
export interface Allowlist {
  /** Whether `server.tool` matches every list (true when there is none). */
  readonly isAllowed: (server: string, tool: string) => boolean
  /** The patterns of all lists, for error messages. */
  readonly patterns: ReadonlyArray<string>
}

/**
 * An {@link Allowlist} of the lists given (`undefined` ones are skipped).
 *
 * @example
 * ```ts
 * Allowlist.make([undefined]).isAllowed("any", "thing") // => true
 * ```
 */
export const make = (lists: ReadonlyArray<ReadonlyArray<string> | undefined>): Allowlist => {
  const given = lists.filter((a): a is ReadonlyArray<string> => a !== undefined)
  const patterns = given.flat()
  if (given.length === 0) return { isAllowed: () => true, patterns }
  const known = new Map<string, boolean>()
  return {
    patterns,
    isAllowed: (server, tool) => {
      const id = `${server}.${tool}`
      let allowed = known.get(id)
      if (allowed === undefined) {
        allowed = given.every((list) => matchesAllowlist(list, server, tool))
        known.set(id, allowed)
      }
      return allowed
    }
  }
}
