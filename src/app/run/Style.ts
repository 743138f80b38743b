/**
 * ANSI colours for the run report, or none (`NO_COLOR`, pipes, CI logs).
 *
 * @example
 * ```ts
 * import { paint } from "./Style.ts"
 * paint(false).green("✓") // => "✓"
 * ```
 * @module
 */

/**
 * Colour functions; identity when `enabled` is false.
 *
 * @example
 * ```ts
 * paint(true).red("✗") // => "\x1b[31m✗\x1b[39m"
 * ```
 */
export const paint = (enabled: boolean) => {
  const wrap = (open: number, close: number) => (text: string): string =>
    enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text
  return {
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
    dim: wrap(2, 22),
    bold: wrap(1, 22)
  }
}

/**
 * Removes ANSI escape sequences (to measure or compare rendered text).
 *
 * @example
 * ```ts
 * stripAnsi("\x1b[32m✓\x1b[39m build") // => "✓ build"
 * ```
 */
// eslint-disable-next-line no-control-regex
export const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
