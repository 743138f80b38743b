/**
 * Turns a Schema issue into the two things a person needs: where (a dotted path) and what.
 *
 * @module
 */
import { SchemaIssue } from "effect"

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
export const locateIssues = (issue: SchemaIssue.Issue): ReadonlyArray<LocatedIssue> =>
  standard(issue).issues.map((i) => ({
    path: formatPath((i.path ?? []).map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p))),
    message: i.message
  }))

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
