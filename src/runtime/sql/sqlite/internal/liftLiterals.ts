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

/**
 * The tokens that matter, in one pass of the regex engine (a loop over characters in JS cost
 * ≈ 70 µs on effect's 6 KB mailbox query): quoted text and names and comments (skipped),
 * placeholders, named parameters, and runs of name characters — a literal to lift is a run
 * of digits only, so names (`t1234567890`), decimals, hex and exponents never are.
 */
const tokens = /'[^']*(?:''[^']*)*'|"[^"]*(?:""[^"]*)*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|\/\*[\s\S]*?\*\/|\?\d*|[:@$][A-Za-z_]|[\w.$\u0080-\uffff]+/g

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
  if (!lifts.test(sql) || !/\d{10}/.test(sql)) return undefined
  let out = ""
  let from = 0
  let lifted: Array<unknown> | undefined
  let placeholder = 0
  tokens.lastIndex = 0
  for (let match = tokens.exec(sql); match !== null; match = tokens.exec(sql)) {
    const token = match[0]
    const first = token.charCodeAt(0)
    if (first === 63) {
      // `?NNN` would be renumbered by lifting: leave such statements alone.
      if (token.length > 1) return undefined
      placeholder++
    } else if (first === 58 || first === 64 || (first === 36 && token.length === 2)) {
      return undefined // :name, @name, $name parameters
    } else if (token.length >= 10 && token.length <= 18 && /^\d+$/.test(token)) {
      lifted ??= params.slice()
      lifted.splice(placeholder, 0, BigInt(token))
      placeholder++
      out += sql.slice(from, match.index) + "?"
      from = match.index + token.length
    }
  }
  if (lifted === undefined) return undefined
  // SQLite counts `?` positionally; a statement whose placeholders we did not all see (or that
  // has more parameters than placeholders) is left as it was.
  if (lifted.length !== placeholder) return undefined
  return { sql: out + sql.slice(from), params: lifted }
}
