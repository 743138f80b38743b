/**
 * Turns a Schema issue into the two things a person needs: where (a dotted path) and what.
 *
 * @module
 */
import { SchemaIssue } from "effect"
import { nearMiss } from "./internal/Typos.ts"

const standard = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * A located Schema problem: `path` is dotted (`items.0.name`, empty at the root).
 *
 * @example
 * ```ts
 * const p: LocatedIssue = { path: "items.0.name", message: "Missing key" }
 * ```
 */
export interface LocatedIssue {
  readonly path: string
  readonly message: string
  /** A field its struct does not have (decoded with `onExcessProperty: "error"`), and the one it most likely meant. */
  readonly unknownField?: { readonly meant: string | undefined } | undefined
}

/**
 * Formats a path of keys as `a.b.0.c`.
 *
 * @example
 * ```ts
 * formatPath(["items", 0, "name"]) // => "items.0.name"
 * ```
 */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string => path.map((key) => String(key)).join(".")

/**
 * The issues of a Schema failure, each with its path, in the order Schema reports them.
 *
 * @example
 * ```ts
 * const result = Schema.decodeUnknownExit(schema)(input)
 * // on failure: locateIssues(error.issue)[0] // => { path: "replicas", message: "Expected number, got \"3\"" }
 * ```
 */
export const locateIssues = (issue: SchemaIssue.Issue): ReadonlyArray<LocatedIssue> => {
  const unknown = new Map<string, { readonly key: string; readonly known: ReadonlyArray<string> }>()
  unknownFields(issue, [], unknown)
  return standard(issue).issues.map((i) => {
    const path = formatPath((i.path ?? []).map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p)))
    const field = unknown.get(path)
    if (field === undefined) return { path, message: i.message }
    const meant = nearMiss(field.key, field.known)
    return { path, message: unknownFieldMessage(meant, field.known), unknownField: { meant } }
  })
}

/**
 * The fields a Schema decoded with `onExcessProperty: "error"` found and does not know, by dotted
 * path, each with the fields its struct does know.
 */
const unknownFields = (
  issue: SchemaIssue.Issue,
  path: ReadonlyArray<PropertyKey>,
  out: Map<string, { readonly key: string; readonly known: ReadonlyArray<string> }>
): void => {
  switch (issue._tag) {
    case "Pointer":
      return unknownFields(issue.issue, [...path, ...issue.path], out)
    case "Composite":
    case "AnyOf":
      for (const inner of issue.issues) unknownFields(inner, path, out)
      return
    case "Filter":
    case "Encoding":
      return unknownFields(issue.issue, path, out)
    case "UnexpectedKey":
      if (issue.ast._tag === "Objects") {
        out.set(formatPath(path), { key: String(path.at(-1) ?? ""), known: issue.ast.propertySignatures.map((p) => String(p.name)) })
      }
      return
  }
}

/**
 * An unknown field's message: the field it most likely meant (see `nearMiss`), or the ones there are.
 *
 * @example
 * ```ts
 * unknownFieldMessage("timeout", ["timeout", "env"]) // => 'Unknown field; did you mean "timeout"?'
 * unknownFieldMessage(undefined, ["env"])            // => 'Unknown field; expected "env"'
 * ```
 */
export const unknownFieldMessage = (meant: string | undefined, known: ReadonlyArray<string>): string => {
  if (meant !== undefined) return `Unknown field; did you mean "${meant}"?`
  return known.length === 0 ? "Unknown field: none is expected here" : `Unknown field; expected ${known.map((k) => JSON.stringify(k)).join(", ")}`
}

/**
 * The first issue of a Schema failure, or a root-level one when Schema reports none.
 *
 * @example
 * ```ts
 * firstIssue(error.issue) // => { path: "replicas", message: "Expected number, got \"3\"" }
 * ```
 */
export const firstIssue = (issue: SchemaIssue.Issue): LocatedIssue =>
  locateIssues(issue)[0] ?? { path: "", message: String(issue) }
