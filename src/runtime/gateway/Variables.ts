/**
 * `${VAR}` expansion in `.mcp.json` values: `${VAR}`, `${VAR:-default}` where the default may
 * itself hold references (`${A:-${B:-none}}`, up to {@link maxNesting} levels), and `$${` for a
 * literal `${`. A template is parsed whole first (a syntax error anywhere fails, even in a default
 * that is not used), then evaluated left to right; a default is evaluated only when its variable
 * is unset or empty, as in the shell. Expanded values are never expanded again.
 *
 * @example
 * ```ts
 * import { Result } from "effect"
 * import { expand } from "./Variables.ts"
 *
 * expand("${HOST:-${FALLBACK_HOST:-localhost}}:8080", {}, { secret: false }) // => Result.succeed("localhost:8080")
 * expand("$${HOME} stays", {}, { secret: false })                            // => Result.succeed("${HOME} stays")
 * ```
 * @module
 */
import { Result } from "effect"

/**
 * How deep references may nest in defaults: `${A:-${B}}` is 2.
 *
 * @example
 * ```ts
 * expand("${A:-".repeat(maxNesting) + "x" + "}".repeat(maxNesting), {}, { secret: false }) // => Result.succeed("x")
 * ```
 */
export const maxNesting = 8

/** The environment variables are read from, such as `process.env`. */
type Env = Readonly<Record<string, string | undefined>>

type Part =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Ref"; readonly name: string; readonly fallback: ReadonlyArray<Part> | undefined }

/**
 * Why a template could not be expanded. `offset` is where its `${` starts. No variant carries
 * text of the template or of a variable's value, so a message built from it quotes no secret
 * (`Malformed` keeps `end`, for an excerpt where the text is not secret).
 *
 * @example
 * ```ts
 * const problem: ExpansionProblem = { _tag: "Unset", name: "GITHUB_TOKEN" }
 * ```
 */
export type ExpansionProblem =
  | { readonly _tag: "Unclosed"; readonly offset: number }
  | { readonly _tag: "Malformed"; readonly offset: number; readonly end: number }
  | { readonly _tag: "TooDeep"; readonly offset: number }
  | { readonly _tag: "Unset"; readonly name: string }

const namePattern = /[A-Za-z_][A-Za-z0-9_]*/y

/** Parses a template into parts; recursion is bounded by {@link maxNesting}. */
const parse = (text: string): Result.Result<ReadonlyArray<Part>, ExpansionProblem> => {
  let i = 0
  let problem: ExpansionProblem | undefined
  const parts = (depth: number): ReadonlyArray<Part> | undefined => {
    const out: Array<Part> = []
    let literal = ""
    const flush = () => {
      if (literal !== "") out.push({ _tag: "Text", text: literal })
      literal = ""
    }
    while (i < text.length) {
      if (text.startsWith("$${", i)) {
        literal += "${"
        i += 3
        continue
      }
      if (text.startsWith("${", i)) {
        const offset = i
        const close = text.indexOf("}", i + 2)
        if (close === -1) return void (problem = { _tag: "Unclosed", offset })
        if (depth >= maxNesting) return void (problem = { _tag: "TooDeep", offset })
        namePattern.lastIndex = i + 2
        const name = namePattern.exec(text)?.[0]
        if (name === undefined) return void (problem = { _tag: "Malformed", offset, end: close })
        i += 2 + name.length
        let fallback: ReadonlyArray<Part> | undefined
        if (text.startsWith(":-", i)) {
          i += 2
          fallback = parts(depth + 1)
          if (fallback === undefined) return undefined
          if (text[i] !== "}") return void (problem = { _tag: "Unclosed", offset })
        } else if (text[i] !== "}") {
          return void (problem = { _tag: "Malformed", offset, end: close })
        }
        i++
        flush()
        out.push({ _tag: "Ref", name, fallback })
        continue
      }
      // In a default, the first `}` closes its reference.
      if (depth > 0 && text[i] === "}") break
      literal += text[i]
      i++
    }
    flush()
    return out
  }
  const parsed = parts(0)
  return parsed === undefined || problem !== undefined
    ? Result.fail(problem ?? { _tag: "Unclosed", offset: 0 })
    : Result.succeed(parsed)
}

const lookup = (env: Env, name: string): string | undefined => {
  const value = Object.hasOwn(env, name) ? env[name] : undefined
  return typeof value === "string" ? value : undefined
}

const evaluate = (parts: ReadonlyArray<Part>, env: Env): Result.Result<string, ExpansionProblem> => {
  let out = ""
  for (const part of parts) {
    if (part._tag === "Text") {
      out += part.text
      continue
    }
    const value = lookup(env, part.name)
    if (part.fallback !== undefined && (value === undefined || value === "")) {
      const fallback = evaluate(part.fallback, env)
      if (Result.isFailure(fallback)) return fallback
      out += fallback.success
    } else if (value !== undefined) {
      out += value
    } else {
      return Result.fail({ _tag: "Unset", name: part.name })
    }
  }
  return Result.succeed(out)
}

const truncate = (text: string, max = 40): string => (text.length > max ? `${text.slice(0, max)}…` : text)

/**
 * The message of a problem. Only a malformed reference in a text that is not `secret` is
 * quoted (40 characters at most); env and header values are secret: nothing of them is quoted.
 *
 * @example
 * ```ts
 * describeProblem({ _tag: "Unset", name: "TOKEN" }, "${TOKEN}", true)
 * // => "Environment variable TOKEN is not set (write ${TOKEN:-default} to give a fallback)"
 * ```
 */
export const describeProblem = (problem: ExpansionProblem, text: string, secret: boolean): string => {
  switch (problem._tag) {
    case "Unclosed":
      return `Unclosed "\${" at offset ${problem.offset}: add the closing "}"`
    case "Malformed":
      return `${
        secret
          ? `"\${" at offset ${problem.offset} does not start a variable reference`
          : `"\${${truncate(text.slice(problem.offset + 2, problem.end))}}" is not a variable reference`
      }; write \${NAME} or \${NAME:-default} (a literal "\${" is written "$\${")`
    case "TooDeep":
      return `References nested more than ${maxNesting} deep at offset ${problem.offset} (a default may hold references up to ${maxNesting} levels)`
    case "Unset":
      return `Environment variable ${problem.name} is not set (write \${${problem.name}:-default} to give a fallback)`
  }
}

/**
 * Expands a template from `env`; the failure is the message of the problem (see
 * {@link describeProblem}).
 *
 * @example
 * ```ts
 * expand("Bearer ${TOKEN}", { TOKEN: "t0k" }, { secret: true }) // => Result.succeed("Bearer t0k")
 * expand("${A:-${B}}", { B: "b" }, { secret: false })           // => Result.succeed("b")
 * ```
 */
export const expand = (text: string, env: Env, options: { readonly secret: boolean }): Result.Result<string, string> =>
  Result.mapError(Result.flatMap(parse(text), (parts) => evaluate(parts, env)), (problem) => describeProblem(problem, text, options.secret))
