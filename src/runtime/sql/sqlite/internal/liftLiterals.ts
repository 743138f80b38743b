/**
 * Turns the long integer literals of a statement into `?` parameters, so that statements which
 * differ only in such literals share one prepared statement.
 *
 * effect's cluster storage writes some statements with their ids and timestamps inlined
 * (`WHERE m.id IN (255097885660549120) … AND deliver_at <= 1765000000000`) and runs them
 * unprepared; every durable step ran three of them, and preparing them (parse and plan, ≈ 80 µs
 * each) was a quarter of the SQL time of a step. A literal with 10 to 18 digits (snowflake ids,
 * millisecond timestamps) is bound instead as the same 64-bit integer (a `bigint`), which SQLite
 * treats exactly like the literal: same type (INTEGER), same comparisons, same affinity. Shorter
 * literals stay in the text (small constants can decide a partial index or `ORDER BY 1`), and so
 * does anything inside quotes or comments, or next to letters, digits, `.` or `_` (names,
 * decimals, hex, exponents). Statements other than `SELECT`/`INSERT`/`UPDATE`/`DELETE`/`WITH`,
 * and statements with numbered or named parameters, are left alone.
 *
 * @module
 */

/** A statement with its long integer literals lifted into parameters. */
export interface Lifted {
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
}

const lifts = /^\s*(select|insert|update|delete|with)\b/i

const isWordChar = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 36 || c > 127

/**
 * `sql` with every integer literal of 10–18 digits replaced by `?`, and `params` with those
 * literals (as `bigint`) inserted at their positions; `undefined` when there is nothing to lift
 * or the statement is not one this applies to.
 *
 * @example
 * ```ts
 * liftLiterals("SELECT * FROM m WHERE id IN (255097885660549120) AND n = ?", [3])
 * // => { sql: "SELECT * FROM m WHERE id IN (?) AND n = ?", params: [255097885660549120n, 3] }
 * ```
 */
export const liftLiterals = (sql: string, params: ReadonlyArray<unknown>): Lifted | undefined => {
  if (!lifts.test(sql)) return undefined
  let out = ""
  let from = 0
  let lifted: Array<unknown> | undefined
  let placeholder = 0
  const n = sql.length
  let i = 0
  while (i < n) {
    const c = sql.charCodeAt(i)
    if (c === 39 || c === 34 || c === 96 || c === 91) {
      // 'string', "identifier", `identifier`, [identifier]
      const close = c === 91 ? 93 : c
      i++
      while (i < n) {
        if (sql.charCodeAt(i) === close) {
          if (close !== 93 && sql.charCodeAt(i + 1) === close) i += 2
          else break
        } else i++
      }
      i++
      continue
    }
    if (c === 45 && sql.charCodeAt(i + 1) === 45) {
      const end = sql.indexOf("\n", i)
      i = end === -1 ? n : end
      continue
    }
    if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      const end = sql.indexOf("*/", i + 2)
      i = end === -1 ? n : end + 2
      continue
    }
    if (c === 63) {
      // `?NNN` would be renumbered by lifting: leave such statements alone.
      const next = sql.charCodeAt(i + 1)
      if (next >= 48 && next <= 57) return undefined
      placeholder++
      i++
      continue
    }
    if (c === 58 || c === 64 || (c === 36 && !isWordChar(sql.charCodeAt(i - 1)))) {
      // :name, @name, $name parameters
      const next = sql.charCodeAt(i + 1)
      if ((next >= 65 && next <= 90) || (next >= 97 && next <= 122) || next === 95) return undefined
      i++
      continue
    }
    if (c >= 48 && c <= 57) {
      let end = i
      while (end < n && sql.charCodeAt(end) >= 48 && sql.charCodeAt(end) <= 57) end++
      const digits = end - i
      if (digits >= 10 && digits <= 18 && !isWordChar(sql.charCodeAt(i - 1)) && !isWordChar(sql.charCodeAt(end))) {
        lifted ??= params.slice()
        lifted.splice(placeholder, 0, BigInt(sql.slice(i, end)))
        placeholder++
        out += sql.slice(from, i) + "?"
        from = end
      }
      i = end
      continue
    }
    if (isWordChar(c)) {
      // skip the rest of a name, so digits inside it are not taken for a literal
      while (i < n && isWordChar(sql.charCodeAt(i))) i++
      continue
    }
    i++
  }
  if (lifted === undefined) return undefined
  // SQLite counts `?` positionally; a statement whose placeholders we did not all see (or that
  // has more parameters than placeholders) is left as it was.
  if (lifted.length !== placeholder) return undefined
  return { sql: out + sql.slice(from), params: lifted }
}
