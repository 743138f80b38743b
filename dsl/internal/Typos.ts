/**
 * Internal: whether a word is a near miss of one of a few known words (a field of a flow's input
 * or of `.mcp.json` typed wrong), by optimal string alignment distance (an edit is an insertion,
 * a deletion, a substitution or two neighbours swapped).
 *
 * @internal
 * @module
 */

/**
 * The edits that turn `a` into `b`, counting a swap of two neighbours as one, or `limit + 1`
 * once it is known to be more than `limit`.
 */
const distance = (a: string, b: string, limit: number): number => {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let twoBack: Array<number> = []
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, twoBack[j - 2]! + 1)
      current.push(d)
      best = Math.min(best, d)
    }
    if (best > limit) return limit + 1
    twoBack = previous
    previous = current
  }
  return previous[b.length]!
}

/** Whether `word` is `known` with letters left out, from its first letter on (`cmd`, `hdrs`). */
const abbreviates = (word: string, known: string): boolean => {
  if (word.length < 3 || word.length >= known.length || word[0] !== known[0]) return false
  let at = 0
  for (const letter of known) if (letter === word[at]) at++
  return at === word.length
}

/**
 * The known word `word` is most likely a typo of: one it abbreviates (`cmd` for `command`), else
 * one within one edit for words of up to four letters, two for longer ones, and fewer edits than
 * half the longer word's letters (`x` is not a typo of `a`); case ignored; undefined when `word`
 * is known or nothing is that close.
 *
 * @example
 * ```ts
 * nearMiss("timout", ["timeout", "env"])  // => "timeout"
 * nearMiss("evn", ["timeout", "env"])     // => "env"
 * nearMiss("cmd", ["command", "cwd"])     // => "command"
 * nearMiss("disabled", ["timeout", "env"]) // => undefined
 * nearMiss("x", ["a", "b"])               // => undefined
 * ```
 */
export const nearMiss = (word: string, known: ReadonlyArray<string>): string | undefined => {
  if (known.includes(word)) return undefined
  const lower = word.toLowerCase()
  const shortened = known.find((candidate) => abbreviates(lower, candidate.toLowerCase()))
  if (shortened !== undefined) return shortened
  let found: string | undefined
  let closest = Infinity
  for (const candidate of known) {
    const limit = candidate.length <= 4 ? 1 : 2
    const d = distance(lower, candidate.toLowerCase(), limit)
    if (d <= limit && d * 2 < Math.max(lower.length, candidate.length) && d < closest) (found = candidate), (closest = d)
  }
  return found
}

/**
 * The end of a "not found" message: `; did you mean "x"?` when `word` is a near miss of one of
 * `known` ({@link nearMiss}), else ` (label: a, b)` naming them, or `""` when there are none.
 *
 * @example
 * ```ts
 * `no server "fss" is configured${didYouMean("fss", ["fs", "git"], "configured")}`
 * // => 'no server "fss" is configured; did you mean "fs"?'
 * didYouMean("zzz", ["fs", "git"], "configured") // => " (configured: fs, git)"
 * ```
 */
export const didYouMean = (word: string, known: ReadonlyArray<string>, label: string): string => {
  const meant = nearMiss(word, known)
  if (meant !== undefined) return `; did you mean ${JSON.stringify(meant)}?`
  return known.length === 0 ? "" : ` (${label}: ${known.join(", ")})`
}
